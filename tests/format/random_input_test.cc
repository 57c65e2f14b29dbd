// tests/format/random_input_test.cc — every decoder against seeded random byte strings and
// randomly damaged encodings (some re-signed so the damage reaches the structural checks):
// each input gives a known error value or a result that stays inside the input.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>

#include "format/index_snapshot.h"
#include "format/layout.h"
#include "format/record.h"
#include "format/segment_header.h"
#include "format/small_files.h"
#include "tests/format/damage.h"

namespace segstore::format {
namespace {

using testing::Bytes;
using testing::fix_checksum;
using testing::random_bytes;

constexpr int iterations = 4000;

bool inside(std::span<const std::byte> part, const Bytes &whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Overwrites 1..4 random bytes with random values, and sometimes cuts the input short.
Bytes damage(std::mt19937_64 &rng, Bytes bytes) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits && !bytes.empty(); ++i)
    bytes[rng() % bytes.size()] = static_cast<std::byte>(rng() & 0xff);
  if (rng() % 4 == 0 && !bytes.empty()) bytes = testing::truncate_to(bytes, rng() % bytes.size());
  return bytes;
}

Bytes random_input(std::mt19937_64 &rng) {
  const std::size_t sizes[] = {rng() % 8, rng() % 100, rng() % 5000, 32, 64, 80};
  return random_bytes(rng, sizes[rng() % 6]);
}

void check_record(const Bytes &bytes, std::set<RecordError> &seen) {
  const std::uint64_t expected = 5;
  const DecodeOutcome out = decode_record(bytes, (bytes.size() % 2) ? &expected : nullptr);
  ASSERT_STRNE(record_error_name(out.error), "unknown");
  seen.insert(out.error);
  if (out.error != RecordError::none) return;
  ASSERT_TRUE(inside(out.record.payload, bytes));
  ASSERT_LE(out.record.disk_bytes, bytes.size());
  ASSERT_EQ(out.record.payload.size(), out.record.header.payload_bytes);
}

TEST(RandomInput, RecordDecoderNeverCrashesAndStaysInBounds) {
  std::mt19937_64 rng(0x5e65'0001);
  std::set<RecordError> seen;
  for (int i = 0; i < iterations; ++i) {
    check_record(random_input(rng), seen);
    // A valid record, damaged, and re-signed half the time so the damage passes the header
    // checksum and reaches the later checks.
    RecordHeader h;
    h.lsn = 5;
    h.type = static_cast<RecordType>(1 + rng() % record_type_max);
    const Bytes payload = random_bytes(rng, rng() % 64);
    Bytes good(record_disk_bytes(payload.size()) + rng() % 16);
    encode_record(h, payload, good.data());
    Bytes bad = damage(rng, good);
    if (rng() % 2 == 0 && bad.size() >= record_header_bytes) fix_checksum(bad, 0, 4, 32);
    check_record(bad, seen);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The damage reached every check: the loop exercised the whole decoder.
  for (RecordError e : {RecordError::none, RecordError::truncated_header, RecordError::header_checksum,
                        RecordError::bad_type, RecordError::reserved_nonzero,
                        RecordError::length_too_large, RecordError::length_past_end,
                        RecordError::payload_checksum, RecordError::padding_nonzero,
                        RecordError::lsn_out_of_order})
    EXPECT_TRUE(seen.count(e)) << record_error_name(e) << " never produced";
}

TEST(RandomInput, SegmentHeaderDecoderNeverCrashes) {
  std::mt19937_64 rng(0x5e65'0002);
  std::set<SegmentHeaderError> seen;
  SegmentHeader h;
  h.format_version = format_version;
  h.block_size_bytes = block_size_bytes;
  h.segment_bytes = segment_size_default_bytes;
  Bytes good(segment_header_block_bytes);
  encode_segment_header(h, good.data());
  for (int i = 0; i < iterations; ++i) {
    for (Bytes bytes : {random_input(rng), damage(rng, good)}) {
      if (rng() % 2 == 0 && bytes.size() >= segment_header_bytes) fix_checksum(bytes, 60, 0, 60);
      SegmentHeader out;
      const SegmentHeaderError e = decode_segment_header(bytes, &out);
      ASSERT_STRNE(segment_header_error_name(e), "unknown");
      seen.insert(e);
      if (e == SegmentHeaderError::none) {
        ASSERT_EQ(out.segment_bytes % block_size_bytes, 0u);
      }
    }
  }
  EXPECT_GE(seen.size(), 6u);
}

TEST(RandomInput, IndexSnapshotDecoderNeverCrashesOrOverAllocates) {
  std::mt19937_64 rng(0x5e65'0003);
  std::set<IndexError> seen;
  IndexHeader h;
  h.format_version = format_version;
  IndexBody body;
  body.entries = {{0, 4096}, {10, 8192}, {20, 9000}};
  body.streams = {{1, 5, Bytes(7, std::byte{1})}, {4, 9, Bytes(3, std::byte{2})}};
  const Bytes good = encode_index_snapshot(h, body);
  for (int i = 0; i < iterations; ++i) {
    for (Bytes bytes : {random_input(rng), damage(rng, good)}) {
      if (rng() % 2 == 0 && bytes.size() >= index_header_bytes) {
        fix_checksum(bytes, 64, index_header_bytes, bytes.size());
        fix_checksum(bytes, 76, 0, 76);
      }
      IndexHeader header;
      IndexBody decoded;
      const IndexError e = decode_index_snapshot(bytes, &header, &decoded);
      ASSERT_STRNE(index_error_name(e), "unknown");
      seen.insert(e);
      if (e != IndexError::none) continue;
      ASSERT_EQ(decoded.entries.size(), header.entry_count);
      ASSERT_EQ(decoded.streams.size(), header.stream_count);
      ASSERT_LE(decoded.entries.size() * 8 + decoded.streams.size() * 16, bytes.size());
    }
  }
  EXPECT_GE(seen.size(), 8u);
}

TEST(RandomInput, SmallFileDecodersNeverCrash) {
  std::mt19937_64 rng(0x5e65'0004);
  std::set<SmallFileError> seen;
  const Bytes goods[] = {encode_meta({1, 2, 3}), encode_clean({1, 2, 3, 4}),
                         encode_snapshot({1, 2, 0}, random_bytes(rng, 40))};
  for (int i = 0; i < iterations; ++i) {
    for (Bytes bytes : {random_input(rng), damage(rng, goods[i % 3])}) {
      if (rng() % 2 == 0 && bytes.size() >= small_file_header_bytes) fix_checksum(bytes, 60, 0, 60);
      MetaFile meta;
      CleanFile clean;
      SnapshotHeader snap;
      std::span<const std::byte> state;
      const SmallFileError errors[] = {decode_meta(bytes, &meta), decode_clean(bytes, &clean),
                                       decode_snapshot(bytes, &snap, &state)};
      for (SmallFileError e : errors) {
        ASSERT_STRNE(small_file_error_name(e), "unknown");
        seen.insert(e);
      }
      if (errors[2] == SmallFileError::none) {
        ASSERT_TRUE(inside(state, bytes));
        ASSERT_EQ(state.size(), snap.state_bytes);
      }
    }
  }
  EXPECT_GE(seen.size(), 7u);
}

}  // namespace
}  // namespace segstore::format
