// tests/soak/resources.cc — see resources.h.
#include "resources.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

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

std::int64_t median_rss(std::vector<ResourceSample>::const_iterator first, std::vector<ResourceSample>::const_iterator last) {
  std::vector<std::int64_t> values;
  for (auto it = first; it != last; ++it) values.push_back(static_cast<std::int64_t>(it->rss_bytes));
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

ResourceSample sample_resources(double elapsed_s) {
  return ResourceSample{elapsed_s, resident_bytes(), open_descriptors(), load_1m()};
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

Trend rss_trend(const std::vector<ResourceSample> &samples) {
  Trend trend;
  if (samples.empty()) return trend;
  if (samples.size() < 3) {
    trend.middle = trend.late = static_cast<std::int64_t>(samples.back().rss_bytes);
    return trend;
  }
  const std::size_t third = samples.size() / 3;
  // The last third takes what the division leaves over: it is the part that must not grow.
  trend.middle = median_rss(samples.begin() + static_cast<std::ptrdiff_t>(third),
                            samples.end() - static_cast<std::ptrdiff_t>(third));
  trend.late = median_rss(samples.end() - static_cast<std::ptrdiff_t>(third), samples.end());
  return trend;
}

}  // namespace segstore::soak
