// inspect/inspect_walk.cc — see inspect_walk.h.
#include "inspect/inspect_walk.h"

#include <algorithm>

#include "base/assert.h"
#include "format/layout.h"

namespace segstore::inspect {

namespace {

bool all_zero(const std::byte *p, std::size_t n) {
  return std::all_of(p, p + n, [](std::byte b) { return b == std::byte{0}; });
}

// A record of an atomic batch seen but not yet counted: it counts once batch_last is seen.
struct PendingRecord {
  std::uint64_t lsn_delta;
  std::uint32_t offset;
  std::uint32_t stream;
};

}  // namespace

SegmentWalk::SegmentWalk(io::File &file, std::uint64_t limit, std::uint64_t offset,
                         std::function<void(std::uint64_t)> on_read, std::size_t initial_window_bytes)
    : file_(file),
      limit_(limit),
      offset_(offset),
      on_read_(std::move(on_read)),
      window_bytes_(std::clamp<std::size_t>(format::align_up(initial_window_bytes, format::block_size_bytes),
                                            format::block_size_bytes, walk_window_bytes)) {}

Status SegmentWalk::ensure(std::uint64_t offset, std::uint64_t bytes) {
  SEGSTORE_ASSERT(offset + bytes <= limit_, "walk reads past the segment's limit");
  if (offset >= start_ && offset + bytes <= start_ + valid_) return Status();
  // Whole blocks from the block holding `offset`: at least the window, at least to the end of
  // the bytes wanted (one record may be larger than the window), never past the block that
  // holds the limit. Worked example: offset 8232, 40 bytes, window 4096 -> read [8192, 12288).
  const std::uint64_t start = format::align_down(offset, format::block_size_bytes);
  const std::uint64_t end = std::min(format::align_up(limit_, format::block_size_bytes),
                                     std::max(start + window_bytes_, format::align_up(offset + bytes, format::block_size_bytes)));
  const std::size_t length = static_cast<std::size_t>(end - start);
  if (window_.size() < length) window_.reset(length);
  window_bytes_ = std::min(window_bytes_ * 2, walk_window_bytes);
  start_ = start;
  valid_ = 0;
  Result<std::size_t> got = file_.read_at(start, std::span<std::byte>(window_.data(), length));
  if (!got.ok()) return got.status();
  if (on_read_) on_read_(*got);
  valid_ = static_cast<std::size_t>(std::min<std::uint64_t>(*got, limit_ - start));
  if (offset + bytes > start_ + valid_)
    return Status(Errc::io_error, file_.path() + ": the file ended at offset " +
                                      std::to_string(start_ + valid_) + " while reading " +
                                      std::to_string(bytes) + " bytes at offset " +
                                      std::to_string(offset) + " (it shrank while being read)");
  return Status();
}

Result<WalkStep> SegmentWalk::peek(const std::uint64_t *expected_lsn) {
  WalkStep step;
  step.offset = offset_;
  const std::uint64_t remaining = limit_ - offset_;
  if (remaining < format::record_header_bytes) {
    // No room for a header: the end of a full segment if these bytes are zero, else damage.
    SEGSTORE_TRY(ensure(offset_, remaining));
    step.error = format::RecordError::truncated_header;
    step.tail_zero = all_zero(at(offset_), remaining);
    return step;
  }
  SEGSTORE_TRY(ensure(offset_, format::record_header_bytes));
  // The header alone first: its length is trusted only after its checksum passed.
  step.error = format::decode_record_header(
      std::span<const std::byte>(at(offset_), format::record_header_bytes), &step.header);
  if (step.error != format::RecordError::none) return step;
  step.header_ok = true;
  step.disk_bytes = format::record_disk_bytes(step.header.payload_bytes);
  if (step.disk_bytes > remaining) {
    step.error = format::RecordError::length_past_end;
    return step;
  }
  SEGSTORE_TRY(ensure(offset_, step.disk_bytes));
  format::DecodeOutcome outcome = format::decode_record(
      std::span<const std::byte>(at(offset_), step.disk_bytes), expected_lsn);
  step.error = outcome.error;
  if (outcome.error == format::RecordError::none) step.payload = outcome.record.payload;
  return step;
}

Result<std::uint64_t> SegmentWalk::find_nonzero(std::uint64_t from) {
  std::uint64_t pos = from;
  while (pos < limit_) {
    const std::uint64_t chunk = std::min<std::uint64_t>(window_bytes_, limit_ - pos);
    SEGSTORE_TRY(ensure(pos, chunk));
    const std::byte *p = at(pos);
    const std::byte *hit = std::find_if(p, p + chunk, [](std::byte b) { return b != std::byte{0}; });
    if (hit != p + chunk) return pos + static_cast<std::uint64_t>(hit - p);
    pos += chunk;
  }
  return limit_;
}

namespace {

// The state of a walk over one segment: applies the batch rules and builds the summary.
class SummaryBuilder {
 public:
  SummaryBuilder(std::uint64_t base_lsn, SegmentSummary &summary)
      : base_lsn_(base_lsn), expected_(base_lsn), s_(summary) {}

  std::uint64_t expected() const { return expected_; }

