// tests/log/segment_index_test.cc — log::SegmentIndex::from_body on what an index snapshot's
// body may hold: what the engine writes loads back; a stream bitmap that CRoaring's readSafe
// accepts but that is not a well-formed set of the segment's blocks, and entries or counts
// outside the segment, are corruption naming the file, the offset and the cause.
#include "log/segment_index.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "format/endian.h"
#include "format/layout.h"

namespace segstore::engine {
namespace {

using format::block_size_bytes;
using Bytes = std::vector<std::byte>;

// CRoaring's portable serialization without run containers (RoaringFormatSpec): cookie 12346,
// container count, per container its key and cardinality - 1, per container its byte offset,
// then the containers (sorted u16 values for arrays of at most 4096, 8 KiB of bits above).
constexpr std::uint32_t cookie_no_run = 12346;
constexpr std::size_t bitset_bytes = 8192;

struct RawContainer {
  std::uint16_t key = 0;
  std::uint32_t cardinality = 0;  // as written: readSafe believes it
  Bytes data;
};

Bytes portable_bitmap(const std::vector<RawContainer> &containers) {
  Bytes out(8 + containers.size() * 8);
  format::store_u32(out.data(), cookie_no_run);
  format::store_u32(out.data() + 4, static_cast<std::uint32_t>(containers.size()));
  std::size_t offset = out.size();
  for (std::size_t i = 0; i < containers.size(); ++i) {
    format::store_u16(out.data() + 8 + 4 * i, containers[i].key);
    format::store_u16(out.data() + 10 + 4 * i, static_cast<std::uint16_t>(containers[i].cardinality - 1));
    format::store_u32(out.data() + 8 + 4 * containers.size() + 4 * i, static_cast<std::uint32_t>(offset));
    offset += containers[i].data.size();
  }
  for (const RawContainer &c : containers) out.insert(out.end(), c.data.begin(), c.data.end());
  return out;
}

RawContainer array_container(std::uint16_t key, const std::vector<std::uint16_t> &values) {
  RawContainer c{key, static_cast<std::uint32_t>(values.size()), Bytes(values.size() * 2)};
  for (std::size_t i = 0; i < values.size(); ++i) format::store_u16(c.data.data() + 2 * i, values[i]);
  return c;
}

// A bitset container holding blocks [1, 1 + set_bits) that claims `cardinality` values.
RawContainer bitset_container(std::uint32_t cardinality, std::uint32_t set_bits) {
  RawContainer c{0, cardinality, Bytes(bitset_bytes)};
  for (std::uint32_t v = 1; v < 1 + set_bits; ++v) c.data[v / 8] |= std::byte{static_cast<std::uint8_t>(1u << (v % 8))};
  return c;
}

// A segment of 5000 blocks whose records all belong to stream 7: entries at blocks 1 and 2.
format::IndexHeader segment_header() {
  format::IndexHeader h;
  h.format_version = format::format_version;
  h.segment_id = 4;
  h.base_lsn = 100;
  h.record_count = 10;
  h.end_offset = 5000 * block_size_bytes;
  return h;
}

format::IndexBody body_with_bitmap(Bytes bitmap) {
  format::IndexBody body;
  body.entries = {{0, block_size_bytes}, {5, 2 * block_size_bytes}};
  format::StreamEntry stream;
  stream.stream = 7;
  stream.record_count = 10;
  stream.bitmap = std::move(bitmap);
  body.streams.push_back(std::move(stream));
  return body;
}

// The stream's bitmap starts after the header, two 8-byte entries and its 16 fixed bytes.
constexpr std::uint64_t bitmap_file_offset = format::index_header_bytes + 2 * 8 + 16;

std::string load_error(const format::IndexHeader &header, const format::IndexBody &body) {
  Result<log::SegmentIndex> index = log::SegmentIndex::from_body(header, body, "00000000000000000004.idx");
  EXPECT_FALSE(index.ok()) << "loaded";
  if (index.ok()) return "";
  EXPECT_EQ(index.status().code(), Errc::corruption) << index.status().to_string();
  return index.status().message();
}

void expect_error(const std::string &message, const std::string &cause, std::uint64_t offset) {
  EXPECT_NE(message.find("00000000000000000004.idx at offset " + std::to_string(offset)), std::string::npos) << message;
  EXPECT_NE(message.find(cause), std::string::npos) << message;
}

TEST(SegmentIndexFromBody, WhatTheEngineWritesLoadsBack) {
  log::SegmentIndex built;
  for (std::uint32_t i = 0; i < 10; ++i) built.add_record(i, block_size_bytes * (1 + i / 2) + 64 * (i % 2), 7 + i % 2);
  format::IndexHeader header = segment_header();
  header.end_offset = 6 * block_size_bytes;
  Result<log::SegmentIndex> loaded = log::SegmentIndex::from_body(header, built.to_body(), "x.idx");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->entries(), built.entries());
  EXPECT_EQ(loaded->stream_blocks_from(7, 0), (std::vector<std::uint32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(loaded->streams().at(8).records, 5u);
}

TEST(SegmentIndexFromBody, ArrayContainerNotAscendingIsCorruption) {
  const Bytes bitmap = portable_bitmap({array_container(0, {1, 9, 4})});
  expect_error(load_error(segment_header(), body_with_bitmap(bitmap)), "array container values not strictly ascending",
               bitmap_file_offset);
}

TEST(SegmentIndexFromBody, RepeatedValueIsCorruption) {
  const Bytes bitmap = portable_bitmap({array_container(0, {1, 2, 2})});
  expect_error(load_error(segment_header(), body_with_bitmap(bitmap)), "not strictly ascending", bitmap_file_offset);
}

TEST(SegmentIndexFromBody, ContainerKeysNotAscendingIsCorruption) {
  const Bytes bitmap = portable_bitmap({array_container(1, {3}), array_container(0, {1})});
  expect_error(load_error(segment_header(), body_with_bitmap(bitmap)), "container keys not strictly ascending",
               bitmap_file_offset);
}

TEST(SegmentIndexFromBody, BitsetCardinalityThatDisagreesWithItsBitsIsCorruption) {
  const Bytes bitmap = portable_bitmap({bitset_container(4500, 4200)});
  expect_error(load_error(segment_header(), body_with_bitmap(bitmap)), "bitset container cardinality disagrees",
               bitmap_file_offset);
}

TEST(SegmentIndexFromBody, BitsetWithMatchingCardinalityLoads) {
  const Bytes bitmap = portable_bitmap({bitset_container(4500, 4500)});
  Result<log::SegmentIndex> index = log::SegmentIndex::from_body(segment_header(), body_with_bitmap(bitmap), "x.idx");
  ASSERT_TRUE(index.ok()) << index.status().to_string();
  EXPECT_EQ(index->stream_blocks_from(7, 4500), (std::vector<std::uint32_t>{4500}));
}

TEST(SegmentIndexFromBody, BlockPastTheSegmentEndIsCorruption) {
  format::IndexHeader header = segment_header();
  header.end_offset = 3 * block_size_bytes + 40;  // records end in block 3
  const Bytes bitmap = portable_bitmap({array_container(0, {1, 2, 4})});
  expect_error(load_error(header, body_with_bitmap(bitmap)), "blocks 1..4 outside the segment's blocks 1..3",
               bitmap_file_offset);
}

TEST(SegmentIndexFromBody, BlockZeroIsCorruption) {
  const Bytes bitmap = portable_bitmap({array_container(0, {0, 1})});
  expect_error(load_error(segment_header(), body_with_bitmap(bitmap)), "outside the segment's blocks", bitmap_file_offset);
}

TEST(SegmentIndexFromBody, BitmapThatDoesNotDecodeIsCorruption) {
  Bytes bitmap = portable_bitmap({array_container(0, {1, 2})});
  bitmap.resize(bitmap.size() - 1);  // the last value is cut
  expect_error(load_error(segment_header(), body_with_bitmap(bitmap)), "does not decode", bitmap_file_offset);
}

TEST(SegmentIndexFromBody, StreamCountsThatDoNotAddUpAreCorruption) {
  format::IndexBody body = body_with_bitmap(portable_bitmap({array_container(0, {1, 2})}));
  body.streams[0].record_count = 9;
  expect_error(load_error(segment_header(), body), "the streams count 9 records, the segment 10",
               format::index_header_bytes + 2 * 8);
  body.streams[0].record_count = UINT64_MAX;  // a sum that would wrap
  expect_error(load_error(segment_header(), body), "counts 18446744073709551615 records", format::index_header_bytes + 2 * 8);
}

TEST(SegmentIndexFromBody, EntryPastTheSegmentIsCorruption) {
  format::IndexBody body = body_with_bitmap(portable_bitmap({array_container(0, {1, 2})}));
  body.entries.back().lsn_delta = 10;  // the segment holds deltas 0..9
  expect_error(load_error(segment_header(), body), "past the segment's 10 records", format::index_header_bytes + 8);
}

// The index in memory holds one entry per block, each at most a block's records (128) above
// the one before (log/packed_entries.h): an .idx that says otherwise describes no segment.
TEST(SegmentIndexFromBody, TwoEntriesInOneBlockAreCorruption) {
  format::IndexBody body = body_with_bitmap(portable_bitmap({array_container(0, {1, 2})}));
  body.entries.back().offset = block_size_bytes + 64;  // block 1, like the entry before it
  expect_error(load_error(segment_header(), body), "entry in the same block as the one before it: entry 1",
               format::index_header_bytes + 8);
}

TEST(SegmentIndexFromBody, EntriesMoreRecordsApartThanABlockHoldsAreCorruption) {
  format::IndexHeader header = segment_header();
  header.record_count = 200;
  format::IndexBody body = body_with_bitmap(portable_bitmap({array_container(0, {1, 2})}));
  body.streams[0].record_count = 200;
  body.entries.back().lsn_delta = 129;  // 129 records starting in block 1: 4,128 bytes of headers
  expect_error(load_error(header, body), "more LSNs above the one before it than one block has records",
               format::index_header_bytes + 8);
  body.entries.back().lsn_delta = 128;  // 128 records of a header each fill block 1 exactly
  Result<log::SegmentIndex> index = log::SegmentIndex::from_body(header, body, "x.idx");
  ASSERT_TRUE(index.ok()) << index.status().to_string();
  EXPECT_EQ(index->locate(127), (format::IndexEntry{0, block_size_bytes}));
  EXPECT_EQ(index->locate(128), (format::IndexEntry{128, 2 * block_size_bytes}));
}

}  // namespace
}  // namespace segstore::engine
