#include "io/posix_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/log.h"
#include "format/store_dir.h"
#include "io/descriptor_cache.h"
#include "io/read_ahead.h"
#include "io/posix_dir.h"
#include "io/thread_queue.h"
#include "io/uring_heads.h"

namespace segstore::io {

namespace {

using Backend = EnvOptions::Backend;

constexpr mode_t dir_mode = 0755;
// Entries of the ring made only to learn whether io_uring works here.
constexpr unsigned probe_ring_entries = 2;

// One line per kind of fallback per process: a store opened many times (tests, tools) would
// otherwise repeat the same warning each time.
std::atomic<bool> uring_fallback_logged{false};
std::atomic<bool> direct_fallback_logged{false};
std::atomic<bool> bad_backend_var_logged{false};
std::atomic<bool> bad_sync_writes_var_logged{false};

// The first store that meets the fallback reports it, through its logger.
void log_once(std::atomic<bool> &logged, const Logger &logger, const std::string &message) {
  if (!logged.exchange(true)) base::log(logger, LogLevel::warning, message);
}

const char *backend_name(Backend backend) {
  return backend == Backend::thread ? "thread" : "uring";
}

// SEGSTORE_IO_BACKEND, SEGSTORE_DIRECT_IO and SEGSTORE_SYNC_WRITES override the options (operators use them to work
// around a kernel or file system without changing the program).
EnvOptions apply_env_overrides(EnvOptions options) {
  if (const char *value = std::getenv(backend_env_var); value != nullptr && value[0] != '\0') {
    const std::string backend = value;
    if (backend == "uring") {
      options.backend = Backend::uring;
    } else if (backend == "thread") {
      options.backend = Backend::thread;
    } else if (backend == "auto") {
      options.backend = Backend::automatic;
    } else {
      log_once(bad_backend_var_logged, options.logger, std::string("ignoring ") + backend_env_var + "=" + backend +
                                           " (expected uring, thread or auto)");
    }
  }
  if (const char *value = std::getenv(direct_io_env_var); value != nullptr) {
    if (std::string(value) == "0") options.direct = false;
  }
  if (const char *value = std::getenv(sync_writes_env_var); value != nullptr && value[0] != '\0') {
    const std::string sync_writes = value;
    if (sync_writes == "dsync") {
      options.sync_writes = SyncWrites::dsync;
    } else if (sync_writes == "linked") {
      options.sync_writes = SyncWrites::linked;
    } else if (sync_writes == "auto") {
      options.sync_writes = SyncWrites::automatic;
    } else {
      log_once(bad_sync_writes_var_logged, options.logger, std::string("ignoring ") + sync_writes_env_var + "=" +
                                                               sync_writes + " (expected dsync, linked or auto)");
    }
  }
  return options;
}

// automatic: io_uring when a ring can be made. Only the refusals that mean "io_uring is not
// available here" fall back; any other failure (e.g. ENOMEM from RLIMIT_MEMLOCK on kernels
// before 5.12) stays with io_uring so that make_write_queue() reports it with its errno.
Backend choose_backend(Backend requested, UringInit uring_init, const Logger &logger) {
  if (requested != Backend::automatic) return requested;
  io_uring ring{};
  const int res = uring_init(probe_ring_entries, &ring, 0);
  if (res == 0) {
    io_uring_queue_exit(&ring);
    return Backend::uring;
  }
  if (res == -ENOSYS || res == -EPERM || res == -EACCES) {
    log_once(uring_fallback_logged, logger,
             std::string("io_uring is not available (io_uring_queue_init: ") +
                 std::strerror(-res) + "); using the thread backend (pwrite + fdatasync)");
    return Backend::thread;
  }
  return Backend::uring;
}

// Holds two flocks: the store directory's own descriptor (what excludes a second open) and the
// LOCK file's (what earlier versions of segstore lock, so they stay excluded too).
class PosixDirLock final : public DirLock {
 public:
  PosixDirLock(int dir_fd, int file_fd) : dir_fd_(dir_fd), file_fd_(file_fd) {}
  ~PosixDirLock() override {  // closing the descriptors releases the flocks
    ::close(file_fd_);
    ::close(dir_fd_);
  }
  PosixDirLock(const PosixDirLock &) = delete;
  PosixDirLock &operator=(const PosixDirLock &) = delete;

