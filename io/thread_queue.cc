#include "io/thread_queue.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/try.h"
#include "io/direct_alignment.h"

namespace segstore::io {

namespace {

class ThreadQueue final : public WriteQueue {
 public:
  ThreadQueue(unsigned depth, SyncWrites sync_writes)
      : depth_(depth), dsync_(sync_writes != SyncWrites::linked) {
    const unsigned workers = std::min(depth, thread_workers_max);
    workers_.reserve(workers);
    for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ThreadQueue() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (std::thread &worker : workers_) worker.join();
  }
  ThreadQueue(const ThreadQueue &) = delete;
  ThreadQueue &operator=(const ThreadQueue &) = delete;

  Status submit(const WriteGroup &group) override;
  Status reap(std::vector<GroupCompletion> *out, bool wait) override;
  std::size_t inflight() const override {
    std::lock_guard lock(mutex_);
    return inflight_;
  }
  const char *name() const override { return "thread"; }
  SyncWrites sync_writes() const override { return dsync_ ? SyncWrites::dsync : SyncWrites::linked; }
  WriteQueueCounts counts() const override {
    std::lock_guard lock(mutex_);
    return counts_;
  }

 private:
  void work();
  GroupCompletion run(const WriteGroup &group);
  bool write_dsync(const WriteGroup &group, GroupCompletion &completion);
  void count(std::uint64_t WriteQueueCounts::*which) {
    std::lock_guard lock(mutex_);
    ++(counts_.*which);
  }

  const unsigned depth_;
  // Cleared for good by the first refusal of RWF_DSYNC (workers read it without the mutex).
  std::atomic<bool> dsync_;
  mutable std::mutex mutex_;
  // Submitted and not yet handed out by reap(). Under mutex_: the store submits from one thread
  // (under its mutex) while another reaps (without it), as the ring of the uring queue allows;
  // an unguarded count lost updates between the two (ThreadSanitizer, SyncBesideWrites), and a
  // count that drifts makes submit() refuse with busy or reap() wait for nothing.
  std::size_t inflight_ = 0;
  WriteQueueCounts counts_;  // calls made, not system calls (a short write continued counts once)
  std::condition_variable work_ready_;        // jobs_ got a group, or stopping_
  std::condition_variable completion_ready_;  // completions_ got one
  std::deque<WriteGroup> jobs_;
  std::vector<GroupCompletion> completions_;
  bool stopping_ = false;

  std::vector<std::thread> workers_;  // last: started after everything they use exists
};

Status ThreadQueue::submit(const WriteGroup &group) {
  if (group.file == nullptr) {
    return Status(Errc::invalid_argument, "thread write queue: the group has no file");
  }
  if (group.file->direct()) {
    SEGSTORE_TRY(check_direct_alignment("write", group.file->path(), group.offset,
                                        group.data.data(), group.data.size()));
  }
  {
    std::lock_guard lock(mutex_);
    if (inflight_ >= depth_) {
      return Status(Errc::busy, "thread write queue: " + std::to_string(inflight_) +
                                    " groups in flight, the depth is " + std::to_string(depth_));
    }
    jobs_.push_back(group);
    ++inflight_;
  }
  work_ready_.notify_one();
  return Status();
}

Status ThreadQueue::reap(std::vector<GroupCompletion> *out, bool wait) {
  std::unique_lock lock(mutex_);
  if (wait && inflight_ > 0) {
    completion_ready_.wait(lock, [this] { return !completions_.empty(); });
  }
  inflight_ -= completions_.size();
  out->insert(out->end(), completions_.begin(), completions_.end());
  completions_.clear();
  return Status();
}

// One pwritev2 with RWF_DSYNC. true when the group is finished (written durable, or failed);
// false when the flag was refused and the group still has to be written the linked way.
bool ThreadQueue::write_dsync(const WriteGroup &group, GroupCompletion &completion) {
  count(&WriteQueueCounts::dsync_writes);
  Result<bool> durable = group.file->write_dsync_at(group.offset, group.data);
  if (!durable.ok()) {
    completion.status = durable.status();
    return true;
  }
  if (*durable) {
    completion.synced = true;
    return true;
  }
  count(&WriteQueueCounts::dsync_refusals);
  dsync_ = false;
  return false;
}

GroupCompletion ThreadQueue::run(const WriteGroup &group) {
  GroupCompletion completion{group.token, Status(), false};
  // An empty group has nothing to carry the flag: its sync is a data sync alone.
  if (group.sync && !group.data.empty() && dsync_ && write_dsync(group, completion)) return completion;
  if (!group.data.empty()) {
    count(&WriteQueueCounts::writes);
    completion.status = group.file->write_at(group.offset, group.data);
  }
  if (completion.status.ok() && group.sync) {
    count(&WriteQueueCounts::syncs);
    completion.status = group.file->sync_data();
    completion.synced = completion.status.ok();
  }
  return completion;
}

// Runs groups until the queue stops and no group is left: a group accepted by submit() is
// always written, even when the queue is being destroyed.
void ThreadQueue::work() {
  for (;;) {
    WriteGroup group;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      group = jobs_.front();
      jobs_.pop_front();
    }
    GroupCompletion completion = run(group);
    {
      std::lock_guard lock(mutex_);
      completions_.push_back(std::move(completion));
    }
    completion_ready_.notify_one();
  }
}

}  // namespace

Result<std::unique_ptr<WriteQueue>> make_thread_queue(unsigned depth, SyncWrites sync_writes) {
  if (depth == 0 || depth > thread_depth_max) {
    return Status(Errc::invalid_argument, "thread write queue depth " + std::to_string(depth) +
                                              " is outside 1.." + std::to_string(thread_depth_max));
  }
  return std::unique_ptr<WriteQueue>(std::make_unique<ThreadQueue>(depth, sync_writes));
}

}  // namespace segstore::io
