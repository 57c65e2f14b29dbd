// tests/engine/gate.h — holds a thread at a chosen point of an env operation, once armed, until
// released: tests that need an operation caught in the middle (a sync, a rename) use it from
// their env or file wrapper, and wait for the hold on a condition, not a sleep.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace segstore::testing {

class Gate {
 public:
  void arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  // Waits until a thread is being held; false when none came within `timeout`.
  bool wait_until_holding(std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return holding_; });
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      armed_ = false;
    }
    changed_.notify_all();
  }
  // Called by the operation: returns at once unless armed; armed, it holds until release().
  void pass() {
    std::unique_lock lock(mu_);
    if (!armed_) return;
    holding_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !armed_; });
    holding_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool armed_ = false;
  bool holding_ = false;
};

}  // namespace segstore::testing
