// inspect/inspect_walk.h — a whole segment's records as the inspection tools report them: the
// scan recovery runs (log/segment_scan.h), its damage named with recovery's reasons
// (recovery/cut_decision.h finding_of_scan), so that verify points where recover cuts.
//
// Memory: one read window (log/segment_reader.h) and the rebuilt index.
// Thread-safety: none; one walk per call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "io/env.h"
#include "log/segment_index.h"
#include "segstore/inspect.h"

namespace segstore::inspect {

// Where and why a segment's records stop, and what they hold up to there.
struct SegmentSummary {
  std::uint64_t records = 0;     // records of finished batches and full records
  std::uint64_t end_offset = 0;  // first byte after the last record or padding kept
  std::uint64_t next_lsn = 0;    // base_lsn + records
  log::SegmentIndex index;       // rebuilt from the records kept
  bool damaged = false;          // the records do not end in a clean end
  ProblemKind kind = ProblemKind::record;  // when damaged
  std::uint64_t damage_offset = 0;         // where recovery's finding is
  std::uint64_t damage_lsn = 0;            // the LSN expected at damage_offset
  std::string reason;                      // recovery's reason name (Finding::reason_name)
  std::string detail;
};

struct WalkOptions {
  std::string path;  // the segment file, for the finding
  std::uint64_t base_lsn = 0;
  std::uint64_t limit = 0;
  bool check_zeros_after_end = false;  // read on to the limit: bytes there must all be zero
  // The segment's header (format::record_crc_seed_of): seeded record checksums, and a previous
  // life's bytes after the records of a recycled segment.
  std::uint32_t record_seed = 0;
  bool recycled = false;
  std::function<void(std::uint64_t)> on_read;
};

// Scans every record from the first (offset 4096) with log::scan_segment. Errors: only I/O.
Result<SegmentSummary> walk_segment(io::File &file, const WalkOptions &options);

}  // namespace segstore::inspect
