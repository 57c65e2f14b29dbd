// format/layout.h — the constants every on-disk structure shares, tied together at compile time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace segstore::format {

// Format version written into every file header. Readers refuse versions they do not know
// (docs/FORMAT.md, "Versioning").
inline constexpr std::uint32_t format_version = 1;
// The version a recycled segment's header carries (format/segment_header.h, flags): its records'
// header checksums are seeded with the segment id. Every other file, and every segment made from
// a new file, stays at format_version, byte for byte; a reader of version 1 only refuses a
// recycled segment as unsupported (never as damage it would cut).
inline constexpr std::uint32_t format_version_recycled = 2;

// The unit of O_DIRECT I/O and of the sparse index. Every device write starts and ends on a
// block boundary, so the writer never rewrites a block that holds acknowledged records.
inline constexpr std::uint32_t block_size_bytes = 4096;
// Sector size assumed for torn writes: a write in flight at a crash may land partially, in
// units of this size.
inline constexpr std::uint32_t sector_size_bytes = 512;

// Block 0 of every segment file is its header block; records start at block 1.
inline constexpr std::uint32_t segment_header_block_bytes = block_size_bytes;
inline constexpr std::uint32_t segment_data_offset_bytes = segment_header_block_bytes;

inline constexpr std::uint32_t record_header_bytes = 32;
// Records start at multiples of 8 bytes; the gap after a payload is zero.
inline constexpr std::uint32_t record_alignment_bytes = 8;
inline constexpr std::uint32_t record_payload_max_bytes = 8u << 20;

// The LSN limit: next_lsn (the LSN after the last record) never exceeds next_lsn_max, so every
// record's LSN is below it and `lsn + 1` never wraps. A log whose next_lsn reached it is full:
// appends fail with log_full. LSN 2^64 - 1 itself is never a record's (decode_record_header
// refuses it); a padding record may carry it, as the next LSN of a full log.
inline constexpr std::uint64_t next_lsn_max = UINT64_MAX;

// Segment ids: the writer numbers segments 1, 2, 3, ... and never passes segment_id_max, so
// `id + 1` never wraps (a store making a segment every microsecond reaches it after 290,000
// years). A file named with a larger id is not one segstore made: it is reported and left alone.
inline constexpr std::uint64_t segment_id_max = (1ull << 63) - 1;

// Segment sizes: at least 4 blocks (header + room for a few records); at most 1 GiB so that
// every offset in a segment fits 32 bits (the sparse index stores u32 offsets).
inline constexpr std::uint64_t segment_size_min_bytes = 4ull * block_size_bytes;
inline constexpr std::uint64_t segment_size_max_bytes = 1ull << 30;
inline constexpr std::uint64_t segment_size_default_bytes = 64ull << 20;

static_assert((block_size_bytes & (block_size_bytes - 1)) == 0, "block size is a power of two");
static_assert(block_size_bytes >= 512, "O_DIRECT needs at least 512-byte blocks");
static_assert(block_size_bytes % sector_size_bytes == 0);
static_assert(segment_size_min_bytes % block_size_bytes == 0);
static_assert(segment_size_max_bytes % block_size_bytes == 0);
static_assert(segment_size_max_bytes <= UINT32_MAX + 1ull, "offsets are u32");
static_assert(record_header_bytes % record_alignment_bytes == 0);
static_assert(record_payload_max_bytes + record_header_bytes < segment_size_default_bytes,
              "the largest record fits a default segment");

constexpr std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}
constexpr std::uint64_t align_down(std::uint64_t value, std::uint64_t alignment) {
  return value / alignment * alignment;
}

// Bytes a record with `payload_bytes` occupies on disk, header and alignment gap included.
constexpr std::uint64_t record_disk_bytes(std::uint64_t payload_bytes) {
  return align_up(record_header_bytes + payload_bytes, record_alignment_bytes);
}

// The largest payload a segment of `segment_bytes` can hold: one record filling the data area.
constexpr std::uint64_t payload_max_for_segment(std::uint64_t segment_bytes) {
  const std::uint64_t data = segment_bytes - segment_data_offset_bytes - record_header_bytes;
  return data < record_payload_max_bytes ? data : record_payload_max_bytes;
}

}  // namespace segstore::format
