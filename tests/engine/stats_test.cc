// tests/engine/stats_test.cc — Store::stats(): what the files take (disk_bytes, the spare
// segment switched off), and the distributions of append and sync latency and group sizes.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"

namespace segstore::testing {
namespace {

namespace fs = std::filesystem;

int segment_files(const std::string &dir) {
  int n = 0;
  for (const auto &entry : fs::directory_iterator(dir)) n += entry.path().extension() == ".seg";
  return n;
}

Options no_spare(Durability durability = Durability::none) {
  Options options = small_segments(durability);
  options.preallocate_next_segment = false;
  options.prealloc = PreallocMode::fallocate;
  return options;
}

// Regression: disk_bytes left out the preallocated spare (67,108,864 reported while two 64 MiB
// segment files existed). Failed before the fix: it reported one segment.
TEST(Stats, DiskBytesCountsTheSpareSegment) {
  TempDir tmp;
  const Options options = no_spare();
  {
    auto store = open_or_die(tmp.path(), options);
    ASSERT_TRUE(store->append(as_bytes("one")).ok());
    SEGSTORE_ASSERT_OK(store->close());
  }
  ASSERT_EQ(segment_files(tmp.path()), 1);
  // A spare as the preallocator leaves it: the next id, full size, never written.
  {
    std::ofstream spare(fs::path(tmp.path()) / "00000000000000000002.seg", std::ios::binary);
    spare.seekp(static_cast<std::streamoff>(options.segment_bytes - 1));
    spare.put('\0');
  }
  auto store = open_or_die(tmp.path(), options);
  const Stats st = store->stats();
  EXPECT_EQ(st.segment_count, 1u);
  EXPECT_EQ(st.disk_bytes, 2 * options.segment_bytes);
  // The spare is used by the next roll, not created again.
  std::vector<std::byte> payload(10'000);
  while (store->stats().segment_count < 2) ASSERT_TRUE(store->append(payload).ok());
  EXPECT_EQ(segment_files(tmp.path()), 2);
  EXPECT_EQ(store->stats().disk_bytes, 2 * options.segment_bytes);
}

TEST(Stats, WithoutASpareOnlySegmentsWithRecordsTakeSpace) {
  TempDir tmp;
  const Options options = no_spare();
  auto store = open_or_die(tmp.path(), options);
  std::vector<std::byte> payload(1000);
  for (int i = 0; i < 150; ++i) ASSERT_TRUE(store->append(payload).ok());  // 2.3 segments of 64 KiB
  SEGSTORE_ASSERT_OK(store->sync());
  const Stats st = store->stats();
  EXPECT_EQ(st.segment_count, 3u);
  EXPECT_EQ(st.disk_bytes, 3 * options.segment_bytes);
  EXPECT_EQ(segment_files(tmp.path()), 3);
  SEGSTORE_ASSERT_OK(store->close());
  EXPECT_EQ(segment_files(tmp.path()), 3);
}

TEST(Stats, DistributionsCountEveryAppendSyncAndGroup) {
  TempDir tmp;
  auto store = open_or_die(tmp.path(), no_spare(Durability::sync));
  const Stats empty = store->stats();
  EXPECT_EQ(empty.append_latency_us.count, 0u);
  EXPECT_EQ(empty.sync_latency_us.count, 0u);
  constexpr int appends = 40;
  for (int i = 0; i < appends; ++i) ASSERT_TRUE(store->append(as_bytes("record")).ok());
  // The payloads outlive the batch (as_bytes of a literal would view a temporary string).
  const std::string a = "a", b = "b", c = "c";
  const BatchEntry batch[] = {{1, as_bytes(a)}, {2, as_bytes(b)}, {3, as_bytes(c)}};
  ASSERT_TRUE(store->append_batch(batch).ok());
  const Stats st = store->stats();
  // One latency per append call (the batch is one call), one sync per synced group.
  EXPECT_EQ(st.append_latency_us.count, static_cast<std::uint64_t>(appends + 1));
  EXPECT_LE(st.append_latency_us.p50, st.append_latency_us.p99);
  EXPECT_LE(st.append_latency_us.p99, st.append_latency_us.p999);
  EXPECT_LE(st.append_latency_us.p999, st.append_latency_us.max);
  EXPECT_GE(st.sync_latency_us.count, 1u);
  EXPECT_LE(st.sync_latency_us.count, st.flushes);
  EXPECT_EQ(st.group_records.count, st.group_bytes.count);
  EXPECT_GE(st.group_records.max, 3u);  // the batch went to the device in one group
  EXPECT_EQ(st.group_bytes.max % 4096, 0u);
  EXPECT_EQ(st.appends, static_cast<std::uint64_t>(appends + 3));
}

TEST(Stats, AppendsThatDoNotWaitAreTimedOneInSixteenSyncAppendsEveryOne) {
  TempDir tmp;
  auto store = open_or_die(tmp.path(), no_spare(Durability::none));
  // 40 calls that do not wait: calls 0, 16 and 32 are timed.
  constexpr int nowait_calls = 40;
  for (int i = 0; i < nowait_calls; ++i) {
    if (i % 2 == 0) ASSERT_TRUE(store->append(as_bytes("record")).ok());
    else ASSERT_TRUE(store->append_async(as_bytes("record")).ok());
  }
  EXPECT_EQ(store->stats().append_latency_us.count, 3u);
  // Calls with Durability::sync are timed every one, and do not move the sample of the others.
  constexpr int sync_calls = 5;
  for (int i = 0; i < sync_calls; ++i) ASSERT_TRUE(store->append(as_bytes("record"), 0, Durability::sync).ok());
  EXPECT_EQ(store->stats().append_latency_us.count, 3u + sync_calls);
  ASSERT_TRUE(store->append(as_bytes("record")).ok());  // call 40 of those that do not wait: not timed
  const Stats st = store->stats();
  EXPECT_EQ(st.append_latency_us.count, 3u + sync_calls);
  EXPECT_EQ(st.appends, static_cast<std::uint64_t>(nowait_calls + sync_calls + 1));
}

}  // namespace
}  // namespace segstore::testing
