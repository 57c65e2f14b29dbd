// The gather window's decisions (engine/gather_window.h): when it opens, what holds a group,
// when it ends, and how a workload whose released appenders do not come back stops paying for
// it. The store's use of it under many threads is in group_commit_test.cc.
#include "engine/gather_window.h"

#include <gtest/gtest.h>

namespace segstore::engine {
namespace {

using Clock = GatherWindow::Clock;
using std::chrono::microseconds;

constexpr std::size_t slots = 4;
const Clock::time_point t0 = Clock::time_point{} + std::chrono::seconds(100);

GatherWindow with_sync_time(std::uint64_t sync_us) {
  GatherWindow window;
  window.note_sync(sync_us);
  return window;
}

TEST(GatherWindow, NoWindowBeforeASyncTimeIsKnown) {
  GatherWindow window;
  EXPECT_FALSE(window.open(t0, 8, 8, slots));
  EXPECT_FALSE(window.is_open());
  EXPECT_FALSE(window.holds(t0, 0));
}

TEST(GatherWindow, NoWindowWhenNothingWasReleased) {
  GatherWindow window = with_sync_time(400);
  EXPECT_FALSE(window.open(t0, 0, 16, slots));
}

TEST(GatherWindow, FewThreadsEachKeepTheirOwnSyncWithoutAWindow) {
  GatherWindow window = with_sync_time(400);
  EXPECT_FALSE(window.open(t0, 1, 0, slots));  // one thread (W2)
  EXPECT_FALSE(window.open(t0, 2, 2, slots));  // four threads, as many as slots
  EXPECT_TRUE(window.open(t0, 3, 2, slots));   // five
}

TEST(GatherWindow, NoWindowForMoreReleasedThanWakeWithinIt) {
  GatherWindow window = with_sync_time(400);
  EXPECT_FALSE(window.open(t0, GatherWindow::released_max + 1, 8, slots));  // 64 threads: two cohorts of ~30
  EXPECT_TRUE(window.open(t0, GatherWindow::released_max, 8, slots));
}

TEST(GatherWindow, HoldsUntilThreeQuartersOfTheExpectedThreadsWait) {
  GatherWindow window = with_sync_time(400);
  ASSERT_TRUE(window.open(t0, 8, 8, slots));  // 16 threads expected
  EXPECT_EQ(window.target(), 12u);
  EXPECT_TRUE(window.holds(t0, 8));
  EXPECT_TRUE(window.holds(t0, 11));
  EXPECT_FALSE(window.holds(t0, 12));
}

TEST(GatherWindow, EndsAtHalfTheRecentSyncTime) {
  GatherWindow window = with_sync_time(400);
  ASSERT_TRUE(window.open(t0, 8, 8, slots));
  EXPECT_EQ(window.until(), t0 + microseconds(200));
  EXPECT_TRUE(window.holds(t0 + microseconds(199), 8));
  EXPECT_FALSE(window.holds(t0 + microseconds(200), 8));
}

TEST(GatherWindow, IsBoundedWhateverTheSyncTime) {
  GatherWindow window = with_sync_time(1'000'000);  // a sync stalled for a second
  ASSERT_TRUE(window.open(t0, 8, 8, slots));
  EXPECT_EQ(window.until(), t0 + microseconds(GatherWindow::gather_time_max_us));
}

TEST(GatherWindow, SyncTimeIsSmoothed) {
  GatherWindow window = with_sync_time(400);
  window.note_sync(800);
  EXPECT_EQ(window.recent_sync_us(), 500u);
}

TEST(GatherWindow, TargetIsAtLeastOneMoreThanAlreadyWait) {
  GatherWindow window = with_sync_time(400);
  ASSERT_TRUE(window.open(t0, 1, 15, slots));  // 3/4 of 16 = 12 < 15 already waiting
  EXPECT_EQ(window.target(), 16u);
}

TEST(GatherWindow, ClosedWindowHoldsNothing) {
  GatherWindow window = with_sync_time(400);
  ASSERT_TRUE(window.open(t0, 8, 8, slots));
  window.close(16);
  EXPECT_FALSE(window.is_open());
  EXPECT_FALSE(window.holds(t0, 8));
}

TEST(GatherWindow, ReleasedThreadsThatComeBackKeepWindowsOpening) {
  GatherWindow window = with_sync_time(400);
  ASSERT_TRUE(window.open(t0, 8, 8, slots));
  window.close(8 + 2);  // 2 of 8 came back: a quarter
  EXPECT_TRUE(window.open(t0, 8, 8, slots));
}

TEST(GatherWindow, ReleasedThreadsThatDoNotComeBackSkipTheNextWindows) {
  GatherWindow window = with_sync_time(400);
  ASSERT_TRUE(window.open(t0, 8, 8, slots));
  window.close(8 + 1);  // 1 of 8 came back
  for (std::size_t i = 0; i < GatherWindow::windows_skipped_after_miss; ++i)
    EXPECT_FALSE(window.open(t0, 8, 8, slots)) << "completion " << i << " after the miss";
  EXPECT_TRUE(window.open(t0, 8, 8, slots));
}

}  // namespace
}  // namespace segstore::engine
