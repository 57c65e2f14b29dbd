// io/bound_env.cc — an Env bound to an opened directory (bind_env_to_dir in io/env.h).
//
// The engine, recovery and the quarantine name their files by path (dir/name, dir/snapshots/
// name): paths are what their messages and reports show. Bound to the store's directory, those
// paths are resolved against the descriptor opened (and locked) when the store was opened, one
// component at a time with the *_at operations of the env below, none of them following a
// symbolic link. So once a store is open, renaming its directory away and putting a symbolic
// link or another directory at its path changes nothing for the store: it goes on writing where
// it locked.
#include <optional>

#include "format/store_dir.h"
#include "io/env.h"
#include "io/read_ahead.h"

namespace segstore::io {

namespace {

// `path` without trailing slashes ("/" stays "/").
std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

class BoundEnv final : public Env {
 public:
  BoundEnv(std::shared_ptr<Env> base, std::shared_ptr<const Dir> root)
      : base_(std::move(base)), root_(std::move(root)), root_path_(without_trailing_slashes(root_->path())) {}

  Result<std::unique_ptr<File>> open_file(const std::string &path, OpenFlags flags) override {
    Result<Place> place = locate(path);
    if (!place.ok()) return place.status();
    if (place->outside) return base_->open_file(path, flags);
    if (place->is_root()) return errno_status(EISDIR, "open", path);
    return base_->open_file_at(*place->dir, place->name, flags);
  }
  Result<std::unique_ptr<WriteQueue>> make_write_queue(unsigned depth) override {
    return base_->make_write_queue(depth);
  }
  std::unique_ptr<ReadAhead> make_read_ahead(unsigned threads) override { return base_->make_read_ahead(threads); }
  std::unique_ptr<ReadAhead> make_ring_read_ahead(unsigned depth) override { return base_->make_ring_read_ahead(depth); }
  Status rename(const std::string &from, const std::string &to) override {
    Result<Place> from_place = locate(from);
    if (!from_place.ok()) return from_place.status();
    Result<Place> to_place = locate(to);
    if (!to_place.ok()) return to_place.status();
    if (from_place->outside && to_place->outside) return base_->rename(from, to);
    if (from_place->outside || to_place->outside || from_place->is_root() || to_place->is_root())
      return Status(Errc::invalid_argument, "rename " + from + " to " + to +
                                                ": only entries inside the store directory are renamed by the store");
    return base_->rename_at(*from_place->dir, from_place->name, *to_place->dir, to_place->name);
  }
  Status remove(const std::string &path) override {
    Result<Place> place = locate(path);
    if (!place.ok()) return place.status();
    if (place->outside) return base_->remove(path);
    if (place->is_root()) return errno_status(EBUSY, "remove", path);
    return base_->remove_at(*place->dir, place->name);
  }
  Status make_dir(const std::string &path) override {
    Result<Place> place = locate(path);
    if (!place.ok()) return place.status();
    if (place->outside) return base_->make_dir(path);
    if (place->is_root()) return Status();  // it was opened: it exists
    return base_->make_dir_at(*place->dir, place->name);
  }
  Status sync_dir(const std::string &path) override {
    Result<Place> place = locate(path);
    if (!place.ok()) return place.status();
    if (place->outside) return base_->sync_dir(path);  // the store's parent, at its creation
    Result<std::shared_ptr<const Dir>> dir = open_placed_dir(*place);
    if (!dir.ok()) return dir.status();
    return base_->sync_open_dir(**dir);
  }
  Result<std::vector<std::string>> list_dir(const std::string &path) override {
    Result<Place> place = locate(path);
    if (!place.ok()) return place.status();
    if (place->outside) return base_->list_dir(path);
    Result<std::shared_ptr<const Dir>> dir = open_placed_dir(*place);
    if (!dir.ok()) return dir.status();
    return base_->list_open_dir(**dir);
  }
  Result<FileKind> file_kind(const std::string &path) override {
    Result<Place> place = locate(path);
    if (!place.ok()) return place.status();
    if (place->outside) return base_->file_kind(path);
    if (place->is_root()) return FileKind::directory;
    return base_->file_kind_at(*place->dir, place->name);
  }
  Result<std::unique_ptr<DirLock>> lock_file(const std::string &path) override {
    Result<Place> place = locate(path);
    if (!place.ok()) return place.status();
    if (place->outside) return base_->lock_file(path);
    if (place->is_root() || place->name != format::lock_file_name)
      return Status(Errc::invalid_argument, "lock " + path + ": a store directory is locked through its " +
                                                format::lock_file_name + " file");
    return base_->lock_dir(*place->dir);
  }
  std::string describe() const override { return base_->describe(); }

