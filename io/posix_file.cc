#include "io/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "base/try.h"
#include "io/descriptor_cache.h"
#include "io/direct_alignment.h"
#include "io/posix_dir.h"

namespace segstore::io {

namespace {

// O_NOFOLLOW: a symbolic link planted under a store file's name is never followed, so no write
// lands outside the store and no read comes from a file the store did not make.
// O_NONBLOCK: a FIFO under a store file's name would block open() until a writer appears (and
// a signal would only restart it); with it the open returns at once and the type check below
// refuses the FIFO. On regular files O_NONBLOCK changes nothing.
int open_flags_for(OpenFlags flags) {
  int result = O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (flags.write ? O_RDWR : O_RDONLY);
  if (flags.create) result |= O_CREAT;
  if (flags.append) result |= O_APPEND;
  if (flags.create && flags.exclusive) result |= O_EXCL;
  return result;
}

int real_openat(int dir_fd, const char *name, int flags, mode_t mode) { return ::openat(dir_fd, name, flags, mode); }

// Only EINTR is retried, and it cannot come from a FIFO's wait (O_NONBLOCK): a signal ends no
// wait here that could last.
int open_retrying(OpenSyscall open_syscall, const FileLocation &where, int flags, mode_t mode) {
  if (open_syscall == nullptr) open_syscall = &real_openat;
  for (;;) {
    const int fd = open_syscall(location_dir_fd(where), where.name.c_str(), flags, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

// The error of an open that failed with `err`.
Status open_failure(int err, const std::string &what, const FileLocation &where) {
  struct stat st {};
  // ELOOP: the name is a symbolic link (O_NOFOLLOW). ENXIO: a FIFO without a reader, opened
  // for writing with O_NONBLOCK (or a device without its driver). EISDIR: a directory opened
  // for writing. Name what is there.
  if ((err == ELOOP || err == ENXIO || err == EISDIR) &&
      ::fstatat(location_dir_fd(where), where.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
    return not_regular_file_status(where.path, st.st_mode);
  return errno_status(err, what, where.path);
}

// Opens with the flags and checks with fstat that what was opened is a regular file. Returns
// the descriptor; -1 with errno set when the open failed, or with *refused set when it opened
// something else (closed again) or fstat failed.
int open_regular(OpenSyscall open_syscall, const FileLocation &where, int flags, mode_t mode, Status *refused) {
  const int fd = open_retrying(open_syscall, where, flags, mode);
  if (fd < 0) return fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    *refused = errno_status(errno, "fstat", where.path);
  } else if (!S_ISREG(st.st_mode)) {
    *refused = not_regular_file_status(where.path, st.st_mode);
  } else {
    return fd;
  }
  ::close(fd);
  return -1;
}

// The flags that open a file again after its descriptor was closed: it exists by then, and
// was made by this open if it was made at all.
int reopen_flags(int flags) { return flags & ~(O_CREAT | O_EXCL | O_TRUNC); }

}  // namespace

PosixFile::PosixFile(int fd, FileLocation where, bool direct, int reopen_flags)
    : fd_(fd), where_(std::move(where)), direct_(direct), reopen_flags_(reopen_flags) {}

// close(2) has nothing left to report: errors of written data surface in sync_data(), and a
// file whose data was never synced promised nothing.
PosixFile::~PosixFile() {
  if (cache_) cache_->forget(this);
  if (fd_ >= 0) ::close(fd_);
}

void PosixFile::join_cache(std::shared_ptr<DescriptorCache> cache) {
  if (reopen_flags_ < 0) return;  // cannot be reopened: keeps its descriptor
  cache_ = std::move(cache);
  cache_->used(this);
}

Result<int> PosixFile::acquire() {
  int fd = -1;
  {
    std::lock_guard lock(mu_);
    if (fd_ < 0) {
      Status refused;
      fd_ = open_regular(nullptr, where_, reopen_flags_, 0, &refused);
      if (fd_ < 0) return refused.ok() ? open_failure(errno, "reopen", where_) : refused;
    }
    ++users_;
    fd = fd_;
  }
  // Outside mu_: the cache may close other files' descriptors (it only try_locks theirs).
  if (cache_) cache_->used(this);
  return fd;
}

// writes_ counts writes once they completed: a data sync covers those completed before it
// started, so "the first writes_synced_ completed writes are durable" stays true.
void PosixFile::release(bool wrote) {
  std::lock_guard lock(mu_);
  if (wrote) ++writes_;
  --users_;
}

bool PosixFile::close_if_idle() {
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock() || users_ != 0 || writes_synced_ != writes_ || fd_ < 0) return false;
  ::close(fd_);
  fd_ = -1;
  return true;
}

Result<PosixFile::Pinned> PosixFile::pin_for_write() {
  Result<int> fd = acquire();
  if (!fd.ok()) return fd.status();
  std::lock_guard lock(mu_);
  return Pinned{*fd, writes_};
}

void PosixFile::unpin(const Pinned &pinned, SyncedBy synced_by) {
  std::lock_guard lock(mu_);
  switch (synced_by) {
    case SyncedBy::nothing:
      break;
    case SyncedBy::file_sync:
      // The linked sync started after this write completed, so it covers it and every write
      // that completed before the pin.
      writes_synced_ = std::max(writes_synced_, pinned.writes + 1);
      break;
    case SyncedBy::own_write:
      count_own_write_synced_locked();
      break;
  }
  ++writes_;
  --users_;
}

// RWF_DSYNC made only the write about to be counted durable: the count of covered writes moves
// only if every write completed so far was already covered.
void PosixFile::count_own_write_synced_locked() {
  if (writes_synced_ == writes_) writes_synced_ = writes_ + 1;
}

// Holds the descriptor open for one operation.
class PosixFile::Use {
 public:
  Use(PosixFile &file, bool writing) : file_(file), writing_(writing), fd_(file.acquire()) {}
  ~Use() {
    if (fd_.ok()) file_.release(writing_);
  }
  Use(const Use &) = delete;
  Use &operator=(const Use &) = delete;
  bool ok() const { return fd_.ok(); }
  Status status() const { return fd_.status(); }
  int fd() const { return fd_.value(); }

 private:
  PosixFile &file_;
  const bool writing_;
  Result<int> fd_;
};

Result<std::size_t> PosixFile::read_at(std::uint64_t offset, std::span<std::byte> out) {
  if (direct_) SEGSTORE_TRY(check_direct_alignment("read", where_.path, offset, out.data(), out.size()));
  Use use(*this, false);
  if (!use.ok()) return use.status();
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(use.fd(), out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_status(errno, "read", where_.path, static_cast<std::int64_t>(offset + done));
    }
    if (n == 0) break;  // end of file
    done += static_cast<std::size_t>(n);
    // An O_DIRECT read that ends off a block boundary stopped at the end of the file (whose size
    // need not be aligned); asking again from there would be a misaligned request.
    if (direct_ && !is_block_aligned(done)) break;
  }
  return done;
}

namespace {

// EOPNOTSUPP, or EINVAL on a request whose alignment was checked: the flag, not the buffer.
bool is_dsync_refusal(int err) { return err == EOPNOTSUPP || err == EINVAL; }

// Writes all of `data` at `offset` with `write_part(buffer, bytes, file offset)` (one
// pwrite-like call), continuing short writes and retrying EINTR/EAGAIN. With `refused` set, a
// call the kernel refuses for its flag (is_dsync_refusal) ends the write with *refused = true
// and an ok status, so the caller can take another way.
template <typename WritePart>
Status write_whole(const std::string &path, const char *op, std::uint64_t offset, std::span<const std::byte> data,
                   bool *refused, WritePart write_part) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write_part(data.data() + done, data.size() - done, offset + done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (refused != nullptr && is_dsync_refusal(errno)) {
        *refused = true;
        return Status();
      }
      return errno_status(errno, op, path, static_cast<std::int64_t>(offset + done));
    }
    // A write that takes nothing without an error would make this loop spin forever.
    if (n == 0) {
      return Status(Errc::io_error, "write " + path + " at offset " + std::to_string(offset + done) +
                                        ": the OS wrote 0 of " + std::to_string(data.size() - done) + " bytes");
    }
    done += static_cast<std::size_t>(n);
  }
  return Status();
}

}  // namespace

Status PosixFile::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  if (direct_) {
    SEGSTORE_TRY(check_direct_alignment("write", where_.path, offset, data.data(), data.size()));
  }
  Use use(*this, true);
  if (!use.ok()) return use.status();
  const int fd = use.fd();
  return write_whole(where_.path, "write", offset, data, nullptr,
                     [fd](const std::byte *part, std::size_t bytes, std::uint64_t at) {
                       return ::pwrite(fd, part, bytes, static_cast<off_t>(at));
                     });
}

