// io/read_ahead.cc — see io/read_ahead.h: the worker-thread ReadAhead.
#include "io/read_ahead.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/assert.h"

namespace segstore::io {

namespace {

class ThreadReadAhead final : public ReadAhead {
 public:
  explicit ThreadReadAhead(unsigned threads) {
    SEGSTORE_ASSERT(threads != 0, "a read-ahead needs a worker thread");
    workers_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }

  ~ThreadReadAhead() override {
    {
      std::lock_guard lock(mu_);
      // Invariant (the header's lifetime rule): nothing is left queued for a dead caller.
      SEGSTORE_ASSERT(queued_.empty(), "read-ahead destroyed with " + std::to_string(queued_.size()) + " reads queued");
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (std::thread &t : workers_) t.join();
  }

  void submit(AheadRead &read) override {
    SEGSTORE_ASSERT(read.file != nullptr, "read-ahead of no file");
    {
      std::lock_guard lock(mu_);
      read.done = false;
      read.bytes = 0;
      read.status = Status();
      queued_.push_back(&read);
    }
    work_cv_.notify_one();
  }

  void wait(AheadRead &read) override {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return read.done; });
  }

 private:
  void work() {
    std::unique_lock lock(mu_);
    while (true) {
      work_cv_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
      if (queued_.empty()) return;  // stopping, and every read was taken
      AheadRead *read = queued_.front();
      queued_.pop_front();
      lock.unlock();
      Result<std::size_t> got = read->file->read_at(read->offset, read->out);
      lock.lock();
      if (got.ok()) read->bytes = *got;
      else read->status = got.status();
      read->done = true;
      // Few waiters (one per scanning iterator): waking all of them is cheaper than a
      // condition variable per read.
      done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<AheadRead *> queued_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

std::unique_ptr<ReadAhead> make_thread_read_ahead(unsigned threads) {
  return std::make_unique<ThreadReadAhead>(threads);
}

std::unique_ptr<ReadAhead> Env::make_read_ahead(unsigned /*threads*/) { return nullptr; }

}  // namespace segstore::io
