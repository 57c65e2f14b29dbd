// engine/gather_window.h — the gather window: after a sync completed, how long the next group
// waits for the appenders that sync released before it is cut with its own sync (a bounded
// "commit delay").
//
// Why (docs/ENGINE.md "Gathering the next group"): with one sync in flight and many appenders,
// the completion used to cut the next group at once, holding only the appenders that came while
// the sync ran; the ones it released came back a few tens of microseconds later and waited for
// the following sync. The appenders split into two cohorts of about half the threads each,
// alternating on the device. Holding the next group until most of the released appenders are
// back (or a fraction of a sync's time has passed) makes one cohort of nearly all of them, for
// a device sync that costs about the same.
//
// When it opens: a completion released waiters, no more than released_max of them (more take
// longer to wake on two vCPUs than the window lasts: measured at 64 threads), more threads wait
// (released + still waiting) than groups may be in flight (fewer threads each get their own
// sync at once, so one or four threads never wait here), and a sync time is known. It holds
// until gather_target of the expected threads wait, or until gather_time of the recent sync
// time has passed (at most
// gather_time_max_us). When the released threads did not come back (fewer than a quarter of
// them within the window: they do other work between appends), the next few completions open
// no window, so such a workload pays for one window now and then, not for every sync.
//
// Pure bookkeeping: the store calls it under its mutex, with the time passed in; the store's
// reaper thread cuts the group when until() has passed. Not thread-safe on its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace segstore::engine {

class GatherWindow {
 public:
  using Clock = std::chrono::steady_clock;

  // The window lasts this share of the recent sync time, and at most gather_time_max_us.
  static constexpr double gather_time = 0.5;
  static constexpr std::uint64_t gather_time_max_us = 2000;
  // The group is cut once this share of the expected threads wait for it.
  static constexpr double gather_target = 0.75;
  // A completion that released more waiters than this opens no window: waking them all takes
  // longer than the window, which then idles the device for all of it.
  static constexpr std::size_t released_max = 16;
  // Completions that open no window after one whose released waiters did not come back.
  static constexpr std::size_t windows_skipped_after_miss = 8;

  // A linked sync took `sync_us` from its submission to its completion.
  void note_sync(std::uint64_t sync_us);
  std::uint64_t recent_sync_us() const { return recent_sync_us_; }

  // A completion released `released` waiters, `waiting` still wait, at most `slots` groups may
  // be in flight. Opens the window when worth it (see the top of this file); true if it did.
  bool open(Clock::time_point now, std::size_t released, std::size_t waiting, std::size_t slots);
  bool is_open() const { return until_ != Clock::time_point{}; }
  Clock::time_point until() const { return until_; }
  std::size_t target() const { return target_; }
  // The group should wait: the window is open, fewer than target() threads wait, and its time
  // has not passed.
  bool holds(Clock::time_point now, std::size_t waiting) const;
  // The group was cut, or the time passed: closes the window, noting whether the released
  // waiters came back (`waiting`: how many wait now).
  void close(std::size_t waiting);

 private:
  std::uint64_t recent_sync_us_ = 0;  // smoothed (3/4 the old value, 1/4 the new)
  Clock::time_point until_{};         // default: no window
  std::size_t target_ = 0;
  std::size_t released_ = 0;          // what the window's completion released
  std::size_t waiting_at_open_ = 0;
  std::size_t windows_to_skip_ = 0;
};

}  // namespace segstore::engine
