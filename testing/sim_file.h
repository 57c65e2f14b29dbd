// testing/sim_file.h — the simulated file (an io::File on an inode of the simulated disk) and
// the simulated write queue (testing/sim_model.h says how the parts fit). Internal to testing/.
#pragma once

#include <memory>
#include <string>

#include "testing/sim_model.h"

namespace segstore::testing::sim {

class SimFile final : public io::File {
 public:
  SimFile(std::shared_ptr<SimDisk> disk, SimDisk::State &state, std::shared_ptr<Inode> inode, std::string path,
          std::uint64_t boot, bool direct, bool writable)
      : disk_(std::move(disk)), st_(state), inode_(std::move(inode)), path_(std::move(path)), boot_(boot),
        direct_(direct), writable_(writable) {}

  const std::string &path() const override { return path_; }
  bool direct() const override { return direct_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override;
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Status sync_data() override;
  Result<bool> write_dsync_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Result<std::uint64_t> size() override;
  Status allocate(std::uint64_t bytes) override;
  Status truncate(std::uint64_t bytes) override;

  Status check_aligned(const char *what, std::uint64_t offset, const void *buffer, std::size_t length) const {
    if (!direct_) return Status();
    const auto address = reinterpret_cast<std::uintptr_t>(buffer);
    if (offset % block_bytes == 0 && length % block_bytes == 0 && address % block_bytes == 0) return Status();
    return Status(Errc::invalid_argument, std::string(what) + " " + path_ + " at offset " + std::to_string(offset) +
                                              ": O_DIRECT needs offset, length and buffer aligned to " +
                                              std::to_string(block_bytes) + " (length " + std::to_string(length) +
                                              ") [simulated]");
  }
  Status check_writable(const char *what) const {
    if (writable_) return Status();
    return sim_errno(EBADF, what, path_);
  }

  std::shared_ptr<SimDisk> disk_;
  SimDisk::State &st_;
  std::shared_ptr<Inode> inode_;
  const std::string path_;
  const std::uint64_t boot_;
  const bool direct_;
  const bool writable_;
};

// The write queue: groups wait in `pending_` until the reaper's reap() runs them, one at a time
// in a seeded order (not the submission order), unless the disk holds writes.

class SimQueue final : public io::WriteQueue {
 public:
  SimQueue(std::shared_ptr<SimDisk> disk, SimDisk::State &state, std::uint64_t boot, unsigned depth,
           std::uint64_t id)
      : disk_(std::move(disk)), st_(state), boot_(boot), depth_(depth),
        random_(splitmix64(state.seed ^ 0x51AA0000ull ^ id)) {
    st_.queues.insert(this);  // caller holds st_.mu
  }
  ~SimQueue() override {
    std::lock_guard lock(st_.mu);
    st_.queues.erase(this);
  }

  Status submit(const io::WriteGroup &group) override;
  Status reap(std::vector<io::GroupCompletion> *out, bool wait) override;
  std::size_t inflight() const override {
    std::lock_guard lock(st_.mu);
    return inflight_;
  }
  const char *name() const override { return "sim"; }
  io::SyncWrites sync_writes() const override {
    std::lock_guard lock(st_.mu);
    return st_.sync_writes;
  }

  struct Pending {
    io::WriteGroup group;
    SimFile *file = nullptr;
  };
  io::GroupCompletion run_locked(const Pending &p);

  std::shared_ptr<SimDisk> disk_;
  SimDisk::State &st_;
  const std::uint64_t boot_;
  const unsigned depth_;
  SimRandom random_;
  std::deque<Pending> pending_;
  std::vector<io::GroupCompletion> done_;
  std::size_t inflight_ = 0;  // submitted, not yet returned by reap()
};

}  // namespace segstore::testing::sim