 private:
  int dir_fd_;
  int file_fd_;
};

// flock(LOCK_EX | LOCK_NB) on `fd`, retried on EINTR; store_in_use when another open holds it.
Status flock_exclusive(int fd, const std::string &path) {
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return Status();
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EWOULDBLOCK)
      return Status(Errc::store_in_use, "store is in use: " + path +
                                            " is locked by another open (this or another process)");
    return errno_status(err, "flock", path);
  }
}

// mkdir found `path` existing with `mode` (from lstat, not stat: a symbolic link planted under
// the name of a directory segstore makes, snapshots/ or quarantine/, would send its files
// elsewhere).
Status check_existing_dir(const std::string &path, mode_t mode) {
  if (S_ISLNK(mode)) {
    return Status(Errc::not_a_directory,
                  "mkdir " + path + ": exists as a symbolic link (never followed inside a store)");
  }
  if (!S_ISDIR(mode)) return Status(Errc::not_a_directory, "mkdir " + path + ": exists and is not a directory");
  return Status();
}

FileKind kind_of(mode_t mode) {
  if (S_ISREG(mode)) return FileKind::regular;
  if (S_ISDIR(mode)) return FileKind::directory;
  return FileKind::other;
}

// The names in `dir` (closed here), without "." and "..", sorted.
Result<std::vector<std::string>> read_names(DIR *dir, const std::string &path) {
  std::vector<std::string> names;
  for (;;) {
    errno = 0;  // readdir returns nullptr both at the end and on an error; errno tells which
    const dirent *entry = ::readdir(dir);
    if (entry == nullptr) break;
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) return errno_status(err, "readdir", path);
  std::sort(names.begin(), names.end());
  return names;
}

class PosixEnv final : public Env {
 public:
  PosixEnv(Backend backend, bool direct, SyncWrites sync_writes, mode_t file_mode, PosixSyscalls syscalls,
           Logger logger)
      : backend_(backend), direct_(direct), sync_writes_(sync_writes), file_mode_(file_mode), syscalls_(syscalls),
        logger_(std::move(logger)) {}

  Result<std::unique_ptr<File>> open_file(const std::string &path, OpenFlags flags) override;
  Result<std::unique_ptr<WriteQueue>> make_write_queue(unsigned depth) override;
  // Worker threads doing positional reads: they work on every kernel and on buffered files too.
  std::unique_ptr<ReadAhead> make_read_ahead(unsigned threads) override { return make_thread_read_ahead(threads); }
  // Only where the env writes through io_uring too (the thread backend was chosen, or fell
  // back, because io_uring is not wanted or not there).
  std::unique_ptr<ReadAhead> make_ring_read_ahead(unsigned depth) override {
    return backend_ == Backend::uring ? make_uring_read_ahead(depth) : nullptr;
  }
  Status rename(const std::string &from, const std::string &to) override;
  Status remove(const std::string &path) override;
  Status make_dir(const std::string &path) override;
  Status sync_dir(const std::string &path) override;
  Result<std::vector<std::string>> list_dir(const std::string &path) override;
  Result<FileKind> file_kind(const std::string &path) override;
  Result<std::unique_ptr<DirLock>> lock_file(const std::string &path) override;
  std::string describe() const override;

  Result<std::shared_ptr<const Dir>> open_dir(const std::string &path) override;
  Result<std::shared_ptr<const Dir>> open_dir_at(const Dir &dir, const std::string &name) override;
  Result<std::unique_ptr<File>> open_file_at(const Dir &dir, const std::string &name, OpenFlags flags) override;
  Status rename_at(const Dir &from_dir, const std::string &from, const Dir &to_dir, const std::string &to) override;
  Status remove_at(const Dir &dir, const std::string &name) override;
  Status make_dir_at(const Dir &dir, const std::string &name) override;
  Status sync_open_dir(const Dir &dir) override;
  Result<std::vector<std::string>> list_open_dir(const Dir &dir) override;
  Result<FileKind> file_kind_at(const Dir &dir, const std::string &name) override;
  Result<std::unique_ptr<DirLock>> lock_dir(const Dir &dir) override;
  // Through an io_uring (io/uring_heads.h) where the env writes through one too; Env's way (one
  // file after another) where it does not, or the ring cannot be made.
  std::vector<std::optional<std::vector<std::byte>>> read_heads_at(const Dir &dir, std::span<const std::string> names,
                                                                   std::size_t bytes) override;

 private:
  enum DirectOutcome : int { none_yet = -1, buffered = 0, direct = 1 };

  Result<std::unique_ptr<File>> open_located(const FileLocation &where, OpenFlags flags);
  Result<std::unique_ptr<DirLock>> lock_in(const PosixDir &dir, const std::string &lock_name);

