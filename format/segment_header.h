// format/segment_header.h — block 0 of every segment file.
//
// Byte table (little-endian; the rest of block 0 is zero; docs/FORMAT.md "Segment header"):
//
//   offset size field            meaning
//   0      8    magic            ASCII "SGSTSEG1"
//   8      4    format_version   layout.h format_version
//   12     4    block_size_bytes 4096
//   16     8    segment_id       sequence number of this segment file (its file name)
//   24     8    base_lsn         LSN of the first record in the segment
//   32     8    segment_bytes    size the file was preallocated to
//   40     8    created_unix_ms  wall clock when the segment was activated
//   48     8    store_id         random id of the store: a segment of another store is refused
//   56     4    reserved         must be 0
//   60     4    header_crc       masked CRC32C of bytes 0..59
//
// A segment whose block 0 is all zero is preallocated and not yet used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace segstore::format {

inline constexpr std::uint32_t segment_header_bytes = 64;
inline constexpr char segment_magic[8] = {'S', 'G', 'S', 'T', 'S', 'E', 'G', '1'};

struct SegmentHeader {
  std::uint32_t format_version = 0;
  std::uint32_t block_size_bytes = 0;
  std::uint64_t segment_id = 0;
  std::uint64_t base_lsn = 0;
  std::uint64_t segment_bytes = 0;
  std::uint64_t created_unix_ms = 0;
  std::uint64_t store_id = 0;
};

enum class SegmentHeaderError : std::uint8_t {
  none = 0,
  unused,             // block 0 is all zero: preallocated, never activated
  too_short,          // fewer than segment_header_bytes available
  bad_magic,
  header_checksum,
  unsupported_version,
  bad_block_size,
  reserved_nonzero,
  bad_segment_size,   // not a multiple of the block size or outside the allowed range
};
const char *segment_header_error_name(SegmentHeaderError error);

// Writes the 64-byte header into out[0..64).
void encode_segment_header(const SegmentHeader &header, std::byte *out);
// Decodes and checks the header at the start of `bytes` (give the whole block 0 so that
// `unused` can be told from damage: all 4096 bytes must be zero for `unused`).
SegmentHeaderError decode_segment_header(std::span<const std::byte> bytes, SegmentHeader *out);

}  // namespace segstore::format
