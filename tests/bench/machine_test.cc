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

// A guest whose idle vCPUs halt at once is named as such: its sync figures pay a VM exit per
// wake-up of an idle vCPU, which a reader of the results must know.
TEST(BenchMachine, CpuIdleNamesTheDriverGovernorAndGuestHaltPolling) {
  EXPECT_EQ(describe_cpu_idle("haltpoll", "haltpoll", "0"),
            "haltpoll (governor haltpoll), guest halt polling off (guest_halt_poll_ns 0: an idle vCPU halts at once)");
  EXPECT_EQ(describe_cpu_idle("haltpoll", "haltpoll", "200000"),
            "haltpoll (governor haltpoll), guest halt polling up to 200000 ns");
  EXPECT_EQ(describe_cpu_idle("intel_idle", "menu", ""), "intel_idle (governor menu)");
  EXPECT_EQ(describe_cpu_idle("acpi_idle", "", ""), "acpi_idle");
}

TEST(BenchMachine, CpuIdleIsNotReportedWithoutACpuidleDriver) {
  EXPECT_EQ(describe_cpu_idle("", "", ""), "not reported");
  EXPECT_EQ(describe_cpu_idle("none", "menu", ""), "not reported");
}

}  // namespace
}  // namespace segstore::bench
