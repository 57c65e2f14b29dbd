// Appends and reads back: sizes, segments, the sparse index, reopening.
#include <gtest/gtest.h>

#include "engine/store_fixture.h"
#include "format/layout.h"

namespace segstore::testing {
namespace {

TEST(AppendRead, EveryPayloadSizeAroundBlockBoundariesReadsBackExactly) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 256 * 1024));
  std::vector<std::size_t> sizes;
  for (std::size_t s = 0; s <= 64; ++s) sizes.push_back(s);
  for (std::size_t s = 4000; s <= 4200; s += 7) sizes.push_back(s);
  sizes.push_back(8192 - 32);
  sizes.push_back(65536);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    Result<std::uint64_t> lsn = store->append(payload_for(i, sizes[i]), static_cast<std::uint32_t>(i % 3));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    EXPECT_EQ(*lsn, i);
  }
  // Reads of records still in memory, then after a sync from the device.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      Result<Record> r = store->read(i);
      ASSERT_TRUE(r.ok()) << "lsn " << i << ": " << r.status().to_string();
      EXPECT_EQ(r->lsn, i);
      EXPECT_EQ(r->stream, i % 3);
      EXPECT_EQ(r->payload, payload_for(i, sizes[i])) << "lsn " << i;
    }
    ASSERT_TRUE(store->sync().ok());
  }
}

TEST(AppendRead, EmptyPayloadIsAValidRecord) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  Result<std::uint64_t> lsn = store->append({}, 7);
  ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  Result<Record> r = store->read(*lsn);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->payload.empty());
  EXPECT_EQ(r->stream, 7u);
}

TEST(AppendRead, SegmentsRollAndEveryRecordStaysReadable) {
  TempDir dir;
  const std::uint64_t count = 3000;
  {
    auto store = open_or_die(dir.path(), small_segments(Durability::none, 32 * 1024));
    for (std::uint64_t i = 0; i < count; ++i) SEGSTORE_ASSERT_OK(store->append(payload_for(i, 100 + i % 300)));
    EXPECT_GT(store->stats().segment_count, 10u);
    for (std::uint64_t i = 0; i < count; ++i) {
      Result<Record> r = store->read(i);
      ASSERT_TRUE(r.ok()) << "lsn " << i << ": " << r.status().to_string();
      ASSERT_EQ(r->payload, payload_for(i, 100 + i % 300)) << "lsn " << i;
    }
    ASSERT_TRUE(store->close().ok());
  }
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 32 * 1024));
  EXPECT_FALSE(store->recovery_report().ran) << "a clean close lets open skip the scan";
  EXPECT_EQ(store->next_lsn(), count);
  Result<Iterator> it = store->scan(0);
  ASSERT_TRUE(it.ok());
  std::uint64_t expected = 0;
  while (true) {
    Result<bool> more = it->next();
    ASSERT_TRUE(more.ok()) << more.status().to_string();
    if (!*more) break;
    ASSERT_EQ(it->record().lsn, expected);
    ASSERT_EQ(std::vector<std::byte>(it->record().payload.begin(), it->record().payload.end()),
              payload_for(expected, 100 + expected % 300));
    ++expected;
  }
  EXPECT_EQ(expected, count);
}

TEST(AppendRead, ReadOfEveryLsnAroundIndexEntriesAndSegmentBoundaries) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 16 * 1024));
  // Sizes chosen so records start at many different offsets within blocks and segments.
  const std::uint64_t count = 600;
  for (std::uint64_t i = 0; i < count; ++i) ASSERT_TRUE(store->append(payload_for(i, (i * 37) % 1500)).ok());
  ASSERT_TRUE(store->sync().ok());
  for (std::uint64_t i = 0; i < count; ++i) {
    Result<Record> r = store->read(i);
    ASSERT_TRUE(r.ok()) << i << r.status().to_string();
    ASSERT_EQ(r->payload, payload_for(i, (i * 37) % 1500)) << i;
  }
  // Scans starting at every LSN reach the right first record.
  for (std::uint64_t from = 0; from < count; from += 13) {
    Result<Iterator> it = store->scan(from);
    ASSERT_TRUE(it.ok());
    Result<bool> more = it->next();
    ASSERT_TRUE(more.ok() && *more);
    EXPECT_EQ(it->record().lsn, from);
  }
}

