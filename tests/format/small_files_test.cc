// tests/format/small_files_test.cc — META, CLEAN and application snapshot files: round trips
// and each SmallFileError from the damage that causes it.
#include "format/small_files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "format/layout.h"
#include "tests/format/damage.h"

namespace segstore::format {
namespace {

using testing::Bytes;
using testing::bytes_of;
using testing::fix_checksum;
using testing::flip_byte;
using testing::random_bytes;
using testing::set_u32;
using testing::set_u64;
using testing::set_u8;
using testing::truncate_to;

constexpr std::size_t version_at = 8;
constexpr std::size_t crc_at = 60;

void fix_header_checksum(Bytes &file) { fix_checksum(file, crc_at, 0, crc_at); }

MetaFile sample_meta() { return MetaFile{0x1111222233334444ull, 5000, 12}; }
CleanFile sample_clean() { return CleanFile{0x1111222233334444ull, 9001, 14, 3 * 4096 + 72}; }
SnapshotHeader sample_snapshot() { return SnapshotHeader{0x1111222233334444ull, 8999, 0}; }

SmallFileError meta_error(const Bytes &b) {
  MetaFile m;
  return decode_meta(b, &m);
}
SmallFileError clean_error(const Bytes &b) {
  CleanFile c;
  return decode_clean(b, &c);
}
SmallFileError snapshot_error(const Bytes &b) {
  SnapshotHeader h;
  std::span<const std::byte> state;
  return decode_snapshot(b, &h, &state);
}

// --- META ---

TEST(MetaFile, RoundTrip) {
  const Bytes file = encode_meta(sample_meta());
  ASSERT_EQ(file.size(), small_file_header_bytes);
  EXPECT_EQ(std::memcmp(file.data(), "SGSTMETA", 8), 0);
  EXPECT_EQ(load_u32(file.data() + 12), block_size_bytes);
  MetaFile out;
  ASSERT_EQ(decode_meta(file, &out), SmallFileError::none);
  EXPECT_EQ(out.store_id, sample_meta().store_id);
  EXPECT_EQ(out.first_lsn, 5000u);
  EXPECT_EQ(out.min_segment_id, 12u);
}

TEST(MetaFile, TruncationAtEveryLengthIsTooShort) {
  const Bytes file = encode_meta(sample_meta());
  for (std::size_t n = 0; n < file.size(); ++n)
    EXPECT_EQ(meta_error(truncate_to(file, n)), SmallFileError::too_short) << n;
}

TEST(MetaFile, WrongMagicIsBadMagic) {
  Bytes file = encode_meta(sample_meta());
  flip_byte(file, 7);
  EXPECT_EQ(meta_error(file), SmallFileError::bad_magic);
  // A CLEAN file is not a META file.
  EXPECT_EQ(meta_error(encode_clean(sample_clean())), SmallFileError::bad_magic);
  EXPECT_EQ(meta_error(Bytes(64)), SmallFileError::bad_magic);
}

TEST(MetaFile, UnknownVersionIsUnsupportedVersion) {
  Bytes file = encode_meta(sample_meta());
  set_u32(file, version_at, format_version + 1);
  EXPECT_EQ(meta_error(file), SmallFileError::unsupported_version);
  fix_header_checksum(file);
  EXPECT_EQ(meta_error(file), SmallFileError::unsupported_version);
}

TEST(MetaFile, OtherBlockSizeIsUnsupportedVersion) {
  Bytes file = encode_meta(sample_meta());
  set_u32(file, 12, 8192);
  fix_header_checksum(file);
  EXPECT_EQ(meta_error(file), SmallFileError::unsupported_version);
}

TEST(MetaFile, AnyFlippedByteAfterTheVersionIsChecksum) {
  for (std::size_t i = 12; i < small_file_header_bytes; ++i) {
    Bytes file = encode_meta(sample_meta());
    flip_byte(file, i);
    EXPECT_EQ(meta_error(file), SmallFileError::checksum) << "byte " << i;
  }
}

TEST(MetaFile, ResetFlagRoundTrips) {
  MetaFile meta = sample_meta();
  meta.discarded_by_reset = true;
  const Bytes file = encode_meta(meta);
  EXPECT_EQ(file[56], std::byte{1});
  MetaFile out;
  ASSERT_EQ(decode_meta(file, &out), SmallFileError::none);
  EXPECT_TRUE(out.discarded_by_reset);
  ASSERT_EQ(decode_meta(encode_meta(sample_meta()), &out), SmallFileError::none);
  EXPECT_FALSE(out.discarded_by_reset);
}

TEST(MetaFile, UnknownFlagIsBadField) {
  for (std::size_t i = 56; i < 60; ++i) {
    Bytes file = encode_meta(sample_meta());
    set_u8(file, i, i == 56 ? 2 : 1);  // bit 0 is the reset flag; every other bit is unknown
    fix_header_checksum(file);
    EXPECT_EQ(meta_error(file), SmallFileError::bad_field) << i;
  }
}

TEST(MetaFile, RecordedLossRoundTrips) {
  MetaFile meta = sample_meta();
  meta.lost_lsn_first = 49;
  meta.lost_lsn_end = 50;
  MetaFile out;
  ASSERT_EQ(decode_meta(encode_meta(meta), &out), SmallFileError::none);
  EXPECT_EQ(out.lost_lsn_first, 49u);
  EXPECT_EQ(out.lost_lsn_end, 50u);
  EXPECT_TRUE(out.has_unaccepted_loss());
  MetaFile none;
  ASSERT_EQ(decode_meta(encode_meta(sample_meta()), &none), SmallFileError::none);
  EXPECT_FALSE(none.has_unaccepted_loss());
}

// The loss is a non-empty range [first, end) or both fields zero: anything else is refused.
TEST(MetaFile, LossThatIsNoRangeIsBadField) {
  const std::pair<std::uint64_t, std::uint64_t> bad[] = {{5, 5}, {6, 5}, {1, 0}};
  for (const auto &[first, end] : bad) {
    Bytes file = encode_meta(sample_meta());
    set_u64(file, 40, first);
    set_u64(file, 48, end);
    fix_header_checksum(file);
    EXPECT_EQ(meta_error(file), SmallFileError::bad_field) << first << ".." << end;
  }
}

TEST(MetaFile, TrailingBytesAreLengthMismatch) {
  Bytes file = encode_meta(sample_meta());
  file.push_back(std::byte{0});
  EXPECT_EQ(meta_error(file), SmallFileError::length_mismatch);
}

// --- TRUNCATE ---

TEST(TruncateFile, RoundTrip) {
  const Bytes file = encode_truncate({0x1111222233334444ull, 77});
  ASSERT_EQ(file.size(), small_file_header_bytes);
  EXPECT_EQ(std::memcmp(file.data(), "SGSTTRNC", 8), 0);
  TruncateFile out;
  ASSERT_EQ(decode_truncate(file, &out), SmallFileError::none);
  EXPECT_EQ(out.store_id, 0x1111222233334444ull);
  EXPECT_EQ(out.cut_lsn, 77u);
}

TEST(TruncateFile, DamageIsRefused) {
  const Bytes good = encode_truncate({5, 9});
  for (std::size_t n = 0; n < good.size(); ++n) EXPECT_EQ(decode_truncate(truncate_to(good, n), nullptr), SmallFileError::too_short) << n;
  for (std::size_t i = 12; i < small_file_header_bytes; ++i) {
    Bytes file = good;
    flip_byte(file, i);
    EXPECT_EQ(decode_truncate(file, nullptr), SmallFileError::checksum) << "byte " << i;
  }
  for (std::size_t i : {12u, 32u, 59u}) {
    Bytes file = good;
    set_u8(file, i, 1);
    fix_header_checksum(file);
    EXPECT_EQ(decode_truncate(file, nullptr), SmallFileError::reserved_nonzero) << i;
  }
  EXPECT_EQ(decode_truncate(encode_clean(sample_clean()), nullptr), SmallFileError::bad_magic);
}

// --- CLEAN ---

TEST(CleanFile, RoundTrip) {
  const Bytes file = encode_clean(sample_clean());
  ASSERT_EQ(file.size(), small_file_header_bytes);
  EXPECT_EQ(std::memcmp(file.data(), "SGSTCLEN", 8), 0);
  CleanFile out;
  ASSERT_EQ(decode_clean(file, &out), SmallFileError::none);
  EXPECT_EQ(out.store_id, sample_clean().store_id);
  EXPECT_EQ(out.next_lsn, 9001u);
  EXPECT_EQ(out.active_segment_id, 14u);
  EXPECT_EQ(out.active_end_offset, 3u * 4096 + 72);
}

TEST(CleanFile, TruncationAtEveryLengthIsTooShort) {
  const Bytes file = encode_clean(sample_clean());
  for (std::size_t n = 0; n < file.size(); ++n)
    EXPECT_EQ(clean_error(truncate_to(file, n)), SmallFileError::too_short) << n;
}

TEST(CleanFile, WrongMagicIsBadMagic) {
  EXPECT_EQ(clean_error(encode_meta(sample_meta())), SmallFileError::bad_magic);
}

TEST(CleanFile, UnknownVersionIsUnsupportedVersion) {
  Bytes file = encode_clean(sample_clean());
  set_u32(file, version_at, 0);
  fix_header_checksum(file);
  EXPECT_EQ(clean_error(file), SmallFileError::unsupported_version);
}

TEST(CleanFile, AnyFlippedByteAfterTheVersionIsChecksum) {
  for (std::size_t i = 12; i < small_file_header_bytes; ++i) {
    Bytes file = encode_clean(sample_clean());
    flip_byte(file, i);
    EXPECT_EQ(clean_error(file), SmallFileError::checksum) << "byte " << i;
  }
}

TEST(CleanFile, NonzeroReservedIsReservedNonzero) {
  std::vector<std::size_t> reserved = {12, 13, 14, 15};
  for (std::size_t i = 44; i < 60; ++i) reserved.push_back(i);
  for (std::size_t i : reserved) {
    Bytes file = encode_clean(sample_clean());
    set_u8(file, i, 0x10);
    fix_header_checksum(file);
    EXPECT_EQ(clean_error(file), SmallFileError::reserved_nonzero) << i;
  }
}

TEST(CleanFile, TrailingBytesAreLengthMismatch) {
  Bytes file = encode_clean(sample_clean());
  file.resize(128);
  EXPECT_EQ(clean_error(file), SmallFileError::length_mismatch);
}

// --- Application snapshot ---

TEST(SnapshotFile, RoundTripWithState) {
  std::mt19937_64 rng(1);
  const Bytes state = random_bytes(rng, 100000);
  SnapshotHeader h = sample_snapshot();
  h.state_bytes = 1;  // ignored: taken from the state
  const Bytes file = encode_snapshot(h, state);
  ASSERT_EQ(file.size(), small_file_header_bytes + state.size());
  EXPECT_EQ(std::memcmp(file.data(), "SGSTSNAP", 8), 0);
  SnapshotHeader out;
  std::span<const std::byte> out_state;
  ASSERT_EQ(decode_snapshot(file, &out, &out_state), SmallFileError::none);
  EXPECT_EQ(out.store_id, h.store_id);
  EXPECT_EQ(out.lsn, 8999u);
  EXPECT_EQ(out.state_bytes, state.size());
  ASSERT_EQ(out_state.size(), state.size());
  EXPECT_TRUE(std::equal(state.begin(), state.end(), out_state.begin()));
  EXPECT_EQ(out_state.data(), file.data() + small_file_header_bytes);
}

TEST(SnapshotFile, RoundTripWithEmptyState) {
  const Bytes file = encode_snapshot(sample_snapshot(), {});
  SnapshotHeader out;
  std::span<const std::byte> state;
  ASSERT_EQ(decode_snapshot(file, &out, &state), SmallFileError::none);
  EXPECT_EQ(out.state_bytes, 0u);
  EXPECT_TRUE(state.empty());
}

TEST(SnapshotFile, TruncationAtEveryLengthIsAnError) {
  const Bytes file = encode_snapshot(sample_snapshot(), bytes_of("the application's state"));
  for (std::size_t n = 0; n < file.size(); ++n) {
    EXPECT_EQ(snapshot_error(truncate_to(file, n)),
              n < small_file_header_bytes ? SmallFileError::too_short
                                          : SmallFileError::length_mismatch)
        << n;
  }
}

TEST(SnapshotFile, WrongMagicIsBadMagic) {
  Bytes file = encode_snapshot(sample_snapshot(), bytes_of("x"));
  flip_byte(file, 0);
  EXPECT_EQ(snapshot_error(file), SmallFileError::bad_magic);
}

TEST(SnapshotFile, UnknownVersionIsUnsupportedVersion) {
  Bytes file = encode_snapshot(sample_snapshot(), bytes_of("x"));
  set_u32(file, version_at, 2);
  EXPECT_EQ(snapshot_error(file), SmallFileError::unsupported_version);
}

TEST(SnapshotFile, AnyFlippedHeaderByteAfterTheVersionIsChecksum) {
  for (std::size_t i = 12; i < small_file_header_bytes; ++i) {
    Bytes file = encode_snapshot(sample_snapshot(), bytes_of("state"));
    flip_byte(file, i);
    EXPECT_EQ(snapshot_error(file), SmallFileError::checksum) << "byte " << i;
  }
}

TEST(SnapshotFile, NonzeroReservedIsReservedNonzero) {
  for (std::size_t i = 40; i < 60; ++i) {
    Bytes file = encode_snapshot(sample_snapshot(), bytes_of("state"));
    set_u8(file, i, 2);
    fix_header_checksum(file);
    EXPECT_EQ(snapshot_error(file), SmallFileError::reserved_nonzero) << i;
  }
}

TEST(SnapshotFile, StateLengthDisagreeingWithFileSizeIsLengthMismatch) {
  for (std::uint64_t claimed : {std::uint64_t{0}, std::uint64_t{4}, std::uint64_t{6}, UINT64_MAX}) {
    Bytes file = encode_snapshot(sample_snapshot(), bytes_of("state"));
    set_u64(file, 32, claimed);
    fix_header_checksum(file);
    EXPECT_EQ(snapshot_error(file), SmallFileError::length_mismatch) << claimed;
  }
  Bytes longer = encode_snapshot(sample_snapshot(), bytes_of("state"));
  longer.push_back(std::byte{0});
  EXPECT_EQ(snapshot_error(longer), SmallFileError::length_mismatch);
}

TEST(SnapshotFile, FlippedStateByteIsStateChecksum) {
  const Bytes good = encode_snapshot(sample_snapshot(), bytes_of("the application's state"));
  for (std::size_t i = small_file_header_bytes; i < good.size(); ++i) {
    Bytes file = good;
    flip_byte(file, i);
    EXPECT_EQ(snapshot_error(file), SmallFileError::state_checksum) << "byte " << i;
  }
}

TEST(SmallFileErrorNames, EveryValueHasItsEnumName) {
  const std::pair<SmallFileError, const char *> names[] = {
      {SmallFileError::none, "none"},
      {SmallFileError::too_short, "too_short"},
      {SmallFileError::bad_magic, "bad_magic"},
      {SmallFileError::checksum, "checksum"},
      {SmallFileError::unsupported_version, "unsupported_version"},
      {SmallFileError::reserved_nonzero, "reserved_nonzero"},
      {SmallFileError::length_mismatch, "length_mismatch"},
      {SmallFileError::state_checksum, "state_checksum"},
      {SmallFileError::bad_field, "bad_field"},
  };
  for (const auto &[error, name] : names) EXPECT_STREQ(small_file_error_name(error), name);
  EXPECT_STREQ(small_file_error_name(static_cast<SmallFileError>(50)), "unknown");
}

}  // namespace
}  // namespace segstore::format
