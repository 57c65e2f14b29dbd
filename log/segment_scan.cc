// log/segment_scan.cc — walking a segment's records (see log/segment_scan.h).
#include "log/segment_scan.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/assert.h"
#include "format/layout.h"

namespace segstore::log {
namespace {

using format::block_size_bytes;
using format::record_header_bytes;

// Index of the first non-zero byte of p[0..n), or n. Compares eight bytes at a time: the
// clean-end check reads up to a whole segment of zeros on every unclean open.
std::size_t first_nonzero(const std::byte *p, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    if (word != 0) break;
  }
  for (; i < n; ++i)
    if (p[i] != std::byte{0}) return i;
  return n;
}

// Index one past the last non-zero byte of p[0..n), or 0.
std::size_t last_nonzero_end(const std::byte *p, std::size_t n) {
  std::size_t i = n;
  while (i >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i - 8, 8);
    if (word != 0) break;
    i -= 8;
  }
  while (i > 0 && p[i - 1] == std::byte{0}) --i;
  return i;
}

// A block-aligned window over [0, limit) of a segment, read on demand.
class Window {
 public:
  Window(io::File &file, std::uint64_t limit) : file_(file), limit_(limit) {}

  // Makes [offset, offset + bytes) readable and returns a pointer to offset. The caller has
  // bounded the range by the segment: offset + bytes <= limit, so nothing larger than the
  // segment is ever allocated, whatever a length field on disk said.
  Result<const std::byte *> view(std::uint64_t offset, std::uint64_t bytes) {
    SEGSTORE_ASSERT(offset + bytes <= limit_, "window read past the segment: offset " +
                                                  std::to_string(offset) + " + " +
                                                  std::to_string(bytes) + " > " + std::to_string(limit_));
    if (offset >= start_ && offset + bytes <= start_ + valid_) return buffer_.data() + (offset - start_);
    const std::uint64_t start = format::align_down(offset, block_size_bytes);
    const std::uint64_t needed = offset + bytes - start;
    // Worked example: a record of 3 MiB at offset 4100 needs [4096, 4100 + 3 MiB): the window
    // grows to align_up(4 + 3 MiB, 4096) = 3 MiB + 4096 bytes, read in one request.
    const std::uint64_t want = std::min(std::max<std::uint64_t>(scan_window_bytes,
                                                                format::align_up(needed, block_size_bytes)),
                                        format::align_up(limit_ - start, block_size_bytes));
    // Blocks of the old window that the new one still needs are kept, not read again (a
    // record straddling the window's end): [start, old end) moves to the buffer's front.
    const std::uint64_t old_end = start_ + valid_;
    const std::uint64_t kept = (start >= start_ && start < old_end && old_end % block_size_bytes == 0)
                                   ? std::min(old_end - start, want) : 0;
    if (buffer_.size() < want) {
      io::AlignedBuffer bigger(want);
      if (kept != 0) std::memcpy(bigger.data(), buffer_.data() + (start - start_), kept);
      buffer_ = std::move(bigger);
    } else if (kept != 0) {
      std::memmove(buffer_.data(), buffer_.data() + (start - start_), kept);
    }
    std::uint64_t got = kept;
    if (kept < want) {
      io::AlignedBuffer &b = buffer_;
      Result<std::size_t> read = file_.read_at(start + kept, std::span<std::byte>(b.data() + kept, want - kept));
      if (!read.ok()) return read.status();
      got += *read;
    }
    start_ = start;
    valid_ = std::min<std::uint64_t>(got, limit_ - start);
    bytes_read_ += valid_ - std::min(valid_, kept);
    if (valid_ < needed)
      return Status(Errc::io_error, "read " + file_.path() + " at offset " + std::to_string(start + kept) +
                                        ": the file ended after " + std::to_string(got) +
                                        " bytes, before offset " + std::to_string(offset + bytes) +
                                        " that its size promised");
    return buffer_.data() + (offset - start_);
  }

