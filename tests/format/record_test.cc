// tests/format/record_test.cc — records: round trips at every size that matters, and each
// RecordError produced by the damage that causes it.
#include "format/record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "format/crc32c.h"
#include "format/endian.h"
#include "format/layout.h"
#include "tests/format/damage.h"

namespace segstore::format {
namespace {

using testing::Bytes;
using testing::fix_checksum;
using testing::flip_byte;
using testing::random_bytes;
using testing::set_u16;
using testing::set_u32;
using testing::set_u8;
using testing::truncate_to;

// Header field offsets, from the byte table in format/record.h.
constexpr std::size_t header_crc_at = 0;
constexpr std::size_t payload_crc_at = 4;
constexpr std::size_t lsn_at = 8;
constexpr std::size_t payload_bytes_at = 16;
constexpr std::size_t type_at = 24;
constexpr std::size_t flags_at = 25;
constexpr std::size_t reserved_at = 26;

RecordHeader header_for(std::uint64_t lsn, RecordType type = RecordType::full) {
  RecordHeader h;
  h.lsn = lsn;
  h.stream = 7;
  h.type = type;
  h.durable_lag = 3;
  return h;
}

Bytes encode(const RecordHeader &header, const Bytes &payload) {
  Bytes out(record_disk_bytes(payload.size()), std::byte{0xEE});  // poison: the gap must be zeroed
  EXPECT_EQ(encode_record(header, payload, out.data()), out.size());
  return out;
}

Bytes pattern_payload(std::size_t n) {
  Bytes p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::byte>((i * 31 + 7) & 0xff);
  return p;
}

// Makes a header edit invisible to the header checksum: the damage a writer bug would cause.
void fix_header_checksum(Bytes &record) { fix_checksum(record, header_crc_at, 4, record_header_bytes); }

RecordError decode_error(const Bytes &bytes, const std::uint64_t *expected = nullptr) {
  return decode_record(bytes, expected).error;
}

void expect_round_trip(std::size_t payload_size) {
  const Bytes payload = pattern_payload(payload_size);
  const RecordHeader h = header_for(1000 + payload_size);
  const Bytes disk = encode(h, payload);
  ASSERT_EQ(disk.size(), align_up(record_header_bytes + payload_size, record_alignment_bytes));
  const std::uint64_t expected = h.lsn;
  const DecodeOutcome out = decode_record(disk, &expected);
  ASSERT_EQ(out.error, RecordError::none) << record_error_name(out.error) << " at " << payload_size;
  EXPECT_EQ(out.record.header.lsn, h.lsn);
  EXPECT_EQ(out.record.header.stream, h.stream);
  EXPECT_EQ(out.record.header.type, h.type);
  EXPECT_EQ(out.record.header.durable_lag, h.durable_lag);
  EXPECT_EQ(out.record.header.payload_bytes, payload_size);
  EXPECT_EQ(out.record.header.payload_crc, crc32c(payload));
  EXPECT_EQ(out.record.disk_bytes, disk.size());
  ASSERT_EQ(out.record.payload.size(), payload_size);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), out.record.payload.begin()));
  EXPECT_EQ(out.record.payload.data(), disk.data() + record_header_bytes);
  EXPECT_TRUE(all_zero(disk.data() + record_header_bytes + payload_size,
                       disk.size() - record_header_bytes - payload_size));
}

