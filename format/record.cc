// format/record.cc — encode and decode one record (byte table in format/record.h).
#include "format/record.h"

#include <cstring>
#include <string>

#include "base/assert.h"
#include "format/crc32c.h"
#include "format/endian.h"

namespace segstore::format {
namespace {

// Field offsets inside the 32-byte header (format/record.h).
constexpr std::size_t header_crc_offset = 0;
constexpr std::size_t payload_crc_offset = 4;
constexpr std::size_t lsn_offset = 8;
constexpr std::size_t payload_bytes_offset = 16;
constexpr std::size_t stream_offset = 20;
constexpr std::size_t type_offset = 24;
constexpr std::size_t flags_offset = 25;
constexpr std::size_t reserved_offset = 26;
constexpr std::size_t durable_lag_offset = 28;
// header_crc covers everything after itself, so one check protects every other field.
constexpr std::size_t header_crc_covered_offset = 4;
static_assert(durable_lag_offset + 4 == record_header_bytes);

std::uint32_t header_crc_of(const std::byte *header, std::uint32_t seed) {
  return crc32c_mask(crc32c_extend(seed, header + header_crc_covered_offset,
                                   record_header_bytes - header_crc_covered_offset));
}

bool type_is_known(std::uint8_t type) { return type != 0 && type <= record_type_max; }

}  // namespace

std::uint32_t record_crc_seed(std::uint64_t segment_id) {
  std::byte id[8];
  store_u64(id, segment_id);
  return crc32c(std::span<const std::byte>(id, sizeof id));
}

const char *record_error_name(RecordError error) {
  switch (error) {
    case RecordError::none: return "none";
    case RecordError::zero_header: return "zero_header";
    case RecordError::truncated_header: return "truncated_header";
    case RecordError::header_checksum: return "header_checksum";
    case RecordError::bad_type: return "bad_type";
    case RecordError::reserved_nonzero: return "reserved_nonzero";
    case RecordError::length_too_large: return "length_too_large";
    case RecordError::length_past_end: return "length_past_end";
    case RecordError::payload_checksum: return "payload_checksum";
    case RecordError::lsn_out_of_order: return "lsn_out_of_order";
    case RecordError::padding_nonzero: return "padding_nonzero";
    case RecordError::lsn_past_limit: return "lsn_past_limit";
  }
  return "unknown";  // a value outside the enum (e.g. cast from a corrupt byte)
}

void encode_record_header(const RecordHeader &header, std::byte *out, std::uint32_t seed) {
  // A writer must never put on disk a header its own reader would refuse.
  SEGSTORE_ASSERT(type_is_known(static_cast<std::uint8_t>(header.type)),
                  "record type " + std::to_string(static_cast<unsigned>(header.type)));
  SEGSTORE_ASSERT(header.payload_bytes <= record_payload_max_bytes,
                  "payload_bytes " + std::to_string(header.payload_bytes));
  store_u32(out + payload_crc_offset, crc32c_mask(header.payload_crc));
  store_u64(out + lsn_offset, header.lsn);
  store_u32(out + payload_bytes_offset, header.payload_bytes);
  store_u32(out + stream_offset, header.stream);
  out[type_offset] = static_cast<std::byte>(header.type);
  out[flags_offset] = std::byte{0};
  store_u16(out + reserved_offset, 0);
  store_u32(out + durable_lag_offset, header.durable_lag);
  store_u32(out + header_crc_offset, header_crc_of(out, seed));
}

// header.payload_bytes and header.payload_crc are ignored: they are computed from `payload`,
// so they can never disagree with the bytes written.
std::uint64_t encode_record(const RecordHeader &header, std::span<const std::byte> payload,
                            std::byte *out, std::uint32_t seed) {
  RecordHeader filled = header;
  filled.payload_crc = crc32c(payload);
  return encode_record_with_crc(filled, payload, out, seed);
}

std::uint64_t encode_record_with_crc(const RecordHeader &header, std::span<const std::byte> payload,
                                     std::byte *out, std::uint32_t seed) {
  SEGSTORE_ASSERT(payload.size() <= record_payload_max_bytes,
                  "payload of " + std::to_string(payload.size()) + " bytes");
  RecordHeader filled = header;
  filled.payload_bytes = static_cast<std::uint32_t>(payload.size());
  encode_record_header(filled, out, seed);
  if (!payload.empty()) std::memcpy(out + record_header_bytes, payload.data(), payload.size());
  // Worked example: a 13-byte payload ends at 32 + 13 = 45; the record occupies
  // align_up(45, 8) = 48 bytes, so bytes 45..47 are the zero gap.
  const std::uint64_t disk_bytes = record_disk_bytes(payload.size());
  const std::uint64_t used = record_header_bytes + payload.size();
  std::memset(out + used, 0, disk_bytes - used);
  return disk_bytes;
}

void encode_padding(std::uint64_t next_lsn, std::uint64_t disk_bytes, std::byte *out, std::uint32_t seed) {
  SEGSTORE_ASSERT(disk_bytes >= record_header_bytes && disk_bytes % record_alignment_bytes == 0,
                  "padding of " + std::to_string(disk_bytes) + " bytes");
  const std::uint64_t payload_bytes = disk_bytes - record_header_bytes;
  SEGSTORE_ASSERT(payload_bytes <= record_payload_max_bytes,
                  "padding payload of " + std::to_string(payload_bytes) + " bytes");
  // The payload is zero and its CRC is stored and checked like any other: a padding record is
  // an ordinary record to the reader, which only skips it.
  std::byte *payload = out + record_header_bytes;
  std::memset(payload, 0, payload_bytes);
  RecordHeader header;
  header.type = RecordType::padding;
  header.lsn = next_lsn;
  header.payload_bytes = static_cast<std::uint32_t>(payload_bytes);
  header.payload_crc = crc32c(std::span<const std::byte>(payload, payload_bytes));
  encode_record_header(header, out, seed);
}

RecordError decode_record_header(std::span<const std::byte> bytes, RecordHeader *out, std::uint32_t seed) {
  if (bytes.size() < record_header_bytes) return RecordError::truncated_header;
  const std::byte *p = bytes.data();
  // Before the checksum: 32 zero bytes are never-written space, not damage.
  if (all_zero(p, record_header_bytes)) return RecordError::zero_header;
  // Before any other field: every field, the length above all, may be the corrupt one.
  if (load_u32(p + header_crc_offset) != header_crc_of(p, seed)) return RecordError::header_checksum;
  const std::uint8_t type = std::to_integer<std::uint8_t>(p[type_offset]);
  if (!type_is_known(type)) return RecordError::bad_type;
  if (p[flags_offset] != std::byte{0} || load_u16(p + reserved_offset) != 0)
    return RecordError::reserved_nonzero;
  const std::uint32_t payload_bytes = load_u32(p + payload_bytes_offset);
  if (payload_bytes > record_payload_max_bytes) return RecordError::length_too_large;
  const std::uint64_t lsn = load_u64(p + lsn_offset);
  // The LSN after a record is lsn + 1: at next_lsn_max it would wrap (format/layout.h). A
  // padding record carries the next LSN, which may be the limit itself (a full log).
  if (static_cast<RecordType>(type) != RecordType::padding && lsn >= next_lsn_max)
    return RecordError::lsn_past_limit;
  if (out != nullptr) {
    out->payload_crc = crc32c_unmask(load_u32(p + payload_crc_offset));
    out->lsn = lsn;
    out->payload_bytes = payload_bytes;
    out->stream = load_u32(p + stream_offset);
    out->type = static_cast<RecordType>(type);
    out->durable_lag = load_u32(p + durable_lag_offset);
  }
  return RecordError::none;
}

// On errors found after the header passed its checks (length_past_end and later), outcome.
// record.header and disk_bytes are filled in as well, so a caller can report the lsn and the
// extent it found; the payload span is set only on success.
DecodeOutcome decode_record(std::span<const std::byte> bytes, const std::uint64_t *expected_lsn,
                            std::uint32_t seed) {
  DecodeOutcome outcome;
  RecordHeader header;
  outcome.error = decode_record_header(bytes, &header, seed);
  if (outcome.error != RecordError::none) return outcome;
  outcome.record.header = header;
  // The alignment gap must fit too: the next record starts after it.
  const std::uint64_t disk_bytes = record_disk_bytes(header.payload_bytes);
  outcome.record.disk_bytes = disk_bytes;
  if (disk_bytes > bytes.size()) {
    outcome.error = RecordError::length_past_end;
    return outcome;
  }
  const auto payload = bytes.subspan(record_header_bytes, header.payload_bytes);
  if (crc32c(payload) != header.payload_crc) {
    outcome.error = RecordError::payload_checksum;
    return outcome;
  }
  const std::uint64_t used = record_header_bytes + header.payload_bytes;
  if (!all_zero(bytes.data() + used, disk_bytes - used)) {
    outcome.error = RecordError::padding_nonzero;
    return outcome;
  }
  if (expected_lsn != nullptr && header.lsn != *expected_lsn) {
    outcome.error = RecordError::lsn_out_of_order;
    return outcome;
  }
  outcome.record.payload = payload;
  return outcome;
}

}  // namespace segstore::format
