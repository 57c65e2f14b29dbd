// log/segment_scan.cc — walking a segment's records (see log/segment_scan.h).
#include "log/segment_scan.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/assert.h"
#include "format/layout.h"
#include "log/batch_rules.h"
#include "log/segment_reader.h"

namespace segstore::log {
namespace {

using format::block_size_bytes;
using format::record_header_bytes;

// A record of an atomic batch seen but not yet counted: it counts once its batch_last is read.
struct PendingRecord {
  std::uint64_t lsn;
  std::uint64_t offset;
  std::uint32_t stream;
};

// The walk's state: what is accepted, and the batch being read.
class Walk {
 public:
  Walk(const ScanRequest &request, ScanResult &result)
      : request_(request), result_(result), pos_(request.start_offset), lsn_(request.start_lsn) {
    result_.end_offset = pos_;
    result_.next_lsn = lsn_;
  }

  std::uint64_t pos() const { return pos_; }
  std::uint64_t expected_lsn() const { return lsn_; }
  bool in_batch() const { return rules_.in_batch(); }
  const char *violation() const { return rules_.violation(); }

  // Applies one decoded record. False: its type breaks the batch rules (nothing applied).
  bool apply(const format::RecordHeader &header, std::uint64_t disk_bytes) {
    const BatchVerdict verdict = rules_.take(header.type);
    if (verdict == BatchVerdict::violation) return false;
    if (header.type != format::RecordType::padding) {
      batch_.push_back({lsn_, pos_, header.stream});
      lsn_++;
    }
    pos_ += disk_bytes;
    if (verdict == BatchVerdict::complete) commit();
    return true;
  }

  // Ends the walk at `found_offset`: a batch left open is cut from its first record on. An
  // unfinished batch (no damage, only a missing batch_last) is found at that first record too:
  // it is the first byte that does not count, where recovery cuts and verify points.
  void stop(ScanStop why, std::uint64_t found_offset) {
    result_.stop = why;
    result_.found_offset = why == ScanStop::batch_incomplete ? result_.end_offset : found_offset;
    result_.found_lsn = why == ScanStop::batch_incomplete ? result_.next_lsn : lsn_;
    result_.cut_offset = result_.end_offset;
    result_.cut_lsn = result_.next_lsn;
    // Invariant: the cut never lies after the damage (it moves back to an open batch's start).
    SEGSTORE_ASSERT(result_.cut_offset <= result_.found_offset && result_.cut_lsn <= result_.found_lsn,
                    "scan cut at offset " + std::to_string(result_.cut_offset) + " after damage at " +
                        std::to_string(result_.found_offset));
  }

 private:
  // Everything read so far counts: pending batch records go into the index.
  void commit() {
    for (const PendingRecord &r : batch_) {
      if (request_.index != nullptr)
        request_.index->add_record(r.lsn - request_.base_lsn, static_cast<std::uint32_t>(r.offset), r.stream);
      result_.records++;
    }
    batch_.clear();
    result_.end_offset = pos_;
    result_.next_lsn = lsn_;
  }

