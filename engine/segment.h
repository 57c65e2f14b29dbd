// engine/segment.h — one segment file as the engine sees it.
//
// A segment is "active" while records are appended to it and "sealed" once a newer segment
// took over; a sealed segment's bytes never change (truncate_after may re-activate it, which
// makes a new Segment object). Its index is loaded from the .idx file lazily, on first read.
//
// Thread-safety: identity fields are immutable after construction. record_count/end_offset
// are guarded by the Store's mutex. The index is guarded by index_mu.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "engine/segment_index.h"
#include "io/env.h"

namespace segstore::engine {

struct Segment {
  std::uint64_t id = 0;
  std::uint64_t base_lsn = 0;
  std::uint64_t segment_bytes = 0;
  std::uint64_t created_unix_ms = 0;
  std::string path;
  std::shared_ptr<io::File> file;

  // Guarded by the Store's mutex.
  std::uint64_t record_count = 0;  // records (not padding): LSNs [base, base + count)
  std::uint64_t end_offset = 0;    // first byte after the last record or padding
  bool sealed = false;

  // The index and the path of its snapshot file (lazy loading when !index_loaded).
  mutable std::mutex index_mu;
  SegmentIndex index;
  bool index_loaded = true;
  std::string index_path;

  std::uint64_t end_lsn() const { return base_lsn + record_count; }
};

// Loads seg.index from seg.index_path if it is not loaded yet (checks the whole file's
// checksums). Caller holds seg.index_mu.
Status load_segment_index_locked(io::Env &env, Segment &seg, std::uint64_t store_id, const Logger &logger);

}  // namespace segstore::engine
