// engine/durable_waiters.h — the threads waiting for their records to become durable: an
// LSN-ordered list, one wake word (a futex) per waiter, and one leader among them.
//
// Why (docs/ENGINE.md "Waking the waiters"): with one condition variable for every waiter, each
// completed group woke every waiting appender, and all but a few went back to sleep after
// taking the store's mutex: 5-9 context switches per durable record on a 2-vCPU VM. Here a
// completed group wakes exactly the waiters whose records it made durable, plus at most one
// new leader; a waiter released as durable returns without taking the store's mutex again.
//
// The leader is the one waiter that works for all of them: it cuts its group, runs explicit
// data syncs, and collects completions (blocking in WriteQueue::reap) while it is the only
// waiter (with several, the store's reaper thread does). Whichever waiter cuts the group its
// record is in (the leader, or a follower whose group is due) writes that group on its own
// thread, for every waiter in it (docs/ENGINE.md "Writing on the waiter's thread"). The others
// sleep until their LSN is durable, the leader hands the role on to them, or the wait must end
// (failure, removal, close). Invariant: the list is not empty exactly when a leader exists,
// and the leader is listed.
//
// Lifetime: a DurableWaiter lives on its thread's stack for one wait. Thread-safety: every
// member of DurableWaiterList, and a waiter's lsn, removed_by and list links, are guarded by the
// store's mutex; only DurableWaiter::wake is touched without it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace segstore::engine {

// What a waiter finds in its wake word. Written under the store's mutex, read without it.
enum class WakeReason : std::uint32_t {
  none = 0,        // asleep (or about to sleep): nothing happened since it last looked
  durable = 1,     // its LSN is durable and it was taken off the list: it returns ok at once
  look_again = 2,  // something else changed (it leads now, a failure, a removal, close):
                   // it takes the store's mutex and looks at the state again
};

struct DurableWaiter {
  std::uint64_t lsn = 0;
  // truncate_after()/reset_to() removed the record: it returns Errc::truncated, not waiting
  // for an LSN that now names another record (or none). Empty while the record exists.
  std::string removed_by;
  std::atomic<std::uint32_t> wake{0};  // a WakeReason; the futex word the waiter sleeps on
  bool listed = false;
  DurableWaiter *prev = nullptr;
  DurableWaiter *next = nullptr;
};

// Wake-ups decided under the store's mutex and delivered (the futex system calls) after it was
// released, so that the woken threads do not run into a mutex still held by the waker.
// Delivering to a waiter that has already returned is harmless: FUTEX_WAKE only names an
// address and never reads or writes it (the rule that lets a pthread mutex be destroyed right
// after it is unlocked), and a wake-up that reaches a later wait on the same address is a
// spurious one, which every wait tolerates (it sleeps again while its word says none).
class WakeBatch {
 public:
  WakeBatch() = default;
  WakeBatch(const WakeBatch &) = delete;
  WakeBatch &operator=(const WakeBatch &) = delete;
  WakeBatch(WakeBatch &&) = default;
  WakeBatch &operator=(WakeBatch &&) = default;
  // Sets the waiter's word (caller holds the store's mutex) and queues the system call.
  void add(DurableWaiter &waiter, WakeReason why);
  bool empty() const { return words_.empty(); }
  // The system calls; the caller may hold the mutex (rare paths) or not (the hot path).
  void deliver();

 private:
  std::vector<std::atomic<std::uint32_t> *> words_;
};

// Sleeps until the waiter's word is no longer none; returns what it says. The caller released
// the store's mutex after it set the word to none under it, so no wake-up can be missed: a
// wake between that and the sleep has already changed the word, and the futex wait returns.
WakeReason sleep_until_woken(DurableWaiter &waiter);

class DurableWaiterList {
 public:
  bool empty() const { return head_ == nullptr; }
  std::size_t size() const { return size_; }
  DurableWaiter *head() const { return head_; }  // lowest LSN
  DurableWaiter *tail() const { return tail_; }  // highest LSN
  DurableWaiter *leader() const { return leader_; }
  // The waiter with the lowest LSN at or after `lsn`, which the tail's is: walked from the tail
  // (the waiters of the newest records are at that end).
  DurableWaiter *first_from(std::uint64_t lsn) const;

  // Inserts in LSN order (appenders come in LSN order: the scan from the tail is one step).
  // The first waiter of an empty list becomes the leader.
  void add(DurableWaiter &waiter);
  // Takes a waiter off the list. A leader that leaves hands the role to the head, woken to look
  // again (through `batch`).
  void remove(DurableWaiter &waiter, WakeBatch &batch);
  // Takes every waiter with lsn < durable_end off the list, each woken as durable, then gives
  // the role of a leader released so to the new head. Returns how many it released.
  std::size_t release_durable(std::uint64_t durable_end, WakeBatch &batch);
  // Wakes every waiter to look again (failure, close); they stay listed.
  void wake_all(WakeBatch &batch);
  // Marks the waiters with lsn >= first as removed by `removed_by` and wakes them to look again.
  void mark_removed_from(std::uint64_t first, const std::string &removed_by, WakeBatch &batch);

 private:
  void unlink(DurableWaiter &waiter);
  DurableWaiter *head_ = nullptr;
  DurableWaiter *tail_ = nullptr;
  DurableWaiter *leader_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace segstore::engine
