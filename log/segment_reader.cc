// log/segment_reader.cc — see log/segment_reader.h.
#include "log/segment_reader.h"

#include "format/endian.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "base/assert.h"
#include "base/try.h"

namespace segstore::log {

using format::block_size_bytes;

std::size_t first_nonzero(const std::byte *p, std::size_t n) {
  // Eight bytes at a time: the clean-end check reads up to a whole segment of zeros on every
  // unclean open.
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

SegmentReader::SegmentReader(io::File &file, std::uint64_t limit, std::size_t first_window_bytes,
                             std::function<void(std::uint64_t)> on_read, WindowReads *ahead)
    : file_(file),
      limit_(limit),
      window_bytes_(std::clamp<std::size_t>(format::align_up(first_window_bytes, block_size_bytes), block_size_bytes,
                                            read_window_bytes)),
      on_read_(std::move(on_read)),
      ahead_(ahead) {
  if (ahead_ == nullptr) return;
  // The read-ahead stream ends where this reader's own reads end: the limit rounded up to a
  // block (view never asks past it).
  ahead_->start(file_, format::align_up(limit_, block_size_bytes));
  buffer_ = ahead_->take_buffer();
}

SegmentReader::~SegmentReader() {
  if (ahead_ == nullptr) return;
  // An early exit (damage found mid-segment, an error) leaves windows in flight: they are
  // waited for here, before the file they read can be closed. The next segment's windows
  // (WindowReads::follow_with) stay in flight for its reader.
  ahead_->finish();
  ahead_->give_back(std::move(buffer_));
}

Result<const std::byte *> SegmentReader::view(std::uint64_t offset, std::uint64_t bytes) {
  // Invariant: every range asked for lies inside the segment; callers bound lengths first.
  SEGSTORE_ASSERT(offset <= limit_ && bytes <= limit_ - offset,
                  "segment read past the limit: offset " + std::to_string(offset) + " + " + std::to_string(bytes) +
                      " > " + std::to_string(limit_));
  if (offset >= start_ && offset + bytes <= start_ + valid_) return buffer_.data() + skip_ + (offset - start_);
  const std::uint64_t start = format::align_down(offset, block_size_bytes);
  const std::uint64_t needed = offset + bytes - start;
  // Worked example: a record of 3 MiB at offset 4100 needs [4096, 4100 + 3 MiB): the window
  // grows to align_up(4 + 3 MiB, 4096) = 3 MiB + 4096 bytes, read in one request.
  const std::uint64_t want = std::min(std::max<std::uint64_t>(window_bytes_, format::align_up(needed, block_size_bytes)),
                                      format::align_up(limit_ - start, block_size_bytes));
  window_bytes_ = std::min(window_bytes_ * 2, read_window_bytes);
  // Blocks of the old window that the new one still needs are kept, not read again (a
  // record straddling the window's end): [start, old end).
  const std::uint64_t old_end = start_ + valid_;
  const std::uint64_t kept = (start >= start_ && start < old_end && old_end % block_size_bytes == 0)
                                 ? std::min(old_end - start, want)
                                 : 0;
  std::uint64_t got = 0;
  std::span<const std::byte> kept_bytes;
  if (kept != 0) kept_bytes = std::span<const std::byte>(buffer_.data() + skip_ + (start - start_), kept);
  const std::size_t taken =
      ahead_ == nullptr ? 0 : ahead_->take_window(start + kept, needed - std::min(needed, kept), kept_bytes, buffer_, &skip_);
  if (taken != 0) {
    got = taken;  // kept, then the window read ahead, now in buffer_ from skip_ on
  } else {
    SEGSTORE_TRY(read_into_front(start, kept, want, &got));
  }
  start_ = start;
  valid_ = std::min<std::uint64_t>(got, limit_ - start);
  const std::uint64_t fresh = valid_ - std::min(valid_, kept);
  bytes_read_ += fresh;
  if (on_read_ && fresh != 0) on_read_(fresh);
  if (valid_ < needed)
    return Status(Errc::io_error, "read " + file_.path() + " at offset " + std::to_string(start + kept) +
                                      ": the file ended after " + std::to_string(got) + " bytes, before offset " +
                                      std::to_string(offset + bytes) + " that its size promised");
  return buffer_.data() + skip_ + (offset - start_);
}

// The read of [start, start + want) into the buffer's front, its first `kept` bytes moved there
// from the old window: *got is the bytes there afterwards.
Status SegmentReader::read_into_front(std::uint64_t start, std::uint64_t kept, std::uint64_t want, std::uint64_t *got) {
  const std::byte *kept_at = kept != 0 ? buffer_.data() + skip_ + (start - start_) : nullptr;
  if (buffer_.size() < want) {
    io::AlignedBuffer bigger(want);
    if (kept != 0) std::memcpy(bigger.data(), kept_at, kept);
    buffer_ = std::move(bigger);
  } else if (kept != 0) {
    std::memmove(buffer_.data(), kept_at, kept);
  }
  skip_ = 0;
  *got = kept;
  if (kept == want) return Status();
  const std::span<std::byte> into(buffer_.data() + kept, want - kept);
  Result<std::size_t> read = ahead_ != nullptr ? ahead_->read_at(start + kept, into) : file_.read_at(start + kept, into);
  start_ = start;
  valid_ = 0;  // the buffer holds nothing trustworthy until the read succeeded
  if (!read.ok()) return read.status();
  *got += *read;
  return Status();
}

Result<RecordAt> SegmentReader::read_record(std::uint64_t offset, const std::uint64_t *expected_lsn) {
  SEGSTORE_ASSERT(offset % format::record_alignment_bytes == 0 && offset <= limit_,
                  "record read at offset " + std::to_string(offset) + " of a " + std::to_string(limit_) +
                      "-byte segment");
  RecordAt at;
  at.offset = offset;
  if (limit_ - offset < format::record_header_bytes) {
    // No room for a header: the end of a full segment if these bytes are zero, else damage.
    Result<std::uint64_t> nonzero = find_nonzero(offset, limit_);
    if (!nonzero.ok()) return nonzero.status();
    at.error = format::RecordError::truncated_header;
    at.tail_zero = *nonzero == limit_;
    return at;
  }
  Result<const std::byte *> head = view(offset, format::record_header_bytes);
  if (!head.ok()) return head.status();
  // The header alone first: its length is trusted only after its checksum passed (the length
  // itself may be the corrupt field).
  at.error = format::decode_record_header(std::span<const std::byte>(*head, format::record_header_bytes), &at.header,
                                         record_seed_);
  if (at.error != format::RecordError::none) return at;
  at.header_ok = true;
  at.disk_bytes = format::record_disk_bytes(at.header.payload_bytes);
  // Still, it is bounded by the segment before anything of that size is read.
  if (at.disk_bytes > limit_ - offset) {
    at.error = format::RecordError::length_past_end;
    return at;
  }
  Result<const std::byte *> bytes = view(offset, at.disk_bytes);
  if (!bytes.ok()) return bytes.status();
  const format::DecodeOutcome outcome =
      format::decode_record(std::span<const std::byte>(*bytes, at.disk_bytes), expected_lsn, record_seed_);
  at.error = outcome.error;
  if (outcome.error == format::RecordError::none) {
    // Invariant: a decoded record occupies exactly the bytes its header announced.
    SEGSTORE_ASSERT(outcome.record.disk_bytes == at.disk_bytes, "record size changed between header and body");
    at.payload = outcome.record.payload;
  }
  return at;
}

Result<std::uint64_t> SegmentReader::find_nonzero(std::uint64_t from, std::uint64_t to) {
  SEGSTORE_ASSERT(to <= limit_, "zero check past the limit");
  std::uint64_t pos = from;
  while (pos < to) {
    const std::uint64_t in_block = pos % block_size_bytes;
    const std::uint64_t n = std::min<std::uint64_t>(read_window_bytes - in_block, to - pos);
    Result<const std::byte *> p = view(pos, n);
    if (!p.ok()) return p.status();
    const std::size_t i = first_nonzero(*p, n);
    if (i < n) return pos + i;
    pos += n;
  }
  return to;
}

std::uint64_t lsn_bound_of(std::uint64_t base_lsn, std::uint64_t limit) {
  const std::uint64_t span = limit / format::record_header_bytes;
  return base_lsn > UINT64_MAX - span ? UINT64_MAX : base_lsn + span;
}

Result<std::uint64_t> SegmentReader::find_record_of_this_life(std::uint64_t from, std::uint64_t to,
                                                              std::uint64_t base_lsn, bool *nonzero) {
  SEGSTORE_ASSERT(to <= limit_ && from % format::record_alignment_bytes == 0, "record search outside the segment");
  *nonzero = false;
  const std::uint64_t lsn_bound = lsn_bound_of(base_lsn, limit_);
  std::uint64_t pos = from;
  while (pos < to) {
    const std::uint64_t in_block = pos % block_size_bytes;
    const std::uint64_t n = std::min<std::uint64_t>(read_window_bytes - in_block, to - pos);
    Result<const std::byte *> p = view(pos, n);
    if (!p.ok()) return p.status();
    if (!*nonzero && first_nonzero(*p, n) < n) *nonzero = true;
    std::uint64_t q = pos;
    for (; q + format::record_header_bytes <= pos + n; q += format::record_alignment_bytes) {
      const std::byte *h = *p + (q - pos);
      // Cheap checks first (the LSN and the type of a header of this segment), the seeded CRC last.
      const std::uint64_t lsn = format::load_u64(h + 8);
      const std::uint8_t type = std::to_integer<std::uint8_t>(h[24]);
      if (lsn < base_lsn || lsn > lsn_bound || type == 0 || type > format::record_type_max) continue;
      if (format::decode_record_header(std::span<const std::byte>(h, format::record_header_bytes), nullptr,
                                       record_seed_) == format::RecordError::none)
        return q;
    }
    // Headers that straddle this view's end are tried in the next one, which starts at them.
    if (pos + n == to) break;
    pos = q;
  }
  return to;
}

}  // namespace segstore::log
