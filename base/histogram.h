// base/histogram.h — a distribution of values (latencies in microseconds, group sizes) recorded
// from many threads without a lock, summarised as percentiles.
//
// Buckets: values 0..15 have one bucket each; above, every power-of-two range [2^k, 2^(k+1)) is
// split into 16 equal buckets, so a bucket spans at most 1/16 of its lower bound and a
// percentile, reported as the upper bound of its bucket, is at most 6.25% above the true value.
// Worked example: 1000 = 2^9 + 488 lies in [512, 1024), bucket width 2^(9-4) = 32, sub-bucket
// 488 / 32 = 15: [992, 1023], reported as 1023. 16 + 60 * 16 = 976 counters of 8 bytes.
//
// Thread-safety: record() and summary() may run concurrently from any threads; a summary taken
// while values are recorded may miss the newest of them (counters are read one by one).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace segstore::base {

struct HistogramSummary {
  std::uint64_t count = 0;
  std::uint64_t p50 = 0;
  std::uint64_t p99 = 0;
  std::uint64_t p999 = 0;
  std::uint64_t max = 0;
};

class Histogram {
 public:
  static constexpr unsigned exact_values = 16;  // 0..15 counted one by one
  static constexpr unsigned sub_buckets_log2 = 4;
  static constexpr unsigned sub_buckets = 1u << sub_buckets_log2;
  static constexpr unsigned bucket_count = exact_values + (64 - sub_buckets_log2) * sub_buckets;

  void record(std::uint64_t value) noexcept;
  HistogramSummary summary() const noexcept;

  // Bucket arithmetic, public for the tests.
  static unsigned bucket_of(std::uint64_t value) noexcept;
  static std::uint64_t bucket_upper_bound(unsigned bucket) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, bucket_count> counts_{};
  std::atomic<std::uint64_t> max_{0};
};

}  // namespace segstore::base
