// tests/format/segment_header_test.cc — block 0 of a segment: round trips and each
// SegmentHeaderError from the damage that causes it.
#include "format/segment_header.h"

#include <gtest/gtest.h>

#include <cstring>

#include "format/layout.h"
#include "format/record.h"
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
constexpr std::size_t block_size_at = 12;
constexpr std::size_t segment_bytes_at = 32;
constexpr std::size_t reserved_at = 56;
constexpr std::size_t header_crc_at = 60;

SegmentHeader sample_header() {
  SegmentHeader h;
  h.format_version = format_version;
  h.block_size_bytes = block_size_bytes;
  h.segment_id = 17;
  h.base_lsn = 123456789;
  h.segment_bytes = segment_size_default_bytes;
  h.created_unix_ms = 1795000000000;
  h.store_id = 0x0123456789abcdefull;
  return h;
}

// The whole block 0, as a reader gets it.
Bytes encode_block0(const SegmentHeader &h) {
  Bytes block(segment_header_block_bytes);
  encode_segment_header(h, block.data());
  return block;
}

void fix_header_checksum(Bytes &block) { fix_checksum(block, header_crc_at, 0, header_crc_at); }

SegmentHeaderError decode_error(const Bytes &bytes) {
  SegmentHeader out;
  return decode_segment_header(bytes, &out);
}

TEST(SegmentHeaderRoundTrip, AllFieldsSurvive) {
  const SegmentHeader h = sample_header();
  SegmentHeader out;
  ASSERT_EQ(decode_segment_header(encode_block0(h), &out), SegmentHeaderError::none);
  EXPECT_EQ(out.format_version, format_version);
  EXPECT_EQ(out.block_size_bytes, block_size_bytes);
  EXPECT_EQ(out.segment_id, h.segment_id);
  EXPECT_EQ(out.base_lsn, h.base_lsn);
  EXPECT_EQ(out.segment_bytes, h.segment_bytes);
  EXPECT_EQ(out.created_unix_ms, h.created_unix_ms);
  EXPECT_EQ(out.store_id, h.store_id);
}

TEST(SegmentHeaderRoundTrip, SmallestAndLargestSegmentSizesAndExtremeIds) {
  for (std::uint64_t size : {segment_size_min_bytes, segment_size_max_bytes}) {
    SegmentHeader h = sample_header();
    h.segment_bytes = size;
    h.segment_id = UINT64_MAX;
    h.base_lsn = UINT64_MAX;
    h.store_id = 0;
    SegmentHeader out;
    ASSERT_EQ(decode_segment_header(encode_block0(h), &out), SegmentHeaderError::none) << size;
    EXPECT_EQ(out.segment_bytes, size);
    EXPECT_EQ(out.segment_id, UINT64_MAX);
    EXPECT_EQ(out.base_lsn, UINT64_MAX);
  }
}

TEST(SegmentHeaderRoundTrip, HeaderOfExactly64BytesDecodes) {
  const Bytes block = encode_block0(sample_header());
  EXPECT_EQ(decode_error(truncate_to(block, segment_header_bytes)), SegmentHeaderError::none);
}

TEST(SegmentHeaderEncode, MagicAndFieldsAtTheDocumentedOffsets) {
  const Bytes block = encode_block0(sample_header());
  EXPECT_EQ(std::memcmp(block.data(), "SGSTSEG1", 8), 0);
  EXPECT_EQ(load_u32(block.data() + version_at), format_version);
  EXPECT_EQ(load_u32(block.data() + block_size_at), block_size_bytes);
  EXPECT_EQ(load_u64(block.data() + 16), 17u);
  EXPECT_EQ(load_u64(block.data() + 48), 0x0123456789abcdefull);
  EXPECT_EQ(load_u32(block.data() + header_crc_at),
            crc32c_mask(crc32c(std::span<const std::byte>(block).first(60))));
  EXPECT_TRUE(all_zero(block.data() + segment_header_bytes,
                       block.size() - segment_header_bytes));
}

