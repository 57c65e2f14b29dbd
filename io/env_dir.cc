// io/env_dir.cc — Dir, and Env's directory-relative operations for envs without descriptors:
// they name the entry by its path (io/env.h says when that is enough).
#include "format/store_dir.h"
#include "io/env.h"

namespace segstore::io {

std::string Dir::child_path(const std::string &name) const { return format::join_path(path_, name); }

Result<std::shared_ptr<const Dir>> Env::open_dir(const std::string &path) {
  Result<FileKind> kind = file_kind(path);
  if (!kind.ok()) return kind.status();
  if (*kind != FileKind::directory) return Status(Errc::not_a_directory, "open directory " + path + ": not a directory");
  return std::shared_ptr<const Dir>(std::make_shared<Dir>(path));
}

Result<std::shared_ptr<const Dir>> Env::open_dir_at(const Dir &dir, const std::string &name) {
  return open_dir(dir.child_path(name));
}

Result<std::unique_ptr<File>> Env::open_file_at(const Dir &dir, const std::string &name, OpenFlags flags) {
  return open_file(dir.child_path(name), flags);
}

Status Env::rename_at(const Dir &from_dir, const std::string &from, const Dir &to_dir, const std::string &to) {
  return rename(from_dir.child_path(from), to_dir.child_path(to));
}

Status Env::remove_at(const Dir &dir, const std::string &name) { return remove(dir.child_path(name)); }

Status Env::make_dir_at(const Dir &dir, const std::string &name) { return make_dir(dir.child_path(name)); }

Status Env::sync_open_dir(const Dir &dir) { return sync_dir(dir.path()); }

Result<std::vector<std::string>> Env::list_open_dir(const Dir &dir) { return list_dir(dir.path()); }

Result<FileKind> Env::file_kind_at(const Dir &dir, const std::string &name) {
  return file_kind(dir.child_path(name));
}

Result<std::unique_ptr<DirLock>> Env::lock_dir(const Dir &dir) {
  return lock_file(dir.child_path(format::lock_file_name));
}

}  // namespace segstore::io
