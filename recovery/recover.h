// recovery/recover.h — the recovery pass: from the files in a store directory to the segments
// the engine continues with, cutting the log at the first corrupt record (docs/RECOVERY.md).
//
// Runs inside Store::open() (with the directory locked) and from segstore::recover().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/small_files.h"
#include "io/env.h"
#include "log/segment_index.h"
#include "segstore/store.h"

namespace segstore::recovery {

// One segment file as recovery leaves it: a plain value the engine builds its Segment from
// (recovery knows nothing of the engine).
struct RecoveredSegment {
  std::uint64_t id = 0;
  std::uint64_t base_lsn = 0;
  std::uint64_t segment_bytes = 0;
  std::uint64_t created_unix_ms = 0;
  std::string path;
  std::shared_ptr<io::File> file;  // open read+write, direct as the env allows; null when !header_checked
  std::uint64_t record_count = 0;  // records (not padding): LSNs [base_lsn, base_lsn + count)
  std::uint64_t end_offset = 0;    // first byte after the last record or padding
  bool sealed = false;
  // The index, when recovery read it (index_loaded); otherwise loaded lazily from index_path.
  log::SegmentIndex index;
  bool index_loaded = false;
  std::string index_path;
  // False for a sealed segment recovery did not open after a clean close (trusted through its
  // index snapshot's header): file is null, segment_bytes and created_unix_ms are unknown (0),
  // and the engine opens the file and checks its block 0 before any record of it is read.
  bool header_checked = true;
  // The seed of its records' header checksums (format::record_crc_seed_of its header): not 0
  // only for a recycled segment. Unknown (0) while !header_checked: the engine's header check sets it.
  std::uint32_t record_seed = 0;
  bool recycled = false;

  std::uint64_t end_lsn() const { return base_lsn + record_count; }
};

struct RecoveredLog {
  // Segments holding at least one record, ascending by id and base LSN, LSNs dense across
  // them (seg[i+1].base_lsn == seg[i].end_lsn()), sealed == (not the last).
  std::vector<RecoveredSegment> segments;
  // A preallocated segment that was never activated (all-zero header block), kept for reuse.
  std::optional<RecoveredSegment> unused;
  std::uint64_t next_lsn = 0;         // LSN the next append gets
  // META's first_lsn as recovery leaves it: never above next_lsn while segments remain (a cut
  // or a power cut below a trim point lowers it: see RecoveryPass::lower_first_lsn).
  std::uint64_t first_lsn = 0;
  std::uint64_t next_segment_id = 1;  // greater than every segment id seen in the directory
  // True when the last segment's tail was cut, so the engine must start appending in a new
  // segment (the cut segment is sealed: its index snapshot was rewritten).
  bool last_segment_closed = false;
  // Acknowledged records [lost_lsn_first, lost_lsn_end) are missing and the loss is recorded in
  // META, not accepted: the engine refuses writes (Errc::data_loss). lost_lsn_end == 0: none.
  std::uint64_t lost_lsn_first = 0;
  std::uint64_t lost_lsn_end = 0;
  // A truncate_after that a crash interrupted (the TRUNCATE file) was removing LSNs from this one
  // on: the engine finishes it at open, then removes the file. 0: none.
  std::uint64_t truncate_cut_lsn = 0;
  // "<id>.free" files: freed segment files (and spares never activated) the engine may recycle.
  std::vector<std::string> free_files;
};

// `meta` is the store's META; `clean_marker_valid` says a valid CLEAN file matched the store
// (the engine deletes it after open), and `clean_next_lsn` is the next LSN it recorded (every
// LSN below it was durable at the clean close: evidence recovery checks the log against).
// Fills *report. Errors: corruption when the directory's
// files are contradictory in a way that cannot be cut away safely (e.g. META names a
// min_segment_id above every segment while records exist), recovery_required in strict mode
// when a cut would be needed (nothing is changed then), io errors as they come.
Result<RecoveredLog> recover_log(io::Env &env, const std::string &dir, const format::MetaFile &meta,
                                 bool clean_marker_valid, const Options &options,
                                 RecoveryReport *report, std::uint64_t clean_next_lsn = 0);

}  // namespace segstore::recovery
