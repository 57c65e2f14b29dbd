// tests/soak/pacing.h — the soak threads' clock and pacing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

namespace segstore::soak {

using Clock = std::chrono::steady_clock;

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Each thread paces itself: it sleeps to its next due time (pacing, not waiting for an event),
// and never builds a backlog of more than a second after a slow call.
class Pacer {
 public:
  explicit Pacer(std::uint32_t per_second)
      : period_(std::chrono::nanoseconds(1'000'000'000 / std::max<std::uint32_t>(per_second, 1))),
        due_(Clock::now()) {}
  void pace() {
    due_ = std::max(due_ + period_, Clock::now() - std::chrono::seconds(1));
    std::this_thread::sleep_until(due_);
  }

 private:
  Clock::duration period_;
  Clock::time_point due_;
};

}  // namespace segstore::soak