// Only EINTR is retried. A data sync that failed is never retried: the kernel may already have
// marked the pages it could not write as clean, so a second fdatasync() would succeed without
// the data ever reaching the disk (the 2018 PostgreSQL "fsyncgate"). The caller must treat the
// failure as final.
Status PosixFile::sync_data() {
  Use use(*this, false);
  if (!use.ok()) return use.status();
  std::uint64_t covered = 0;
  {
    std::lock_guard lock(mu_);
    covered = writes_;  // writes issued before the sync starts are covered by its success
  }
  for (;;) {
    if (::fdatasync(use.fd()) == 0) {
      std::lock_guard lock(mu_);
      writes_synced_ = std::max(writes_synced_, covered);
      return Status();
    }
    if (errno != EINTR) return errno_status(errno, "fdatasync", where_.path);
  }
}

// Each part of a short write is written with RWF_DSYNC too: the whole is durable only once the
// last part returned, every part having been synced by its own write.
Result<bool> PosixFile::write_dsync_at(std::uint64_t offset, std::span<const std::byte> data) {
  if (direct_) {
    SEGSTORE_TRY(check_direct_alignment("write", where_.path, offset, data.data(), data.size()));
  }
  Use use(*this, true);
  if (!use.ok()) return use.status();
  const int fd = use.fd();
  bool refused = false;
  SEGSTORE_TRY(write_whole(where_.path, "write (RWF_DSYNC)", offset, data, &refused,
                           [fd](const std::byte *part, std::size_t bytes, std::uint64_t at) {
                             iovec one{const_cast<std::byte *>(part), bytes};
                             return ::pwritev2(fd, &one, 1, static_cast<off_t>(at), RWF_DSYNC);
                           }));
  if (refused) return false;
  std::lock_guard lock(mu_);
  count_own_write_synced_locked();  // ~Use counts the write itself
  return true;
}