  const Backend backend_;
  const bool direct_;  // O_DIRECT wanted for files opened with OpenFlags.direct
  const SyncWrites sync_writes_;  // of the queues it makes
  const mode_t file_mode_;  // of created files
  // Bounds the descriptors its files hold open (io/descriptor_cache.h).
  const std::shared_ptr<DescriptorCache> descriptors_ = std::make_shared<DescriptorCache>(descriptors_cached_max);
  const PosixSyscalls syscalls_;
  const Logger logger_;
  // What the last file opened with OpenFlags.direct got (describe() reports it).
  std::atomic<int> last_direct_outcome_{none_yet};
};

Result<std::unique_ptr<File>> PosixEnv::open_file(const std::string &path, OpenFlags flags) {
  return open_located(FileLocation{nullptr, path, path}, flags);
}

Result<std::unique_ptr<File>> PosixEnv::open_located(const FileLocation &where, OpenFlags flags) {
  const bool want_direct = flags.direct && direct_;
  Result<OpenedFile> opened = open_posix_file(where, flags, want_direct || flags.bypass_cache, syscalls_.open, file_mode_);
  if (!opened.ok()) return opened.status();
  if (opened->direct_refused) {
    log_once(direct_fallback_logged, logger_, "the file system of " + where.path +
                                         " refuses O_DIRECT (EINVAL); using buffered I/O for "
                                         "such files");
  }
  if (want_direct) {
    last_direct_outcome_.store(opened->file->direct() ? direct : buffered);
  }
  opened->file->join_cache(descriptors_);
  return std::unique_ptr<File>(std::move(opened->file));
}

Result<std::unique_ptr<WriteQueue>> PosixEnv::make_write_queue(unsigned depth) {
  if (backend_ == Backend::thread) return make_thread_queue(depth, sync_writes_);
  UringQueueOptions queue_options;
  queue_options.init = syscalls_.uring_init;
  queue_options.sync_writes = sync_writes_;
  return make_uring_queue(depth, queue_options);
}

Status PosixEnv::rename(const std::string &from, const std::string &to) {
  if (::rename(from.c_str(), to.c_str()) == 0) return Status();
  return errno_status(errno, "rename", from + " to " + to);
}

// A file, or an empty directory (unlink refuses directories with EISDIR).
Status PosixEnv::remove(const std::string &path) {
  if (::unlink(path.c_str()) == 0) return Status();
  if (errno == EISDIR && ::rmdir(path.c_str()) == 0) return Status();
  return errno_status(errno, "remove", path);
}

Status PosixEnv::make_dir(const std::string &path) {
  if (::mkdir(path.c_str(), dir_mode) == 0) return Status();
  const int err = errno;
  if (err != EEXIST) return errno_status(err, "mkdir", path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno_status(errno, "lstat", path);
  return check_existing_dir(path, st.st_mode);
}

Status PosixEnv::sync_dir(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status(errno, "open directory", path);
  Status status;
  while (::fsync(fd) != 0) {
    if (errno == EINTR) continue;
    status = errno_status(errno, "fsync directory", path);
    break;
  }
  ::close(fd);
  return status;
}

Result<std::vector<std::string>> PosixEnv::list_dir(const std::string &path) {
  DIR *dir = ::opendir(path.c_str());
  if (dir == nullptr) return errno_status(errno, "opendir", path);
  return read_names(dir, path);
}

Result<FileKind> PosixEnv::file_kind(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileKind::missing;
    return errno_status(errno, "stat", path);
  }
  return kind_of(st.st_mode);
}

