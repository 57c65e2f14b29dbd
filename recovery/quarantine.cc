// recovery/quarantine.cc — see recovery/quarantine.h.
#include "recovery/quarantine.h"

#include <algorithm>
#include <cstring>

#include "base/assert.h"
#include "base/try.h"
#include "format/store_dir.h"
#include "format/layout.h"
#include "io/aligned_buffer.h"
#include "log/segment_scan.h"

namespace segstore::recovery {

std::string utc_stamp(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

Quarantine::Quarantine(io::Env &env, std::string store_dir, std::string stamp)
    : env_(env),
      store_dir_(std::move(store_dir)),
      dir_(format::join_path(store_dir_, format::quarantine_dir_name)),
      stamp_(std::move(stamp)) {}

Status Quarantine::prepare() {
  Result<io::FileKind> kind = env_.file_kind(dir_);
  if (!kind.ok()) return kind.status();
  if (*kind == io::FileKind::directory) return Status();
  if (*kind != io::FileKind::missing)
    return Status(Errc::not_a_directory, "quarantine path " + dir_ + " exists but is not a directory");
  SEGSTORE_TRY(env_.make_dir(dir_));
  // The new directory's entry lives in the store directory: sync it there, or a crash could
  // lose quarantine/ together with everything about to be moved into it.
  return env_.sync_dir(store_dir_);
}

Result<std::string> Quarantine::free_name(const std::string &stem, const std::string &extension) {
  for (unsigned attempt = 0;; ++attempt) {
    const std::string name = attempt == 0 ? stem + extension : stem + "-" + std::to_string(attempt) + extension;
    Result<io::FileKind> kind = env_.file_kind(format::join_path(dir_, name));
    if (!kind.ok()) return kind.status();
    if (*kind == io::FileKind::missing) return name;
  }
}

Result<std::string> Quarantine::copy_range(io::File &source, const std::string &source_name,
                                           std::uint64_t from, std::uint64_t to) {
  // Invariant: a piece holds at least one byte (callers skip empty ranges).
  SEGSTORE_ASSERT(from < to, "empty quarantine piece [" + std::to_string(from) + ", " + std::to_string(to) + ")");
  Result<std::string> name = free_name(stamp_ + "-" + source_name + "-" + std::to_string(from), ".bin");
  if (!name.ok()) return name.status();
  const std::string temp_path = format::join_path(dir_, *name + format::temp_suffix);
  // A temporary piece left by a crash (or anything planted under its name) goes first; the new
  // one is created exclusively, so the bytes below land in a file this call made.
  (void)env_.remove(temp_path);
  io::OpenFlags flags;
  flags.create = flags.write = flags.exclusive = true;
  Result<std::unique_ptr<io::File>> out = env_.open_file(temp_path, flags);
  if (!out.ok()) return out.status();
  // Read whole blocks (the segment may be open with O_DIRECT) and write the part in range.
  io::AlignedBuffer buffer(log::read_window_bytes);
  std::uint64_t block = format::align_down(from, format::block_size_bytes);
  while (block < to) {
    const std::uint64_t want = std::min<std::uint64_t>(buffer.size(), format::align_up(to - block, format::block_size_bytes));
    Result<std::size_t> got = log::read_blocks(source, block, buffer, want);
    if (!got.ok()) return got.status();
    const std::uint64_t begin = std::max(from, block);
    const std::uint64_t end = std::min<std::uint64_t>(to, block + *got);
    if (end <= begin)
      return Status(Errc::io_error, "read " + source.path() + " at offset " + std::to_string(block) +
                                        ": the file ended before offset " + std::to_string(to));
    SEGSTORE_TRY((*out)->write_at(begin - from, std::span<const std::byte>(buffer.data() + (begin - block), end - begin)));
    block += want;
  }
  SEGSTORE_TRY((*out)->sync_data());
  out->reset();
  SEGSTORE_TRY(env_.rename(temp_path, format::join_path(dir_, *name)));
  bytes_ += to - from;
  return name;
}

Result<std::string> Quarantine::move_in(const std::string &path, const std::string &prefix,
                                        const std::string &name, std::uint64_t file_bytes) {
  Result<std::string> target = free_name(stamp_ + "-" + prefix + name, "");
  if (!target.ok()) return target.status();
  SEGSTORE_TRY(env_.rename(path, format::join_path(dir_, *target)));
  bytes_ += file_bytes;
  return target;
}

Result<std::string> Quarantine::write_report(const std::string &text) {
  Result<std::string> name = free_name(stamp_ + "-report", ".txt");
  if (!name.ok()) return name.status();
  const auto *bytes = reinterpret_cast<const std::byte *>(text.data());
  SEGSTORE_TRY(io::write_file_atomic(env_, format::join_path(dir_, *name), std::span(bytes, text.size())));
  return name;
}

Status Quarantine::sync() { return env_.sync_dir(dir_); }

Status zero_segment_range(io::File &file, std::uint64_t from, std::uint64_t to) {
  if (to <= from) return Status();
  // Invariant: a cut inside a segment starts at a record position after its header block (a cut
  // at offset 0 moves the whole file instead), so the header is never rewritten here.
  SEGSTORE_ASSERT(from >= format::segment_data_offset_bytes && from % format::record_alignment_bytes == 0,
                  "zeroing " + file.path() + " from offset " + std::to_string(from));
  Result<std::uint64_t> size_before = file.size();
  if (!size_before.ok()) return size_before.status();
  const std::uint64_t first_block = format::align_down(from, format::block_size_bytes);
  const std::uint64_t end = format::align_up(to, format::block_size_bytes);
  io::AlignedBuffer buffer(std::min<std::uint64_t>(log::read_window_bytes, end - first_block));
  // The block holding `from`: its prefix is read and written back unchanged (see the header
  // for why a torn rewrite of it cannot touch a kept record).
  if (from != first_block) {
    Result<std::size_t> got = log::read_blocks(file, first_block, buffer, format::block_size_bytes);
    if (!got.ok()) return got.status();
    if (*got < from - first_block)
      return Status(Errc::io_error, "read " + file.path() + " at offset " + std::to_string(first_block) +
                                        ": the file ended before offset " + std::to_string(from));
  }
  std::memset(buffer.data() + (from - first_block), 0, buffer.size() - (from - first_block));
  std::uint64_t at = first_block;
  while (at < end) {
    const std::uint64_t n = std::min<std::uint64_t>(buffer.size(), end - at);
    SEGSTORE_TRY(file.write_at(at, std::span<const std::byte>(buffer.data(), n)));
    if (at == first_block) std::memset(buffer.data(), 0, from - first_block);  // zeros from now on
    at += n;
  }
  // Whole-block writes (O_DIRECT) past a file whose size is not a multiple of the block size
  // grew it; give it back its size, so that recovery never makes a file larger than it was.
  if (end > *size_before) SEGSTORE_TRY(file.truncate(*size_before));
  return file.sync_data();
}

}  // namespace segstore::recovery
