// engine/tail_wait.cc — waiting at the tail of the log: for a record to be appended or to become
// durable, until a deadline, a cancel request, or the store's close or failure.
//
// Every event that can end a wait notifies the condition variable the waiter sleeps on:
// appends notify appended_cv_ (under mu_); a wait for durability sleeps on the tail feed
// (engine/tail_feed.h), never on mu_: the write path publishes durable_lsn_ there and wakes the
// waits it satisfies, and close(), fail_locked() and wake_tail_waiters() end or wake them. A
// waiter checks all of its conditions under the lock it sleeps on before it sleeps, so an
// event that happened before the wait is seen at once.
#include "base/assert.h"
#include "base/try.h"
#include "engine/store_impl.h"

namespace segstore {

using namespace engine;

namespace {
Status cancelled_wait(std::uint64_t lsn, const std::string &dir) {
  return Status(Errc::cancelled, "the wait for LSN " + std::to_string(lsn) + " in " + dir + " was cancelled");
}
}  // namespace

Status Store::Impl::wait_for_durable_tail(std::uint64_t lsn, std::chrono::steady_clock::time_point deadline,
                                          std::atomic<bool> *cancel) const {
  switch (tail_feed_.wait_durable(lsn, deadline, cancel)) {
    case TailWaited::reached: return Status();
    case TailWaited::cancelled: return cancelled_wait(lsn, dir_);
    case TailWaited::timed_out:
      return Status(Errc::timed_out, "LSN " + std::to_string(lsn) + " in " + dir_ + " is not durable yet (end " +
                                         std::to_string(tail_feed_.durable_lsn()) + ")");
    case TailWaited::ended: break;
  }
  // The store stopped taking writes: it says why (closing, closed, failed, a loss not accepted),
  // unless the record became durable first.
  std::lock_guard lock(mu_);
  if (durable_lsn_ > lsn) return Status();
  SEGSTORE_TRY(check_writable_locked());
  // Invariant: the feed ends writes only where check_writable_locked fails (close, failure, a
  // loss not accepted at open), and never takes them back.
  SEGSTORE_ASSERT(false, "the tail feed ended writes of writable store " + dir_);
  return Status();
}

Status Store::Impl::wait_for_tail(std::uint64_t lsn, TailTarget target, std::chrono::steady_clock::time_point deadline,
                                  std::atomic<bool> *cancel) const {
  if (target == TailTarget::durable) return wait_for_durable_tail(lsn, deadline, cancel);
  std::unique_lock lock(mu_);
  while (true) {
    // What the wait is for comes first: a record that arrived as the store closed is delivered.
    if (next_lsn_ > lsn) return Status();
    if (cancel != nullptr && cancel->exchange(false)) return cancelled_wait(lsn, dir_);
    // A closed or failed store appends nothing more and makes nothing more durable: waiting
    // out the timeout would only hide that from the caller.
    SEGSTORE_TRY(check_writable_locked());
    if (std::chrono::steady_clock::now() >= deadline)
      return Status(Errc::timed_out, "LSN " + std::to_string(lsn) + " in " + dir_ + " is not appended yet (end " +
                                         std::to_string(next_lsn_) + ")");
    // Counted: appends notify only when a tail wait exists.
    ++appended_waiters_;
    appended_cv_.wait_until(lock, deadline);
    --appended_waiters_;
  }
}

void Store::Impl::wake_tail_waiters() const {
  // Taking mu_ orders the caller's cancel flag before any waiter's next look at it: a waiter
  // between its check and its sleep holds mu_, so the notification cannot fall in between.
  { std::lock_guard lock(mu_); }
  appended_cv_.notify_all();
  tail_feed_.wake_all();
}

}  // namespace segstore
