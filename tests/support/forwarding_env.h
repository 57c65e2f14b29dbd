// tests/support/forwarding_env.h — an io::Env that hands each of the interface's required calls
// to another env: a test that changes one or two calls of the real env derives from it and
// overrides only those. The calls with a default (read-ahead, the *_at family, read_heads) keep
// io::Env's default, as a test env written out in full did. ForwardingFile does the same for a
// file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/env.h"

namespace segstore::testing {

class ForwardingEnv : public io::Env {
 public:
  explicit ForwardingEnv(std::shared_ptr<io::Env> base) : base_(std::move(base)) {}

  Result<std::unique_ptr<io::File>> open_file(const std::string &path, io::OpenFlags flags) override {
    return base_->open_file(path, flags);
  }
  Result<std::unique_ptr<io::WriteQueue>> make_write_queue(unsigned depth) override {
    return base_->make_write_queue(depth);
  }
  Status rename(const std::string &from, const std::string &to) override { return base_->rename(from, to); }
  Status remove(const std::string &path) override { return base_->remove(path); }
  Status make_dir(const std::string &path) override { return base_->make_dir(path); }
  Status sync_dir(const std::string &path) override { return base_->sync_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string &path) override { return base_->list_dir(path); }
  Result<io::FileKind> file_kind(const std::string &path) override { return base_->file_kind(path); }
  Result<std::unique_ptr<io::DirLock>> lock_file(const std::string &path) override { return base_->lock_file(path); }
  std::string describe() const override { return base_->describe(); }

 protected:
  io::Env &base() const { return *base_; }

 private:
  std::shared_ptr<io::Env> base_;
};

// An io::File that hands every call to another file: a test's file derives from it and
// overrides the calls it watches or changes.
class ForwardingFile : public io::File {
 public:
  explicit ForwardingFile(std::unique_ptr<io::File> base) : base_(std::move(base)) {}
  const std::string &path() const override { return base_->path(); }
  bool direct() const override { return base_->direct(); }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override {
    return base_->read_at(offset, out);
  }
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    return base_->write_at(offset, data);
  }
  Status sync_data() override { return base_->sync_data(); }
  Result<bool> write_dsync_at(std::uint64_t offset, std::span<const std::byte> data) override {
    return base_->write_dsync_at(offset, data);
  }
  Result<std::uint64_t> size() override { return base_->size(); }
  Status allocate(std::uint64_t bytes) override { return base_->allocate(bytes); }
  Status truncate(std::uint64_t bytes) override { return base_->truncate(bytes); }

 private:
  std::unique_ptr<io::File> base_;
};

}  // namespace segstore::testing
