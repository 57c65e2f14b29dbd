// Stream scans: only the blocks of the wanted stream are read.
#include <map>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"

namespace segstore::testing {
namespace {

std::vector<std::uint64_t> scan_stream(Store &store, std::uint64_t from, std::uint32_t stream) {
  std::vector<std::uint64_t> lsns;
  Result<Iterator> it = store.scan(from, stream);
  EXPECT_TRUE(it.ok());
  while (true) {
    Result<bool> more = it->next();
    EXPECT_TRUE(more.ok()) << more.status().to_string();
    if (!more.ok() || !*more) break;
    EXPECT_EQ(it->record().stream, stream);
    lsns.push_back(it->record().lsn);
  }
  return lsns;
}

TEST(Streams, ScanOfOneStreamReturnsExactlyItsRecordsInOrder) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 64 * 1024));
  std::map<std::uint32_t, std::vector<std::uint64_t>> expected;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    const std::uint32_t stream = static_cast<std::uint32_t>((i * 7919) % 5);
    Result<std::uint64_t> lsn = store->append(payload_for(i, 50 + i % 200), stream);
    ASSERT_TRUE(lsn.ok());
    expected[stream].push_back(*lsn);
  }
  for (const auto &[stream, lsns] : expected) EXPECT_EQ(scan_stream(*store, 0, stream), lsns) << stream;
  // From the middle.
  const auto &s3 = expected[3];
  std::vector<std::uint64_t> tail(s3.begin() + 100, s3.end());
  EXPECT_EQ(scan_stream(*store, s3[100], 3), tail);
  EXPECT_TRUE(scan_stream(*store, 0, 42).empty());
}

TEST(Streams, QuietStreamIsReadWithoutReadingTheBusyStreamsBlocks) {
  TempDir dir;
  std::uint64_t quiet_lsns = 0;
  {
    auto store = open_or_die(dir.path(), small_segments(Durability::none, 256 * 1024));
    const auto busy = payload_for(1, 1000);
    for (std::uint64_t i = 0; i < 20000; ++i) {
      // Stream 1 is busy; streams 2..9 write once every 2000 records.
      const std::uint32_t stream = i % 2000 == 0 ? static_cast<std::uint32_t>(2 + (i / 2000) % 8) : 1;
      if (stream != 1) ++quiet_lsns;
      SEGSTORE_ASSERT_OK(store->append(busy, stream));
    }
    ASSERT_TRUE(store->close().ok());
  }
  // Reopen so nothing is in memory: every block read is counted.
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 256 * 1024));
  const std::uint64_t before = store->stats().blocks_read;
  std::uint64_t found = 0;
  for (std::uint32_t s = 2; s < 10; ++s) found += scan_stream(*store, 0, s).size();
  const std::uint64_t quiet_blocks = store->stats().blocks_read - before;
  EXPECT_EQ(found, quiet_lsns);
  // 10 quiet records, each read with a window of two blocks: about 20 blocks, while the busy
  // stream holds about 5000 blocks.
  EXPECT_LE(quiet_blocks, 4 * quiet_lsns) << "quiet scans read " << quiet_blocks << " blocks";
  const std::uint64_t before_busy = store->stats().blocks_read;
  EXPECT_EQ(scan_stream(*store, 0, 1).size(), 20000 - quiet_lsns);
  EXPECT_GT(store->stats().blocks_read - before_busy, 100 * quiet_blocks);
}

TEST(Streams, StreamFilterOnEmptyStoreEndsAtOnceAndTails) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  Result<Iterator> it = store->scan(0, 5);
  ASSERT_TRUE(it.ok()) << it.status().to_string();
  Result<bool> more = it->next();
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  ASSERT_TRUE(store->append(as_bytes("other"), 4).ok());
  ASSERT_TRUE(store->append(as_bytes("mine"), 5).ok());
  more = it->next();
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(as_string(it->record().payload), "mine");
  EXPECT_EQ(it->record().lsn, 1u);
}

}  // namespace
}  // namespace segstore::testing

namespace segstore::testing {
namespace {

// Candidate blocks a few blocks apart are read together and the blocks between walked: the
// stream's records come back exactly, whatever the gaps (0 to 30 blocks here, on both sides of
// the coalescing bound), and a sparse stream still reads far fewer blocks than the log holds.
TEST(Streams, CloseCandidateBlocksAreReadTogetherAndGapsWalked) {
  TempDir dir;
  std::vector<std::uint64_t> expected;
  std::uint64_t records = 0;
  {
    auto store = open_or_die(dir.path(), small_segments(Durability::none, 1024 * 1024));
    const auto filler = payload_for(1, 1000);  // about 4 records per block
    std::uint64_t gap = 0;
    for (std::uint32_t k = 0; k < 300; ++k) {
      gap = (gap * 7 + 3) % 120;  // records of other streams between two of stream 5
      for (std::uint64_t g = 0; g < gap; ++g, ++records) SEGSTORE_ASSERT_OK(store->append(filler, 1 + records % 3));
      Result<std::uint64_t> lsn = store->append(payload_for(k, 300), 5);
      ASSERT_TRUE(lsn.ok());
      expected.push_back(*lsn);
      ++records;
    }
    ASSERT_TRUE(store->close().ok());
  }
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 1024 * 1024));
  const std::uint64_t before = store->stats().blocks_read;
  EXPECT_EQ(scan_stream(*store, 0, 5), expected);
  const std::uint64_t stream_blocks = store->stats().blocks_read - before;
  const std::uint64_t log_blocks = records * 1056 / 4096;
  EXPECT_LT(stream_blocks, log_blocks / 2) << stream_blocks << " blocks read of about " << log_blocks;
  // Every payload intact: the walk through gap blocks did not shift the stream's records.
  Result<Iterator> it = store->scan(0, 5);
  ASSERT_TRUE(it.ok());
  for (std::uint32_t k = 0; k < expected.size(); ++k) {
    Result<bool> more = it->next();
    ASSERT_TRUE(more.ok() && *more);
    const std::vector<std::byte> want = payload_for(k, 300);
    ASSERT_TRUE(std::equal(want.begin(), want.end(), it->record().payload.begin(), it->record().payload.end())) << k;
  }
}

}  // namespace
}  // namespace segstore::testing
