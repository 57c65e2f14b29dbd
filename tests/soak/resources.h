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
  // Memory the program holds: malloc's chunks in use (glibc's mallinfo2, in arenas and mapped)
  // plus the store's mapped buffers (io::AlignedBuffer). Unlike RSS it leaves out what the
  // allocator keeps after a free and the stack pages threads have touched, which grow with the
  // load's history, not with a leak. Where the allocator cannot tell, the resident set.
  std::uint64_t held_bytes = 0;
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

// Whether the memory held (ResourceSample::held_bytes) still grows at its end: the lowest
// sample of the last third against the lowest of the middle third. A leak raises the floor at
// its rate, so the last third's sits above the middle one's by a third of the window's growth;
// a climb that levels off (caches reaching their size) leaves the two at the same level; and
// memory held for a while and given back (a tailer left behind reads the device with a full
// depth of read-ahead windows until it catches up again: tens of MiB for a few samples) only
// ever lifts samples above the floor, so even several such samples in one third count for
// nothing. With fewer than three samples both are the last sample.
struct Trend {
  std::int64_t first = 0;           // the first sample
  std::int64_t middle = 0, late = 0;  // the lowest of the middle and of the last third
  std::int64_t late_minus_middle() const { return late - middle; }
  std::int64_t late_minus_first() const { return late - first; }
};
Trend held_trend(const std::vector<ResourceSample> &samples);
// The same of the resident set: its floor at the end against the first sample is the bound on
// a leak too fast to wait for, or outside what held_bytes counts.
Trend rss_trend(const std::vector<ResourceSample> &samples);

}  // namespace segstore::soak
