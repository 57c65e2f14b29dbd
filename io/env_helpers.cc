// Helpers on top of any Env (io/env.h): whole-file reads, atomic replacement, errno mapping.
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "io/env.h"

namespace segstore::io {

// A file without a write that syncs as it goes: the write, then a data sync of the whole file
// (which covers more than the range, never less).
Result<bool> File::write_dsync_at(std::uint64_t offset, std::span<const std::byte> data) {
  if (Status written = write_at(offset, data); !written.ok()) return written;
  if (Status synced = sync_data(); !synced.ok()) return synced;
  return true;
}

std::string parent_dir(const std::string &path) {
  // Trailing slashes name the same directory ("a/b/" is "a/b"): its parent is "a".
  std::size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;
  const std::size_t slash = path.find_last_of('/', end - 1);
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<std::vector<std::byte>> read_whole_file(Env &env, const std::string &path,
                                               std::uint64_t max_bytes) {
  Result<std::unique_ptr<File>> file = env.open_file(path, OpenFlags{});
  if (!file.ok()) return file.status();
  Result<std::uint64_t> size = (*file)->size();
  if (!size.ok()) return size.status();
  // Checked before allocating: the size of a damaged or foreign file may be anything.
  if (*size > max_bytes) {
    return Status(Errc::corruption, "file " + path + " is " + std::to_string(*size) +
                                        " bytes, more than the " + std::to_string(max_bytes) +
                                        " allowed");
  }
  std::vector<std::byte> bytes(static_cast<std::size_t>(*size));
  Result<std::size_t> read = (*file)->read_at(0, bytes);
  if (!read.ok()) return read.status();
  bytes.resize(*read);  // the file may have shrunk since the size was taken
  return bytes;
}

// The order is what makes the replacement atomic and durable: the new content is durable in
// the temporary file before the rename points `path` at it (a crash before the rename leaves
// the old content; after it, the new), and the directory fsync makes the rename itself durable.
Status write_file_atomic(Env &env, const std::string &path, std::span<const std::byte> bytes) {
  const std::string temp_path = path + ".tmp";
  // A temporary file left by a crash (or anything planted under its name: a symbolic link
  // would be written through) goes first; the new one is then created exclusively, so the
  // bytes below land in a file this call made. A failed removal shows in the create's EEXIST.
  (void)env.remove(temp_path);
  Status status;
  {
    OpenFlags flags;
    flags.create = true;
    flags.exclusive = true;
    flags.write = true;
    Result<std::unique_ptr<File>> file = env.open_file(temp_path, flags);
    if (!file.ok()) return file.status();
    status = (*file)->write_at(0, bytes);
    if (status.ok()) status = (*file)->sync_data();
  }
  if (status.ok()) status = env.rename(temp_path, path);
  if (!status.ok()) {
    (void)env.remove(temp_path);  // best effort: the failure reported is the one above
    return status;
  }
  return env.sync_dir(parent_dir(path));
}

Status errno_status(int err, const std::string &what, const std::string &path,
                    std::int64_t offset) {
  Errc code = Errc::io_error;
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      code = Errc::no_space;
      break;
    case EACCES:
    case EPERM:
    case EROFS:
      code = Errc::permission_denied;
      break;
    case ENOTDIR:
      code = Errc::not_a_directory;
      break;
    default:
      code = Errc::io_error;
      break;
  }
  std::string message = what + " " + path;
  if (offset >= 0) message += " at offset " + std::to_string(offset);
  char text[256];
  message += std::string(": ") + ::strerror_r(err, text, sizeof text) + " (errno " +
             std::to_string(err) + ")";
  return Status(code, std::move(message));
}

}  // namespace segstore::io