TEST(SegmentHeaderEncodeDeathTest, HeaderTheReaderWouldRefuseIsNotWritten) {
  Bytes block(segment_header_block_bytes);
  SegmentHeader h = sample_header();
  h.format_version = 0;
  EXPECT_DEATH(encode_segment_header(h, block.data()), "format_version");
  h = sample_header();
  h.block_size_bytes = 8192;
  EXPECT_DEATH(encode_segment_header(h, block.data()), "block_size");
  h = sample_header();
  h.segment_bytes = segment_size_min_bytes + 1;
  EXPECT_DEATH(encode_segment_header(h, block.data()), "segment_bytes");
}

TEST(SegmentHeaderDecode, AllZeroBlockZeroIsUnused) {
  EXPECT_EQ(decode_error(Bytes(segment_header_block_bytes)), SegmentHeaderError::unused);
  EXPECT_EQ(decode_error(Bytes(segment_header_bytes)), SegmentHeaderError::unused);
}

TEST(SegmentHeaderDecode, ZeroHeaderWithBytesLaterInBlockZeroIsDamageNotUnused) {
  Bytes block(segment_header_block_bytes);
  set_u8(block, 4000, 1);
  EXPECT_EQ(decode_error(block), SegmentHeaderError::bad_magic);
}

TEST(SegmentHeaderDecode, BytesAfterTheFirstBlockDoNotMakeItUsed) {
  Bytes two_blocks(2 * segment_header_block_bytes);
  set_u8(two_blocks, segment_header_block_bytes + 5, 1);  // a record, not the header
  EXPECT_EQ(decode_error(two_blocks), SegmentHeaderError::unused);
}

TEST(SegmentHeaderDecode, TruncationAtEveryLengthIsTooShort) {
  const Bytes block = encode_block0(sample_header());
  for (std::size_t n = 0; n < segment_header_bytes; ++n)
    EXPECT_EQ(decode_error(truncate_to(block, n)), SegmentHeaderError::too_short) << n;
}

TEST(SegmentHeaderDecode, WrongMagicIsBadMagic) {
  for (std::size_t i = 0; i < 8; ++i) {
    Bytes block = encode_block0(sample_header());
    flip_byte(block, i);
    EXPECT_EQ(decode_error(block), SegmentHeaderError::bad_magic) << i;
  }
}

TEST(SegmentHeaderDecode, UnknownVersionIsUnsupportedEvenBeforeTheChecksum) {
  for (std::uint32_t version : {0u, format_version_recycled + 1, UINT32_MAX}) {
    Bytes block = encode_block0(sample_header());
    set_u32(block, version_at, version);
    // Without fixing the checksum: a newer format may checksum differently.
    EXPECT_EQ(decode_error(block), SegmentHeaderError::unsupported_version) << version;
    fix_header_checksum(block);
    EXPECT_EQ(decode_error(block), SegmentHeaderError::unsupported_version) << version;
  }
}

TEST(SegmentHeaderDecode, AnyFlippedByteAfterTheVersionIsHeaderChecksum) {
  for (std::size_t i = block_size_at; i < segment_header_bytes; ++i) {
    Bytes block = encode_block0(sample_header());
    flip_byte(block, i);
    EXPECT_EQ(decode_error(block), SegmentHeaderError::header_checksum) << "byte " << i;
  }
}

TEST(SegmentHeaderDecode, OtherBlockSizeIsBadBlockSize) {
  for (std::uint32_t size : {0u, 512u, 8192u}) {
    Bytes block = encode_block0(sample_header());
    set_u32(block, block_size_at, size);
    fix_header_checksum(block);
    EXPECT_EQ(decode_error(block), SegmentHeaderError::bad_block_size) << size;
  }
}

TEST(SegmentHeaderDecode, NonzeroReservedIsReservedNonzero) {
  for (std::size_t i = reserved_at; i < reserved_at + 4; ++i) {
    Bytes block = encode_block0(sample_header());
    set_u8(block, i, 0x80);
    fix_header_checksum(block);
    EXPECT_EQ(decode_error(block), SegmentHeaderError::reserved_nonzero) << i;
  }
}

TEST(SegmentHeaderDecode, SegmentSizeOutOfRangeOrUnalignedIsBadSegmentSize) {
  for (std::uint64_t size : {std::uint64_t{0}, segment_size_min_bytes - block_size_bytes,
                             segment_size_min_bytes + 8, segment_size_max_bytes + block_size_bytes,
                             UINT64_MAX}) {
    Bytes block = encode_block0(sample_header());
    set_u64(block, segment_bytes_at, size);
    fix_header_checksum(block);
    EXPECT_EQ(decode_error(block), SegmentHeaderError::bad_segment_size) << size;
  }
}