Result<std::uint64_t> PosixFile::size() {
  Use use(*this, false);
  if (!use.ok()) return use.status();
  struct stat st {};
  if (::fstat(use.fd(), &st) != 0) return errno_status(errno, "fstat", where_.path);
  return static_cast<std::uint64_t>(st.st_size);
}

Status PosixFile::allocate(std::uint64_t bytes) {
  if (bytes == 0) return Status();  // fallocate() refuses a zero length; nothing to reserve
  Use use(*this, true);
  if (!use.ok()) return use.status();
  for (;;) {
    if (::fallocate(use.fd(), 0, 0, static_cast<off_t>(bytes)) == 0) return Status();
    if (errno != EINTR) {
      return errno_status(errno, "fallocate", where_.path, static_cast<std::int64_t>(bytes));
    }
  }
}

Status PosixFile::truncate(std::uint64_t bytes) {
  Use use(*this, true);
  if (!use.ok()) return use.status();
  for (;;) {
    if (::ftruncate(use.fd(), static_cast<off_t>(bytes)) == 0) return Status();
    if (errno != EINTR) {
      return errno_status(errno, "ftruncate", where_.path, static_cast<std::int64_t>(bytes));
    }
  }
}

const char *file_type_name(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Status not_regular_file_status(const std::string &path, mode_t mode) {
  return Status(Errc::not_a_regular_file, "open " + path + " at offset 0: it is " + file_type_name(mode) +
                                              ", not a regular file (segstore reads and writes regular files only "
                                              "and never follows symbolic links inside a store)");
}

int location_dir_fd(const FileLocation &where) { return where.dir ? where.dir->fd() : AT_FDCWD; }

Result<OpenedFile> open_posix_file(const FileLocation &where, OpenFlags flags, bool direct,
                                   OpenSyscall open_syscall, mode_t create_mode) {
  const int plain_flags = open_flags_for(flags);
  OpenedFile opened;
  if (direct) {
    Status refused;
    const int fd = open_regular(open_syscall, where, plain_flags | O_DIRECT, create_mode, &refused);
    if (fd >= 0) {
      opened.file = std::make_unique<PosixFile>(fd, where, true, reopen_flags(plain_flags | O_DIRECT));
      return opened;
    }
    if (!refused.ok()) return refused;
    if (errno != EINVAL) return open_failure(errno, "open (O_DIRECT)", where);
    opened.direct_refused = true;
  }
  int fallback_flags = plain_flags;
  // Linux creates the file before it checks whether the file system supports O_DIRECT, so the
  // refused open above may have created it: O_EXCL was honoured by that open (a file that
  // existed before would have failed with EEXIST, not EINVAL) and must not fail the reopen.
  if (opened.direct_refused) fallback_flags &= ~O_EXCL;
  Status refused;
  const int fd = open_regular(open_syscall, where, fallback_flags, create_mode, &refused);
  if (fd < 0) return refused.ok() ? open_failure(errno, "open", where) : refused;
  opened.file = std::make_unique<PosixFile>(fd, where, false, reopen_flags(fallback_flags));
  return opened;
}

}  // namespace segstore::io
