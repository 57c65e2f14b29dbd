// bench/peer_plain.cc — the simple log server's choice: one file, write() per record, and
// fdatasync() after each when synced. Threads take turns under one mutex (no group commit).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "peers.h"

namespace segstore::bench {

namespace {

class PlainLog final : public PeerLog {
 public:
  PlainLog(int fd, bool sync) : fd_(fd), sync_(sync) {}
  ~PlainLog() override { ::close(fd_); }

  bool append(std::uint64_t, std::span<const std::byte> payload, std::string *error) override {
    std::lock_guard lock(mu_);
    const std::byte *at = payload.data();
    std::size_t left = payload.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, at, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        *error = std::string("plain log write: ") + std::strerror(errno);
        return false;
      }
      at += n;
      left -= static_cast<std::size_t>(n);
    }
    if (sync_ && ::fdatasync(fd_) != 0) {
      *error = std::string("plain log fdatasync: ") + std::strerror(errno);
      return false;
    }
    return true;
  }

  bool flush(std::string *error) override {
    std::lock_guard lock(mu_);
    if (::fdatasync(fd_) != 0) {
      *error = std::string("plain log fdatasync: ") + std::strerror(errno);
      return false;
    }
    return true;
  }

 private:
  std::mutex mu_;
  int fd_;
  bool sync_;
};

}  // namespace

PeerKind plain_log_peer() {
  PeerKind kind;
  kind.name = "plain-log";
  kind.version = "write()+fdatasync()";
  kind.open = [](const std::string &dir, bool sync, std::string *error) -> std::unique_ptr<PeerLog> {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const std::string path = dir + "/log";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      *error = "open " + path + ": " + std::strerror(errno);
      return nullptr;
    }
    return std::make_unique<PlainLog>(fd, sync);
  };
  return kind;
}

std::vector<PeerKind> available_peers() {
  std::vector<PeerKind> peers;
  peers.push_back(plain_log_peer());
#ifdef SEGSTORE_BENCH_HAVE_ROCKSDB
  peers.push_back(rocksdb_peer());
#endif
#ifdef SEGSTORE_BENCH_HAVE_LEVELDB
  peers.push_back(leveldb_peer());
#endif
  return peers;
}

std::vector<UnavailablePeer> unavailable_peers() {
  std::vector<UnavailablePeer> missing;
  // ./dev bench installs the packages and reconfigures a build dir that was set up before them
  // (bench/configure_peers.sh); a build configured by hand keeps meson's first answer.
  [[maybe_unused]] auto lacking = [&missing](const char *name, const char *package) {
    missing.push_back({name, std::string("not built in: ") + package +
                                 " was not found when this build was configured (./dev bench installs it and "
                                 "reconfigures)"});
  };
#ifndef SEGSTORE_BENCH_HAVE_ROCKSDB
  lacking("rocksdb", "librocksdb-dev");
#endif
#ifndef SEGSTORE_BENCH_HAVE_LEVELDB
  lacking("leveldb", "libleveldb-dev");
#endif
  return missing;
}

}  // namespace segstore::bench
