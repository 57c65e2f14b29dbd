// Durable-only scans (ScanOptions::durable_only): they stop at durable_lsn(), of every stream or
// of one, and their tailing wait waits for durability.
//
// The stores here are in Durability::none mode: records become durable only at sync(), so the
// durable end is exactly where each test puts it.
#include <gtest/gtest.h>

#include <thread>

#include "engine/store_fixture.h"

namespace segstore::testing {
namespace {

constexpr std::chrono::milliseconds wait_long{120'000};

// The LSNs the iterator returns until it reaches the end of its walk.
std::vector<std::uint64_t> drain(Iterator &it) {
  std::vector<std::uint64_t> lsns;
  while (true) {
    Result<bool> got = it.next();
    EXPECT_TRUE(got.ok()) << got.status().to_string();
    if (!got.ok() || !*got) return lsns;
    lsns.push_back(it.record().lsn);
  }
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> lsns;
  for (std::uint64_t lsn = from; lsn < to; ++lsn) lsns.push_back(lsn);
  return lsns;
}

ScanOptions durable_only(std::optional<std::uint32_t> stream = std::nullopt) {
  ScanOptions options;
  options.stream = stream;
  options.durable_only = true;
  return options;
}

TEST(DurableScan, StopsAtTheDurableEndWhereAPlainScanGoesOn) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->append(payload_for(i, 100)).ok());
  SEGSTORE_ASSERT_OK(store->sync());
  for (int i = 10; i < 15; ++i) ASSERT_TRUE(store->append(payload_for(i, 100)).ok());
  ASSERT_EQ(store->durable_lsn(), 10u);

  Result<Iterator> plain = store->scan(0);
  SEGSTORE_ASSERT_OK(plain);
  EXPECT_EQ(drain(*plain), range(0, 15));
  Result<Iterator> durable = store->scan(0, durable_only());
  SEGSTORE_ASSERT_OK(durable);
  EXPECT_EQ(drain(*durable), range(0, 10));

  // Once the rest is durable, the same iterator goes on from where it stopped.
  SEGSTORE_ASSERT_OK(store->sync());
  EXPECT_EQ(drain(*durable), range(10, 15));
}

TEST(DurableScan, AcrossSegmentsStopsAtTheDurableEnd) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 64 * 1024));
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(store->append(payload_for(i, 1000)).ok());  // several segments
  SEGSTORE_ASSERT_OK(store->sync());
  ASSERT_GT(store->stats().segment_count, 3u);
  for (int i = 300; i < 305; ++i) ASSERT_TRUE(store->append(payload_for(i, 100)).ok());
  Result<Iterator> durable = store->scan(0, durable_only());
  SEGSTORE_ASSERT_OK(durable);
  const std::vector<std::uint64_t> seen = drain(*durable);
  // Sealing a full segment makes its records durable: if the five records made the active
  // segment roll, some of them may be durable by now. Whatever is, the scan stops there.
  const std::uint64_t durable_end = store->durable_lsn();
  EXPECT_EQ(seen, range(0, seen.size()));
  EXPECT_GE(seen.size(), 300u);
  EXPECT_LE(seen.size(), durable_end);
  EXPECT_LT(durable_end, 305u) << "every record became durable: the scan's limit went untested";
}

// One stream, the durable end inside a block holding records of the stream on both sides:
// the records past it come only after they became durable, none is skipped or repeated.
TEST(DurableScan, OfOneStreamStopsAtTheDurableEndInsideABlock) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  auto append_alternating = [&](int from, int to) {
    for (int i = from; i < to; ++i) ASSERT_TRUE(store->append(payload_for(i, 40), 1 + i % 2).ok());
  };
  append_alternating(0, 7);  // small records: LSNs 0..13 share the first block
  SEGSTORE_ASSERT_OK(store->sync());
  append_alternating(7, 14);
  Result<Iterator> stream1 = store->scan(0, durable_only(1));
  SEGSTORE_ASSERT_OK(stream1);
  EXPECT_EQ(drain(*stream1), (std::vector<std::uint64_t>{0, 2, 4, 6}));
  SEGSTORE_ASSERT_OK(store->sync());
  EXPECT_EQ(drain(*stream1), (std::vector<std::uint64_t>{8, 10, 12}));
}

TEST(DurableScan, NextWaitDoesNotReturnARecordBeforeItIsDurable) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  Result<Iterator> it = store->scan(0, durable_only());
  SEGSTORE_ASSERT_OK(it);
  Result<std::uint64_t> lsn = store->append(as_bytes("pending"));
  ASSERT_TRUE(lsn.ok());
  Result<bool> early = it->next_wait(std::chrono::milliseconds(0));
  SEGSTORE_ASSERT_OK(early);
  EXPECT_FALSE(*early) << "returned LSN " << it->record().lsn << " before it was durable";
  SEGSTORE_ASSERT_OK(store->sync());
  Result<bool> got = it->next_wait(std::chrono::milliseconds(0));
  SEGSTORE_ASSERT_OK(got);
  ASSERT_TRUE(*got);
  EXPECT_EQ(it->record().lsn, *lsn);
}

// A tailing durable_only reader on another thread: woken by durability, not by the append.
// Each record it returns was durable when it returned it.
TEST(DurableScan, ATailingReaderIsWokenByDurability) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  Result<Iterator> it = store->scan(0, durable_only());
  SEGSTORE_ASSERT_OK(it);
  constexpr int records = 20;
  std::vector<std::uint64_t> seen;
  std::vector<std::uint64_t> durable_when_seen;
  Status failed;
  std::thread reader([&] {
    while (seen.size() < records) {
      Result<bool> got = it->next_wait(wait_long);
      if (!got.ok() || !*got) {
        failed = got.ok() ? Status(Errc::timed_out, "no record") : got.status();
        return;
      }
      seen.push_back(it->record().lsn);
      durable_when_seen.push_back(store->durable_lsn());
    }
  });
  for (int i = 0; i < records; ++i) {
    ASSERT_TRUE(store->append(payload_for(i, 64)).ok());
    if (i % 3 == 2 || i == records - 1) SEGSTORE_ASSERT_OK(store->sync());
  }
  reader.join();
  ASSERT_TRUE(failed.ok()) << failed.to_string();
  EXPECT_EQ(seen, range(0, records));
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_GT(durable_when_seen[i], seen[i]) << "LSN " << seen[i];
}

}  // namespace
}  // namespace segstore::testing