TEST(SegmentHeaderDecode, ChecksumIsCheckedBeforeBlockSizeAndSegmentSize) {
  Bytes block = encode_block0(sample_header());
  set_u32(block, block_size_at, 8192);
  set_u64(block, segment_bytes_at, 1);
  EXPECT_EQ(decode_error(block), SegmentHeaderError::header_checksum);
}

TEST(SegmentHeaderDecode, RestOfBlockZeroIsNotInterpreted) {
  // Only bytes 0..63 are checksummed; the rest of block 0 is written as zero but a reader
  // does not refuse a segment whose header is intact because of a flipped byte there.
  Bytes block = encode_block0(sample_header());
  set_u8(block, 100, 0x5a);
  EXPECT_EQ(decode_error(block), SegmentHeaderError::none);
}

TEST(SegmentHeaderErrorNames, EveryValueHasItsEnumName) {
  const std::pair<SegmentHeaderError, const char *> names[] = {
      {SegmentHeaderError::none, "none"},
      {SegmentHeaderError::unused, "unused"},
      {SegmentHeaderError::too_short, "too_short"},
      {SegmentHeaderError::bad_magic, "bad_magic"},
      {SegmentHeaderError::header_checksum, "header_checksum"},
      {SegmentHeaderError::unsupported_version, "unsupported_version"},
      {SegmentHeaderError::bad_block_size, "bad_block_size"},
      {SegmentHeaderError::reserved_nonzero, "reserved_nonzero"},
      {SegmentHeaderError::bad_segment_size, "bad_segment_size"},
  };
  for (const auto &[error, name] : names) EXPECT_STREQ(segment_header_error_name(error), name);
  EXPECT_STREQ(segment_header_error_name(static_cast<SegmentHeaderError>(99)), "unknown");
}

// A recycled segment: version 2, its flags kept; the seed of its records follows its id.
TEST(SegmentHeaderRecycled, FlagsRoundTripWithVersion2) {
  for (std::uint32_t flags : {segment_flag_recycled, segment_flag_recycled | segment_flag_spare}) {
    SegmentHeader h = sample_header();
    h.flags = flags;
    h.format_version = segment_format_version_for(flags);
    EXPECT_EQ(h.format_version, format_version_recycled);
    SegmentHeader out;
    ASSERT_EQ(decode_segment_header(encode_block0(h), &out), SegmentHeaderError::none) << flags;
    EXPECT_EQ(out.flags, flags);
    EXPECT_EQ(out.format_version, format_version_recycled);
    EXPECT_TRUE(out.recycled());
    EXPECT_EQ(out.spare(), (flags & segment_flag_spare) != 0);
    EXPECT_EQ(record_crc_seed_of(out), record_crc_seed(h.segment_id));
    EXPECT_NE(record_crc_seed_of(out), 0u);
  }
  EXPECT_EQ(record_crc_seed_of(sample_header()), 0u);  // version 1: unseeded
}

// Version 1 has no flags; version 2 exists for recycled segments only, and knows two bits.
TEST(SegmentHeaderRecycled, FlagsOutsideTheirVersionAreReservedNonzero) {
  struct Case {
    std::uint32_t version;
    std::uint32_t flags;
  };
  for (const Case c : {Case{format_version, segment_flag_recycled}, Case{format_version, segment_flag_spare},
                       Case{format_version_recycled, 0}, Case{format_version_recycled, segment_flag_spare},
                       Case{format_version_recycled, segment_flag_recycled | 4u},
                       Case{format_version_recycled, segment_flag_recycled | 0x80000000u}}) {
    Bytes block = encode_block0(sample_header());
    set_u32(block, version_at, c.version);
    set_u32(block, reserved_at, c.flags);
    fix_header_checksum(block);
    EXPECT_EQ(decode_error(block), SegmentHeaderError::reserved_nonzero) << c.version << " " << c.flags;
  }
}

}  // namespace
}  // namespace segstore::format
