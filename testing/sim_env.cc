// testing/sim_env.cc — the Env of one boot of the simulated disk (testing/sim_env.h): opens,
// renames, removes, directories and locks on the disk's tree, each checked against the boot and
// the fault plan. The files, the queue and the crash are in sim_file.cc and sim_crash.cc.
#include "testing/sim_env.h"

#include "base/try.h"
#include "testing/sim_file.h"
#include "testing/sim_model.h"
#include "testing/sim_read_ahead.h"

namespace segstore::testing {

using namespace sim;

namespace {

class SimDirLock final : public io::DirLock {
 public:
  SimDirLock(std::shared_ptr<SimDisk> disk, SimDisk::State &state, std::string path, std::uint64_t boot)
      : disk_(std::move(disk)), st_(state), path_(std::move(path)), boot_(boot) {}
  ~SimDirLock() override {
    std::lock_guard lock(st_.mu);
    auto it = st_.locks.find(path_);
    // A lock of a boot before a crash was released by the reboot; never release a newer one.
    if (it != st_.locks.end() && it->second == boot_) st_.locks.erase(it);
  }

 private:
  std::shared_ptr<SimDisk> disk_;
  SimDisk::State &st_;
  std::string path_;
  std::uint64_t boot_;
};

}  // namespace

class SimEnv final : public io::Env {
 public:
  SimEnv(std::shared_ptr<SimDisk> disk, std::uint64_t boot) : disk_(std::move(disk)), st_(*disk_->state_), boot_(boot) {}

  Result<std::unique_ptr<io::File>> open_file(const std::string &path, io::OpenFlags flags) override;
  Result<std::unique_ptr<io::WriteQueue>> make_write_queue(unsigned depth) override;
  Status rename(const std::string &from, const std::string &to) override;
  Status remove(const std::string &path) override;
  Status make_dir(const std::string &path) override;
  Status sync_dir(const std::string &path) override;
  Result<std::vector<std::string>> list_dir(const std::string &path) override;
  Result<io::FileKind> file_kind(const std::string &path) override;
  Result<std::unique_ptr<io::DirLock>> lock_file(const std::string &path) override;
  std::string describe() const override { return "sim"; }
  std::unique_ptr<io::ReadAhead> make_read_ahead(unsigned threads) override;

 private:
  // EIO for a dead boot, a targeted op_eio, or a path outside the disk; caller holds mu.
  Status precheck(SimOp op, const char *what, const std::string &path) {
    SEGSTORE_TRY(st_.check_boot(boot_, what, path));
    if (!st_.inside(path)) return sim_errno(EACCES, what, path);
    SimRandom random = st_.random_for(path, op);
    if (std::optional<SimFault> fault = st_.decide(op, path, random)) {
      st_.injected(*fault, path);
      return sim_errno(EIO, what, path);
    }
    return Status();
  }
  Result<std::shared_ptr<Inode>> open_inode_locked(const std::string &path, io::OpenFlags flags);

  std::shared_ptr<SimDisk> disk_;
  SimDisk::State &st_;
  const std::uint64_t boot_;
  std::uint64_t queues_made_ = 0;
};

Result<std::shared_ptr<Inode>> SimEnv::open_inode_locked(const std::string &path, io::OpenFlags flags) {
  SEGSTORE_TRY(precheck(SimOp::open, "open", path));
  auto it = st_.tree.find(path);
  if (it != st_.tree.end()) {
    if (it->second.dir) return sim_errno(EISDIR, "open", path);
    if (flags.create && flags.exclusive) return sim_errno(EEXIST, "open", path);
    return it->second.inode;
  }
  if (st_.is_dir(path)) return sim_errno(EISDIR, "open", path);
  if (!flags.create) return sim_errno(ENOENT, "open", path);
  const std::string parent = parent_of(path);
  if (!st_.is_dir(parent)) return sim_errno(st_.tree.count(parent) ? ENOTDIR : ENOENT, "open", path);
  auto inode = std::make_shared<Inode>();
  inode->id = st_.next_inode++;
  DirOp op;
  op.kind = DirOp::Kind::create;
  op.to = path;
  op.entry = Entry{false, inode};
  op.dirs = {parent};
  st_.log_dir_op(std::move(op));
  return inode;
}

Result<std::unique_ptr<io::File>> SimEnv::open_file(const std::string &raw, io::OpenFlags flags) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  Result<std::shared_ptr<Inode>> inode = open_inode_locked(path, flags);
  if (!inode.ok()) return inode.status();
  return std::unique_ptr<io::File>(
      std::make_unique<SimFile>(disk_, st_, std::move(*inode), path, boot_, flags.direct || flags.bypass_cache,
                                flags.write));
}

