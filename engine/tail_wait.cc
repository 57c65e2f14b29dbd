// engine/tail_wait.cc — waiting at the tail of the log: for a record to be appended or to become
// durable, until a deadline, a cancel request, or the store's close or failure.
//
// Every event that can end a wait notifies the condition variable the waiter sleeps on:
// appends notify appended_cv_, durable_lsn_ advancing notifies progress_cv_, and close(),
// fail_locked() and wake_tail_waiters() notify both. A waiter checks all of its conditions
// under mu_ before it sleeps, so an event that happened before the wait is seen at once.
#include "base/try.h"
#include "engine/store_impl.h"

namespace segstore {

using namespace engine;

Status Store::Impl::wait_for_tail(std::uint64_t lsn, TailTarget target, std::chrono::steady_clock::time_point deadline,
                                  std::atomic<bool> *cancel) const {
  std::unique_lock lock(mu_);
  std::condition_variable &cv = target == TailTarget::durable ? progress_cv_ : appended_cv_;
  const std::uint64_t &end = target == TailTarget::durable ? durable_lsn_ : next_lsn_;
  while (true) {
    // What the wait is for comes first: a record that arrived as the store closed is delivered.
    if (end > lsn) return Status();
    if (cancel != nullptr && cancel->exchange(false))
      return Status(Errc::cancelled, "the wait for LSN " + std::to_string(lsn) + " in " + dir_ + " was cancelled");
    // A closed or failed store appends nothing more and makes nothing more durable: waiting
    // out the timeout would only hide that from the caller.
    SEGSTORE_TRY(check_writable_locked());
    if (std::chrono::steady_clock::now() >= deadline)
      return Status(Errc::timed_out, "LSN " + std::to_string(lsn) + " in " + dir_ + " is not " +
                                         (target == TailTarget::durable ? "durable" : "appended") +
                                         " yet (end " + std::to_string(end) + ")");
    // Counted: appends and completions notify only when a tail wait exists.
    std::size_t &waiting = target == TailTarget::durable ? progress_waiters_ : appended_waiters_;
    ++waiting;
    cv.wait_until(lock, deadline);
    --waiting;
  }
}

void Store::Impl::wake_tail_waiters() const {
  // Taking mu_ orders the caller's cancel flag before any waiter's next look at it: a waiter
  // between its check and its sleep holds mu_, so the notification cannot fall in between.
  { std::lock_guard lock(mu_); }
  appended_cv_.notify_all();
  progress_cv_.notify_all();
}

}  // namespace segstore
