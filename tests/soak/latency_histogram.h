// tests/soak/latency_histogram.h — append latencies in fixed memory: the exact maximum, and
// a log-linear histogram (each power of two split in 16) for percentiles, so a quantile is
// off by at most 1/16 of its value. One histogram per thread, merged at the end: no sharing.
#pragma once

#include <array>
#include <cstdint>

namespace segstore::soak {

class LatencyHistogram {
 public:
  void add(std::uint64_t latency_ns);
  void merge(const LatencyHistogram &other);

  std::uint64_t count() const { return count_; }
  std::uint64_t max_ns() const { return max_ns_; }
  // The upper bound of the bucket holding the q-quantile (q in (0, 1]); 0 when empty.
  std::uint64_t quantile_ns(double q) const;

 private:
  static constexpr unsigned sub_buckets_per_power = 16;
  static constexpr unsigned bucket_count = 64 * sub_buckets_per_power;
  static unsigned bucket_of(std::uint64_t latency_ns);
  static std::uint64_t bucket_upper_ns(unsigned bucket);

  std::array<std::uint64_t, bucket_count> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ns_ = 0;
};

}  // namespace segstore::soak
