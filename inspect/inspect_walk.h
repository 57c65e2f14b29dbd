// inspect/inspect_walk.h — reading a segment file record by record for the inspection tools
// (segstore/inspect.h): one record at a time over read windows (SegmentWalk), and a whole
// segment into a summary — records, end, rebuilt index, and where and why the records stop
// (walk_segment).
//
// Unlike the engine's SegmentCursor this needs no open Store, and unlike recovery's scanner it
// walks on past damage whose extent is known (dump shows every header it can locate).
// Memory: one window (walk_window_bytes, larger only for a record that does not fit).
// Thread-safety: none; one walk per object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "log/segment_index.h"
#include "format/layout.h"
#include "format/record.h"
#include "io/aligned_buffer.h"
#include "io/env.h"
#include "segstore/inspect.h"

namespace segstore::inspect {

// Reads are whole, aligned blocks into an aligned buffer, so that segment files can be read
// with O_DIRECT like the writer writes them: a buffered read racing a direct write can leave a
// stale page in the page cache, and a reader tailing a live store would then never see the
// records written there. A walk's window starts at `initial window` and doubles with each read
// up to walk_window_bytes (a tailing reader polls with small reads, a scan streams big ones).
inline constexpr std::size_t walk_window_bytes = 1u << 20;
static_assert(walk_window_bytes % format::block_size_bytes == 0);

// One record position of a segment.
struct WalkStep {
  std::uint64_t offset = 0;
  format::RecordError error = format::RecordError::none;  // none: a valid record or padding
  // The header passed its checks, so `header` and `disk_bytes` can be trusted (the record's
  // extent is known) even when the payload, the gap or the LSN is bad.
  bool header_ok = false;
  format::RecordHeader header;
  std::uint64_t disk_bytes = 0;
  std::span<const std::byte> payload;  // when error == none; valid until the next peek
  bool tail_zero = false;              // error == truncated_header: the short tail is all zero
};

class SegmentWalk {
 public:
  // `limit`: bytes of the file that may hold records (min(file size, header segment_bytes)).
  // `on_read` (may be empty) gets the byte count of each read.
  SegmentWalk(io::File &file, std::uint64_t limit, std::uint64_t offset,
              std::function<void(std::uint64_t)> on_read = {},
              std::size_t initial_window_bytes = walk_window_bytes);

  // Decodes the record at the current offset (`expected_lsn` may be nullptr). Errors: only I/O.
  Result<WalkStep> peek(const std::uint64_t *expected_lsn);
  void advance(std::uint64_t bytes) { offset_ += bytes; }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t limit() const { return limit_; }
  // The first non-zero byte in [from, limit), or limit when all are zero.
  Result<std::uint64_t> find_nonzero(std::uint64_t from);

 private:
  // Makes [offset, offset + bytes) available in the window (bytes <= limit - offset).
  Status ensure(std::uint64_t offset, std::uint64_t bytes);
  const std::byte *at(std::uint64_t offset) const { return window_.data() + (offset - start_); }

  io::File &file_;
  const std::uint64_t limit_;
  std::uint64_t offset_;
  std::function<void(std::uint64_t)> on_read_;
  std::size_t window_bytes_;   // the next read's size (grows to walk_window_bytes)
  io::AlignedBuffer window_;
  std::uint64_t start_ = 0;  // file offset of window_[0] (block aligned)
  std::size_t valid_ = 0;    // bytes of window_ read from the file, below limit
};

// Where and why a segment's records stop, and what they hold up to there.
struct SegmentSummary {
  std::uint64_t records = 0;     // records of finished batches and full records
  std::uint64_t end_offset = 0;  // first byte after the last record or padding kept
  std::uint64_t next_lsn = 0;    // base_lsn + records
  log::SegmentIndex index;            // rebuilt from the records kept
  bool damaged = false;          // the records do not end in a clean end
  inspect::ProblemKind kind = inspect::ProblemKind::record;  // when damaged
  std::uint64_t damage_offset = 0;
  std::uint64_t damage_lsn = 0;  // the LSN expected at damage_offset
  std::string reason;            // the failed check
  std::string detail;
};

struct WalkOptions {
  std::uint64_t base_lsn = 0;
  std::uint64_t limit = 0;
  bool check_zeros_after_end = false;  // read on to the limit: bytes there must all be zero
  std::function<void(std::uint64_t)> on_read;
};

// Walks every record from the first (offset 4096), applying the batch rules: a batch counts
// only once its batch_last is present. Errors: only I/O.
Result<SegmentSummary> walk_segment(io::File &file, const WalkOptions &options);

}  // namespace segstore::inspect
