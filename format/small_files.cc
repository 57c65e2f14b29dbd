// format/small_files.cc — META, CLEAN and application snapshot files (byte tables in
// format/small_files.h). All three share a 64-byte header shape: magic at 0, format_version at
// 8, a masked CRC32C of bytes 0..59 at 60.
#include "format/small_files.h"

#include <algorithm>
#include <cstring>

#include "format/crc32c.h"
#include "format/endian.h"
#include "format/layout.h"

namespace segstore::format {
namespace {

constexpr std::size_t magic_offset = 0;
constexpr std::size_t version_offset = 8;
constexpr std::size_t crc_offset = 60;
static_assert(crc_offset + 4 == small_file_header_bytes);

// META
constexpr std::size_t meta_block_size_offset = 12;
constexpr std::size_t meta_store_id_offset = 16;
constexpr std::size_t meta_first_lsn_offset = 24;
constexpr std::size_t meta_min_segment_id_offset = 32;
constexpr std::size_t meta_lost_lsn_first_offset = 40;
constexpr std::size_t meta_lost_lsn_end_offset = 48;
constexpr std::size_t meta_flags_offset = 56;  // 4 bytes
static_assert(meta_lost_lsn_end_offset + 8 == meta_flags_offset);
constexpr std::uint32_t meta_flag_reset = 1;
constexpr std::uint32_t meta_known_flags = meta_flag_reset;

// CLEAN
constexpr std::size_t clean_reserved_a_offset = 12;  // 4 bytes
constexpr std::size_t clean_store_id_offset = 16;
constexpr std::size_t clean_next_lsn_offset = 24;
constexpr std::size_t clean_active_segment_id_offset = 32;
constexpr std::size_t clean_active_end_offset_offset = 40;
constexpr std::size_t clean_reserved_b_offset = 44;  // 16 bytes

// TRUNCATE
constexpr std::size_t truncate_reserved_a_offset = 12;  // 4 bytes
constexpr std::size_t truncate_store_id_offset = 16;
constexpr std::size_t truncate_cut_lsn_offset = 24;
constexpr std::size_t truncate_reserved_b_offset = 32;  // 28 bytes

// Application snapshot
constexpr std::size_t snap_state_crc_offset = 12;
constexpr std::size_t snap_store_id_offset = 16;
constexpr std::size_t snap_lsn_offset = 24;
constexpr std::size_t snap_state_bytes_offset = 32;
constexpr std::size_t snap_reserved_offset = 40;  // 20 bytes

std::uint32_t crc_of(const std::byte *p) { return crc32c_mask(crc32c(std::span(p, crc_offset))); }

// Starts a file: zeroes the header (so every reserved byte is 0), writes magic and version.
std::vector<std::byte> start_file(const char (&magic)[8], std::size_t extra_bytes) {
  std::vector<std::byte> file(small_file_header_bytes + extra_bytes);
  std::memcpy(file.data() + magic_offset, magic, sizeof magic);
  store_u32(file.data() + version_offset, format_version);
  return file;
}

void seal_header(std::vector<std::byte> &file) {
  store_u32(file.data() + crc_offset, crc_of(file.data()));
}

// The checks every small file shares, in order: length, magic, version, checksum.
SmallFileError check_header(std::span<const std::byte> bytes, const char (&magic)[8]) {
  if (bytes.size() < small_file_header_bytes) return SmallFileError::too_short;
  const std::byte *p = bytes.data();
  if (std::memcmp(p + magic_offset, magic, sizeof magic) != 0) return SmallFileError::bad_magic;
  // Version before checksum: a later format may lay the header out differently; it must read
  // as unsupported, never as damage (docs/FORMAT.md, "Versioning").
  if (load_u32(p + version_offset) != format_version) return SmallFileError::unsupported_version;
  if (load_u32(p + crc_offset) != crc_of(p)) return SmallFileError::checksum;
  return SmallFileError::none;
}

}  // namespace

const char *small_file_error_name(SmallFileError error) {
  switch (error) {
    case SmallFileError::none: return "none";
    case SmallFileError::too_short: return "too_short";
    case SmallFileError::bad_magic: return "bad_magic";
    case SmallFileError::checksum: return "checksum";
    case SmallFileError::unsupported_version: return "unsupported_version";
    case SmallFileError::reserved_nonzero: return "reserved_nonzero";
    case SmallFileError::length_mismatch: return "length_mismatch";
    case SmallFileError::state_checksum: return "state_checksum";
    case SmallFileError::bad_field: return "bad_field";
    case SmallFileError::too_large: return "too_large";
  }
  return "unknown";
}

std::vector<std::byte> encode_meta(const MetaFile &meta) {
  std::vector<std::byte> file = start_file(meta_magic, 0);
  std::byte *p = file.data();
  store_u32(p + meta_block_size_offset, block_size_bytes);
  store_u64(p + meta_store_id_offset, meta.store_id);
  store_u64(p + meta_first_lsn_offset, meta.first_lsn);
  store_u64(p + meta_min_segment_id_offset, meta.min_segment_id);
  store_u64(p + meta_lost_lsn_first_offset, meta.lost_lsn_first);
  store_u64(p + meta_lost_lsn_end_offset, meta.lost_lsn_end);
  store_u32(p + meta_flags_offset, meta.discarded_by_reset ? meta_flag_reset : 0);
  seal_header(file);
  return file;
}

SmallFileError decode_meta(std::span<const std::byte> bytes, MetaFile *out) {
  if (const SmallFileError e = check_header(bytes, meta_magic); e != SmallFileError::none) return e;
  const std::byte *p = bytes.data();
  // The block size is part of the layout (segment offsets, index blocks): a store made with
  // another block size is another format to this build.
  if (load_u32(p + meta_block_size_offset) != block_size_bytes)
    return SmallFileError::unsupported_version;
  // META is exactly its header; anything after it is not ours.
  if (bytes.size() != small_file_header_bytes) return SmallFileError::length_mismatch;
  // A recorded loss is a non-empty range; no loss is both fields zero. Anything else was never
  // written by the engine.
  const std::uint64_t lost_first = load_u64(p + meta_lost_lsn_first_offset);
  const std::uint64_t lost_end = load_u64(p + meta_lost_lsn_end_offset);
  if (lost_end != 0 ? lost_first >= lost_end : lost_first != 0) return SmallFileError::bad_field;
  // An unknown flag may change what a field means: refused, not ignored.
  const std::uint32_t flags = load_u32(p + meta_flags_offset);
  if ((flags & ~meta_known_flags) != 0) return SmallFileError::bad_field;
  if (out != nullptr) {
    out->store_id = load_u64(p + meta_store_id_offset);
    out->first_lsn = load_u64(p + meta_first_lsn_offset);
    out->min_segment_id = load_u64(p + meta_min_segment_id_offset);
    out->lost_lsn_first = lost_first;
    out->lost_lsn_end = lost_end;
    out->discarded_by_reset = (flags & meta_flag_reset) != 0;
  }
  return SmallFileError::none;
}

bool may_be_unfinished_meta(std::span<const std::byte> bytes) {
  if (bytes.size() > small_file_header_bytes) return false;
  if (all_zero(bytes.data(), bytes.size())) return true;
  // A torn write keeps whole sectors: a non-zero META.tmp starts with (part of) the magic.
  const std::size_t magic_bytes = std::min(bytes.size(), sizeof meta_magic);
  return std::memcmp(bytes.data() + magic_offset, meta_magic, magic_bytes) == 0;
}

std::vector<std::byte> encode_clean(const CleanFile &clean) {
  std::vector<std::byte> file = start_file(clean_magic, 0);
  std::byte *p = file.data();
  store_u64(p + clean_store_id_offset, clean.store_id);
  store_u64(p + clean_next_lsn_offset, clean.next_lsn);
  store_u64(p + clean_active_segment_id_offset, clean.active_segment_id);
  store_u32(p + clean_active_end_offset_offset, clean.active_end_offset);
  seal_header(file);
  return file;
}

SmallFileError decode_clean(std::span<const std::byte> bytes, CleanFile *out) {
  if (const SmallFileError e = check_header(bytes, clean_magic); e != SmallFileError::none) return e;
  const std::byte *p = bytes.data();
  if (load_u32(p + clean_reserved_a_offset) != 0 ||
      !all_zero(p + clean_reserved_b_offset, crc_offset - clean_reserved_b_offset))
    return SmallFileError::reserved_nonzero;
  // CLEAN is exactly its header; anything after it is not ours.
  if (bytes.size() != small_file_header_bytes) return SmallFileError::length_mismatch;
  if (out != nullptr) {
    out->store_id = load_u64(p + clean_store_id_offset);
    out->next_lsn = load_u64(p + clean_next_lsn_offset);
    out->active_segment_id = load_u64(p + clean_active_segment_id_offset);
    out->active_end_offset = load_u32(p + clean_active_end_offset_offset);
  }
  return SmallFileError::none;
}

std::vector<std::byte> encode_truncate(const TruncateFile &intent) {
  std::vector<std::byte> file = start_file(truncate_magic, 0);
  std::byte *p = file.data();
  store_u64(p + truncate_store_id_offset, intent.store_id);
  store_u64(p + truncate_cut_lsn_offset, intent.cut_lsn);
  seal_header(file);
  return file;
}

SmallFileError decode_truncate(std::span<const std::byte> bytes, TruncateFile *out) {
  if (const SmallFileError e = check_header(bytes, truncate_magic); e != SmallFileError::none) return e;
  const std::byte *p = bytes.data();
  if (load_u32(p + truncate_reserved_a_offset) != 0 ||
      !all_zero(p + truncate_reserved_b_offset, crc_offset - truncate_reserved_b_offset))
    return SmallFileError::reserved_nonzero;
  if (bytes.size() != small_file_header_bytes) return SmallFileError::length_mismatch;
  if (out != nullptr) {
    out->store_id = load_u64(p + truncate_store_id_offset);
    out->cut_lsn = load_u64(p + truncate_cut_lsn_offset);
  }
  return SmallFileError::none;
}

namespace {
// The snapshot layout, shared by application snapshots and the application metadata file.
// header.state_bytes is ignored: it is taken from `state`, so it cannot disagree with it.
std::vector<std::byte> encode_state_file(const char (&magic)[8], const SnapshotHeader &header,
                                         std::span<const std::byte> state) {
  std::vector<std::byte> file = start_file(magic, state.size());
  std::byte *p = file.data();
  store_u32(p + snap_state_crc_offset, crc32c_mask(crc32c(state)));
  store_u64(p + snap_store_id_offset, header.store_id);
  store_u64(p + snap_lsn_offset, header.lsn);
  store_u64(p + snap_state_bytes_offset, state.size());
  if (!state.empty()) std::memcpy(p + small_file_header_bytes, state.data(), state.size());
  seal_header(file);
  return file;
}

// The header of a file of that layout (its first 64 bytes in `bytes`, the file `file_bytes`
// long): every check but the state's checksum, whose expected value goes to *state_crc.
SmallFileError decode_state_header(const char (&magic)[8], std::span<const std::byte> bytes,
                                   std::uint64_t file_bytes, SnapshotHeader *header,
                                   std::uint32_t *state_crc) {
  if (const SmallFileError e = check_header(bytes, magic); e != SmallFileError::none)
    return e;
  const std::byte *p = bytes.data();
  if (!all_zero(p + snap_reserved_offset, crc_offset - snap_reserved_offset))
    return SmallFileError::reserved_nonzero;
  // state_bytes is trusted only now that the header checksum has passed, and is compared with
  // the bytes present before the state is touched (or anything is sized by it).
  const std::uint64_t state_bytes = load_u64(p + snap_state_bytes_offset);
  if (file_bytes < small_file_header_bytes || state_bytes != file_bytes - small_file_header_bytes)
    return SmallFileError::length_mismatch;
  if (file_bytes > snapshot_file_max_bytes) return SmallFileError::too_large;
  if (header != nullptr) {
    header->store_id = load_u64(p + snap_store_id_offset);
    header->lsn = load_u64(p + snap_lsn_offset);
    header->state_bytes = state_bytes;
  }
  if (state_crc != nullptr) *state_crc = crc32c_unmask(load_u32(p + snap_state_crc_offset));
  return SmallFileError::none;
}

// A whole file of that layout in `bytes`: the header, then the state's checksum.
SmallFileError decode_state_file(const char (&magic)[8], std::span<const std::byte> bytes,
                                 SnapshotHeader *header, std::span<const std::byte> *state) {
  SnapshotHeader decoded;
  std::uint32_t state_crc = 0;
  if (const SmallFileError e = decode_state_header(magic, bytes, bytes.size(), &decoded, &state_crc);
      e != SmallFileError::none)
    return e;
  const auto state_span = bytes.subspan(small_file_header_bytes);
  if (crc32c(state_span) != state_crc) return SmallFileError::state_checksum;
  if (header != nullptr) *header = decoded;
  if (state != nullptr) *state = state_span;
  return SmallFileError::none;
}
}  // namespace

std::vector<std::byte> encode_snapshot(const SnapshotHeader &header, std::span<const std::byte> state) {
  return encode_state_file(snapshot_magic, header, state);
}

SmallFileError decode_snapshot_header(std::span<const std::byte> bytes, std::uint64_t file_bytes,
                                      SnapshotHeader *header, std::uint32_t *state_crc) {
  return decode_state_header(snapshot_magic, bytes, file_bytes, header, state_crc);
}

SmallFileError decode_snapshot(std::span<const std::byte> bytes, SnapshotHeader *header,
                               std::span<const std::byte> *state) {
  return decode_state_file(snapshot_magic, bytes, header, state);
}

std::vector<std::byte> encode_app_meta(const SnapshotHeader &header, std::span<const std::byte> bytes) {
  return encode_state_file(app_meta_magic, header, bytes);
}

SmallFileError decode_app_meta(std::span<const std::byte> bytes, SnapshotHeader *header,
                               std::span<const std::byte> *body) {
  return decode_state_file(app_meta_magic, bytes, header, body);
}

}  // namespace segstore::format
