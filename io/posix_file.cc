#include "io/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "base/try.h"
#include "io/direct_alignment.h"

namespace segstore::io {

namespace {

constexpr mode_t file_mode = 0644;

int open_flags_for(OpenFlags flags) {
  int result = O_CLOEXEC | (flags.write ? O_RDWR : O_RDONLY);
  if (flags.create) result |= O_CREAT;
  if (flags.create && flags.exclusive) result |= O_EXCL;
  return result;
}

int real_open(const char *path, int flags, mode_t mode) { return ::open(path, flags, mode); }

int open_retrying(OpenSyscall open_syscall, const std::string &path, int flags) {
  if (open_syscall == nullptr) open_syscall = &real_open;
  for (;;) {
    const int fd = open_syscall(path.c_str(), flags, file_mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

}  // namespace

PosixFile::PosixFile(int fd, std::string path, bool direct)
    : fd_(fd), path_(std::move(path)), direct_(direct) {}

// close(2) has nothing left to report: errors of written data surface in sync_data(), and a
// file whose data was never synced promised nothing.
PosixFile::~PosixFile() { ::close(fd_); }

Result<std::size_t> PosixFile::read_at(std::uint64_t offset, std::span<std::byte> out) {
  if (direct_) SEGSTORE_TRY(check_direct_alignment("read", path_, offset, out.data(), out.size()));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_status(errno, "read", path_, static_cast<std::int64_t>(offset + done));
    }
    if (n == 0) break;  // end of file
    done += static_cast<std::size_t>(n);
    // An O_DIRECT read that ends off a block boundary stopped at the end of the file (whose size
    // need not be aligned); asking again from there would be a misaligned request.
    if (direct_ && !is_block_aligned(done)) break;
  }
  return done;
}

Status PosixFile::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  if (direct_) {
    SEGSTORE_TRY(check_direct_alignment("write", path_, offset, data.data(), data.size()));
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_status(errno, "write", path_, static_cast<std::int64_t>(offset + done));
    }
    // A write that takes nothing without an error would make this loop spin forever.
    if (n == 0) {
      return Status(Errc::io_error, "write " + path_ + " at offset " +
                                        std::to_string(offset + done) + ": the OS wrote 0 of " +
                                        std::to_string(data.size() - done) + " bytes");
    }
    done += static_cast<std::size_t>(n);
  }
  return Status();
}

// Only EINTR is retried. A data sync that failed is never retried: the kernel may already have
// marked the pages it could not write as clean, so a second fdatasync() would succeed without
// the data ever reaching the disk (the 2018 PostgreSQL "fsyncgate"). The caller must treat the
// failure as final.
Status PosixFile::sync_data() {
  for (;;) {
    if (::fdatasync(fd_) == 0) return Status();
    if (errno != EINTR) return errno_status(errno, "fdatasync", path_);
  }
}

Result<std::uint64_t> PosixFile::size() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return errno_status(errno, "fstat", path_);
  return static_cast<std::uint64_t>(st.st_size);
}

Status PosixFile::allocate(std::uint64_t bytes) {
  if (bytes == 0) return Status();  // fallocate() refuses a zero length; nothing to reserve
  for (;;) {
    if (::fallocate(fd_, 0, 0, static_cast<off_t>(bytes)) == 0) return Status();
    if (errno != EINTR) {
      return errno_status(errno, "fallocate", path_, static_cast<std::int64_t>(bytes));
    }
  }
}

Status PosixFile::truncate(std::uint64_t bytes) {
  for (;;) {
    if (::ftruncate(fd_, static_cast<off_t>(bytes)) == 0) return Status();
    if (errno != EINTR) {
      return errno_status(errno, "ftruncate", path_, static_cast<std::int64_t>(bytes));
    }
  }
}

Result<OpenedFile> open_posix_file(const std::string &path, OpenFlags flags, bool direct,
                                   OpenSyscall open_syscall) {
  const int plain_flags = open_flags_for(flags);
  OpenedFile opened;
  if (direct) {
    const int fd = open_retrying(open_syscall, path, plain_flags | O_DIRECT);
    if (fd >= 0) {
      opened.file = std::make_unique<PosixFile>(fd, path, true);
      return opened;
    }
    if (errno != EINVAL) return errno_status(errno, "open (O_DIRECT)", path);
    opened.direct_refused = true;
  }
  int fallback_flags = plain_flags;
  // Linux creates the file before it checks whether the file system supports O_DIRECT, so the
  // refused open above may have created it: O_EXCL was honoured by that open (a file that
  // existed before would have failed with EEXIST, not EINVAL) and must not fail the reopen.
  if (opened.direct_refused) fallback_flags &= ~O_EXCL;
  const int fd = open_retrying(open_syscall, path, fallback_flags);
  if (fd < 0) return errno_status(errno, "open", path);
  opened.file = std::make_unique<PosixFile>(fd, path, false);
  return opened;
}

}  // namespace segstore::io
