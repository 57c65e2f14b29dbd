// format/index_snapshot.h — the file written beside a sealed segment: its sparse index and
// stream bitmaps, so that open() need not scan the segment.
//
// File "<segment id, 20 digits>.idx". Byte table (little-endian; docs/FORMAT.md "Index snapshot"):
//
//   Header, 80 bytes:
//   offset size field           meaning
//   0      8    magic           ASCII "SGSTIDX1"
//   8      4    format_version
//   12     4    entry_count     sparse index entries in the body
//   16     8    segment_id      must match the segment's header
//   24     8    base_lsn        must match the segment's header
//   32     8    store_id        must match the segment's header
//   40     8    record_count    records (not padding) in the segment: next LSN = base + count
//   48     4    end_offset      first byte after the last record (where zero space begins)
//   52     4    stream_count    stream entries in the body
//   56     8    body_bytes      bytes after the header
//   64     4    body_crc        masked CRC32C of the body
//   68     8    reserved        must be 0
//   76     4    header_crc      masked CRC32C of bytes 0..75
//   Body:
//   entry_count times:  u32 lsn_delta (lsn - base_lsn), u32 offset   (sorted, strictly rising)
//   stream_count times: u32 stream, u32 bitmap_bytes, u64 record_count,
//                       bitmap_bytes of CRoaring portable serialization of the set of block
//                       numbers (offset / 4096) in which a record of that stream starts
//                       (streams sorted, strictly rising)
//
// The header is checked separately from the body so that open() can read 80 bytes per sealed
// segment and load the body only when the segment is first read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace segstore::format {

inline constexpr std::uint32_t index_header_bytes = 80;

// The largest index snapshot (header included) of a segment whose records lie in its first
// `segment_limit_bytes` (min of its file size and its header's segment_bytes): a bound derived
// from the format, checked before a snapshot is read into memory. The body holds at most one
// 8-byte entry per 4096-byte block, and per record (32 bytes on disk at least) at most one
// 16-byte stream entry and one bitmap value costing at most 18 bytes in CRoaring's portable
// form (2 bytes in an array container, 8 for a container it opens, 8 for a bitmap preamble):
// 34 bytes per 32, so twice the segment bounds the body.
constexpr std::uint64_t index_snapshot_max_bytes(std::uint64_t segment_limit_bytes) {
  return index_header_bytes + 2 * segment_limit_bytes;
}
inline constexpr char index_magic[8] = {'S', 'G', 'S', 'T', 'I', 'D', 'X', '1'};

// Byte offsets of the header's fields (the table above): the codec and verify's reports use them.
inline constexpr std::size_t index_magic_offset = 0;
inline constexpr std::size_t index_version_offset = 8;
inline constexpr std::size_t index_entry_count_offset = 12;
inline constexpr std::size_t index_segment_id_offset = 16;
inline constexpr std::size_t index_base_lsn_offset = 24;
inline constexpr std::size_t index_store_id_offset = 32;
inline constexpr std::size_t index_record_count_offset = 40;
inline constexpr std::size_t index_end_offset_offset = 48;
inline constexpr std::size_t index_stream_count_offset = 52;
inline constexpr std::size_t index_body_bytes_offset = 56;
inline constexpr std::size_t index_body_crc_offset = 64;
inline constexpr std::size_t index_reserved_offset = 68;
inline constexpr std::size_t index_header_crc_offset = 76;
static_assert(index_header_crc_offset + 4 == index_header_bytes);

// Body element sizes: an entry is u32 lsn_delta + u32 offset; a stream's fixed part is
// u32 stream + u32 bitmap_bytes + u64 record_count, followed by the bitmap.
inline constexpr std::size_t index_entry_bytes = 8;
inline constexpr std::size_t index_stream_fixed_bytes = 16;
// Offsets within a stream entry's fixed part.
inline constexpr std::size_t index_stream_record_count_offset = 8;
inline constexpr std::size_t index_stream_bitmap_offset = 16;

struct IndexEntry {
  std::uint32_t lsn_delta = 0;  // lsn - segment base_lsn of the first record starting in a block
  std::uint32_t offset = 0;     // byte offset of that record in the segment file
  bool operator==(const IndexEntry &) const = default;
};

struct StreamEntry {
  std::uint32_t stream = 0;
  std::uint64_t record_count = 0;
  std::vector<std::byte> bitmap;  // CRoaring portable serialization (not interpreted here)
  bool operator==(const StreamEntry &) const = default;
};

struct IndexHeader {
  std::uint32_t format_version = 0;
  std::uint32_t entry_count = 0;
  std::uint64_t segment_id = 0;
  std::uint64_t base_lsn = 0;
  std::uint64_t store_id = 0;
  std::uint64_t record_count = 0;
  std::uint32_t end_offset = 0;
  std::uint32_t stream_count = 0;
  std::uint64_t body_bytes = 0;
  std::uint32_t body_crc = 0;  // unmasked
};

struct IndexBody {
  std::vector<IndexEntry> entries;
  std::vector<StreamEntry> streams;
};

enum class IndexError : std::uint8_t {
  none = 0,
  too_short,
  bad_magic,
  header_checksum,
  unsupported_version,
  reserved_nonzero,
  body_size_mismatch,   // body_bytes disagrees with the bytes present or with the counts
  body_checksum,
  entries_not_sorted,
  streams_not_sorted,
  bitmap_past_end,      // a bitmap length runs past the body
  lsn_past_limit,       // base_lsn + record_count exceeds next_lsn_max (format/layout.h)
};
const char *index_error_name(IndexError error);

// Encodes header and body into one byte string (the whole file). Fills header.body_bytes,
// body_crc, entry_count and stream_count from the body.
std::vector<std::byte> encode_index_snapshot(IndexHeader header, const IndexBody &body);
IndexError decode_index_header(std::span<const std::byte> bytes, IndexHeader *out);
// `bytes` is the whole file. Checks the header, then the body against header.body_crc. Never
// allocates more than the input's size: counts are checked against the bytes present first.
IndexError decode_index_snapshot(std::span<const std::byte> bytes, IndexHeader *header,
                                 IndexBody *body);

}  // namespace segstore::format
