// Durability modes, sync and asynchronous appends.
#include <gtest/gtest.h>

#include "engine/store_fixture.h"

namespace segstore::testing {
namespace {

TEST(Durability, SyncModeAppendReturnsOnlyWhenDurable) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  for (int i = 0; i < 50; ++i) {
    Result<std::uint64_t> lsn = store->append(payload_for(i, 100));
    ASSERT_TRUE(lsn.ok());
    EXPECT_GT(store->durable_lsn(), *lsn);
  }
  EXPECT_GE(store->stats().flushes, 1u);
}

TEST(Durability, NoneModeIsDurableOnlyAfterSync) {
  TempDir dir;
  Options options = small_segments(Durability::none, 1 << 20);
  auto store = open_or_die(dir.path(), options);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->append(payload_for(i, 100)).ok());
  EXPECT_EQ(store->durable_lsn(), 0u);
  ASSERT_TRUE(store->sync().ok());
  EXPECT_EQ(store->durable_lsn(), 10u);
}

TEST(Durability, IntervalModeFlushesInTheBackground) {
  TempDir dir;
  Options options = small_segments(Durability::interval, 1 << 20);
  options.flush_interval_ms = 5;
  auto store = open_or_die(dir.path(), options);
  Result<std::uint64_t> lsn = store->append(as_bytes("tick"));
  ASSERT_TRUE(lsn.ok());
  // Nobody calls sync(): the background flush must make it durable. wait_until_durable
  // only waits; it starts no flush of its own.
  SEGSTORE_ASSERT_OK(store->wait_until_durable(*lsn, std::chrono::seconds(30)));
  EXPECT_GT(store->durable_lsn(), *lsn);
}

TEST(Durability, PerCallSyncInANoneStoreMakesEarlierRecordsDurableToo) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 64 * 1024));
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(store->append(payload_for(i, 500)).ok());  // several write-only groups
  Result<std::uint64_t> lsn = store->append(as_bytes("important"), 0, Durability::sync);
  ASSERT_TRUE(lsn.ok());
  EXPECT_EQ(store->durable_lsn(), *lsn + 1);
}

TEST(Durability, NoneModeRecordsDoNotBecomeDurableByThemselves) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 1 << 20));
  Result<std::uint64_t> lsn = store->append(as_bytes("lazy"));
  ASSERT_TRUE(lsn.ok());
  EXPECT_EQ(store->wait_until_durable(*lsn, std::chrono::milliseconds(50)).code(), Errc::timed_out);
  ASSERT_TRUE(store->sync().ok());
  SEGSTORE_ASSERT_OK(store->wait_until_durable(*lsn, std::chrono::milliseconds(0)));
}

TEST(Durability, AsyncAppendsThenWaitDurable) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync, 1 << 20));
  std::uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) {
    Result<std::uint64_t> lsn = store->append_async(payload_for(i, 64));
    ASSERT_TRUE(lsn.ok());
    last = *lsn;
  }
  ASSERT_TRUE(store->wait_durable(last).ok());
  EXPECT_EQ(store->durable_lsn(), last + 1);
  EXPECT_EQ(store->wait_durable(last + 1).code(), Errc::lsn_out_of_range);
}

TEST(Durability, StatsCountAppendsFlushesAndStreams) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(store->append(payload_for(i, 10), i % 3).ok());
  const Stats s = store->stats();
  EXPECT_EQ(s.appends, 30u);
  EXPECT_EQ(s.next_lsn, 30u);
  EXPECT_EQ(s.durable_lsn, 30u);
  EXPECT_GE(s.flushes, 1u);
  EXPECT_EQ(s.records_per_stream.at(0), 10u);
  EXPECT_EQ(s.records_per_stream.at(2), 10u);
  EXPECT_FALSE(s.io_backend.empty());
}

}  // namespace
}  // namespace segstore::testing
