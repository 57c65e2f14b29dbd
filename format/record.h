// format/record.h — one record: a 32-byte header followed by the payload.
//
// Byte table (little-endian; docs/FORMAT.md "Record"):
//
//   offset size field         meaning
//   0      4    header_crc    masked CRC32C of header bytes 4..31, extended from the segment's
//                             seed (0 unless the segment is recycled: record_crc_seed). Checked
//                             before any other field is trusted: the length itself may be the
//                             corrupt field.
//   4      4    payload_crc   masked CRC32C of the payload bytes (covered by header_crc, so
//                             header_crc protects the whole record)
//   8      8    lsn           the record's log sequence number; covered by header_crc so that
//                             a stale record left in reused space can never pass as a new one
//   16     4    payload_bytes length of the payload, <= record_payload_max_bytes
//   20     4    stream        32-bit stream (topic) id
//   24     1    type          RecordType; 0 is never written (zero-filled space)
//   25     1    flags         must be 0 (reserved)
//   26     2    reserved      must be 0
//   28     4    durable_lag   lsn minus the durable LSN the writer knew when it encoded the
//                             record (saturating): lets recovery prove that damage before this
//                             record hit records that had been acknowledged as durable
//   32     n    payload
//   32+n   pad  zero bytes up to the next multiple of 8
//
// Records follow each other back to back from offset 4096 of a segment. A header of 32 zero
// bytes is never-written space: the clean end of the segment's records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "format/layout.h"

namespace segstore::format {

enum class RecordType : std::uint8_t {
  zero = 0,          // never written: not a record
  full = 1,          // a record on its own
  batch_first = 2,   // first record of an atomic batch of two or more
  batch_middle = 3,  // inside a batch
  batch_last = 4,    // last record of a batch: the batch counts only once this is present
  padding = 5,       // fills the rest of a block after a sync point; consumes no LSN. Its lsn
                     // field holds the LSN of the next record.
};
inline constexpr std::uint8_t record_type_max = 5;

struct RecordHeader {
  std::uint32_t payload_crc = 0;  // unmasked CRC32C of the payload
  std::uint64_t lsn = 0;
  std::uint32_t payload_bytes = 0;
  std::uint32_t stream = 0;
  RecordType type = RecordType::full;
  std::uint32_t durable_lag = 0;
};

// Why bytes at a record position are not a valid record. Ordered roughly by the order checks run.
enum class RecordError : std::uint8_t {
  none = 0,
  zero_header,        // 32 zero bytes: never-written space (the clean end, if all after is zero)
  truncated_header,   // fewer than 32 bytes remain before the end of the buffer/segment
  header_checksum,    // header_crc does not match: torn write, bit rot, or garbage
  bad_type,           // type byte unknown (header checksum passed: a writer bug or a newer format)
  reserved_nonzero,   // flags/reserved not zero
  length_too_large,   // payload_bytes > record_payload_max_bytes
  length_past_end,    // the payload runs past the end of the buffer/segment
  payload_checksum,   // payload_crc does not match the payload
  lsn_out_of_order,   // lsn is not the one expected next
  padding_nonzero,    // the alignment gap after the payload is not zero
  lsn_past_limit,     // a record (not padding) with LSN next_lsn_max: its next LSN would wrap
                      // (checked with the header, after length_too_large)
};
const char *record_error_name(RecordError error);

struct DecodedRecord {
  RecordHeader header;
  std::span<const std::byte> payload;  // points into the decoded buffer
  std::uint64_t disk_bytes = 0;        // record_disk_bytes(payload size): where the next starts
};

struct DecodeOutcome {
  RecordError error = RecordError::none;
  DecodedRecord record;  // valid when error == none
};

// The seed of a recycled segment's record header checksums: CRC32C of le64(segment_id). The
// header checksum is then the CRC of le64(segment_id) ++ header bytes 4..31, so a record written
// in an earlier life of the file (another id) fails it wherever it lies, whatever its LSN.
// Every encode and decode below takes the seed of the segment the bytes belong to (0: none).
std::uint32_t record_crc_seed(std::uint64_t segment_id);

// Encodes header and payload into `out` (at least record_disk_bytes(payload.size()) bytes),
// zeroing the alignment gap. Returns the bytes written.
std::uint64_t encode_record(const RecordHeader &header, std::span<const std::byte> payload,
                            std::byte *out, std::uint32_t seed = 0);
// The same with the payload's CRC already in header.payload_crc (the writer computes it before
// it takes the store's lock): the one encoder the engine ships, which encode_record's tests cover.
std::uint64_t encode_record_with_crc(const RecordHeader &header, std::span<const std::byte> payload,
                                     std::byte *out, std::uint32_t seed = 0);
// Encodes a padding record that fills exactly `disk_bytes` (>= record_header_bytes, a
// multiple of 8); `next_lsn` goes into its lsn field.
void encode_padding(std::uint64_t next_lsn, std::uint64_t disk_bytes, std::byte *out, std::uint32_t seed = 0);
// Header only (when the payload CRC is already known).
void encode_record_header(const RecordHeader &header, std::byte *out, std::uint32_t seed = 0);

// Decodes the record at the start of `bytes`. Total: any input gives a record or an error;
// reads only inside `bytes`; allocates nothing. When `expected_lsn` is given, a record (or
// padding) with another lsn yields lsn_out_of_order.
DecodeOutcome decode_record(std::span<const std::byte> bytes,
                            const std::uint64_t *expected_lsn = nullptr, std::uint32_t seed = 0);
// Checks only the header (first 32 bytes); the payload may be absent.
RecordError decode_record_header(std::span<const std::byte> bytes, RecordHeader *out, std::uint32_t seed = 0);

}  // namespace segstore::format
