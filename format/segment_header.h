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
//   56     4    flags            version 1: must be 0. Version 2: bit 0 `recycled` (set), bit 1
//                                `spare` (prepared from a freed file, not activated yet); other
//                                bits must be 0
//   60     4    header_crc       masked CRC32C of bytes 0..59
//
// A segment whose block 0 is all zero is preallocated and not yet used. A recycled segment
// (version 2, flag `recycled`) reuses the file of a segment that trim or retention freed: the
// bytes after its records are a previous life's, and its records' header checksums are seeded
// with its segment id (format/record.h record_crc_seed) so that none of them ever decodes as
// one of this life's. A `spare` header marks such a file prepared but not activated: it holds
// no record of the log (base_lsn 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace segstore::format {

inline constexpr std::uint32_t segment_header_bytes = 64;
inline constexpr char segment_magic[8] = {'S', 'G', 'S', 'T', 'S', 'E', 'G', '1'};
inline constexpr std::uint32_t segment_flag_recycled = 1u << 0;
inline constexpr std::uint32_t segment_flag_spare = 1u << 1;

struct SegmentHeader {
  std::uint32_t format_version = 0;
  std::uint32_t block_size_bytes = 0;
  std::uint64_t segment_id = 0;
  std::uint64_t base_lsn = 0;
  std::uint64_t segment_bytes = 0;
  std::uint64_t created_unix_ms = 0;
  std::uint64_t store_id = 0;
  std::uint32_t flags = 0;  // segment_flag_*; 0 in version 1

  bool recycled() const { return (flags & segment_flag_recycled) != 0; }
  bool spare() const { return (flags & segment_flag_spare) != 0; }
};
// The version a header with these flags carries.
std::uint32_t segment_format_version_for(std::uint32_t flags);
// The seed of the header checksums of the segment's records (format/record.h): 0 (none) unless
// the segment is recycled.
std::uint32_t record_crc_seed_of(const SegmentHeader &header);

enum class SegmentHeaderError : std::uint8_t {
  none = 0,
  unused,             // block 0 is all zero: preallocated, never activated
  too_short,          // fewer than segment_header_bytes available
  bad_magic,
  header_checksum,
  unsupported_version,
  bad_block_size,
  reserved_nonzero,   // version 1: flags not 0; version 2: unknown flag bits, or no `recycled`
  bad_segment_size,   // not a multiple of the block size or outside the allowed range
};
const char *segment_header_error_name(SegmentHeaderError error);

// Writes the 64-byte header into out[0..64).
void encode_segment_header(const SegmentHeader &header, std::byte *out);
// Decodes and checks the header at the start of `bytes` (give the whole block 0 so that
// `unused` can be told from damage: all 4096 bytes must be zero for `unused`).
SegmentHeaderError decode_segment_header(std::span<const std::byte> bytes, SegmentHeader *out);

}  // namespace segstore::format
