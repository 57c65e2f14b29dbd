// engine/durable_waiters.cc — the LSN-ordered waiter list and its futex wake-ups.
#include "engine/durable_waiters.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/assert.h"

namespace segstore::engine {

namespace {

// The futex word is a std::atomic<std::uint32_t>: one aligned 32-bit word, as futex(2) wants.
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

std::uint32_t *futex_address(std::atomic<std::uint32_t> *word) { return reinterpret_cast<std::uint32_t *>(word); }

void futex_wake_one(std::atomic<std::uint32_t> *word) {
  // FUTEX_PRIVATE: every waiter is a thread of this process. The result (how many woke) does
  // not matter: zero means the waiter had not gone to sleep yet, or has returned already.
  (void)::syscall(SYS_futex, futex_address(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void futex_wait(std::atomic<std::uint32_t> *word, std::uint32_t expected) {
  // Returns at once (EAGAIN) when the word no longer holds `expected`; EINTR and spurious
  // returns are fine: the caller looks at the word again.
  (void)::syscall(SYS_futex, futex_address(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

}  // namespace

void WakeBatch::add(DurableWaiter &waiter, WakeReason why) {
  // Release: what the waker wrote under the mutex (durable_lsn_, the list) is visible to a
  // waiter that sees this word without taking the mutex.
  waiter.wake.store(static_cast<std::uint32_t>(why), std::memory_order_release);
  words_.push_back(&waiter.wake);
}

void WakeBatch::deliver() {
  for (std::atomic<std::uint32_t> *word : words_) futex_wake_one(word);
  words_.clear();
}

WakeReason sleep_until_woken(DurableWaiter &waiter) {
  const auto none = static_cast<std::uint32_t>(WakeReason::none);
  std::uint32_t seen = waiter.wake.load(std::memory_order_acquire);
  while (seen == none) {
    futex_wait(&waiter.wake, none);
    seen = waiter.wake.load(std::memory_order_acquire);
  }
  // Invariant: only the values of WakeReason are ever stored.
  SEGSTORE_ASSERT(seen == static_cast<std::uint32_t>(WakeReason::durable) ||
                      seen == static_cast<std::uint32_t>(WakeReason::look_again),
                  "wake word holds " + std::to_string(seen));
  return static_cast<WakeReason>(seen);
}

void DurableWaiterList::add(DurableWaiter &waiter) {
  SEGSTORE_ASSERT(!waiter.listed, "a waiter listed twice");
  DurableWaiter *after = tail_;
  while (after != nullptr && after->lsn > waiter.lsn) after = after->prev;
  waiter.prev = after;
  waiter.next = after != nullptr ? after->next : head_;
  if (waiter.next != nullptr) waiter.next->prev = &waiter;
  else tail_ = &waiter;
  if (after != nullptr) after->next = &waiter;
  else head_ = &waiter;
  waiter.listed = true;
  size_++;
  if (leader_ == nullptr) leader_ = &waiter;
}

void DurableWaiterList::unlink(DurableWaiter &waiter) {
  SEGSTORE_ASSERT(waiter.listed, "unlisting a waiter that is not listed");
  if (waiter.prev != nullptr) waiter.prev->next = waiter.next;
  else head_ = waiter.next;
  if (waiter.next != nullptr) waiter.next->prev = waiter.prev;
  else tail_ = waiter.prev;
  waiter.prev = waiter.next = nullptr;
  waiter.listed = false;
  size_--;
}

void DurableWaiterList::remove(DurableWaiter &waiter, WakeBatch &batch) {
  unlink(waiter);
  if (leader_ != &waiter) return;
  leader_ = head_;
  if (leader_ != nullptr) batch.add(*leader_, WakeReason::look_again);
}

std::size_t DurableWaiterList::release_durable(std::uint64_t durable_end, WakeBatch &batch) {
  bool leader_released = false;
  std::size_t released = 0;
  while (head_ != nullptr && head_->lsn < durable_end) {
    DurableWaiter &done = *head_;
    if (&done == leader_) leader_released = true;
    unlink(done);
    batch.add(done, WakeReason::durable);
    released++;
  }
  if (!leader_released) return released;
  leader_ = head_;
  if (leader_ != nullptr) batch.add(*leader_, WakeReason::look_again);
  return released;
}

void DurableWaiterList::wake_all(WakeBatch &batch) {
  for (DurableWaiter *w = head_; w != nullptr; w = w->next) batch.add(*w, WakeReason::look_again);
}

DurableWaiter *DurableWaiterList::first_from(std::uint64_t lsn) const {
  // Invariant (caller): the tail's LSN is at or after `lsn`.
  SEGSTORE_ASSERT(tail_ != nullptr && tail_->lsn >= lsn, "no waiter at or after the LSN");
  DurableWaiter *w = tail_;
  while (w->prev != nullptr && w->prev->lsn >= lsn) w = w->prev;
  return w;
}

void DurableWaiterList::mark_removed_from(std::uint64_t first, const std::string &removed_by, WakeBatch &batch) {
  for (DurableWaiter *w = tail_; w != nullptr && w->lsn >= first; w = w->prev) {
    if (w->removed_by.empty()) w->removed_by = removed_by;
    batch.add(*w, WakeReason::look_again);
  }
}

}  // namespace segstore::engine