  // The first non-zero byte in [from, to), or `to`.
  Result<std::uint64_t> find_nonzero(std::uint64_t from, std::uint64_t to) {
    std::uint64_t pos = from;
    while (pos < to) {
      const std::uint64_t in_block = pos % block_size_bytes;
      const std::uint64_t n = std::min<std::uint64_t>(scan_window_bytes - in_block, to - pos);
      Result<const std::byte *> p = view(pos, n);
      if (!p.ok()) return p.status();
      const std::size_t i = first_nonzero(*p, n);
      if (i < n) return pos + i;
      pos += n;
    }
    return to;
  }

  std::uint64_t bytes_read() const { return bytes_read_; }

 private:
  io::File &file_;
  const std::uint64_t limit_;
  io::AlignedBuffer buffer_;
  std::uint64_t start_ = 0;
  std::uint64_t valid_ = 0;
  std::uint64_t bytes_read_ = 0;
};

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
  bool in_batch() const { return !batch_.empty(); }

  // Applies one decoded record. False: its type breaks the batch rules (nothing applied).
  bool apply(const format::DecodedRecord &record) {
    using format::RecordType;
    const RecordType type = record.header.type;
    const bool batch_open = in_batch();
    switch (type) {
      case RecordType::padding:
        // Padding is written only when a write group is cut, never inside a batch.
        if (batch_open) return false;
        pos_ += record.disk_bytes;
        commit();
        return true;
      case RecordType::full:
        if (batch_open) return false;
        batch_.push_back({lsn_, pos_, record.header.stream});
        advance(record);
        commit();
        return true;
      case RecordType::batch_first:
        if (batch_open) return false;
        batch_.push_back({lsn_, pos_, record.header.stream});
        advance(record);
        return true;
      case RecordType::batch_middle:
      case RecordType::batch_last:
        if (!batch_open) return false;
        batch_.push_back({lsn_, pos_, record.header.stream});
        advance(record);
        if (type == RecordType::batch_last) commit();
        return true;
      case RecordType::zero:
        break;
    }
    return false;  // decode_record never returns other types
  }

  // Ends the walk: a batch left open is cut from its first record on.
  void stop(ScanStop why, std::uint64_t found_offset) {
    result_.stop = why;
    result_.found_offset = found_offset;
    result_.cut_offset = result_.end_offset;
    result_.cut_lsn = result_.next_lsn;
  }

 private:
  void advance(const format::DecodedRecord &record) {
    pos_ += record.disk_bytes;
    lsn_++;
  }
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
  std::vector<PendingRecord> batch_;
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
  Window window(*request.file, request.limit);
  Walk walk(request, result);
  const std::uint64_t limit = request.limit;
  // Bounded: every turn either stops or advances pos by at least a header's bytes.
  while (true) {
    const std::uint64_t pos = walk.pos();
    const bool batch_open = walk.in_batch();
    if (pos > limit || limit - pos < record_header_bytes) {
      // Fewer bytes than a header: the writer leaves them zero (append.cc pad_group_locked).
      Result<std::uint64_t> nonzero = window.find_nonzero(std::min(pos, limit), limit);
      if (!nonzero.ok()) return nonzero.status();
      if (*nonzero != limit) {
        walk.stop(ScanStop::nonzero_short_tail, *nonzero);
      } else if (batch_open) {
        walk.stop(ScanStop::batch_incomplete, pos);
      }
      break;
    }
    Result<const std::byte *> head = window.view(pos, record_header_bytes);
    if (!head.ok()) return head.status();
    format::RecordHeader header;
    const format::RecordError header_error =
        format::decode_record_header(std::span<const std::byte>(*head, record_header_bytes), &header);
    if (header_error == format::RecordError::zero_header) {
      // Never-written space, if everything after it is zero too. A zero header followed by
      // data is a record whose header was lost (zeroed by a torn write or the device).
      Result<std::uint64_t> nonzero = window.find_nonzero(pos + record_header_bytes, limit);
      if (!nonzero.ok()) return nonzero.status();
      if (*nonzero != limit) {
        walk.stop(ScanStop::nonzero_after_zero_header, pos);
      } else if (batch_open) {
        walk.stop(ScanStop::batch_incomplete, pos);
      }
      break;
    }
    if (header_error != format::RecordError::none) {
      result.record_error = header_error;
      walk.stop(ScanStop::bad_record, pos);
      break;
    }
    // The header passed its checksum, so payload_bytes is the writer's; still, it is bounded
    // by the segment before anything of that size is read.
    const std::uint64_t disk_bytes = format::record_disk_bytes(header.payload_bytes);
    if (disk_bytes > limit - pos) {
      result.record_error = format::RecordError::length_past_end;
      walk.stop(ScanStop::bad_record, pos);
      break;
    }
    Result<const std::byte *> bytes = window.view(pos, disk_bytes);
    if (!bytes.ok()) return bytes.status();
    const std::uint64_t expected = walk.expected_lsn();
    const format::DecodeOutcome outcome =
        format::decode_record(std::span<const std::byte>(*bytes, disk_bytes), &expected);
    if (outcome.error != format::RecordError::none) {
      result.record_error = outcome.error;
      walk.stop(ScanStop::bad_record, pos);
      break;
    }
    // Invariant: a decoded record occupies exactly the bytes its header announced.
    SEGSTORE_ASSERT(outcome.record.disk_bytes == disk_bytes, "record size changed between header and body");
    if (!walk.apply(outcome.record)) {
      walk.stop(ScanStop::batch_sequence, pos);
      break;
    }
  }
  result.bytes_read = window.bytes_read();
  return result;
}

