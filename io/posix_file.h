// io/posix_file.h — a File on a POSIX file descriptor (pread/pwrite/fdatasync).
//
// Lifetime: owns the descriptor; the destructor closes it. Thread-safety: every operation is
// positional, so several threads may read and write one PosixFile at once (the kernel orders
// overlapping writes, segstore never issues them). Durability: write_at() returns once the
// kernel took the bytes; they are durable only after a later sync_data() returned ok.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "io/env.h"

namespace segstore::io {

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path, bool direct);
  ~PosixFile() override;
  PosixFile(const PosixFile &) = delete;
  PosixFile &operator=(const PosixFile &) = delete;

  const std::string &path() const override { return path_; }
  bool direct() const override { return direct_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override;
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Status sync_data() override;
  Result<std::uint64_t> size() override;
  Status allocate(std::uint64_t bytes) override;
  Status truncate(std::uint64_t bytes) override;

  int fd() const { return fd_; }

 private:
  int fd_;
  std::string path_;
  bool direct_;
};

// The open(2) to call: nullptr for ::open; tests pass a stand-in that plays a file system
// which refuses O_DIRECT.
using OpenSyscall = int (*)(const char *path, int flags, mode_t mode);

struct OpenedFile {
  std::unique_ptr<PosixFile> file;
  bool direct_refused = false;  // O_DIRECT was asked for, the file system said EINVAL
};

// Opens `path` with `flags`. With `direct`, tries O_DIRECT first; if the file system refuses it
// (EINVAL, e.g. tmpfs before Linux 6.6), opens the file buffered and says so in direct_refused.
Result<OpenedFile> open_posix_file(const std::string &path, OpenFlags flags, bool direct,
                                   OpenSyscall open_syscall);

}  // namespace segstore::io