  const ScanRequest &request_;
  ScanResult &result_;
  std::uint64_t pos_;
  std::uint64_t lsn_;  // expected LSN of the next record (pending batch records included)
  BatchRules rules_;
  std::vector<PendingRecord> batch_;  // read but not counted yet: the open batch
};

}  // namespace

const char *scan_stop_name(ScanStop stop) {
  switch (stop) {
    case ScanStop::clean_end: return "clean_end";
    case ScanStop::bad_record: return "bad_record";
    case ScanStop::nonzero_after_zero_header: return "nonzero_after_zero_header";
    case ScanStop::nonzero_short_tail: return "nonzero_short_tail";
    case ScanStop::batch_incomplete: return "batch_incomplete";
    case ScanStop::batch_sequence: return "batch_sequence";
  }
  return "unknown";
}

Result<std::size_t> read_blocks(io::File &file, std::uint64_t offset, io::AlignedBuffer &buffer,
                                std::size_t bytes) {
  SEGSTORE_ASSERT(offset % block_size_bytes == 0 && bytes % block_size_bytes == 0 && bytes <= buffer.size(),
                  "unaligned segment read at " + std::to_string(offset) + " of " + std::to_string(bytes));
  return file.read_at(offset, std::span<std::byte>(buffer.data(), bytes));
}

Result<ScanResult> scan_segment(const ScanRequest &request) {
  SEGSTORE_ASSERT(request.start_offset % format::record_alignment_bytes == 0 &&
                      request.start_offset >= format::segment_data_offset_bytes,
                  "scan starts at offset " + std::to_string(request.start_offset));
  ScanResult result;
  SegmentReader reader(*request.file, request.limit, read_window_bytes, request.on_read, request.ahead);
  reader.set_record_seed(request.record_seed);
  Walk walk(request, result);
  const std::uint64_t limit = request.limit;
  // Bounded: every turn either stops or advances pos by at least a header's bytes.
  while (true) {
    const std::uint64_t pos = walk.pos();
    const bool batch_open = walk.in_batch();
    if (pos > limit || limit - pos < record_header_bytes) {
      // Fewer bytes than a header: the writer leaves them zero (append.cc pad_group_locked).
      Result<std::uint64_t> nonzero = reader.find_nonzero(std::min(pos, limit), limit);
      if (!nonzero.ok()) return nonzero.status();
      // A recycled segment's short tail may be a previous life's: no record of this life can follow.
      if (*nonzero != limit && request.recycled) {
        result.stale_after_end = true;
        if (batch_open) walk.stop(ScanStop::batch_incomplete, pos);
      } else if (*nonzero != limit) {
        // Found where the records stop, as a non-zero tail after a zero header is: the cut is
        // there, and so is the damage (a record too short to hold a header).
        result.nonzero_offset = *nonzero;
        walk.stop(ScanStop::nonzero_short_tail, pos);
      } else if (batch_open) {
        walk.stop(ScanStop::batch_incomplete, pos);
      }
      break;
    }
    const std::uint64_t expected = walk.expected_lsn();
    Result<RecordAt> got = reader.read_record(pos, &expected);
    if (!got.ok()) return got.status();
    const RecordAt &at = *got;
    if (request.recycled &&
        (at.error == format::RecordError::zero_header || at.error == format::RecordError::header_checksum)) {
      // Not a header of this life: the clean end, unless one of this life lies further on.
      bool nonzero = false;
      Result<std::uint64_t> found =
          reader.find_record_of_this_life(pos + format::record_alignment_bytes, limit, request.base_lsn, &nonzero);
      if (!found.ok()) return found.status();
      if (*found != limit) {
        result.nonzero_offset = *found;
        if (at.error == format::RecordError::zero_header) {
          walk.stop(ScanStop::nonzero_after_zero_header, pos);
        } else {
          result.record_error = at.error;
          walk.stop(ScanStop::bad_record, pos);
        }
        break;
      }
      result.stale_after_end = nonzero || at.error != format::RecordError::zero_header;
      if (batch_open) walk.stop(ScanStop::batch_incomplete, pos);
      break;
    }
    if (at.error == format::RecordError::zero_header) {
      // Never-written space, if everything after it is zero too. A zero header followed by
      // data is a record whose header was lost (zeroed by a torn write or the device).
      if (request.check_zeros_after_end) {
        Result<std::uint64_t> nonzero = reader.find_nonzero(pos + record_header_bytes, limit);
        if (!nonzero.ok()) return nonzero.status();
        if (*nonzero != limit) {
          result.nonzero_offset = *nonzero;
          walk.stop(ScanStop::nonzero_after_zero_header, pos);
          break;
        }
      }
      if (batch_open) walk.stop(ScanStop::batch_incomplete, pos);
      break;
    }
    if (at.error != format::RecordError::none) {
      result.record_error = at.error;
      walk.stop(ScanStop::bad_record, pos);
      break;
    }
    if (!walk.apply(at.header, at.disk_bytes)) {
      result.batch_violation = walk.violation();
      walk.stop(ScanStop::batch_sequence, pos);
      break;
    }
  }
  result.bytes_read = reader.bytes_read();
  return result;
}

Result<std::uint64_t> find_nonzero(io::File &file, std::uint64_t from, std::uint64_t to,
                                   std::uint64_t *bytes_read) {
  SegmentReader reader(file, to);
  Result<std::uint64_t> found = reader.find_nonzero(from, to);
  if (bytes_read != nullptr) *bytes_read += reader.bytes_read();
  return found;
}

Result<TailSurvey> survey_tail(io::File &file, std::uint64_t from, std::uint64_t limit,
                               std::uint64_t base_lsn, std::uint32_t record_seed, bool recycled) {
  TailSurvey survey;
  survey.nonzero_end = from;
  if (from >= limit) return survey;
  // A header with an LSN this far from the base cannot be one of this segment's records.
  const std::uint64_t lsn_bound = lsn_bound_of(base_lsn, limit);
  SegmentReader reader(file, limit);
  std::uint64_t next_position = format::align_up(from, format::record_alignment_bytes);
  std::uint64_t start = format::align_down(from, block_size_bytes);
  // Windows overlap by one block, so a header that straddles one window's end is tried in the
  // next: positions are tried only below `handled`, which is a block before the window's end.
  while (start < limit) {
    const std::uint64_t bytes = std::min<std::uint64_t>(read_window_bytes, limit - start);
    Result<const std::byte *> got = reader.view(start, bytes);
    if (!got.ok()) return got.status();
    const std::byte *p = *got;
    const bool last = start + bytes >= limit;
    const std::uint64_t handled = last ? limit : start + bytes - block_size_bytes;

    const std::uint64_t scan_from = std::max(from, start);
    const std::size_t nz = recycled ? 0 : last_nonzero_end(p + (scan_from - start), start + bytes - scan_from);
    if (nz != 0) survey.nonzero_end = std::max(survey.nonzero_end, scan_from + nz);

    for (std::uint64_t q = std::max(next_position, start);
         q < handled && q + record_header_bytes <= start + bytes; q += format::record_alignment_bytes) {
      format::RecordHeader header;
      const format::RecordError error =
          format::decode_record_header(std::span<const std::byte>(p + (q - start), record_header_bytes), &header,
                                       record_seed);
      if (recycled && error != format::RecordError::zero_header && error != format::RecordError::header_checksum) {
        // Its seeded checksum passed: this life's bytes (even if a later check fails), which end
        // with its last such header's record (a previous life's follow). Bounded by the limit.
        const std::uint64_t record_end =
            q + (error == format::RecordError::none ? format::record_disk_bytes(header.payload_bytes) : record_header_bytes);
        survey.nonzero_end = std::max(survey.nonzero_end, std::min(limit, format::align_up(record_end, block_size_bytes)));
      }
      if (error != format::RecordError::none) continue;
      // Padding carries no durable_lag of its own (the writer leaves it 0): no evidence.
      if (header.type == format::RecordType::padding) continue;
      if (header.lsn < base_lsn || header.lsn >= lsn_bound) continue;
      survey.headers_found++;
      survey.lsn_max_seen = std::max(survey.lsn_max_seen, header.lsn);
      if (header.durable_lag <= header.lsn)
        survey.durable_end_max = std::max<std::uint64_t>(survey.durable_end_max, header.lsn - header.durable_lag);
    }
    next_position = std::max(next_position, handled);
    start = handled;
  }
  survey.bytes_read = reader.bytes_read();
  return survey;
}

}  // namespace segstore::log
