// tests/soak/payload.h — the soak's records. Each payload names its writer and that writer's
// sequence number, and every other byte follows from those two: any reader (a tailer, a random
// reader, the retention check, the final read-back) can tell an intact record and whose it is
// without asking anyone.
//
// Bytes (little-endian):
//   offset size field
//   0      4    magic "SOAK"
//   4      4    writer
//   8      8    seq (the writer's count of records before this one)
//   16     4    total payload bytes (so a record cut short or padded is caught)
//   20     ...  filler: a pseudo-random stream seeded by (writer, seq)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace segstore::soak {

inline constexpr std::size_t payload_header_bytes = 20;

struct PayloadId {
  std::uint32_t writer = 0;
  std::uint64_t seq = 0;
};

// Fills `out` with the payload of (id) of `bytes` bytes (at least payload_header_bytes).
void make_payload(PayloadId id, std::size_t bytes, std::vector<std::byte> &out);

// The id the payload carries, or why the bytes are not an intact soak payload.
std::variant<PayloadId, std::string> parse_payload(std::span<const std::byte> payload);

}  // namespace segstore::soak
