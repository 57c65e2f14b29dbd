// tests/log/segment_index_add_test.cc — log::SegmentIndex::add_record sets a stream's bit of a
// block once for the block's records (it remembers the last bit it set): a bit that truncate or
// clear removed is set again by the next record in that block, and records of other streams in
// between still set theirs.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <vector>

#include "format/layout.h"
#include "log/segment_index.h"

namespace segstore::log {
namespace {

using format::block_size_bytes;
using Blocks = std::vector<std::uint32_t>;

constexpr std::uint32_t stream_a = 3;
constexpr std::uint32_t stream_b = 9;
constexpr std::uint32_t record_bytes = 64;  // 64 records to a block

std::uint32_t offset_in_block(std::uint32_t block, std::uint32_t record) {
  return block * block_size_bytes + record * record_bytes;
}

TEST(SegmentIndexAdd, StreamsTakingTurnsInOneBlockEachGetTheBlock) {
  SegmentIndex index;
  index.add_record(0, offset_in_block(1, 0), stream_a);
  index.add_record(1, offset_in_block(1, 1), stream_b);
  index.add_record(2, offset_in_block(1, 2), stream_a);
  index.add_record(3, offset_in_block(2, 0), stream_b);
  EXPECT_EQ(index.stream_blocks_from(stream_a, 0), (Blocks{1}));
  EXPECT_EQ(index.stream_blocks_from(stream_b, 0), (Blocks{1, 2}));
  EXPECT_EQ(index.streams().at(stream_a).records, 2u);
  EXPECT_EQ(index.streams().at(stream_b).records, 2u);
}

TEST(SegmentIndexAdd, BlockRemovedByTruncateIsSetAgainByTheNextRecordInIt) {
  SegmentIndex index;
  index.add_record(0, offset_in_block(1, 0), stream_a);
  index.add_record(1, offset_in_block(2, 0), stream_a);
  index.add_record(2, offset_in_block(2, 1), stream_a);
  // truncate_after LSN delta 0: block 2's records go, and with them stream_a's bit of block 2.
  index.truncate(1, {{stream_a, 2}});
  ASSERT_EQ(index.stream_blocks_from(stream_a, 0), (Blocks{1}));
  // The same stream writes into block 2 again (the engine resumes at the next block).
  index.add_record(1, offset_in_block(2, 0), stream_a);
  EXPECT_EQ(index.stream_blocks_from(stream_a, 0), (Blocks{1, 2}));
  EXPECT_EQ(index.streams().at(stream_a).records, 2u);
}

TEST(SegmentIndexAdd, TruncatingEverythingThenAddingSetsTheBlockAgain) {
  SegmentIndex index;
  index.add_record(0, offset_in_block(1, 0), stream_a);
  index.truncate(0, {{stream_a, 1}});
  ASSERT_FALSE(index.has_stream(stream_a));
  index.add_record(0, offset_in_block(1, 0), stream_a);
  EXPECT_EQ(index.stream_blocks_from(stream_a, 0), (Blocks{1}));
}

TEST(SegmentIndexAdd, BlockClearedIsSetAgainByTheNextRecordInIt) {
  SegmentIndex index;
  index.add_record(0, offset_in_block(1, 0), stream_a);
  index.clear();
  index.add_record(0, offset_in_block(1, 0), stream_a);
  EXPECT_EQ(index.stream_blocks_from(stream_a, 0), (Blocks{1}));
  EXPECT_EQ(index.streams().at(stream_a).records, 1u);
}

}  // namespace
}  // namespace segstore::log
