// tests/format/index_snapshot_test.cc — "<segment id>.idx": round trips (empty body, many
// entries, several streams) and each IndexError from the damage that causes it.
#include "format/index_snapshot.h"

#include <gtest/gtest.h>

#include <cstring>

#include "format/layout.h"
#include "tests/format/damage.h"

namespace segstore::format {
namespace {

using testing::Bytes;
using testing::fix_checksum;
using testing::flip_byte;
using testing::set_u32;
using testing::set_u64;
using testing::set_u8;
using testing::truncate_to;

constexpr std::size_t version_at = 8;
constexpr std::size_t entry_count_at = 12;
constexpr std::size_t stream_count_at = 52;
constexpr std::size_t body_bytes_at = 56;
constexpr std::size_t body_crc_at = 64;
constexpr std::size_t reserved_at = 68;
constexpr std::size_t header_crc_at = 76;
constexpr std::size_t body_at = index_header_bytes;

IndexHeader sample_header() {
  IndexHeader h;
  h.format_version = format_version;
  h.segment_id = 3;
  h.base_lsn = 1000;
  h.store_id = 0xfeedfacecafebeefull;
  h.record_count = 250;
  h.end_offset = 5 * block_size_bytes + 24;
  return h;
}

StreamEntry stream_entry(std::uint32_t id, std::uint64_t records, std::size_t bitmap_bytes) {
  StreamEntry s;
  s.stream = id;
  s.record_count = records;
  for (std::size_t i = 0; i < bitmap_bytes; ++i)
    s.bitmap.push_back(static_cast<std::byte>((id + i) & 0xff));
  return s;
}

IndexBody sample_body() {
  IndexBody body;
  body.entries = {{0, 4096}, {60, 8192}, {130, 12288}, {200, 16384}, {249, 20480}};
  body.streams = {stream_entry(1, 100, 14), stream_entry(2, 0, 0), stream_entry(9, 150, 33)};
  return body;
}

// Re-signs the body and then the header: damage no checksum can see, so the decoder must
// find it by its structural checks.
void fix_checksums(Bytes &file) {
  fix_checksum(file, body_crc_at, body_at, file.size());
  fix_checksum(file, header_crc_at, 0, header_crc_at);
}

IndexError decode_error(const Bytes &file) {
  IndexHeader header;
  IndexBody body;
  return decode_index_snapshot(file, &header, &body);
}

void expect_round_trip(const IndexHeader &h, const IndexBody &body) {
  const Bytes file = encode_index_snapshot(h, body);
  IndexHeader header;
  IndexBody decoded;
  ASSERT_EQ(decode_index_snapshot(file, &header, &decoded), IndexError::none);
  EXPECT_EQ(header.format_version, format_version);
  EXPECT_EQ(header.segment_id, h.segment_id);
  EXPECT_EQ(header.base_lsn, h.base_lsn);
  EXPECT_EQ(header.store_id, h.store_id);
  EXPECT_EQ(header.record_count, h.record_count);
  EXPECT_EQ(header.end_offset, h.end_offset);
  EXPECT_EQ(header.entry_count, body.entries.size());
  EXPECT_EQ(header.stream_count, body.streams.size());
  EXPECT_EQ(header.body_bytes, file.size() - index_header_bytes);
  EXPECT_EQ(decoded.entries, body.entries);
  EXPECT_EQ(decoded.streams, body.streams);
}

TEST(IndexSnapshotRoundTrip, EmptyBody) {
  expect_round_trip(sample_header(), IndexBody{});
  EXPECT_EQ(encode_index_snapshot(sample_header(), IndexBody{}).size(), index_header_bytes);
}

TEST(IndexSnapshotRoundTrip, SeveralStreamsWithEmptyAndNonEmptyBitmaps) {
  expect_round_trip(sample_header(), sample_body());
}

TEST(IndexSnapshotRoundTrip, ManyEntriesAndStreams) {
  IndexBody body;
  for (std::uint32_t i = 0; i < 20000; ++i) body.entries.push_back({i * 3, 4096 + i * 4096});
  for (std::uint32_t s = 0; s < 300; ++s) body.streams.push_back(stream_entry(s * 2 + 1, s, s % 50));
  expect_round_trip(sample_header(), body);
}

TEST(IndexSnapshotEncode, FillsCountsBodySizeAndChecksumFromTheBody) {
  IndexHeader h = sample_header();
  h.entry_count = 999;  // stale values are replaced
  h.stream_count = 999;
  h.body_bytes = 1;
  h.body_crc = 1;
  const Bytes file = encode_index_snapshot(h, sample_body());
  // 5 entries * 8 + 3 streams * 16 + (14 + 0 + 33) bitmap bytes
  EXPECT_EQ(file.size(), index_header_bytes + 5 * 8 + 3 * 16 + 47);
  EXPECT_EQ(load_u32(file.data() + entry_count_at), 5u);
  EXPECT_EQ(load_u32(file.data() + stream_count_at), 3u);
  EXPECT_EQ(load_u64(file.data() + body_bytes_at), file.size() - index_header_bytes);
  EXPECT_EQ(crc32c_unmask(load_u32(file.data() + body_crc_at)),
            crc32c(std::span<const std::byte>(file).subspan(body_at)));
  EXPECT_EQ(std::memcmp(file.data(), "SGSTIDX1", 8), 0);
  // The first entry is (0, 4096), right after the header.
  EXPECT_EQ(load_u32(file.data() + body_at), 0u);
  EXPECT_EQ(load_u32(file.data() + body_at + 4), 4096u);
}

TEST(IndexSnapshotEncodeDeathTest, UnsortedBodyIsNotWritten) {
  IndexBody body = sample_body();
  body.entries[2].offset = body.entries[1].offset;
  EXPECT_DEATH(encode_index_snapshot(sample_header(), body), "entries");
  body = sample_body();
  body.streams[1].stream = body.streams[0].stream;
  EXPECT_DEATH(encode_index_snapshot(sample_header(), body), "streams");
  IndexHeader h = sample_header();
  h.format_version = 7;
  EXPECT_DEATH(encode_index_snapshot(h, sample_body()), "format_version");
}

TEST(IndexSnapshotHeader, DecodesFromTheFirst80BytesAlone) {
  const Bytes file = encode_index_snapshot(sample_header(), sample_body());
  IndexHeader header;
  ASSERT_EQ(decode_index_header(truncate_to(file, index_header_bytes), &header), IndexError::none);
  EXPECT_EQ(header.entry_count, 5u);
  EXPECT_EQ(header.stream_count, 3u);
  EXPECT_EQ(header.body_bytes, file.size() - index_header_bytes);
  EXPECT_EQ(header.body_crc, crc32c(std::span<const std::byte>(file).subspan(body_at)));
}

TEST(IndexSnapshotDecode, TruncationAtEveryLengthIsAnError) {
  const Bytes file = encode_index_snapshot(sample_header(), sample_body());
  for (std::size_t n = 0; n < file.size(); ++n) {
    const IndexError e = decode_error(truncate_to(file, n));
    EXPECT_EQ(e, n < index_header_bytes ? IndexError::too_short : IndexError::body_size_mismatch)
        << n;
  }
}

TEST(IndexSnapshotDecode, WrongMagicIsBadMagic) {
  Bytes file = encode_index_snapshot(sample_header(), sample_body());
  flip_byte(file, 3);
  EXPECT_EQ(decode_error(file), IndexError::bad_magic);
}

TEST(IndexSnapshotDecode, UnknownVersionIsUnsupportedVersion) {
  Bytes file = encode_index_snapshot(sample_header(), sample_body());
  set_u32(file, version_at, format_version + 1);
  EXPECT_EQ(decode_error(file), IndexError::unsupported_version);
  fix_checksums(file);
  EXPECT_EQ(decode_error(file), IndexError::unsupported_version);
}

TEST(IndexSnapshotDecode, AnyFlippedHeaderByteAfterTheVersionIsHeaderChecksum) {
  for (std::size_t i = entry_count_at; i < index_header_bytes; ++i) {
    Bytes file = encode_index_snapshot(sample_header(), sample_body());
    flip_byte(file, i);
    EXPECT_EQ(decode_error(file), IndexError::header_checksum) << "byte " << i;
  }
}

TEST(IndexSnapshotDecode, NonzeroReservedIsReservedNonzero) {
  for (std::size_t i = reserved_at; i < reserved_at + 8; ++i) {
    Bytes file = encode_index_snapshot(sample_header(), sample_body());
    set_u8(file, i, 1);
    fix_checksums(file);
    EXPECT_EQ(decode_error(file), IndexError::reserved_nonzero) << i;
  }
}

TEST(IndexSnapshotDecode, RecordCountPastTheLsnLimitIsLsnPastLimit) {
  // base_lsn 1000: at most 2^64 - 1 - 1000 records keep next_lsn within the limit.
  constexpr std::size_t record_count_at = 40;
  Bytes file = encode_index_snapshot(sample_header(), sample_body());
  set_u64(file, record_count_at, next_lsn_max - 1000);
  fix_checksums(file);
  EXPECT_EQ(decode_index_header(file, nullptr), IndexError::none);
  set_u64(file, record_count_at, next_lsn_max - 999);
  fix_checksums(file);
  EXPECT_EQ(decode_index_header(file, nullptr), IndexError::lsn_past_limit);
  EXPECT_EQ(decode_error(file), IndexError::lsn_past_limit);
}

TEST(IndexSnapshotDecode, TrailingBytesAfterTheBodyAreBodySizeMismatch) {
  Bytes file = encode_index_snapshot(sample_header(), sample_body());
  file.push_back(std::byte{0});
  EXPECT_EQ(decode_error(file), IndexError::body_size_mismatch);
}

TEST(IndexSnapshotDecode, FlippedBodyByteIsBodyChecksum) {
  const Bytes good = encode_index_snapshot(sample_header(), sample_body());
  for (std::size_t i = body_at; i < good.size(); ++i) {
    Bytes file = good;
    flip_byte(file, i);
    EXPECT_EQ(decode_error(file), IndexError::body_checksum) << "byte " << i;
  }
}

TEST(IndexSnapshotDecode, HugeEntryCountIsRefusedBeforeAllocating) {
  Bytes file = encode_index_snapshot(sample_header(), sample_body());
  set_u32(file, entry_count_at, UINT32_MAX);  // 32 GiB of entries if trusted
  fix_checksums(file);
  EXPECT_EQ(decode_error(file), IndexError::body_size_mismatch);
}

TEST(IndexSnapshotDecode, HugeStreamCountIsRefusedBeforeAllocating) {
  Bytes file = encode_index_snapshot(sample_header(), sample_body());
  set_u32(file, stream_count_at, UINT32_MAX);
  fix_checksums(file);
  EXPECT_EQ(decode_error(file), IndexError::body_size_mismatch);
}

TEST(IndexSnapshotDecode, CountsThatLeaveBytesUnaccountedForAreBodySizeMismatch) {
  Bytes file = encode_index_snapshot(sample_header(), sample_body());
  set_u32(file, stream_count_at, 2);  // the third stream's bytes are left over
  fix_checksums(file);
  EXPECT_EQ(decode_error(file), IndexError::body_size_mismatch);
}

TEST(IndexSnapshotDecode, StreamFixedPartPastTheBodyIsBodySizeMismatch) {
  // Stream 1 (16 + 10 bitmap bytes) then stream 2 (16 bytes) is 42 bytes; cut to 40, the
  // count passes the up-front check (2 * 16 <= 40) but stream 2's fixed part is incomplete.
  IndexBody body;
  body.streams = {stream_entry(1, 1, 10), stream_entry(2, 1, 0)};
  Bytes file = encode_index_snapshot(sample_header(), body);
  ASSERT_EQ(file.size(), index_header_bytes + 42);
  file = truncate_to(file, file.size() - 2);
  set_u64(file, body_bytes_at, file.size() - index_header_bytes);
  fix_checksums(file);
  EXPECT_EQ(decode_error(file), IndexError::body_size_mismatch);
}

TEST(IndexSnapshotDecode, EqualOrFallingEntriesAreEntriesNotSorted) {
  // Entry i is at body_at + 8 * i: lsn_delta then offset.
  struct Edit {
    std::size_t at;
    std::uint32_t value;
  };
  const Edit edits[] = {
      {body_at + 8 * 2, 60},         // lsn_delta equal to the previous entry's
      {body_at + 8 * 2, 10},         // lsn_delta falling
      {body_at + 8 * 2 + 4, 8192},   // offset equal to the previous entry's
      {body_at + 8 * 4 + 4, 4096},   // offset falling (last entry)
  };
  for (const Edit &edit : edits) {
    Bytes file = encode_index_snapshot(sample_header(), sample_body());
    set_u32(file, edit.at, edit.value);
    fix_checksums(file);
    EXPECT_EQ(decode_error(file), IndexError::entries_not_sorted) << edit.at << "=" << edit.value;
  }
}

TEST(IndexSnapshotDecode, EqualOrFallingStreamIdsAreStreamsNotSorted) {
  const std::size_t streams_at = body_at + 5 * 8;
  const std::size_t second_stream_at = streams_at + 16 + 14;  // after stream 1 and its bitmap
  for (std::uint32_t id : {1u, 0u}) {
    Bytes file = encode_index_snapshot(sample_header(), sample_body());
    ASSERT_EQ(load_u32(file.data() + second_stream_at), 2u);
    set_u32(file, second_stream_at, id);
    fix_checksums(file);
    EXPECT_EQ(decode_error(file), IndexError::streams_not_sorted) << id;
  }
}

TEST(IndexSnapshotDecode, BitmapLengthRunningPastTheBodyIsBitmapPastEnd) {
  const std::size_t streams_at = body_at + 5 * 8;
  const std::size_t last_stream_at = streams_at + 16 + 14 + 16;  // stream 9
  ASSERT_EQ(load_u32(encode_index_snapshot(sample_header(), sample_body()).data() + last_stream_at),
            9u);
  for (std::uint32_t bitmap_bytes : {34u, UINT32_MAX}) {
    Bytes file = encode_index_snapshot(sample_header(), sample_body());
    set_u32(file, last_stream_at + 4, bitmap_bytes);
    fix_checksums(file);
    EXPECT_EQ(decode_error(file), IndexError::bitmap_past_end) << bitmap_bytes;
  }
}

TEST(IndexSnapshotDecode, ErrorLeavesTheBodyEmpty) {
  Bytes file = encode_index_snapshot(sample_header(), sample_body());
  set_u32(file, body_at + 8 * 4 + 4, 4096);
  fix_checksums(file);
  IndexHeader header;
  IndexBody body = sample_body();
  EXPECT_EQ(decode_index_snapshot(file, &header, &body), IndexError::entries_not_sorted);
  EXPECT_TRUE(body.entries.empty());
  EXPECT_TRUE(body.streams.empty());
}

TEST(IndexErrorNames, EveryValueHasItsEnumName) {
  const std::pair<IndexError, const char *> names[] = {
      {IndexError::none, "none"},
      {IndexError::too_short, "too_short"},
      {IndexError::bad_magic, "bad_magic"},
      {IndexError::header_checksum, "header_checksum"},
      {IndexError::unsupported_version, "unsupported_version"},
      {IndexError::reserved_nonzero, "reserved_nonzero"},
      {IndexError::body_size_mismatch, "body_size_mismatch"},
      {IndexError::body_checksum, "body_checksum"},
      {IndexError::entries_not_sorted, "entries_not_sorted"},
      {IndexError::streams_not_sorted, "streams_not_sorted"},
      {IndexError::bitmap_past_end, "bitmap_past_end"},
  };
  for (const auto &[error, name] : names) EXPECT_STREQ(index_error_name(error), name);
  EXPECT_STREQ(index_error_name(static_cast<IndexError>(77)), "unknown");
}

}  // namespace
}  // namespace segstore::format
