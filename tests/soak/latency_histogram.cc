// tests/soak/latency_histogram.cc — see latency_histogram.h.
#include "latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace segstore::soak {

// Values below 16 get a bucket each; above, the power of two (bit width) picks a group of 16
// and the 4 bits below the top bit pick the bucket in it. Worked: 1000 = 0b1111101000, width
// 10, group 10 - 4 = 6, next 4 bits 1110 -> bucket 6 * 16 + 14 = 110, which holds 992..1007.
unsigned LatencyHistogram::bucket_of(std::uint64_t latency_ns) {
  if (latency_ns < sub_buckets_per_power) return static_cast<unsigned>(latency_ns);
  unsigned width = static_cast<unsigned>(std::bit_width(latency_ns));
  unsigned group = width - 4;
  unsigned within = static_cast<unsigned>((latency_ns >> (width - 5)) & (sub_buckets_per_power - 1));
  return group * sub_buckets_per_power + within;
}

std::uint64_t LatencyHistogram::bucket_upper_ns(unsigned bucket) {
  if (bucket < sub_buckets_per_power) return bucket;
  unsigned group = bucket / sub_buckets_per_power;
  std::uint64_t within = bucket % sub_buckets_per_power;
  unsigned shift = group - 1;  // width - 5
  return ((sub_buckets_per_power + within + 1) << shift) - 1;
}

void LatencyHistogram::add(std::uint64_t latency_ns) {
  ++buckets_[bucket_of(latency_ns)];
  ++count_;
  max_ns_ = std::max(max_ns_, latency_ns);
}

void LatencyHistogram::merge(const LatencyHistogram &other) {
  for (unsigned b = 0; b < bucket_count; ++b) buckets_[b] += other.buckets_[b];
  count_ += other.count_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
}

std::uint64_t LatencyHistogram::quantile_ns(double q) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (unsigned b = 0; b < bucket_count; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return std::min(bucket_upper_ns(b), max_ns_);
  }
  return max_ns_;
}

}  // namespace segstore::soak
