// engine/segment.h — one segment file as the engine sees it.
//
// A segment is "active" while records are appended to it and "sealed" once a newer segment
// took over; a sealed segment's bytes never change (truncate_after may re-activate it, which
// makes a new Segment object). Its index is loaded from the .idx file lazily, on first read.
//
// A sealed segment that recovery trusted without opening it (after a clean close) starts with
// header_checked false: no file, segment_bytes and created_unix_ms unknown. Its file is opened
// and its block 0 checked under index_mu before its index is loaded, so before any of its
// records is read (check_segment_header_locked).
//
// Thread-safety: id, base_lsn and path are immutable after construction. record_count/end_offset
// are guarded by the Store's mutex. The index is guarded by index_mu; so are file,
// segment_bytes and created_unix_ms while header_checked is false (written once, before
// header_checked turns true with release order: whoever reads true may read them unlocked).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "io/env.h"
#include "log/segment_index.h"
#include "recovery/recover.h"

namespace segstore::engine {

struct Segment {
  std::uint64_t id = 0;
  std::uint64_t base_lsn = 0;
  std::uint64_t segment_bytes = 0;
  std::uint64_t created_unix_ms = 0;
  std::string path;
  std::shared_ptr<io::File> file;
  // A recycled segment (format/segment_header.h): its records' header checksums are seeded with
  // record_seed, and the bytes after its records are a previous life's. Set with the header (like
  // segment_bytes: once, before header_checked turns true).
  bool recycled = false;
  std::uint32_t record_seed = 0;

  // Guarded by the Store's mutex.
  std::uint64_t record_count = 0;  // records (not padding): LSNs [base, base + count)
  std::uint64_t end_offset = 0;    // first byte after the last record or padding
  bool sealed = false;

  // The index and the path of its snapshot file (lazy loading when !index_loaded).
  mutable std::mutex index_mu;
  log::SegmentIndex index;
  bool index_loaded = true;
  std::string index_path;

  std::atomic<bool> header_checked{true};

  std::uint64_t end_lsn() const { return base_lsn + record_count; }
};

// The Segment a recovered segment file becomes (recovery returns plain values).
std::shared_ptr<Segment> segment_of(recovery::RecoveredSegment &&recovered);

// Opens the file of a segment recovery left unopened and checks its block 0 against what
// recovery trusted (magic, version, CRC, store id, segment id, base LSN, and a file and
// segment_bytes holding its records); nothing when header_checked. corruption naming the file,
// offset 0 and the cause otherwise (the segment stays unchecked: every later read asks again).
// Caller holds seg.index_mu.
Status check_segment_header_locked(io::Env &env, Segment &seg, std::uint64_t store_id);

// Loads seg.index from seg.index_path if it is not loaded yet (checks the whole file's
// checksums). Caller holds seg.index_mu.
Status load_segment_index_locked(io::Env &env, Segment &seg, std::uint64_t store_id, const Logger &logger);

}  // namespace segstore::engine
