// fuzz/small_files.cc — the META, CLEAN and application snapshot decoders on arbitrary bytes.
//
// Input: byte 0 chooses how the rest (the file) is prepared:
//   bits 0-1  0: as is; 1: META magic; 2: CLEAN magic; 3: snapshot magic written over bytes 0..7
//   bit 2     write format_version 1 at bytes 8..11
//   bit 3     recompute the header crc at 60 (and, for a snapshot, state_crc and state_bytes)
// Every input goes through all three decoders. Checks: nothing is read outside the input and
// state_bytes is never trusted before the header checksum (ASan); whatever decodes re-encodes
// to exactly the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz/harness_support.h"

namespace segstore::fuzz {
namespace {

using format::SmallFileError;

constexpr std::size_t version_offset = 8;
constexpr std::size_t crc_offset = 60;

void prepare(Bytes &file, std::uint8_t mode) {
  using namespace format;
  if (file.size() < small_file_header_bytes) return;
  const char *magics[] = {nullptr, meta_magic, clean_magic, snapshot_magic};
  const char *magic = magics[mode & 3];
  if (magic != nullptr) std::memcpy(file.data(), magic, 8);
  if ((mode & 4) != 0) store_u32(file.data() + version_offset, format_version);
  if ((mode & 8) != 0) {
    const std::span<const std::byte> all(file);
    if (magic == snapshot_magic) {
      store_u64(file.data() + snapshot_state_bytes_offset, file.size() - small_file_header_bytes);
      store_u32(file.data() + snapshot_state_crc_offset,
                crc32c_mask(crc32c(all.subspan(small_file_header_bytes))));
    }
    store_u32(file.data() + crc_offset, crc32c_mask(crc32c(all.first(crc_offset))));
  }
}

void check_name(SmallFileError error) {
  FUZZ_CHECK(std::string(format::small_file_error_name(error)) != "unknown", "error name");
}

}  // namespace
}  // namespace segstore::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  using namespace segstore;
  using namespace segstore::fuzz;
  if (size == 0) return 0;
  Bytes file(reinterpret_cast<const std::byte *>(data) + 1,
             reinterpret_cast<const std::byte *>(data) + size);
  prepare(file, data[0]);
  const std::string where = "file " + hex_prefix(file, 64);
  int decoded = 0;

  format::MetaFile meta;
  const SmallFileError meta_error = format::decode_meta(file, &meta);
  check_name(meta_error);
  if (meta_error == SmallFileError::none) {
    ++decoded;
    FUZZ_CHECK(format::encode_meta(meta) == file, "META re-encode, " + where);
  }

  format::CleanFile clean;
  const SmallFileError clean_error = format::decode_clean(file, &clean);
  check_name(clean_error);
  if (clean_error == SmallFileError::none) {
    ++decoded;
    FUZZ_CHECK(format::encode_clean(clean) == file, "CLEAN re-encode, " + where);
  }

  format::SnapshotHeader snapshot;
  std::span<const std::byte> state;
  const SmallFileError snapshot_error = format::decode_snapshot(file, &snapshot, &state);
  check_name(snapshot_error);
  if (snapshot_error == SmallFileError::none) {
    ++decoded;
    FUZZ_CHECK(state.data() == file.data() + format::small_file_header_bytes &&
                   state.size() == snapshot.state_bytes &&
                   snapshot.state_bytes == file.size() - format::small_file_header_bytes,
               "snapshot state span, " + where);
    FUZZ_CHECK(format::encode_snapshot(snapshot, state) == file, "snapshot re-encode, " + where);
  }
  // The magics differ, so no file is two kinds at once.
  FUZZ_CHECK(decoded <= 1, "decoded as two kinds, " + where);

  // Too short for a header is too_short for every kind, whatever the bytes.
  if (file.size() < format::small_file_header_bytes)
    FUZZ_CHECK(meta_error == SmallFileError::too_short && clean_error == SmallFileError::too_short &&
                   snapshot_error == SmallFileError::too_short,
               where);
  return 0;
}
