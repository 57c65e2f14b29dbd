// tests/io/io_test_util.h — what the io tests share: a fresh directory per test, recognisable
// bytes, and Status printing.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "segstore/status.h"

namespace segstore::io::testing {

// A directory made by mkdtemp under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string &base = default_base()) {
    std::string pattern = base + "/segstore-io-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp under " + base + " failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

  static std::string default_base() {
    const char *tmpdir = std::getenv("TMPDIR");
    return tmpdir != nullptr && tmpdir[0] != '\0' ? tmpdir : "/tmp";
  }

 private:
  std::string path_;
};

// Bytes that differ between seeds and between positions, so a misplaced block shows.
inline void fill_pattern(std::span<std::byte> bytes, std::uint64_t seed) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::byte &b : bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::byte>(x);
  }
}

inline std::vector<std::byte> pattern(std::size_t size, std::uint64_t seed) {
  std::vector<std::byte> bytes(size);
  fill_pattern(bytes, seed);
  return bytes;
}

inline std::vector<std::byte> to_bytes(const std::string &text) {
  const auto *first = reinterpret_cast<const std::byte *>(text.data());
  return {first, first + text.size()};
}

// "code 8: <message>" (without Status::to_string, which lives in another part of the library).
inline std::string text(const Status &status) {
  return "code " + std::to_string(static_cast<int>(status.code())) + ": " + status.message();
}

// Sets an environment variable for one scope and restores what was there before.
class ScopedEnvVar {
 public:
  ScopedEnvVar(const char *name, const char *value) : name_(name) {
    if (const char *old = std::getenv(name); old != nullptr) {
      had_old_ = true;
      old_ = old;
    }
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnvVar() {
    if (had_old_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnvVar(const ScopedEnvVar &) = delete;
  ScopedEnvVar &operator=(const ScopedEnvVar &) = delete;

 private:
  const char *name_;
  bool had_old_ = false;
  std::string old_;
};

}  // namespace segstore::io::testing

#include "io/posix_env.h"

namespace segstore::io::testing {

// A posix env with exactly these options: SEGSTORE_IO_BACKEND, SEGSTORE_DIRECT_IO and
// SEGSTORE_SYNC_WRITES of the caller's shell are hidden while it is made (they would override
// the options).
inline std::shared_ptr<Env> make_env_exactly(EnvOptions::Backend backend, bool direct,
                                             const PosixSyscalls &syscalls = {},
                                             SyncWrites sync_writes = SyncWrites::dsync) {
  ScopedEnvVar no_backend(backend_env_var, nullptr);
  ScopedEnvVar no_direct(direct_io_env_var, nullptr);
  ScopedEnvVar no_sync_writes(sync_writes_env_var, nullptr);
  EnvOptions options;
  options.backend = backend;
  options.direct = direct;
  options.sync_writes = sync_writes;
  return make_posix_env(options, syscalls);
}

inline OpenFlags create_flags(bool direct) {
  OpenFlags flags;
  flags.create = true;
  flags.write = true;
  flags.direct = direct;
  return flags;
}

}  // namespace segstore::io::testing
