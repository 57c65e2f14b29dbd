// tests/support/read_ahead_recorder.h — the real Env, with read-ahead on worker threads (no
// io_uring) that records each read-ahead read's submission and wait, in order, with the file's
// path and offset: tests check which windows a scan or a recovery read ahead, and when.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "io/env.h"
#include "io/read_ahead.h"
#include "support/forwarding_env.h"

namespace segstore::testing {

class ReadAheadRecorder final : public ForwardingEnv {
 public:
  struct Event {
    bool submit = false;  // else its wait returned
    std::string path;
    std::uint64_t offset = 0;
  };

  explicit ReadAheadRecorder(std::shared_ptr<io::Env> base) : ForwardingEnv(std::move(base)) {}

  std::vector<Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

  std::unique_ptr<io::ReadAhead> make_read_ahead(unsigned threads) override {
    return std::make_unique<Recording>(*this, io::make_thread_read_ahead(threads));
  }
  std::unique_ptr<io::ReadAhead> make_ring_read_ahead(unsigned) override { return nullptr; }
  Result<std::unique_ptr<io::File>> open_file(const std::string &path, io::OpenFlags flags) override {
    Result<std::unique_ptr<io::File>> file = base().open_file(path, flags);
    if (file.ok()) {
      std::lock_guard lock(mu_);
      paths_[file->get()] = path;  // an address reused by a later file is named again here
    }
    return file;
  }
  std::string describe() const override { return "read-ahead-recorder(" + base().describe() + ")"; }

 private:
  class Recording final : public io::ReadAhead {
   public:
    Recording(ReadAheadRecorder &env, std::unique_ptr<io::ReadAhead> base) : env_(env), base_(std::move(base)) {}
    void submit(io::AheadRead &read) override {
      env_.note(true, read);
      base_->submit(read);
    }
    void submit_batch(std::span<io::AheadRead *const> reads) override {
      for (io::AheadRead *read : reads) env_.note(true, *read);
      base_->submit_batch(reads);
    }
    void wait(io::AheadRead &read) override {
      base_->wait(read);
      env_.note(false, read);
    }

   private:
    ReadAheadRecorder &env_;
    std::unique_ptr<io::ReadAhead> base_;
  };

  void note(bool submit, const io::AheadRead &read) {
    std::lock_guard lock(mu_);
    auto named = paths_.find(read.file);
    events_.push_back(Event{submit, named == paths_.end() ? std::string("?") : named->second, read.offset});
  }

  mutable std::mutex mu_;
  std::map<const io::File *, std::string> paths_;
  std::vector<Event> events_;
};

}  // namespace segstore::testing
