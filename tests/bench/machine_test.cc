// The machine's CPU sampling (bench/machine.cc): the busy share W3 reports beside each row, so
// that a reader can tell a rate bound by the CPUs from one bound by the device.
#include <gtest/gtest.h>

#include <cmath>

#include "machine.h"

namespace segstore::bench {
namespace {

CpuTimes sample(unsigned long long busy, unsigned long long idle) {
  CpuTimes t;
  t.busy = busy;
  t.idle = idle;
  t.valid = true;
  return t;
}

TEST(BenchMachine, BusyShareIsBusyTicksOverAllTicksOfTheSpan) {
  EXPECT_DOUBLE_EQ(cpu_busy_share(sample(100, 900), sample(175, 925)), 0.75);
  EXPECT_DOUBLE_EQ(cpu_busy_share(sample(100, 900), sample(100, 1000)), 0.0);
}

TEST(BenchMachine, BusyShareIsNotMeasuredWithoutASpanOrAValidSample) {
  EXPECT_TRUE(std::isnan(cpu_busy_share(sample(100, 900), sample(100, 900))));  // no tick passed
  EXPECT_TRUE(std::isnan(cpu_busy_share(CpuTimes{}, sample(100, 900))));
  EXPECT_TRUE(std::isnan(cpu_busy_share(sample(200, 900), sample(100, 950))));  // counters went back
}

TEST(BenchMachine, ProcStatIsReadAndItsCountersOnlyGrow) {
  const CpuTimes first = cpu_times_now();
  ASSERT_TRUE(first.valid);
  EXPECT_GT(first.busy + first.idle, 0u);
  const CpuTimes second = cpu_times_now();
  ASSERT_TRUE(second.valid);
  EXPECT_GE(second.busy, first.busy);
  EXPECT_GE(second.idle, first.idle);
}

}  // namespace
}  // namespace segstore::bench
