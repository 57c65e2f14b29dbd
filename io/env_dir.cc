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

std::vector<std::optional<std::vector<std::byte>>> Env::read_heads(const std::string &dir_path,
                                                                   std::span<const std::string> names,
                                                                   std::size_t bytes) {
  Result<std::shared_ptr<const Dir>> dir = open_dir(dir_path);
  if (!dir.ok()) return std::vector<std::optional<std::vector<std::byte>>>(names.size());
  return read_heads_at(**dir, names, bytes);
}

std::vector<std::optional<std::vector<std::byte>>> Env::read_heads_at(const Dir &dir,
                                                                      std::span<const std::string> names,
                                                                      std::size_t bytes) {
  std::vector<std::optional<std::vector<std::byte>>> heads(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    Result<std::unique_ptr<File>> file = open_file_at(dir, names[i], OpenFlags{});
    if (!file.ok()) continue;
    std::vector<std::byte> head(bytes);
    Result<std::size_t> got = (*file)->read_at(0, head);
    if (!got.ok()) continue;
    head.resize(*got);
    heads[i] = std::move(head);
  }
  return heads;
}

}  // namespace segstore::io
