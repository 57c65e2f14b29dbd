// log/snapshot_file.cc — see log/snapshot_file.h.
#include "log/snapshot_file.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "format/crc32c.h"

namespace segstore::log {

namespace {
// The state is checked in pieces of this size: the memory a check costs, whatever the file.
constexpr std::size_t state_chunk_bytes = 1u << 20;
}  // namespace

Result<SnapshotFileCheck> check_snapshot_file(io::Env &env, const std::string &path) {
  Result<std::unique_ptr<io::File>> file = env.open_file(path, io::OpenFlags{});
  if (!file.ok()) return file.status();
  SnapshotFileCheck check;
  Result<std::uint64_t> size = (*file)->size();
  if (!size.ok()) return size.status();
  check.file_bytes = *size;
  std::vector<std::byte> header(format::small_file_header_bytes);
  Result<std::size_t> got = (*file)->read_at(0, header);
  if (!got.ok()) return got.status();
  header.resize(*got);
  check.bytes_read = *got;
  std::uint32_t state_crc = 0;
  check.error = format::decode_snapshot_header(header, check.file_bytes, &check.header, &state_crc);
  if (check.error != format::SmallFileError::none) return check;
  // The header checksum passed and state_bytes matches the file's size: stream the state.
  std::vector<std::byte> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(state_chunk_bytes, check.header.state_bytes)));
  std::uint32_t crc = 0;
  std::uint64_t offset = format::small_file_header_bytes;
  const std::uint64_t end = offset + check.header.state_bytes;
  while (offset < end) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), end - offset));
    Result<std::size_t> n = (*file)->read_at(offset, std::span<std::byte>(chunk.data(), want));
    if (!n.ok()) return n.status();
    check.bytes_read += *n;
    if (*n != want) {  // the file shrank while it was read
      check.error = format::SmallFileError::length_mismatch;
      return check;
    }
    crc = format::crc32c_extend(crc, chunk.data(), want);
    offset += want;
  }
  if (crc != state_crc) {
    check.error = format::SmallFileError::state_checksum;
    check.error_offset = format::small_file_header_bytes;
  }
  return check;
}

}  // namespace segstore::log