TEST(RecordRoundTrip, EveryPayloadSizeFromZeroTo9000) {
  for (std::size_t n = 0; n <= 9000; ++n) {
    expect_round_trip(n);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(RecordRoundTrip, SizesAroundBlockAnd64KiB) {
  for (std::size_t centre : {std::size_t{4096}, std::size_t{65536}}) {
    for (std::size_t n = centre - 40; n <= centre + 40; ++n) {
      expect_round_trip(n);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(RecordRoundTrip, SizesUpToTheMaximumPayload) {
  for (std::size_t n = record_payload_max_bytes - 9; n <= record_payload_max_bytes; ++n) {
    expect_round_trip(n);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(RecordRoundTrip, ExtremeFieldValues) {
  RecordHeader h;
  h.lsn = next_lsn_max - 1;  // the largest LSN a record can carry
  h.stream = UINT32_MAX;
  h.durable_lag = UINT32_MAX;
  h.type = RecordType::batch_last;
  const Bytes disk = encode(h, pattern_payload(5));
  const DecodeOutcome out = decode_record(disk);
  ASSERT_EQ(out.error, RecordError::none);
  EXPECT_EQ(out.record.header.lsn, next_lsn_max - 1);
  EXPECT_EQ(out.record.header.stream, UINT32_MAX);
  EXPECT_EQ(out.record.header.durable_lag, UINT32_MAX);
  EXPECT_EQ(out.record.header.type, RecordType::batch_last);
}

TEST(RecordRoundTrip, EveryWrittenTypeDecodes) {
  for (auto type : {RecordType::full, RecordType::batch_first, RecordType::batch_middle,
                    RecordType::batch_last, RecordType::padding}) {
    const DecodeOutcome out = decode_record(encode(header_for(1, type), Bytes(8)));
    ASSERT_EQ(out.error, RecordError::none);
    EXPECT_EQ(out.record.header.type, type);
  }
}

TEST(RecordEncode, PayloadLengthAndCrcAreTakenFromThePayload) {
  RecordHeader h = header_for(4);
  h.payload_bytes = 12345;  // stale values a caller left behind
  h.payload_crc = 0xdeadbeef;
  const Bytes payload = pattern_payload(10);
  const DecodeOutcome out = decode_record(encode(h, payload));
  ASSERT_EQ(out.error, RecordError::none);
  EXPECT_EQ(out.record.header.payload_bytes, 10u);
  EXPECT_EQ(out.record.header.payload_crc, crc32c(payload));
}

TEST(RecordEncode, HeaderOnlyEncodingMatchesFullEncoding) {
  const Bytes payload = pattern_payload(100);
  RecordHeader h = header_for(77);
  const Bytes full = encode(h, payload);
  h.payload_bytes = 100;
  h.payload_crc = crc32c(payload);
  Bytes header_only(record_header_bytes);
  encode_record_header(h, header_only.data());
  EXPECT_TRUE(std::equal(header_only.begin(), header_only.end(), full.begin()));
}

TEST(RecordEncode, BytesAreLittleEndianAtTheDocumentedOffsets) {
  RecordHeader h;
  h.lsn = 0x0102030405060708ull;
  h.stream = 0x11223344u;
  h.type = RecordType::batch_middle;
  h.durable_lag = 0x55667788u;
  const Bytes disk = encode(h, pattern_payload(3));
  EXPECT_EQ(load_u64(disk.data() + lsn_at), 0x0102030405060708ull);
  EXPECT_EQ(disk[lsn_at], std::byte{0x08});
  EXPECT_EQ(load_u32(disk.data() + payload_bytes_at), 3u);
  EXPECT_EQ(load_u32(disk.data() + 20), 0x11223344u);
  EXPECT_EQ(disk[type_at], std::byte{3});
  EXPECT_EQ(load_u32(disk.data() + 28), 0x55667788u);
  EXPECT_EQ(crc32c_unmask(load_u32(disk.data() + payload_crc_at)), crc32c(pattern_payload(3)));
  EXPECT_EQ(load_u32(disk.data() + header_crc_at),
            crc32c_mask(crc32c(std::span<const std::byte>(disk).subspan(4, 28))));
}

TEST(RecordEncodeDeathTest, PayloadAboveTheMaximumIsRefused) {
  const Bytes payload(record_payload_max_bytes + 1);
  Bytes out(record_disk_bytes(payload.size()));
  EXPECT_DEATH(encode_record(header_for(1), payload, out.data()), "payload");
}

TEST(RecordEncodeDeathTest, TypeZeroIsRefused) {
  Bytes out(record_header_bytes);
  EXPECT_DEATH(encode_record(header_for(1, RecordType::zero), Bytes{}, out.data()), "type");
}

// --- Each RecordError from the damage that causes it, in the order the checks run. ---

TEST(RecordDecode, FewerThan32BytesIsTruncatedHeaderAtEveryLength) {
  const Bytes disk = encode(header_for(1), pattern_payload(40));
  for (std::size_t n = 0; n < record_header_bytes; ++n)
    EXPECT_EQ(decode_error(truncate_to(disk, n)), RecordError::truncated_header) << n;
  // Short zero bytes are truncated too: the length check runs before the zero check.
  EXPECT_EQ(decode_error(Bytes(31)), RecordError::truncated_header);
}

TEST(RecordDecode, ThirtyTwoZeroBytesAreTheCleanEnd) {
  EXPECT_EQ(decode_error(Bytes(32)), RecordError::zero_header);
  EXPECT_EQ(decode_error(Bytes(4096)), RecordError::zero_header);
  EXPECT_EQ(decode_record_header(Bytes(32), nullptr), RecordError::zero_header);
}

TEST(RecordDecode, AnyFlippedHeaderByteIsHeaderChecksum) {
  const Bytes disk = encode(header_for(9), pattern_payload(20));
  for (std::size_t i = 0; i < record_header_bytes; ++i) {
    Bytes damaged = disk;
    flip_byte(damaged, i);
    EXPECT_EQ(decode_error(damaged), RecordError::header_checksum) << "byte " << i;
  }
}

TEST(RecordDecode, CorruptLengthIsCaughtByHeaderChecksumNotTrusted) {
  Bytes disk = encode(header_for(9), pattern_payload(20));
  set_u32(disk, payload_bytes_at, 0x7fffffff);  // would run far past the buffer
  EXPECT_EQ(decode_error(disk), RecordError::header_checksum);
}

TEST(RecordDecode, UnknownTypeWithValidChecksumIsBadType) {
  for (std::uint8_t type : {std::uint8_t{0}, std::uint8_t{record_type_max + 1}, std::uint8_t{255}}) {
    Bytes disk = encode(header_for(9), pattern_payload(20));
    set_u8(disk, type_at, type);
    fix_header_checksum(disk);
    EXPECT_EQ(decode_error(disk), RecordError::bad_type) << int(type);
  }
}

TEST(RecordDecode, NonzeroFlagsOrReservedIsReservedNonzero) {
  for (std::size_t at : {flags_at, reserved_at, reserved_at + 1}) {
    Bytes disk = encode(header_for(9), pattern_payload(20));
    set_u8(disk, at, 0x40);
    fix_header_checksum(disk);
    EXPECT_EQ(decode_error(disk), RecordError::reserved_nonzero) << "byte " << at;
  }
}

TEST(RecordDecode, PayloadLengthAboveMaximumIsLengthTooLarge) {
  for (std::uint32_t length : {record_payload_max_bytes + 1, UINT32_MAX}) {
    Bytes disk = encode(header_for(9), pattern_payload(20));
    set_u32(disk, payload_bytes_at, length);
    fix_header_checksum(disk);
    EXPECT_EQ(decode_error(disk), RecordError::length_too_large) << length;
    EXPECT_EQ(decode_record_header(disk, nullptr), RecordError::length_too_large);
  }
}

TEST(RecordDecode, MaximumPayloadLengthIsAcceptedByTheHeaderCheck) {
  Bytes disk = encode(header_for(9), pattern_payload(20));
  set_u32(disk, payload_bytes_at, record_payload_max_bytes);
  fix_header_checksum(disk);
  RecordHeader h;
  EXPECT_EQ(decode_record_header(disk, &h), RecordError::none);
  EXPECT_EQ(h.payload_bytes, record_payload_max_bytes);
  // ...but the payload is not there.
  EXPECT_EQ(decode_error(disk), RecordError::length_past_end);
}

TEST(RecordDecode, PayloadCutShortIsLengthPastEndAtEveryLength) {
  const Bytes disk = encode(header_for(9), pattern_payload(61));  // 93 bytes used, 96 on disk
  for (std::size_t n = record_header_bytes; n < disk.size(); ++n)
    EXPECT_EQ(decode_error(truncate_to(disk, n)), RecordError::length_past_end) << n;
}

TEST(RecordDecode, PayloadPresentButAlignmentGapCutIsLengthPastEnd) {
  const Bytes disk = encode(header_for(9), pattern_payload(13));  // 45 used, 48 on disk
  ASSERT_EQ(disk.size(), 48u);
  const DecodeOutcome out = decode_record(truncate_to(disk, 45));
  EXPECT_EQ(out.error, RecordError::length_past_end);
  EXPECT_EQ(out.record.header.lsn, 9u);  // the header is reported for diagnosis
  EXPECT_EQ(out.record.disk_bytes, 48u);
}

TEST(RecordDecode, FlippedPayloadByteIsPayloadChecksum) {
  const Bytes disk = encode(header_for(9), pattern_payload(50));
  for (std::size_t i = record_header_bytes; i < record_header_bytes + 50; ++i) {
    Bytes damaged = disk;
    flip_byte(damaged, i);
    EXPECT_EQ(decode_error(damaged), RecordError::payload_checksum) << "byte " << i;
  }
}

TEST(RecordDecode, NonzeroAlignmentGapIsPaddingNonzero) {
  const Bytes disk = encode(header_for(9), pattern_payload(13));  // gap is bytes 45..47
  for (std::size_t i = 45; i < 48; ++i) {
    Bytes damaged = disk;
    set_u8(damaged, i, 1);
    EXPECT_EQ(decode_error(damaged), RecordError::padding_nonzero) << "byte " << i;
  }
}

TEST(RecordDecode, UnexpectedLsnIsLsnOutOfOrder) {
  const Bytes disk = encode(header_for(9), pattern_payload(13));
  const std::uint64_t expected_9 = 9, expected_10 = 10, expected_8 = 8;
  EXPECT_EQ(decode_error(disk, &expected_9), RecordError::none);
  EXPECT_EQ(decode_error(disk, &expected_10), RecordError::lsn_out_of_order);
  EXPECT_EQ(decode_error(disk, &expected_8), RecordError::lsn_out_of_order);
  EXPECT_EQ(decode_error(disk), RecordError::none);  // no expectation given
  EXPECT_EQ(decode_record(disk, &expected_10).record.header.lsn, 9u);
}

TEST(RecordDecode, RecordAtTheLsnLimitIsLsnPastLimit) {
  // No record carries LSN 2^64 - 1: the LSN after it would wrap (format/layout.h).
  for (const RecordType type : {RecordType::full, RecordType::batch_first, RecordType::batch_last}) {
    const Bytes disk = encode(header_for(next_lsn_max, type), pattern_payload(13));
    EXPECT_EQ(decode_error(disk), RecordError::lsn_past_limit) << static_cast<int>(type);
    EXPECT_EQ(decode_record_header(disk, nullptr), RecordError::lsn_past_limit);
    const std::uint64_t expected = next_lsn_max;
    EXPECT_EQ(decode_error(disk, &expected), RecordError::lsn_past_limit);
  }
  // A padding record carries the next LSN, which is the limit in a full log.
  Bytes padding(64);
  encode_padding(next_lsn_max, padding.size(), padding.data());
  EXPECT_EQ(decode_error(padding), RecordError::none);
}

TEST(RecordDecode, ChecksRunInTheDocumentedOrder) {
  // bad_type wins over reserved_nonzero and length_too_large when all three are present.
  Bytes disk = encode(header_for(9), pattern_payload(13));
  set_u8(disk, type_at, 0);
  set_u8(disk, flags_at, 1);
  set_u32(disk, payload_bytes_at, UINT32_MAX);
  fix_header_checksum(disk);
  EXPECT_EQ(decode_error(disk), RecordError::bad_type);
  // payload_checksum wins over padding_nonzero and lsn_out_of_order.
  disk = encode(header_for(9), pattern_payload(13));
  flip_byte(disk, 40);
  set_u8(disk, 46, 1);
  const std::uint64_t expected = 1;
  EXPECT_EQ(decode_error(disk, &expected), RecordError::payload_checksum);
  // padding_nonzero wins over lsn_out_of_order.
  disk = encode(header_for(9), pattern_payload(13));
  set_u8(disk, 46, 1);
  EXPECT_EQ(decode_error(disk, &expected), RecordError::padding_nonzero);
}

TEST(RecordDecode, HeaderAloneDecodesWithoutItsPayload) {
  const Bytes disk = encode(header_for(21), pattern_payload(500));
  RecordHeader h;
  EXPECT_EQ(decode_record_header(truncate_to(disk, record_header_bytes), &h), RecordError::none);
  EXPECT_EQ(h.lsn, 21u);
  EXPECT_EQ(h.payload_bytes, 500u);
  EXPECT_EQ(h.payload_crc, crc32c(pattern_payload(500)));
}

// --- Padding records ---

TEST(RecordPadding, FillsExactlyTheRequestedBytesAtEverySize) {
  for (std::uint64_t size = record_header_bytes; size <= block_size_bytes + 24; size += 8) {
    Bytes disk(size + 8, std::byte{0xAB});
    encode_padding(500, size, disk.data());
    EXPECT_EQ(disk[size], std::byte{0xAB}) << "wrote past the padding at " << size;
    const std::uint64_t expected = 500;
    const DecodeOutcome out = decode_record(disk, &expected);
    ASSERT_EQ(out.error, RecordError::none) << size;
    EXPECT_EQ(out.record.header.type, RecordType::padding);
    EXPECT_EQ(out.record.header.lsn, 500u);
    EXPECT_EQ(out.record.disk_bytes, size);
    EXPECT_TRUE(all_zero(out.record.payload.data(), out.record.payload.size()));
  }
}

TEST(RecordPadding, FlippedPaddingPayloadIsPayloadChecksum) {
  Bytes disk(256);
  encode_padding(5, disk.size(), disk.data());
  flip_byte(disk, 200);
  EXPECT_EQ(decode_error(disk), RecordError::payload_checksum);
}

TEST(RecordPadding, PaddingCarriesTheNextLsnAndIsCheckedAgainstIt) {
  Bytes disk(64);
  encode_padding(42, disk.size(), disk.data());
  const std::uint64_t expected_43 = 43;
  EXPECT_EQ(decode_error(disk, &expected_43), RecordError::lsn_out_of_order);
}

TEST(RecordPaddingDeathTest, UnalignedPaddingSizeIsRefused) {
  Bytes disk(64);
  EXPECT_DEATH(encode_padding(1, 36, disk.data()), "padding");
  EXPECT_DEATH(encode_padding(1, 24, disk.data()), "padding");
}

// --- A segment's record area, walked as a reader would. ---

TEST(RecordWalk, RecordsBackToBackThenPaddingThenTheZeroEnd) {
  Bytes area(2 * block_size_bytes);
  std::uint64_t offset = 0;
  offset += encode_record(header_for(100), pattern_payload(5), area.data() + offset);
  offset += encode_record(header_for(101), pattern_payload(3000), area.data() + offset);
  const std::uint64_t fill = block_size_bytes - offset;  // a sync point: pad to the boundary
  encode_padding(102, fill, area.data() + offset);
  offset += fill;
  offset += encode_record(header_for(102), pattern_payload(9), area.data() + offset);

  std::vector<std::uint64_t> lsns;
  std::uint64_t position = 0, next_lsn = 100;
  for (int guard = 0; guard < 10; ++guard) {
    const DecodeOutcome out = decode_record(std::span<const std::byte>(area).subspan(position), &next_lsn);
    if (out.error == RecordError::zero_header) break;
    ASSERT_EQ(out.error, RecordError::none) << record_error_name(out.error) << " at " << position;
    if (out.record.header.type != RecordType::padding) {
      lsns.push_back(out.record.header.lsn);
      ++next_lsn;
    }
    position += out.record.disk_bytes;
  }
  EXPECT_EQ(lsns, (std::vector<std::uint64_t>{100, 101, 102}));
  EXPECT_EQ(position, offset);
}

TEST(RecordErrorNames, EveryValueHasItsEnumName) {
  const std::pair<RecordError, const char *> names[] = {
      {RecordError::none, "none"},
      {RecordError::zero_header, "zero_header"},
      {RecordError::truncated_header, "truncated_header"},
      {RecordError::header_checksum, "header_checksum"},
      {RecordError::bad_type, "bad_type"},
      {RecordError::reserved_nonzero, "reserved_nonzero"},
      {RecordError::length_too_large, "length_too_large"},
      {RecordError::length_past_end, "length_past_end"},
      {RecordError::payload_checksum, "payload_checksum"},
      {RecordError::lsn_out_of_order, "lsn_out_of_order"},
      {RecordError::padding_nonzero, "padding_nonzero"},
  };
  for (const auto &[error, name] : names) EXPECT_STREQ(record_error_name(error), name);
  EXPECT_STREQ(record_error_name(static_cast<RecordError>(200)), "unknown");
}

// A recycled segment's records: the header checksum is seeded with the segment id, so a record
// of the file's earlier life (another id, or none) never decodes in it, even with the LSN expected
// there, and a seeded record never decodes as an unseeded one.
TEST(RecordSeed, ARecordDecodesOnlyWithTheSeedItWasWrittenWith) {
  const Bytes payload = pattern_payload(100);
  RecordHeader h;
  h.lsn = 500;
  h.stream = 3;
  const std::uint32_t seed_a = record_crc_seed(41);
  const std::uint32_t seed_b = record_crc_seed(42);
  ASSERT_NE(seed_a, seed_b);
  for (std::uint32_t written : {0u, seed_a, seed_b}) {
    Bytes out(record_disk_bytes(payload.size()));
    encode_record(h, payload, out.data(), written);
    for (std::uint32_t read : {0u, seed_a, seed_b}) {
      const std::uint64_t expected = 500;
      const DecodeOutcome got = decode_record(out, &expected, read);
      EXPECT_EQ(got.error, read == written ? RecordError::none : RecordError::header_checksum)
          << "written with " << written << ", read with " << read;
    }
  }
}

TEST(RecordSeed, PaddingIsSeededToo) {
  Bytes out(64);
  const std::uint32_t seed = record_crc_seed(7);
  encode_padding(9, out.size(), out.data(), seed);
  EXPECT_EQ(decode_record(out, nullptr, seed).error, RecordError::none);
  EXPECT_EQ(decode_record(out, nullptr, 0).error, RecordError::header_checksum);
}

// The seed is CRC32C(le64(segment_id)) and the checksum extends it over bytes 4..31: the same as
// one CRC over the id's bytes followed by the header's (docs/FORMAT.md states it this way).
TEST(RecordSeed, SeedIsTheCrcOfTheLittleEndianId) {
  const std::uint64_t id = 0x0102030405060708ull;
  const Bytes le = {std::byte{8}, std::byte{7}, std::byte{6}, std::byte{5},
                    std::byte{4}, std::byte{3}, std::byte{2}, std::byte{1}};
  EXPECT_EQ(record_crc_seed(id), crc32c(le));
  EXPECT_EQ(record_crc_seed(1), 0xC514CFADu);  // the worked value in docs/FORMAT.md
  RecordHeader h;
  h.lsn = 1;
  Bytes out(record_disk_bytes(0));
  encode_record(h, {}, out.data(), record_crc_seed(id));
  Bytes joined = le;
  joined.insert(joined.end(), out.begin() + 4, out.begin() + record_header_bytes);
  EXPECT_EQ(load_u32(out.data()), crc32c_mask(crc32c(joined)));
}

}  // namespace
}  // namespace segstore::format
