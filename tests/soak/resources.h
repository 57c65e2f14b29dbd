// tests/soak/resources.h — what the process holds, read from /proc: resident memory and open
// descriptors, sampled to see whether either grows while the load stays the same.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace segstore::soak {

struct ResourceSample {
  double elapsed_s = 0;
  std::uint64_t rss_bytes = 0;
  std::uint64_t open_fds = 0;
  double load_average_1m = 0;
};

ResourceSample sample_resources(double elapsed_s);

// "/proc/loadavg"'s three figures, for the report ("?" when unreadable).
std::string load_averages();

// Growth of a series of samples taken after warm-up: last minus first, and the largest value
// minus the first (a leak shows in both; noise in neither for long).
struct Drift {
  std::int64_t first = 0, last = 0, max = 0;
  std::int64_t last_minus_first() const { return last - first; }
  std::int64_t max_minus_first() const { return max - first; }
};
Drift rss_drift(const std::vector<ResourceSample> &samples);
Drift fd_drift(const std::vector<ResourceSample> &samples);

// Whether a series still grows at its end: the median of its last third of samples against the
// median of its middle third. A leak goes on growing at its rate, so the last third sits above
// the middle one by a third of the window's growth; a climb that levels off (the allocator's
// arenas filling, caches reaching their size: what RSS does for the first minutes of a run
// under load) leaves the two at the same level. Medians, so one sample's spike counts for
// nothing. With fewer than three samples both are the last sample.
struct Trend {
  std::int64_t middle = 0, late = 0;
  std::int64_t late_minus_middle() const { return late - middle; }
};
Trend rss_trend(const std::vector<ResourceSample> &samples);

}  // namespace segstore::soak
