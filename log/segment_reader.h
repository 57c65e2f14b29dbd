// log/segment_reader.h — the one reader of a segment file's bytes: block-aligned windows over
// [0, limit) read on demand, and the record at an offset decoded from them.
//
// Recovery's scan, the engine's index rebuild and the inspection tools (verify, dump, LogReader)
// all read segments through this class, so a length field is bounded, a window is sized and a
// record is judged the same way everywhere. (The engine's read path, which reads through a
// Store's index, is apart: it never walks a segment it does not know.)
//
// Reads are whole, aligned blocks into an aligned buffer, so that segment files can be read with
// O_DIRECT like the writer writes them: a buffered read racing a direct write can leave a stale
// page in the page cache, and a reader tailing a live store would then never see the records
// written there.
//
// Reads are synchronous (File::read_at), or, given a log::WindowReads, served from windows read
// ahead on an io::ReadAhead (log/window_reads.h) with the same results and the same errors.
//
// Memory: one window (read_window_bytes; larger only for a record that does not fit in one),
// borrowed from the WindowReads when there is one (reused across segments), and swapped with a
// window read ahead when that one is handed over whole (WindowReads::take_window: no copy).
// Thread-safety: none; one reader per walk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "format/layout.h"
#include "format/record.h"
#include "io/aligned_buffer.h"
#include "io/env.h"
#include "log/window_reads.h"

namespace segstore::log {

// Bytes read per device request while walking records or checking zeros (whole blocks).
inline constexpr std::size_t read_window_bytes = 1u << 20;
static_assert(read_window_bytes % format::block_size_bytes == 0);
static_assert(read_window_bytes >= 2 * format::block_size_bytes, "windows overlap by one block");

// One record position of a segment, as read_record found it.
struct RecordAt {
  std::uint64_t offset = 0;
  format::RecordError error = format::RecordError::none;  // none: a valid record or padding
  // The header passed its checks, so `header` and `disk_bytes` can be trusted (the record's
  // extent is known) even when the payload, the gap or the LSN is bad.
  bool header_ok = false;
  format::RecordHeader header;
  std::uint64_t disk_bytes = 0;
  std::span<const std::byte> payload;  // when error == none; valid until the next read
  bool tail_zero = false;  // error == truncated_header: the short tail before the limit is all zero
};

class SegmentReader {
 public:
  // `limit`: bytes of the file that may hold records (min(file size, header segment_bytes)).
  // The first read is `first_window_bytes` (rounded to whole blocks), and each later one twice
  // the last, up to read_window_bytes: a tailing reader polls with small reads, a scan streams
  // big ones. `on_read` (may be empty) gets the byte count of each read, for progress.
  // `ahead` (may be nullptr): reads go through it, and are all waited for by the destructor.
  SegmentReader(io::File &file, std::uint64_t limit, std::size_t first_window_bytes = read_window_bytes,
                std::function<void(std::uint64_t)> on_read = {}, WindowReads *ahead = nullptr);
  ~SegmentReader();
  SegmentReader(const SegmentReader &) = delete;
  SegmentReader &operator=(const SegmentReader &) = delete;

  // Makes [offset, offset + bytes) readable and returns a pointer to offset, valid until the
  // next call. The caller bounds the range by the segment (offset + bytes <= limit), so nothing
  // larger than the segment is ever allocated, whatever a length field on disk said. Errors:
  // I/O, and io_error when the file ends before `limit` (it shrank while being read).
  Result<const std::byte *> view(std::uint64_t offset, std::uint64_t bytes);

  // Decodes the record at `offset` (8-byte aligned, <= limit): the header alone first, its
  // length trusted only after its checksum passed and bounded by the limit (length_past_end),
  // then the whole record. Fewer than a header's bytes before the limit: truncated_header, with
  // tail_zero telling whether they are the zeros a full segment ends in. `expected_lsn` may be
  // nullptr. Errors: I/O.
  Result<RecordAt> read_record(std::uint64_t offset, const std::uint64_t *expected_lsn);

  // The first non-zero byte in [from, to), or `to` when all are zero (to <= limit).
  Result<std::uint64_t> find_nonzero(std::uint64_t from, std::uint64_t to);

  // The seed of the segment's record header checksums (format::record_crc_seed_of its header;
  // 0, the default, unless it is recycled). Every record read_record decodes is checked with it.
  void set_record_seed(std::uint32_t seed) { record_seed_ = seed; }
  std::uint32_t record_seed() const { return record_seed_; }

  // A recycled segment after its records: the first 8-byte aligned position in [from, to)
  // where a record header of this life decodes (this seed, an LSN in [base_lsn, base_lsn +
  // limit / 32], a known type), or `to` when there is none; *nonzero tells whether any byte of
  // [from, to) is not zero. A previous life's bytes (another seed) never qualify.
  Result<std::uint64_t> find_record_of_this_life(std::uint64_t from, std::uint64_t to, std::uint64_t base_lsn,
                                                 bool *nonzero);

  std::uint64_t limit() const { return limit_; }
  // Bytes of the segment below the limit read so far (each byte counted once per read).
  std::uint64_t bytes_read() const { return bytes_read_; }

 private:
  Status read_into_front(std::uint64_t start, std::uint64_t kept, std::uint64_t want, std::uint64_t *got);

  io::File &file_;
  const std::uint64_t limit_;
  std::size_t window_bytes_;  // the next read's size (grows to read_window_bytes)
  std::function<void(std::uint64_t)> on_read_;
  WindowReads *ahead_;
  io::AlignedBuffer buffer_;
  std::size_t skip_ = 0;     // the window's bytes start at buffer_[skip_] (a buffer from take_window)
  std::uint64_t start_ = 0;  // file offset of buffer_[skip_] (block aligned)
  std::uint64_t valid_ = 0;  // bytes of buffer_ read from the file, below limit
  std::uint64_t bytes_read_ = 0;
  std::uint32_t record_seed_ = 0;
};

// base_lsn + limit / 32, saturating: no record of a segment of `limit` bytes starting at
// base_lsn can carry an LSN far past it (every record takes at least a header's 32 bytes), and a
// damaged base near 2^64 must not wrap the bound below the base.
std::uint64_t lsn_bound_of(std::uint64_t base_lsn, std::uint64_t limit);

// Index of the first non-zero byte of p[0..n), or n.
std::size_t first_nonzero(const std::byte *p, std::size_t n);
// Index one past the last non-zero byte of p[0..n), or 0.
std::size_t last_nonzero_end(const std::byte *p, std::size_t n);

}  // namespace segstore::log
