// tests/base/histogram_test.cc — base::Histogram: bucket arithmetic at its edges and
// percentiles within the promised 6.25%.
#include "base/histogram.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace segstore::base {
namespace {

TEST(Histogram, SmallValuesHaveABucketEach) {
  for (std::uint64_t v = 0; v < Histogram::exact_values; ++v) {
    EXPECT_EQ(Histogram::bucket_of(v), v);
    EXPECT_EQ(Histogram::bucket_upper_bound(static_cast<unsigned>(v)), v);
  }
}

TEST(Histogram, BucketsSplitEachPowerOfTwoInSixteen) {
  EXPECT_EQ(Histogram::bucket_of(16), 16u);  // [16, 32): width 1
  EXPECT_EQ(Histogram::bucket_of(31), 31u);
  EXPECT_EQ(Histogram::bucket_of(32), 32u);  // [32, 64): width 2
  EXPECT_EQ(Histogram::bucket_of(33), 32u);
  EXPECT_EQ(Histogram::bucket_upper_bound(32), 33u);
  // The worked example of the header: 1000 lies in [992, 1023].
  EXPECT_EQ(Histogram::bucket_upper_bound(Histogram::bucket_of(1000)), 1023u);
  EXPECT_EQ(Histogram::bucket_of(991) + 1, Histogram::bucket_of(992));
  EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::bucket_count - 1);
  EXPECT_EQ(Histogram::bucket_upper_bound(Histogram::bucket_count - 1), UINT64_MAX);
}

TEST(Histogram, EveryValueLiesInItsBucketWithinOneSixteenth) {
  for (std::uint64_t v = 1; v < (std::uint64_t{1} << 62); v = v * 3 + 1) {
    const std::uint64_t upper = Histogram::bucket_upper_bound(Histogram::bucket_of(v));
    EXPECT_GE(upper, v);
    EXPECT_LE(upper - v, v / 16) << v;
  }
}

TEST(Histogram, EmptySummaryIsZero) {
  const HistogramSummary s = Histogram().summary();
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.p50, 0u);
  EXPECT_EQ(s.max, 0u);
}

TEST(Histogram, PercentilesOfOneToTenThousand) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 10000; ++v) h.record(v);
  const HistogramSummary s = h.summary();
  EXPECT_EQ(s.count, 10000u);
  EXPECT_EQ(s.max, 10000u);
  EXPECT_GE(s.p50, 5000u);
  EXPECT_LE(s.p50, 5000u + 5000u / 16);
  EXPECT_GE(s.p99, 9900u);
  EXPECT_LE(s.p99, 10000u);  // never above max
  EXPECT_GE(s.p999, 9990u);
  EXPECT_LE(s.p999, 10000u);
}

TEST(Histogram, OneOutlierShowsInP999AndMaxOnly) {
  Histogram h;
  for (int i = 0; i < 999; ++i) h.record(100);
  h.record(1'000'000);
  const HistogramSummary s = h.summary();
  EXPECT_LE(s.p50, 103u);
  EXPECT_LE(s.p99, 103u);
  EXPECT_LE(s.p999, 103u);  // rank 999 of 1000 is still 100
  EXPECT_EQ(s.max, 1'000'000u);
  h.record(1'000'000);  // two in 1001: p999 (rank 1000) is the outlier
  EXPECT_GE(h.summary().p999, 1'000'000u);
}

}  // namespace
}  // namespace segstore::base
