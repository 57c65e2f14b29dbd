#include "base/histogram.h"

#include <algorithm>
#include <bit>
#include <string>

#include "base/assert.h"

namespace segstore::base {

unsigned Histogram::bucket_of(std::uint64_t value) noexcept {
  if (value < exact_values) return static_cast<unsigned>(value);
  // value >= 16: its highest set bit k is at least sub_buckets_log2.
  const unsigned k = 63u - static_cast<unsigned>(std::countl_zero(value));
  const unsigned sub = static_cast<unsigned>(value >> (k - sub_buckets_log2)) & (sub_buckets - 1);
  return exact_values + (k - sub_buckets_log2) * sub_buckets + sub;
}

std::uint64_t Histogram::bucket_upper_bound(unsigned bucket) noexcept {
  if (bucket < exact_values) return bucket;
  const unsigned k = (bucket - exact_values) / sub_buckets + sub_buckets_log2;
  const std::uint64_t sub = (bucket - exact_values) % sub_buckets;
  const unsigned width_log2 = k - sub_buckets_log2;
  const std::uint64_t lower = (sub_buckets + sub) << width_log2;
  return lower + ((std::uint64_t{1} << width_log2) - 1);
}

void Histogram::record(std::uint64_t value) noexcept {
  const unsigned bucket = bucket_of(value);
  SEGSTORE_ASSERT(bucket < bucket_count, "histogram bucket " + std::to_string(bucket) + " out of range");
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  std::uint64_t seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

HistogramSummary Histogram::summary() const noexcept {
  std::array<std::uint64_t, bucket_count> counts{};
  HistogramSummary s;
  for (unsigned i = 0; i < bucket_count; ++i) {
    counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += counts[i];
  }
  if (s.count == 0) return s;
  s.max = max_.load(std::memory_order_relaxed);
  // The value at rank ceil(q * count) (1-based): the smallest bucket whose running total reaches it.
  auto percentile = [&](std::uint64_t ten_thousandths) {
    const std::uint64_t rank = (s.count * ten_thousandths + 9999) / 10000;
    std::uint64_t seen = 0;
    for (unsigned i = 0; i < bucket_count; ++i) {
      seen += counts[i];
      if (seen >= rank) return std::min(bucket_upper_bound(i), s.max);
    }
    return s.max;
  };
  s.p50 = percentile(5000);
  s.p99 = percentile(9900);
  s.p999 = percentile(9990);
  return s;
}

}  // namespace segstore::base