Result<std::uint64_t> find_nonzero(io::File &file, std::uint64_t from, std::uint64_t to,
                                   std::uint64_t *bytes_read) {
  Window window(file, to);
  Result<std::uint64_t> found = window.find_nonzero(from, to);
  if (bytes_read != nullptr) *bytes_read += window.bytes_read();
  return found;
}

Result<TailSurvey> survey_tail(io::File &file, std::uint64_t from, std::uint64_t limit,
                               std::uint64_t base_lsn) {
  TailSurvey survey;
  survey.nonzero_end = from;
  if (from >= limit) return survey;
  // A header with an LSN this far from the base cannot be one of this segment's records.
  // Saturating: a damaged header's base near 2^64 must not wrap the bound below the base.
  const std::uint64_t span = limit / record_header_bytes;
  const std::uint64_t lsn_bound = base_lsn > UINT64_MAX - span ? UINT64_MAX : base_lsn + span;
  Window window(file, limit);
  std::uint64_t next_position = format::align_up(from, format::record_alignment_bytes);
  std::uint64_t start = format::align_down(from, block_size_bytes);
  // Windows overlap by one block, so a header that straddles one window's end is tried in the
  // next: positions are tried only below `handled`, which is a block before the window's end.
  while (start < limit) {
    const std::uint64_t bytes = std::min<std::uint64_t>(scan_window_bytes, limit - start);
    Result<const std::byte *> got = window.view(start, bytes);
    if (!got.ok()) return got.status();
    const std::byte *p = *got;
    const bool last = start + bytes >= limit;
    const std::uint64_t handled = last ? limit : start + bytes - block_size_bytes;

    const std::uint64_t scan_from = std::max(from, start);
    const std::size_t nz = last_nonzero_end(p + (scan_from - start), start + bytes - scan_from);
    if (nz != 0) survey.nonzero_end = std::max(survey.nonzero_end, scan_from + nz);

    for (std::uint64_t q = std::max(next_position, start);
         q < handled && q + record_header_bytes <= start + bytes; q += format::record_alignment_bytes) {
      format::RecordHeader header;
      if (format::decode_record_header(std::span<const std::byte>(p + (q - start), record_header_bytes),
                                       &header) != format::RecordError::none)
        continue;
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
  survey.bytes_read = window.bytes_read();
  return survey;
}

}  // namespace segstore::log