std::unique_ptr<io::ReadAhead> SimEnv::make_read_ahead(unsigned /*threads*/) {
  std::lock_guard lock(st_.mu);
  if (!st_.read_ahead) return nullptr;
  // Its own seed per read-ahead made: when each window is read depends on the disk's seed only.
  return make_sim_read_ahead(splitmix64(st_.seed ^ 0x5EAD0A11EADull ^ splitmix64(++st_.read_aheads_made)));
}

Result<std::unique_ptr<io::WriteQueue>> SimEnv::make_write_queue(unsigned depth) {
  if (depth == 0 || depth > 4096) return Status(Errc::invalid_argument, "sim write queue depth out of range");
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "make_write_queue", st_.root));
  const std::uint64_t id = (boot_ << 20) ^ queues_made_++;
  return std::unique_ptr<io::WriteQueue>(std::make_unique<SimQueue>(disk_, st_, boot_, depth, id));
}

Status SimEnv::rename(const std::string &raw_from, const std::string &raw_to) {
  const std::string from = normalize(raw_from), to = normalize(raw_to);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(precheck(SimOp::rename, "rename", from + " to " + to));
  if (!st_.inside(to)) return sim_errno(EACCES, "rename", from + " to " + to);
  auto it = st_.tree.find(from);
  if (it == st_.tree.end()) return sim_errno(ENOENT, "rename", from + " to " + to);
  if (it->second.dir) return Status(Errc::invalid_argument, "sim: renaming directories is not modelled (" + from + ")");
  if (!st_.is_dir(parent_of(to))) return sim_errno(ENOENT, "rename", from + " to " + to);
  if (st_.is_dir(to)) return sim_errno(EISDIR, "rename", from + " to " + to);
  DirOp op;
  op.kind = DirOp::Kind::rename;
  op.from = from;
  op.to = to;
  op.dirs = {parent_of(from), parent_of(to)};
  st_.log_dir_op(std::move(op));
  return Status();
}

Status SimEnv::remove(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(precheck(SimOp::remove, "remove", path));
  if (path == st_.root) return sim_errno(EBUSY, "remove", path);
  auto it = st_.tree.find(path);
  if (it == st_.tree.end()) return sim_errno(ENOENT, "remove", path);
  if (it->second.dir && st_.has_children(path)) return sim_errno(ENOTEMPTY, "remove", path);
  DirOp op;
  op.kind = DirOp::Kind::remove;
  op.from = path;
  op.dirs = {parent_of(path)};
  st_.log_dir_op(std::move(op));
  return Status();
}

Status SimEnv::make_dir(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(precheck(SimOp::make_dir, "mkdir", path));
  if (st_.is_dir(path)) return Status();
  if (st_.tree.count(path)) return Status(Errc::not_a_directory, "mkdir " + path + ": exists and is not a directory");
  if (!st_.is_dir(parent_of(path))) return sim_errno(ENOENT, "mkdir", path);
  DirOp op;
  op.kind = DirOp::Kind::make_dir;
  op.to = path;
  op.entry = Entry{true, nullptr};
  op.dirs = {parent_of(path)};
  st_.log_dir_op(std::move(op));
  return Status();
}

Status SimEnv::sync_dir(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(precheck(SimOp::sync_dir, "fsync directory", path));
  if (!st_.is_dir(path)) return sim_errno(st_.tree.count(path) ? ENOTDIR : ENOENT, "open directory", path);
  st_.sync_dir_locked(path);
  return Status();
}

Result<std::vector<std::string>> SimEnv::list_dir(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "opendir", path));
  if (!st_.is_dir(path)) return sim_errno(st_.tree.count(path) ? ENOTDIR : ENOENT, "opendir", path);
  std::vector<std::string> names;
  const std::string prefix = path == "/" ? "/" : path + "/";
  for (auto it = st_.tree.lower_bound(prefix); it != st_.tree.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    const std::string rest = it->first.substr(prefix.size());
    if (rest.find('/') == std::string::npos) names.push_back(rest);
  }
  return names;  // std::map order is sorted
}

Result<io::FileKind> SimEnv::file_kind(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "stat", path));
  if (st_.is_dir(path)) return io::FileKind::directory;
  return st_.tree.count(path) ? io::FileKind::regular : io::FileKind::missing;
}

Result<std::unique_ptr<io::DirLock>> SimEnv::lock_file(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  io::OpenFlags flags;
  flags.create = true;
  flags.write = true;
  Result<std::shared_ptr<Inode>> inode = open_inode_locked(path, flags);
  if (!inode.ok()) return inode.status();
  if (st_.locks.count(path))
    return Status(Errc::store_in_use, "store is in use: " + path + " is locked by another open [simulated]");
  st_.locks[path] = boot_;
  return std::unique_ptr<io::DirLock>(std::make_unique<SimDirLock>(disk_, st_, path, boot_));
}

std::shared_ptr<io::Env> SimDisk::env() {
  std::lock_guard lock(state_->mu);
  return std::make_shared<SimEnv>(shared_from_this(), state_->generation);
}

}  // namespace segstore::testing