  Result<std::shared_ptr<const Dir>> open_dir(const std::string &path) override {
    Result<Place> place = locate(path);
    if (!place.ok()) return place.status();
    if (place->outside) return base_->open_dir(path);
    return open_placed_dir(*place);
  }
  Result<std::shared_ptr<const Dir>> open_dir_at(const Dir &dir, const std::string &name) override {
    return base_->open_dir_at(dir, name);
  }
  Result<std::unique_ptr<File>> open_file_at(const Dir &dir, const std::string &name, OpenFlags flags) override {
    return base_->open_file_at(dir, name, flags);
  }
  Status rename_at(const Dir &from_dir, const std::string &from, const Dir &to_dir, const std::string &to) override {
    return base_->rename_at(from_dir, from, to_dir, to);
  }
  Status remove_at(const Dir &dir, const std::string &name) override { return base_->remove_at(dir, name); }
  Status make_dir_at(const Dir &dir, const std::string &name) override { return base_->make_dir_at(dir, name); }
  Status sync_open_dir(const Dir &dir) override { return base_->sync_open_dir(dir); }
  Result<std::vector<std::string>> list_open_dir(const Dir &dir) override { return base_->list_open_dir(dir); }
  Result<FileKind> file_kind_at(const Dir &dir, const std::string &name) override {
    return base_->file_kind_at(dir, name);
  }
  Result<std::unique_ptr<DirLock>> lock_dir(const Dir &dir) override { return base_->lock_dir(dir); }
  // read_heads (Env's: open_dir, then this) opens the directory inside the root, as above.
  std::vector<std::optional<std::vector<std::byte>>> read_heads_at(const Dir &dir, std::span<const std::string> names,
                                                                   std::size_t bytes) override {
    return base_->read_heads_at(dir, names, bytes);
  }

 private:
  // Where a path lands: outside the root (left to the base env as a path), the root itself
  // (name empty), or entry `name` of `dir`, a directory opened from the root.
  struct Place {
    bool outside = false;
    std::shared_ptr<const Dir> dir;
    std::string name;
    bool is_root() const { return !outside && name.empty(); }
  };

  // The directory at a place inside the root.
  Result<std::shared_ptr<const Dir>> open_placed_dir(const Place &place) {
    if (place.is_root()) return place.dir;
    return base_->open_dir_at(*place.dir, place.name);
  }

  // The part of `path` below the root, or nullopt when it is not inside the root.
  std::optional<std::string> below_root(const std::string &raw) const {
    const std::string path = without_trailing_slashes(raw);
    if (path == root_path_) return std::string();
    const std::string prefix = root_path_ == "/" ? root_path_ : root_path_ + "/";
    if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    return path.substr(prefix.size());
  }

  // Walks the directories between the root and the last component, each opened from the one
  // before it (never through a symbolic link). ".." would leave the root: refused (segstore
  // makes no such path); "." and empty components name the same directory.
  Result<Place> locate(const std::string &path) const {
    std::optional<std::string> below = below_root(path);
    if (!below) return Place{true, nullptr, ""};
    Place place{false, root_, ""};
    std::size_t start = 0;
    while (start <= below->size()) {
      std::size_t slash = below->find('/', start);
      if (slash == std::string::npos) slash = below->size();
      const std::string component = below->substr(start, slash - start);
      start = slash + 1;
      if (component.empty() || component == ".") continue;
      if (component == "..")
        return Status(Errc::invalid_argument, "path " + path + " leaves the store directory through '..'");
      if (!place.name.empty()) {
        Result<std::shared_ptr<const Dir>> next = base_->open_dir_at(*place.dir, place.name);
        if (!next.ok()) return next.status();
        place.dir = std::move(*next);
      }
      place.name = component;
    }
    return place;
  }

  const std::shared_ptr<Env> base_;
  const std::shared_ptr<const Dir> root_;
  const std::string root_path_;
};

}  // namespace

std::shared_ptr<Env> bind_env_to_dir(std::shared_ptr<Env> base, std::shared_ptr<const Dir> root) {
  return std::make_shared<BoundEnv>(std::move(base), std::move(root));
}

}  // namespace segstore::io
