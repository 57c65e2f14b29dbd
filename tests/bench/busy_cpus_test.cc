// The spinning threads of --busy-cpus (bench/busy_cpus.h): they run until destroyed, and none
// start for 0.
#include "busy_cpus.h"

#include <gtest/gtest.h>

namespace segstore::bench {
namespace {

TEST(BenchBusyCpus, ThreadsSpinUntilDestroyed) {
  BusyCpus busy(2);
  EXPECT_EQ(busy.threads(), 2u);
  // Waits for the condition itself: the counter moves once a thread has turned 4096 times.
  const std::uint64_t first = busy.spins();
  while (busy.spins() == first) {
  }
  EXPECT_GT(busy.spins(), first);
}

TEST(BenchBusyCpus, ZeroStartsNothing) {
  BusyCpus busy(0);
  EXPECT_EQ(busy.threads(), 0u);
  EXPECT_EQ(busy.spins(), 0u);
}

}  // namespace
}  // namespace segstore::bench
