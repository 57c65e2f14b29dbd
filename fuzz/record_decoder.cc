// fuzz/record_decoder.cc — decode_record and decode_record_header on arbitrary bytes.
//
// Input: byte 0 chooses how the rest is read; the rest is walked as records back to back, the
// way a segment's data area is.
//   bit 0  recompute each record's checksums before decoding it, so that the fuzzer reaches the
//          checks after them (type, reserved, length, gap, LSN) instead of stopping at the CRC
//   bit 1  pass an expected LSN (the record's own, so LSN checks pass)
//   bit 2  with bit 1: expect the LSN after the record's own (lsn_out_of_order must follow)
//   bit 3  the records are a recycled segment's: header checksums seeded with the segment id
//          in bits 4..7 (format::record_crc_seed); every check below then runs with that seed
// Checks: both decoders agree; nothing is read outside the buffer (ASan); whatever decodes
// re-encodes to exactly the bytes it was decoded from; the walk always moves forward.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/harness_support.h"

namespace segstore::fuzz {
namespace {

using format::DecodeOutcome;
using format::RecordError;
using format::RecordHeader;
using format::RecordType;

bool header_stage_error(RecordError error) {
  switch (error) {
    case RecordError::truncated_header:
    case RecordError::zero_header:
    case RecordError::header_checksum:
    case RecordError::bad_type:
    case RecordError::reserved_nonzero:
    case RecordError::length_too_large:
    case RecordError::lsn_past_limit:
      return true;
    default:
      return false;
  }
}

// Checks one record position; returns the bytes the record occupies (0: the walk stops).
std::uint64_t check_one(std::span<std::byte> bytes, std::uint8_t mode) {
  using namespace format;
  const std::uint32_t seed = (mode & 8) != 0 ? record_crc_seed(mode >> 4) : 0;
  if ((mode & 1) != 0) fix_record_checksums(bytes, seed);
  const std::span<const std::byte> input(bytes);

  RecordHeader header;
  const RecordError header_error = decode_record_header(input, &header, seed);
  std::uint64_t expected = 0;
  const std::uint64_t *expected_ptr = nullptr;
  if ((mode & 2) != 0 && input.size() >= 16) {
    expected = load_u64(input.data() + 8) + ((mode & 4) != 0 ? 1 : 0);
    expected_ptr = &expected;
  }
  const DecodeOutcome outcome = decode_record(input, expected_ptr, seed);
  const std::string where = "input " + hex_prefix(input, 32);

  FUZZ_CHECK(std::string(record_error_name(outcome.error)) != "unknown", where);
  if (input.size() < record_header_bytes)
    FUZZ_CHECK(header_error == RecordError::truncated_header, where);
  if (header_error != RecordError::none) {
    // The header decides: decode_record must stop at the same check.
    FUZZ_CHECK(header_stage_error(header_error), record_error_name(header_error));
    FUZZ_CHECK(outcome.error == header_error,
               std::string(record_error_name(outcome.error)) + " vs " + record_error_name(header_error));
    return 0;
  }
  FUZZ_CHECK(!header_stage_error(outcome.error), record_error_name(outcome.error));

  // A header that passed re-encodes to the same 32 bytes (every field is either checked or
  // carried, so nothing is lost or normalised).
  std::byte again[record_header_bytes];
  encode_record_header(header, again, seed);
  FUZZ_CHECK(std::memcmp(again, input.data(), record_header_bytes) == 0, "header re-encode, " + where);

  // Past the header, decode_record fills in the header and extent even on error.
  FUZZ_CHECK(outcome.record.header.lsn == header.lsn &&
                 outcome.record.header.payload_bytes == header.payload_bytes,
             where);
  const std::uint64_t disk_bytes = record_disk_bytes(header.payload_bytes);
  FUZZ_CHECK(outcome.record.disk_bytes == disk_bytes, where);
  if (outcome.error == RecordError::length_past_end) {
    FUZZ_CHECK(disk_bytes > input.size(), where);
    return 0;
  }
  FUZZ_CHECK(disk_bytes <= input.size(), "length_past_end missed, " + where);
  if ((mode & 6) == 6) FUZZ_CHECK(outcome.error != RecordError::none, "wrong LSN accepted, " + where);
  if (outcome.error != RecordError::none) return 0;

  // A record that decodes re-encodes to exactly its bytes, gap included.
  const DecodedRecord &record = outcome.record;
  FUZZ_CHECK(record.payload.data() == input.data() + record_header_bytes &&
                 record.payload.size() == header.payload_bytes,
             where);
  if (expected_ptr != nullptr) FUZZ_CHECK(header.lsn == expected, where);
  Bytes encoded(disk_bytes);
  const std::uint64_t written = encode_record(header, record.payload, encoded.data(), seed);
  FUZZ_CHECK(written == disk_bytes, where);
  FUZZ_CHECK(std::memcmp(encoded.data(), input.data(), disk_bytes) == 0, "record re-encode, " + where);

  // A padding record that carries nothing else and fills its extent (writers never give one a
  // gap) is what encode_padding writes.
  if (header.type == RecordType::padding && header.stream == 0 && header.durable_lag == 0 &&
      record_header_bytes + header.payload_bytes == disk_bytes &&
      all_zero(record.payload.data(), record.payload.size())) {
    Bytes padding(disk_bytes);
    encode_padding(header.lsn, disk_bytes, padding.data(), seed);
    FUZZ_CHECK(padding == encoded, "padding re-encode, " + where);
  }
  return disk_bytes;
}

}  // namespace
}  // namespace segstore::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  using namespace segstore::fuzz;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  // A private copy: fixing checksums writes into it, and ASan sees reads past its end.
  Bytes bytes(reinterpret_cast<const std::byte *>(data) + 1,
              reinterpret_cast<const std::byte *>(data) + size);
  std::size_t position = 0;
  // Every record takes at least 32 bytes, so this loop ends; it stops at the first non-record.
  for (;;) {
    const std::uint64_t taken = check_one(std::span(bytes).subspan(position), mode);
    if (taken == 0) break;
    FUZZ_CHECK(taken >= segstore::format::record_header_bytes && position + taken <= bytes.size(),
               "walk does not move forward");
    position += taken;
  }
  return 0;
}
