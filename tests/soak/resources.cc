// tests/soak/resources.cc — see resources.h.
#include "resources.h"

#include <dirent.h>
#include <unistd.h>

#include <cstddef>
// Under a sanitizer malloc is the sanitizer's, which glibc's figures do not see.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SEGSTORE_SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SEGSTORE_SANITIZER_MALLOC 1
#endif
#endif
#if defined(SEGSTORE_SANITIZER_MALLOC)
// The sanitizer runtimes' allocator interface (GCC installs no header for it).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#elif defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <fstream>

#include "io/aligned_buffer.h"

namespace segstore::soak {
namespace {

// /proc/self/statm: the second field is the resident set in pages.
std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Entries of /proc/self/fd, less the descriptor the listing itself holds open.
std::uint64_t open_descriptors() {
  DIR *dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  std::uint64_t entries = 0;
  while (const dirent *entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++entries;
  }
  ::closedir(dir);
  return entries > 0 ? entries - 1 : 0;
}

std::uint64_t held_bytes([[maybe_unused]] std::uint64_t rss_bytes) {
#if defined(SEGSTORE_SANITIZER_MALLOC)
  return __sanitizer_get_current_allocated_bytes() + io::AlignedBuffer::mapped_bytes_in_use();
#elif defined(__GLIBC__)
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd + io::AlignedBuffer::mapped_bytes_in_use();
#else
  return rss_bytes;
#endif
}

double load_1m() {
  std::ifstream loadavg("/proc/loadavg");
  double one_minute = 0;
  loadavg >> one_minute;
  return one_minute;
}

template <typename Field>
Drift drift_of(const std::vector<ResourceSample> &samples, Field field) {
  Drift drift;
  if (samples.empty()) return drift;
  drift.first = static_cast<std::int64_t>(field(samples.front()));
  drift.last = static_cast<std::int64_t>(field(samples.back()));
  drift.max = drift.first;
  for (const ResourceSample &s : samples) drift.max = std::max(drift.max, static_cast<std::int64_t>(field(s)));
  return drift;
}

template <typename Field>
std::int64_t lowest_of(std::vector<ResourceSample>::const_iterator first, std::vector<ResourceSample>::const_iterator last,
                       Field field) {
  std::uint64_t lowest = field(*first);
  for (auto it = first; it != last; ++it) lowest = std::min(lowest, field(*it));
  return static_cast<std::int64_t>(lowest);
}

template <typename Field>
Trend trend_of(const std::vector<ResourceSample> &samples, Field field) {
  Trend trend;
  if (samples.empty()) return trend;
  trend.first = static_cast<std::int64_t>(field(samples.front()));
  if (samples.size() < 3) {
    trend.middle = trend.late = static_cast<std::int64_t>(field(samples.back()));
    return trend;
  }
  const std::size_t third = samples.size() / 3;
  // The last third takes what the division leaves over: it is the part that must not grow.
  trend.middle = lowest_of(samples.begin() + static_cast<std::ptrdiff_t>(third),
                           samples.end() - static_cast<std::ptrdiff_t>(third), field);
  trend.late = lowest_of(samples.end() - static_cast<std::ptrdiff_t>(third), samples.end(), field);
  return trend;
}

}  // namespace

ResourceSample sample_resources(double elapsed_s) {
  ResourceSample sample{elapsed_s, resident_bytes(), open_descriptors(), load_1m()};
  sample.held_bytes = held_bytes(sample.rss_bytes);
  return sample;
}

std::string load_averages() {
  std::ifstream loadavg("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(loadavg >> one >> five >> fifteen)) return "?";
  return one + " " + five + " " + fifteen;
}

Drift rss_drift(const std::vector<ResourceSample> &samples) {
  return drift_of(samples, [](const ResourceSample &s) { return s.rss_bytes; });
}
Drift fd_drift(const std::vector<ResourceSample> &samples) {
  return drift_of(samples, [](const ResourceSample &s) { return s.open_fds; });
}

Trend held_trend(const std::vector<ResourceSample> &samples) {
  return trend_of(samples, [](const ResourceSample &s) { return s.held_bytes; });
}
Trend rss_trend(const std::vector<ResourceSample> &samples) {
  return trend_of(samples, [](const ResourceSample &s) { return s.rss_bytes; });
}

}  // namespace segstore::soak
