// io/posix_dir.h — a Dir of the real env: the directory's own descriptor, opened with
// O_DIRECTORY | O_NOFOLLOW, through which its entries are named (openat and friends).
//
// Why a descriptor: a path is looked up again at every use, so a store directory renamed away
// and replaced by a symbolic link (or another directory) after the store was opened would take
// every later write somewhere else — past the lock, which stays on the directory that was
// opened. The descriptor names the directory that was opened for as long as it is held.
// Lifetime: owns the descriptor. Thread-safety: immutable; the descriptor is only read.
#pragma once

#include <unistd.h>

#include <memory>
#include <string>

#include "io/env.h"

namespace segstore::io {

// Made only by make_shared (the env hands out shared_ptrs; its files keep their directory).
class PosixDir final : public Dir, public std::enable_shared_from_this<PosixDir> {
 public:
  PosixDir(int fd, std::string path) : Dir(std::move(path)), fd_(fd) {}
  ~PosixDir() override { ::close(fd_); }
  PosixDir(const PosixDir &) = delete;
  PosixDir &operator=(const PosixDir &) = delete;
  int fd() const { return fd_; }

 private:
  const int fd_;
};

}  // namespace segstore::io
