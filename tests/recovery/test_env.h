// tests/recovery/test_env.h — the real Env with a log of every read and injectable read errors:
// lets tests count what recovery reads (a clean store with sealed segments must read block 0
// and the index snapshot header of each, nothing else) and make a read fail with EIO. With
// skip_syncs, fdatasync and directory fsync do nothing: for tests that check decisions, not
// durability, and run recovery thousands of times.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/try.h"
#include "io/env.h"

namespace segstore::recovery::testing {

struct ReadCall {
  std::string path;
  std::uint64_t offset = 0;
  std::size_t bytes = 0;
};

class TestEnv final : public io::Env {
 public:
  explicit TestEnv(std::shared_ptr<io::Env> base, bool skip_syncs = false)
      : base_(std::move(base)), skip_syncs_(skip_syncs) {}
  bool skip_syncs() const { return skip_syncs_; }

  // Reads of a path ending in `path_suffix` at or past `offset` fail with `status`.
  void fail_reads(std::string path_suffix, std::uint64_t offset, Status status) {
    std::lock_guard lock(mu_);
    fault_suffix_ = std::move(path_suffix);
    fault_offset_ = offset;
    fault_status_ = std::move(status);
  }
  std::vector<ReadCall> reads() const {
    std::lock_guard lock(mu_);
    return reads_;
  }
  void clear_reads() {
    std::lock_guard lock(mu_);
    reads_.clear();
  }

  Result<std::unique_ptr<io::File>> open_file(const std::string &path, io::OpenFlags flags) override;
  Result<std::unique_ptr<io::WriteQueue>> make_write_queue(unsigned depth) override {
    return base_->make_write_queue(depth);
  }
  Status rename(const std::string &from, const std::string &to) override { return base_->rename(from, to); }
  Status remove(const std::string &path) override { return base_->remove(path); }
  Status make_dir(const std::string &path) override { return base_->make_dir(path); }
  Status sync_dir(const std::string &path) override { return skip_syncs_ ? Status() : base_->sync_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string &path) override { return base_->list_dir(path); }
  Result<io::FileKind> file_kind(const std::string &path) override { return base_->file_kind(path); }
  Result<std::unique_ptr<io::DirLock>> lock_file(const std::string &path) override { return base_->lock_file(path); }
  std::string describe() const override { return "test(" + base_->describe() + ")"; }

  // Called by TestFile.
  Status before_read(const std::string &path, std::uint64_t offset, std::size_t bytes) {
    std::lock_guard lock(mu_);
    reads_.push_back({path, offset, bytes});
    const bool faulty = !fault_suffix_.empty() && path.size() >= fault_suffix_.size() &&
                        path.compare(path.size() - fault_suffix_.size(), fault_suffix_.size(), fault_suffix_) == 0 &&
                        offset + bytes > fault_offset_;
    return faulty ? fault_status_ : Status();
  }

 private:
  std::shared_ptr<io::Env> base_;
  const bool skip_syncs_;
  mutable std::mutex mu_;
  std::vector<ReadCall> reads_;
  std::string fault_suffix_;
  std::uint64_t fault_offset_ = 0;
  Status fault_status_;
};

class TestFile final : public io::File {
 public:
  TestFile(std::unique_ptr<io::File> base, TestEnv &env) : base_(std::move(base)), env_(env) {}
  const std::string &path() const override { return base_->path(); }
  bool direct() const override { return base_->direct(); }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override {
    SEGSTORE_TRY(env_.before_read(path(), offset, out.size()));
    return base_->read_at(offset, out);
  }
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    return base_->write_at(offset, data);
  }
  Status sync_data() override { return env_.skip_syncs() ? Status() : base_->sync_data(); }
  Result<std::uint64_t> size() override { return base_->size(); }
  Status allocate(std::uint64_t bytes) override { return base_->allocate(bytes); }
  Status truncate(std::uint64_t bytes) override { return base_->truncate(bytes); }

 private:
  std::unique_ptr<io::File> base_;
  TestEnv &env_;
};

inline Result<std::unique_ptr<io::File>> TestEnv::open_file(const std::string &path, io::OpenFlags flags) {
  Result<std::unique_ptr<io::File>> file = base_->open_file(path, flags);
  if (!file.ok()) return file.status();
  return std::unique_ptr<io::File>(std::make_unique<TestFile>(std::move(*file), *this));
}

}  // namespace segstore::recovery::testing