// flock() locks belong to the open file description, so a second open of the same store
// conflicts even inside one process, and the kernel releases the lock when the holder dies.
// The lock that excludes is taken on the store directory's own descriptor: a LOCK file alone can
// be unlinked while held (by an operator's rm, a cleanup script), and the next open would create
// a new LOCK, lock it, and write beside the first writer. A directory cannot be unlinked while
// it holds files. LOCK is still created and locked, for the earlier versions that look only at
// it, and opened like every store file: a symbolic link there is not followed (it would create
// its target) and a FIFO is refused without blocking.
Result<std::unique_ptr<DirLock>> PosixEnv::lock_file(const std::string &path) {
  // The path's own parent, as named (a store reached through a symbolic link to its directory
  // is locked where the link points): this is the path-based form, for tools and tests.
  const std::string dir = parent_dir(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return errno_status(errno, "open store directory", dir);
  const auto opened = std::make_shared<const PosixDir>(dir_fd, dir);
  const std::string name = path.substr(path.find_last_of('/') + 1);
  return lock_in(*opened, name);
}

Result<std::unique_ptr<DirLock>> PosixEnv::lock_dir(const Dir &dir) {
  const PosixDir *posix = dynamic_cast<const PosixDir *>(&dir);
  if (posix == nullptr) return Env::lock_dir(dir);
  return lock_in(*posix, format::lock_file_name);
}

Result<std::unique_ptr<DirLock>> PosixEnv::lock_in(const PosixDir &dir, const std::string &lock_name) {
  const std::string lock_path = dir.child_path(lock_name);
  // A description of its own (flock belongs to it): the lock ends when the DirLock does.
  const int dir_fd = ::openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return errno_status(errno, "open store directory", dir.path());
  if (Status locked = flock_exclusive(dir_fd, dir.path()); !locked.ok()) {
    ::close(dir_fd);
    if (locked.code() == Errc::store_in_use)
      return Status(Errc::store_in_use, "store is in use: " + lock_path +
                                            " is locked by another open (this or another process)");
    return locked;
  }
  OpenFlags flags;
  flags.create = true;
  flags.write = true;
  Result<OpenedFile> opened =
      open_posix_file(FileLocation{dir.shared_from_this(), lock_name, lock_path}, flags, false, syscalls_.open, file_mode_);
  if (!opened.ok()) {
    ::close(dir_fd);
    return opened.status();
  }
  // The lock lives with this descriptor (close-on-exec like the File's), not with the File.
  const int fd = ::fcntl(opened->file->fd(), F_DUPFD_CLOEXEC, 0);
  const int dup_err = errno;
  opened->file.reset();
  if (fd < 0) {
    ::close(dir_fd);
    return errno_status(dup_err, "dup lock file descriptor", lock_path);
  }
  if (Status locked = flock_exclusive(fd, lock_path); !locked.ok()) {
    ::close(fd);
    ::close(dir_fd);
    return locked;
  }
  return std::unique_ptr<DirLock>(std::make_unique<PosixDirLock>(dir_fd, fd));
}

// --- Operations relative to a directory's descriptor ------------------------------------------
// A Dir that is not a PosixDir came from another env; it is named by its path (io/env_dir.cc).

namespace {

// O_NOFOLLOW: a directory opened for a store (the store's own, snapshots/, quarantine/) is never
// reached through a symbolic link as its last component; the kernel says ELOOP for one.
constexpr int dir_open_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Result<std::shared_ptr<const Dir>> opened_dir(int fd, const std::string &path) {
  if (fd >= 0) return std::shared_ptr<const Dir>(std::make_shared<const PosixDir>(fd, path));
  const int err = errno;
  if (err == ELOOP)
    return Status(Errc::not_a_directory,
                  "open directory " + path + ": it is a symbolic link (never followed for a store's directories)");
  return errno_status(err, "open directory", path);
}

}  // namespace

Result<std::shared_ptr<const Dir>> PosixEnv::open_dir(const std::string &path) {
  return opened_dir(::open(path.c_str(), dir_open_flags), path);
}

Result<std::shared_ptr<const Dir>> PosixEnv::open_dir_at(const Dir &dir, const std::string &name) {
  const PosixDir *posix = dynamic_cast<const PosixDir *>(&dir);
  if (posix == nullptr) return Env::open_dir_at(dir, name);
  return opened_dir(::openat(posix->fd(), name.c_str(), dir_open_flags), dir.child_path(name));
}

std::vector<std::optional<std::vector<std::byte>>> PosixEnv::read_heads_at(const Dir &dir,
                                                                           std::span<const std::string> names,
                                                                           std::size_t bytes) {
  const PosixDir *posix = dynamic_cast<const PosixDir *>(&dir);
  if (posix == nullptr || backend_ != Backend::uring) return Env::read_heads_at(dir, names, bytes);
  std::optional<FileHeads> heads = read_heads_uring(posix->fd(), names, bytes);
  if (!heads) return Env::read_heads_at(dir, names, bytes);
  return std::move(*heads);
}

Result<std::unique_ptr<File>> PosixEnv::open_file_at(const Dir &dir, const std::string &name, OpenFlags flags) {
  const PosixDir *posix = dynamic_cast<const PosixDir *>(&dir);
  if (posix == nullptr) return Env::open_file_at(dir, name, flags);
  return open_located(FileLocation{posix->shared_from_this(), name, dir.child_path(name)}, flags);
}

Status PosixEnv::rename_at(const Dir &from_dir, const std::string &from, const Dir &to_dir, const std::string &to) {
  const PosixDir *posix_from = dynamic_cast<const PosixDir *>(&from_dir);
  const PosixDir *posix_to = dynamic_cast<const PosixDir *>(&to_dir);
  if (posix_from == nullptr || posix_to == nullptr) return Env::rename_at(from_dir, from, to_dir, to);
  if (::renameat(posix_from->fd(), from.c_str(), posix_to->fd(), to.c_str()) == 0) return Status();
  return errno_status(errno, "rename", from_dir.child_path(from) + " to " + to_dir.child_path(to));
}

// A file, or an empty directory (unlinkat without AT_REMOVEDIR refuses directories with EISDIR).
Status PosixEnv::remove_at(const Dir &dir, const std::string &name) {
  const PosixDir *posix = dynamic_cast<const PosixDir *>(&dir);
  if (posix == nullptr) return Env::remove_at(dir, name);
  if (::unlinkat(posix->fd(), name.c_str(), 0) == 0) return Status();
  if (errno == EISDIR && ::unlinkat(posix->fd(), name.c_str(), AT_REMOVEDIR) == 0) return Status();
  return errno_status(errno, "remove", dir.child_path(name));
}

Status PosixEnv::make_dir_at(const Dir &dir, const std::string &name) {
  const PosixDir *posix = dynamic_cast<const PosixDir *>(&dir);
  if (posix == nullptr) return Env::make_dir_at(dir, name);
  const std::string path = dir.child_path(name);
  if (::mkdirat(posix->fd(), name.c_str(), dir_mode) == 0) return Status();
  const int err = errno;
  if (err != EEXIST) return errno_status(err, "mkdir", path);
  struct stat st {};
  if (::fstatat(posix->fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno_status(errno, "lstat", path);
  return check_existing_dir(path, st.st_mode);
}

// The descriptor held is the directory's own: its fsync is the directory's.
Status PosixEnv::sync_open_dir(const Dir &dir) {
  const PosixDir *posix = dynamic_cast<const PosixDir *>(&dir);
  if (posix == nullptr) return Env::sync_open_dir(dir);
  while (::fsync(posix->fd()) != 0) {
    if (errno != EINTR) return errno_status(errno, "fsync directory", dir.path());
  }
  return Status();
}

Result<std::vector<std::string>> PosixEnv::list_open_dir(const Dir &dir) {
  const PosixDir *posix = dynamic_cast<const PosixDir *>(&dir);
  if (posix == nullptr) return Env::list_open_dir(dir);
  // fdopendir takes over the descriptor it is given: a new one, of the same directory.
  const int fd = ::openat(posix->fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status(errno, "opendir", dir.path());
  DIR *listing = ::fdopendir(fd);
  if (listing == nullptr) {
    const int err = errno;
    ::close(fd);
    return errno_status(err, "opendir", dir.path());
  }
  return read_names(listing, dir.path());
}

Result<FileKind> PosixEnv::file_kind_at(const Dir &dir, const std::string &name) {
  const PosixDir *posix = dynamic_cast<const PosixDir *>(&dir);
  if (posix == nullptr) return Env::file_kind_at(dir, name);
  struct stat st {};
  if (::fstatat(posix->fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return FileKind::missing;
    return errno_status(errno, "lstat", dir.child_path(name));
  }
  return kind_of(st.st_mode);
}

std::string PosixEnv::describe() const {
  const int outcome = last_direct_outcome_.load();
  const bool direct_in_effect = outcome == none_yet ? direct_ : outcome == direct;
  return std::string(backend_name(backend_)) + (direct_in_effect ? "+direct" : "+buffered");
}

}  // namespace

std::shared_ptr<Env> make_posix_env(EnvOptions options, const PosixSyscalls &syscalls) {
  options = apply_env_overrides(options);
  PosixSyscalls resolved = syscalls;
  if (resolved.uring_init == nullptr) resolved.uring_init = &io_uring_queue_init;
  const Backend backend = choose_backend(options.backend, resolved.uring_init, options.logger);
  return std::make_shared<PosixEnv>(backend, options.direct, options.sync_writes,
                                    static_cast<mode_t>(options.file_mode), resolved, options.logger);
}

std::shared_ptr<Env> make_posix_env(EnvOptions options) {
  return make_posix_env(options, PosixSyscalls{});
}

}  // namespace segstore::io
