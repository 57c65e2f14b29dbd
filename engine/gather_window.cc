// engine/gather_window.cc — when the next group waits for the appenders a sync released.
#include "engine/gather_window.h"

#include <algorithm>

namespace segstore::engine {

void GatherWindow::note_sync(std::uint64_t sync_us) {
  // Smoothed: one sync slowed by a neighbour's I/O should not set the next window alone.
  recent_sync_us_ = recent_sync_us_ == 0 ? sync_us : (3 * recent_sync_us_ + sync_us) / 4;
}

bool GatherWindow::open(Clock::time_point now, std::size_t released, std::size_t waiting, std::size_t slots) {
  if (released == 0 || recent_sync_us_ == 0) return false;
  const std::size_t expected = waiting + released;
  // Few threads: each has its own sync in flight at once (the device overlaps them).
  if (expected <= slots) return false;
  if (released > released_max) return false;
  if (windows_to_skip_ > 0) {
    windows_to_skip_--;
    return false;
  }
  const auto window_us = std::min<std::uint64_t>(
      gather_time_max_us, static_cast<std::uint64_t>(gather_time * static_cast<double>(recent_sync_us_)));
  if (window_us == 0) return false;
  target_ = std::max<std::size_t>(waiting + 1, static_cast<std::size_t>(gather_target * static_cast<double>(expected)));
  released_ = released;
  waiting_at_open_ = waiting;
  until_ = now + std::chrono::microseconds(window_us);
  return true;
}

bool GatherWindow::holds(Clock::time_point now, std::size_t waiting) const {
  return is_open() && waiting < target_ && now < until_;
}

void GatherWindow::close(std::size_t waiting) {
  if (!is_open()) return;
  const std::size_t came_back = waiting > waiting_at_open_ ? waiting - waiting_at_open_ : 0;
  if (4 * came_back < released_) windows_to_skip_ = windows_skipped_after_miss;
  until_ = {};
}

}  // namespace segstore::engine