// A point read fetches the blocks its record occupies (SegmentIndex::bytes_through): one for a
// record inside a block, two for one that crosses a block boundary, never a third; in one
// device read either way.
TEST(AppendRead, PointReadFetchesOnlyTheBlocksOfItsRecord) {
  TempDir dir;
  const std::size_t payload_bytes = 1000;  // 1,032 bytes on disk: some cross a block boundary
  const std::uint64_t count = 400;
  Options options = small_segments(Durability::none, 1 << 20);
  options.write_group_bytes_max = 1 << 20;  // one write group: no padding between the records
  {
    auto store = open_or_die(dir.path(), options);
    for (std::uint64_t i = 0; i < count; ++i) SEGSTORE_ASSERT_OK(store->append(payload_for(i, payload_bytes)));
    ASSERT_TRUE(store->close().ok());
  }
  auto store = open_or_die(dir.path(), options);
  ASSERT_TRUE(store->read(0).ok());  // loads the segment's index
  const std::uint64_t disk = format::record_disk_bytes(payload_bytes);
  std::uint64_t one_block = 0, two_blocks = 0;
  for (std::uint64_t lsn = 0; lsn + 1 < count; ++lsn) {
    // Record lsn's offset in a segment written in one go: after the header block, densely.
    const std::uint64_t offset = format::segment_data_offset_bytes + lsn * disk;
    const bool crosses = offset / format::block_size_bytes != (offset + disk - 1) / format::block_size_bytes;
    const std::uint64_t before = store->stats().blocks_read;
    const std::uint64_t requests_before = store->stats().read_requests;
    Result<Record> r = store->read(lsn);
    ASSERT_TRUE(r.ok()) << "lsn " << lsn << ": " << r.status().to_string();
    ASSERT_EQ(r->payload, payload_for(lsn, payload_bytes)) << "lsn " << lsn;
    const std::uint64_t blocks = store->stats().blocks_read - before;
    EXPECT_EQ(blocks, crosses ? 2u : 1u) << "lsn " << lsn << " at offset " << offset;
    EXPECT_EQ(store->stats().read_requests - requests_before, 1u) << "lsn " << lsn << " at offset " << offset;
    (crosses ? two_blocks : one_block)++;
  }
  EXPECT_GT(one_block, 0u);
  EXPECT_GT(two_blocks, 0u);
}

TEST(AppendRead, BatchGetsDenseLsnsAndSurvivesReopen) {
  TempDir dir;
  std::vector<std::vector<std::byte>> payloads;
  for (int i = 0; i < 5; ++i) payloads.push_back(payload_for(i, 200 * i));
  std::vector<BatchEntry> batch;
  for (int i = 0; i < 5; ++i) batch.push_back({static_cast<std::uint32_t>(i), payloads[i]});
  {
    auto store = open_or_die(dir.path(), small_segments(Durability::sync));
    ASSERT_TRUE(store->append(payload_for(99, 10)).ok());
    Result<std::uint64_t> first = store->append_batch(batch);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, 1u);
    EXPECT_EQ(store->next_lsn(), 6u);
    EXPECT_EQ(store->durable_lsn(), 6u);
  }
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  for (int i = 0; i < 5; ++i) {
    Result<Record> r = store->read(1 + i);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->payload, payloads[i]);
    EXPECT_EQ(r->stream, static_cast<std::uint32_t>(i));
  }
}

// After a reopen, with every segment's index loaded (stats() loads them, as reads do): the
// packed sparse index takes 3.125 bytes per 4 KiB block (800 KiB per GiB), the one stream's
// bitmaps a run each; the goal is at most 1 MiB per GiB of log.
TEST(AppendRead, LoadedIndexTakesAtMostOneMiBPerGiBOfLog) {
  TempDir dir;
  const std::uint64_t count = 32 * 1024;  // 32 MiB of 1 KiB records
  {
    auto store = open_or_die(dir.path(), small_segments(Durability::none, 4 << 20));
    const auto payload = payload_for(1, 1024);
    for (std::uint64_t i = 0; i < count; ++i) SEGSTORE_ASSERT_OK(store->append(payload));
    ASSERT_TRUE(store->close().ok());
  }
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 4 << 20));
  const Stats stats = store->stats();
  ASSERT_GT(stats.log_bytes, count * 1024);
  const double per_gib = static_cast<double>(stats.index_bytes) * (1ull << 30) / static_cast<double>(stats.log_bytes);
  EXPECT_LE(per_gib, 1.0 * (1 << 20)) << "index bytes " << stats.index_bytes << " for log bytes " << stats.log_bytes;
  // 3 bytes for each block in which a record starts (all of them here) is 768 KiB per GiB.
  EXPECT_GE(per_gib, 0.75 * (1 << 20)) << "the index holds an entry per block";
}

}  // namespace
}  // namespace segstore::testing
