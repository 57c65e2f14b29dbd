// format/segment_header.cc — encode and decode block 0 of a segment (byte table in
// format/segment_header.h).
#include "format/segment_header.h"

#include <cstring>
#include <string>

#include "base/assert.h"
#include "format/crc32c.h"
#include "format/endian.h"
#include "format/layout.h"
#include "format/record.h"

namespace segstore::format {
namespace {

constexpr std::size_t magic_offset = 0;
constexpr std::size_t version_offset = 8;
constexpr std::size_t block_size_offset = 12;
constexpr std::size_t segment_id_offset = 16;
constexpr std::size_t base_lsn_offset = 24;
constexpr std::size_t segment_bytes_offset = 32;
constexpr std::size_t created_offset = 40;
constexpr std::size_t store_id_offset = 48;
constexpr std::size_t flags_offset = 56;
constexpr std::uint32_t flags_known = segment_flag_recycled | segment_flag_spare;
constexpr std::size_t header_crc_offset = 60;
static_assert(header_crc_offset + 4 == segment_header_bytes);
static_assert(segment_header_bytes <= segment_header_block_bytes);

std::uint32_t header_crc_of(const std::byte *p) {
  return crc32c_mask(crc32c(std::span(p, header_crc_offset)));
}

bool segment_size_valid(std::uint64_t bytes) {
  return bytes % block_size_bytes == 0 && bytes >= segment_size_min_bytes &&
         bytes <= segment_size_max_bytes;
}

// Version 1 has no flags; version 2 exists for recycled segments only, so `recycled` is set.
bool flags_valid(std::uint32_t version, std::uint32_t flags) {
  if (version == format_version) return flags == 0;
  return (flags & ~flags_known) == 0 && (flags & segment_flag_recycled) != 0;
}

}  // namespace

std::uint32_t segment_format_version_for(std::uint32_t flags) {
  return flags == 0 ? format_version : format_version_recycled;
}

std::uint32_t record_crc_seed_of(const SegmentHeader &header) {
  return header.recycled() ? record_crc_seed(header.segment_id) : 0;
}

const char *segment_header_error_name(SegmentHeaderError error) {
  switch (error) {
    case SegmentHeaderError::none: return "none";
    case SegmentHeaderError::unused: return "unused";
    case SegmentHeaderError::too_short: return "too_short";
    case SegmentHeaderError::bad_magic: return "bad_magic";
    case SegmentHeaderError::header_checksum: return "header_checksum";
    case SegmentHeaderError::unsupported_version: return "unsupported_version";
    case SegmentHeaderError::bad_block_size: return "bad_block_size";
    case SegmentHeaderError::reserved_nonzero: return "reserved_nonzero";
    case SegmentHeaderError::bad_segment_size: return "bad_segment_size";
  }
  return "unknown";
}

void encode_segment_header(const SegmentHeader &header, std::byte *out) {
  // A writer must never put on disk a header its own reader would refuse.
  SEGSTORE_ASSERT(header.format_version == segment_format_version_for(header.flags) &&
                      flags_valid(header.format_version, header.flags),
                  "segment header format_version " + std::to_string(header.format_version) + " with flags " +
                      std::to_string(header.flags));
  SEGSTORE_ASSERT(header.block_size_bytes == block_size_bytes,
                  "segment header block_size_bytes " + std::to_string(header.block_size_bytes));
  SEGSTORE_ASSERT(segment_size_valid(header.segment_bytes),
                  "segment header segment_bytes " + std::to_string(header.segment_bytes));
  std::memcpy(out + magic_offset, segment_magic, sizeof segment_magic);
  store_u32(out + version_offset, header.format_version);
  store_u32(out + block_size_offset, header.block_size_bytes);
  store_u64(out + segment_id_offset, header.segment_id);
  store_u64(out + base_lsn_offset, header.base_lsn);
  store_u64(out + segment_bytes_offset, header.segment_bytes);
  store_u64(out + created_offset, header.created_unix_ms);
  store_u64(out + store_id_offset, header.store_id);
  store_u32(out + flags_offset, header.flags);
  store_u32(out + header_crc_offset, header_crc_of(out));
}

SegmentHeaderError decode_segment_header(std::span<const std::byte> bytes, SegmentHeader *out) {
  if (bytes.size() < segment_header_bytes) return SegmentHeaderError::too_short;
  const std::byte *p = bytes.data();
  // A preallocated segment that was never activated is all zero; a header that is zero while
  // something else in block 0 is not is damage, and falls through to bad_magic below.
  const std::size_t block0_bytes =
      bytes.size() < segment_header_block_bytes ? bytes.size() : segment_header_block_bytes;
  if (all_zero(p, block0_bytes)) return SegmentHeaderError::unused;
  if (std::memcmp(p + magic_offset, segment_magic, sizeof segment_magic) != 0)
    return SegmentHeaderError::bad_magic;
  // The version is looked at before the checksum: a later format may lay the header out
  // differently (checksum included), and must be refused as unsupported, never treated as
  // damage that recovery would cut or quarantine.
  const std::uint32_t version = load_u32(p + version_offset);
  if (version != format_version && version != format_version_recycled)
    return SegmentHeaderError::unsupported_version;
  // Before any other field is trusted: any of them may be the damaged one.
  if (load_u32(p + header_crc_offset) != header_crc_of(p)) return SegmentHeaderError::header_checksum;
  const std::uint32_t block_size = load_u32(p + block_size_offset);
  if (block_size != block_size_bytes) return SegmentHeaderError::bad_block_size;
  const std::uint32_t flags = load_u32(p + flags_offset);
  if (!flags_valid(version, flags)) return SegmentHeaderError::reserved_nonzero;
  const std::uint64_t segment_bytes = load_u64(p + segment_bytes_offset);
  if (!segment_size_valid(segment_bytes)) return SegmentHeaderError::bad_segment_size;
  if (out != nullptr) {
    out->format_version = version;
    out->block_size_bytes = block_size;
    out->segment_id = load_u64(p + segment_id_offset);
    out->base_lsn = load_u64(p + base_lsn_offset);
    out->segment_bytes = segment_bytes;
    out->created_unix_ms = load_u64(p + created_offset);
    out->store_id = load_u64(p + store_id_offset);
    out->flags = flags;
  }
  return SegmentHeaderError::none;
}

}  // namespace segstore::format