  // Takes a valid record or padding. Returns false when the batch rules stop the walk.
  bool take(const WalkStep &step) {
    using format::RecordType;
    const RecordType type = step.header.type;
    const bool in_batch = !batch_.empty();
    if (type == RecordType::padding) {
      if (in_batch) return batch_error(step.offset, "padding inside an atomic batch");
      s_.end_offset = step.offset + step.disk_bytes;
      return true;
    }
    if (type == RecordType::full || type == RecordType::batch_first) {
      if (in_batch) return batch_error(step.offset, "a new record begins inside an atomic batch");
    } else if (!in_batch) {
      return batch_error(step.offset, "batch_middle or batch_last without a batch_first");
    }
    if (type == RecordType::batch_first) batch_offset_ = step.offset;
    const PendingRecord record{step.header.lsn - base_lsn_, static_cast<std::uint32_t>(step.offset),
                               step.header.stream};
    expected_ = step.header.lsn + 1;
    if (type == RecordType::full) {
      keep(record, step.offset + step.disk_bytes);
      return true;
    }
    batch_.push_back(record);
    if (type == RecordType::batch_last) {
      for (const PendingRecord &r : batch_) keep(r, step.offset + step.disk_bytes);
      batch_.clear();
    }
    return true;
  }

  // The walk reached a stop (clean end or damage): an open batch does not count.
  void finish(bool clean) {
    if (!batch_.empty() && clean) {
      damage(inspect::ProblemKind::batch, batch_offset_, base_lsn_ + batch_.front().lsn_delta,
             "batch_incomplete", "the records end inside an atomic batch (its batch_last is missing)");
    }
    batch_.clear();
    s_.next_lsn = base_lsn_ + s_.records;
  }

  void damage(inspect::ProblemKind kind, std::uint64_t offset, std::uint64_t lsn, std::string reason,
              std::string detail) {
    if (s_.damaged) return;  // the first damage is the one that stops the records
    s_.damaged = true;
    s_.kind = kind;
    s_.damage_offset = offset;
    s_.damage_lsn = lsn;
    s_.reason = std::move(reason);
    s_.detail = std::move(detail);
  }

 private:
  void keep(const PendingRecord &r, std::uint64_t end) {
    s_.index.add_record(r.lsn_delta, r.offset, r.stream);
    s_.records++;
    s_.end_offset = end;
  }
  bool batch_error(std::uint64_t offset, const char *detail) {
    damage(inspect::ProblemKind::batch, offset, expected_, "batch_sequence", detail);
    return false;
  }

  const std::uint64_t base_lsn_;
  std::uint64_t expected_;
  SegmentSummary &s_;
  std::vector<PendingRecord> batch_;
  std::uint64_t batch_offset_ = 0;
};

std::string describe_bad_record(const WalkStep &step, std::uint64_t expected) {
  using format::RecordError;
  switch (step.error) {
    case RecordError::header_checksum:
      return "the record header's checksum does not match (torn write, bit rot or garbage); its "
             "length cannot be trusted, so nothing after it can be located";
    case RecordError::payload_checksum:
      return "the payload's checksum does not match (record LSN " + std::to_string(step.header.lsn) +
             ", " + std::to_string(step.header.payload_bytes) + " bytes)";
    case RecordError::lsn_out_of_order:
      return "the record carries LSN " + std::to_string(step.header.lsn) + ", expected " +
             std::to_string(expected);
    case RecordError::length_past_end:
      return "the record (" + std::to_string(step.header.payload_bytes) +
             " bytes of payload) runs past the end of the segment";
    case RecordError::truncated_header:
      return "fewer than 32 bytes remain before the end of the segment and they are not zero";
    case RecordError::padding_nonzero:
      return "the alignment gap after the payload is not zero";
    case RecordError::lsn_past_limit:
      return "the record carries LSN 2^64 - 1, past the LSN limit (its next LSN would wrap)";
    case RecordError::bad_type:
    case RecordError::reserved_nonzero:
    case RecordError::length_too_large:
      return "the header checksums but is not valid in format version 1";
    case RecordError::none:
    case RecordError::zero_header:
      break;
  }
  return "";
}

}  // namespace

Result<SegmentSummary> walk_segment(io::File &file, const WalkOptions &options) {
  SegmentSummary summary;
  summary.end_offset = format::segment_data_offset_bytes;
  SummaryBuilder builder(options.base_lsn, summary);
  if (options.limit <= format::segment_data_offset_bytes) {
    builder.finish(true);
    return summary;
  }
  SegmentWalk walk(file, options.limit, format::segment_data_offset_bytes, options.on_read);
  // Bounded: every step advances by at least one record header, or stops.
  while (true) {
    const std::uint64_t expected = builder.expected();
    Result<WalkStep> got = walk.peek(&expected);
    if (!got.ok()) return got.status();
    const WalkStep &step = *got;
    if (step.error == format::RecordError::zero_header ||
        (step.error == format::RecordError::truncated_header && step.tail_zero)) {
      builder.finish(true);
      if (options.check_zeros_after_end) {
        Result<std::uint64_t> nonzero = walk.find_nonzero(step.offset);
        if (!nonzero.ok()) return nonzero.status();
        if (*nonzero < options.limit)
          builder.damage(inspect::ProblemKind::nonzero_after_end, *nonzero, expected,
                         "nonzero_after_zero_header",
                         "non-zero bytes after the clean end of the records at offset " +
                             std::to_string(step.offset) + " (a torn or lost write)");
      }
      return summary;
    }
    if (step.error != format::RecordError::none) {
      builder.damage(inspect::ProblemKind::record, step.offset, expected,
                     format::record_error_name(step.error), describe_bad_record(step, expected));
      builder.finish(false);
      return summary;
    }
    if (!builder.take(step)) {
      builder.finish(false);
      return summary;
    }
    walk.advance(step.disk_bytes);
  }
}

}  // namespace segstore::inspect
