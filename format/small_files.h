// format/small_files.h — the store's small metadata files: META (store identity, trim point),
// CLEAN (clean-shutdown marker) and application snapshots. All written atomically (temporary
// file, fdatasync, rename, directory fsync) and checksummed.
//
// META, 64 bytes:
//   0  8 magic "SGSTMETA"   8 4 format_version   12 4 block_size_bytes
//   16 8 store_id           24 8 first_lsn (records below are trimmed)
//   32 8 min_segment_id (segments with a lower id are deleted: trim/reset in progress)
//   40 8 lost_lsn_first     48 8 lost_lsn_end: acknowledged records [first, end) were lost and
//        the loss is not yet accepted (writes refused); both 0 when there is none
//   56 4 flags: bit 0 set by reset_to (segments below min_segment_id were discarded whatever
//        LSNs they hold); other bits 0      60 4 crc: masked CRC32C of bytes 0..59
//
// CLEAN, 64 bytes:
//   0  8 magic "SGSTCLEN"   8 4 format_version   12 4 reserved (0)
//   16 8 store_id           24 8 next_lsn        32 8 active_segment_id
//   40 4 active_end_offset  44 16 reserved (0)   60 4 crc of bytes 0..59
//
// TRUNCATE, 64 bytes (present while a truncate_after changes the files):
//   0  8 magic "SGSTTRNC"   8 4 format_version   12 4 reserved (0)
//   16 8 store_id           24 8 cut_lsn (the first LSN removed)   32 28 reserved (0)
//   60 4 crc of bytes 0..59
//
// Application snapshot "snapshots/<lsn, 20 digits>.snap":
//   0  8 magic "SGSTSNAP"   8 4 format_version   12 4 state_crc (masked CRC32C of the state)
//   16 8 store_id           24 8 lsn             32 8 state_bytes
//   40 20 reserved (0)      60 4 crc of bytes 0..59;   64.. state_bytes of state
//
// Application metadata "APPMETA" (Store::write_metadata): the snapshot's layout with magic
// "SGSTAPPM"; the lsn field holds the write's sequence number (1 for the first write, +1 each
// replacement), so a reader can tell an old copy from a new one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace segstore::format {

inline constexpr std::uint32_t small_file_header_bytes = 64;
// The largest application snapshot file (header included) that is written or read: a larger
// one is refused before its state is read (`too_large`).
inline constexpr std::uint64_t snapshot_file_max_bytes = 1ull << 32;
inline constexpr char meta_magic[8] = {'S', 'G', 'S', 'T', 'M', 'E', 'T', 'A'};
inline constexpr char clean_magic[8] = {'S', 'G', 'S', 'T', 'C', 'L', 'E', 'N'};
inline constexpr char truncate_magic[8] = {'S', 'G', 'S', 'T', 'T', 'R', 'N', 'C'};
inline constexpr char snapshot_magic[8] = {'S', 'G', 'S', 'T', 'S', 'N', 'A', 'P'};
inline constexpr char app_meta_magic[8] = {'S', 'G', 'S', 'T', 'A', 'P', 'P', 'M'};

enum class SmallFileError : std::uint8_t {
  none = 0,
  too_short,
  bad_magic,
  checksum,
  unsupported_version,
  reserved_nonzero,
  length_mismatch,  // snapshot: state_bytes disagrees with the file size
  state_checksum,   // snapshot: the state bytes fail state_crc
  bad_field,        // META: lost_lsn_first/lost_lsn_end do not form a range, or an unknown flag
  too_large,        // snapshot: larger than snapshot_file_max_bytes (never written so)
};
const char *small_file_error_name(SmallFileError error);

struct MetaFile {
  std::uint64_t store_id = 0;
  std::uint64_t first_lsn = 0;
  std::uint64_t min_segment_id = 0;
  // Acknowledged records [lost_lsn_first, lost_lsn_end) that recovery found missing and that the
  // operator has not accepted as lost: while lost_lsn_end != 0 the engine refuses writes, so no
  // LSN that was handed out is handed out again without a decision (docs/RECOVERY.md).
  std::uint64_t lost_lsn_first = 0;
  std::uint64_t lost_lsn_end = 0;
  // Written by reset_to: the segments below min_segment_id were discarded by a reset, which
  // may restart the log below LSNs they hold, so recovery removes them without asking whether
  // their records lie below first_lsn (a trim's leftovers must; anything else is evidence of a
  // damaged META). A trim writes it back to false: by then the reset's segments are gone.
  bool discarded_by_reset = false;

  bool has_unaccepted_loss() const { return lost_lsn_end != 0; }
};
struct CleanFile {
  std::uint64_t store_id = 0;
  std::uint64_t next_lsn = 0;
  std::uint64_t active_segment_id = 0;
  std::uint32_t active_end_offset = 0;
};
// The intent of a truncate_after, written before it changes any file and removed after: a crash
// in between leaves records at or past cut_lsn that were being removed, which are then no
// evidence of how far the log reached (docs/RECOVERY.md), and the next open finishes the cut.
struct TruncateFile {
  std::uint64_t store_id = 0;
  std::uint64_t cut_lsn = 0;
};
struct SnapshotHeader {
  std::uint64_t store_id = 0;
  std::uint64_t lsn = 0;
  std::uint64_t state_bytes = 0;
};

std::vector<std::byte> encode_meta(const MetaFile &meta);
SmallFileError decode_meta(std::span<const std::byte> bytes, MetaFile *out);
// True when `bytes` can be what an interrupted atomic write of META left in META.tmp: nothing,
// a prefix of a META (the write landed in part), zeros (the size landed, the data did not), or
// a whole META. Anything else is not ours: a store's creation never wrote it.
bool may_be_unfinished_meta(std::span<const std::byte> bytes);
std::vector<std::byte> encode_clean(const CleanFile &clean);
SmallFileError decode_clean(std::span<const std::byte> bytes, CleanFile *out);
std::vector<std::byte> encode_truncate(const TruncateFile &intent);
SmallFileError decode_truncate(std::span<const std::byte> bytes, TruncateFile *out);
std::vector<std::byte> encode_snapshot(const SnapshotHeader &header,
                                       std::span<const std::byte> state);
// The header alone (its first 64 bytes in `bytes`) of a snapshot file of `file_bytes`: every
// check but the state's checksum, whose expected (unmasked) value goes to *state_crc. Lets a
// reader check a large snapshot by streaming its state instead of holding it whole.
SmallFileError decode_snapshot_header(std::span<const std::byte> bytes, std::uint64_t file_bytes,
                                      SnapshotHeader *header, std::uint32_t *state_crc);
// On success *state points into `bytes`.
SmallFileError decode_snapshot(std::span<const std::byte> bytes, SnapshotHeader *header,
                               std::span<const std::byte> *state);

// The application metadata file: the snapshot layout under app_meta_magic (header.lsn = the
// write's sequence number).
std::vector<std::byte> encode_app_meta(const SnapshotHeader &header, std::span<const std::byte> bytes);
SmallFileError decode_app_meta(std::span<const std::byte> bytes, SnapshotHeader *header,
                               std::span<const std::byte> *body);

}  // namespace segstore::format
