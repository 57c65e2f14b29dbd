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
#include "io/thread_queue.h"

namespace segstore::io {

namespace {

using Backend = EnvOptions::Backend;

constexpr mode_t dir_mode = 0755;
constexpr mode_t lock_file_mode = 0644;
// Entries of the ring made only to learn whether io_uring works here.
constexpr unsigned probe_ring_entries = 2;

// One line per kind of fallback per process: a store opened many times (tests, tools) would
// otherwise repeat the same warning each time.
std::atomic<bool> uring_fallback_logged{false};
std::atomic<bool> direct_fallback_logged{false};
std::atomic<bool> bad_backend_var_logged{false};

// The first store that meets the fallback reports it, through its logger.
void log_once(std::atomic<bool> &logged, const Logger &logger, const std::string &message) {
  if (!logged.exchange(true)) base::log(logger, LogLevel::warning, message);
}

const char *backend_name(Backend backend) {
  return backend == Backend::thread ? "thread" : "uring";
}

// SEGSTORE_IO_BACKEND and SEGSTORE_DIRECT_IO override the options (operators use them to work
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

class PosixEnv final : public Env {
 public:
  PosixEnv(Backend backend, bool direct, PosixSyscalls syscalls, Logger logger)
      : backend_(backend), direct_(direct), syscalls_(syscalls), logger_(std::move(logger)) {}

  Result<std::unique_ptr<File>> open_file(const std::string &path, OpenFlags flags) override;
  Result<std::unique_ptr<WriteQueue>> make_write_queue(unsigned depth) override;
  Status rename(const std::string &from, const std::string &to) override;
  Status remove(const std::string &path) override;
  Status make_dir(const std::string &path) override;
  Status sync_dir(const std::string &path) override;
  Result<std::vector<std::string>> list_dir(const std::string &path) override;
  Result<FileKind> file_kind(const std::string &path) override;
  Result<std::unique_ptr<DirLock>> lock_file(const std::string &path) override;
  std::string describe() const override;

 private:
  enum DirectOutcome : int { none_yet = -1, buffered = 0, direct = 1 };

  const Backend backend_;
  const bool direct_;  // O_DIRECT wanted for files opened with OpenFlags.direct
  const PosixSyscalls syscalls_;
  const Logger logger_;
  // What the last file opened with OpenFlags.direct got (describe() reports it).
  std::atomic<int> last_direct_outcome_{none_yet};
};

Result<std::unique_ptr<File>> PosixEnv::open_file(const std::string &path, OpenFlags flags) {
  const bool want_direct = flags.direct && direct_;
  Result<OpenedFile> opened = open_posix_file(path, flags, want_direct || flags.bypass_cache, syscalls_.open);
  if (!opened.ok()) return opened.status();
  if (opened->direct_refused) {
    log_once(direct_fallback_logged, logger_, "the file system of " + path +
                                         " refuses O_DIRECT (EINVAL); using buffered I/O for "
                                         "such files");
  }
  if (want_direct) {
    last_direct_outcome_.store(opened->file->direct() ? direct : buffered);
  }
  return std::unique_ptr<File>(std::move(opened->file));
}

Result<std::unique_ptr<WriteQueue>> PosixEnv::make_write_queue(unsigned depth) {
  if (backend_ == Backend::thread) return make_thread_queue(depth);
  return make_uring_queue(depth, syscalls_.uring_init);
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
  Result<FileKind> kind = file_kind(path);
  if (!kind.ok()) return kind.status();
  if (*kind != FileKind::directory) {
    return Status(Errc::not_a_directory, "mkdir " + path + ": exists and is not a directory");
  }
  return Status();
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

Result<FileKind> PosixEnv::file_kind(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileKind::missing;
    return errno_status(errno, "stat", path);
  }
  if (S_ISREG(st.st_mode)) return FileKind::regular;
  if (S_ISDIR(st.st_mode)) return FileKind::directory;
  return FileKind::other;
}

// flock() locks belong to the open file description, so a second open of the same store
// conflicts even inside one process, and the kernel releases the lock when the holder dies.
// The lock that excludes is taken on the store directory's own descriptor: a LOCK file alone can
// be unlinked while held (by an operator's rm, a cleanup script), and the next open would create
// a new LOCK, lock it, and write beside the first writer. A directory cannot be unlinked while
// it holds files. LOCK is still created and locked (never through a symlink), for the earlier
// versions that look only at it.
Result<std::unique_ptr<DirLock>> PosixEnv::lock_file(const std::string &path) {
  const std::string dir = parent_dir(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return errno_status(errno, "open store directory", dir);
  if (Status locked = flock_exclusive(dir_fd, dir); !locked.ok()) {
    ::close(dir_fd);
    if (locked.code() == Errc::store_in_use)
      return Status(Errc::store_in_use, "store is in use: " + path +
                                            " is locked by another open (this or another process)");
    return locked;
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, lock_file_mode);
  if (fd < 0) {
    const int err = errno;
    ::close(dir_fd);
    return errno_status(err, "open lock file", path);
  }
  if (Status locked = flock_exclusive(fd, path); !locked.ok()) {
    ::close(fd);
    ::close(dir_fd);
    return locked;
  }
  return std::unique_ptr<DirLock>(std::make_unique<PosixDirLock>(dir_fd, fd));
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
  return std::make_shared<PosixEnv>(backend, options.direct, resolved, options.logger);
}

std::shared_ptr<Env> make_posix_env(EnvOptions options) {
  return make_posix_env(options, PosixSyscalls{});
}

}  // namespace segstore::io
