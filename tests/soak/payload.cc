// tests/soak/payload.cc — encoding and checking the soak's self-describing payloads.
#include "payload.h"

#include <cstring>

namespace segstore::soak {
namespace {

constexpr std::uint32_t payload_magic = 0x4b414f53;  // "SOAK" read as little-endian

// splitmix64: a cheap stream whose every 8 bytes depend on the seed, so a byte moved from
// another record or another place in this one does not pass.
std::uint64_t next_filler_word(std::uint64_t &state) {
  state += 0x9e3779b97f4a7c15ull;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t filler_seed(PayloadId id) { return (std::uint64_t{id.writer} << 48) ^ id.seq; }

void put_le(std::byte *at, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) at[i] = static_cast<std::byte>(value >> (8 * i));
}

std::uint64_t get_le(const std::byte *at, std::size_t bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i) value |= std::uint64_t(std::to_integer<std::uint8_t>(at[i])) << (8 * i);
  return value;
}

// Writes (or, with `check`, compares) the filler after the header; returns the offset of the
// first byte that differs, or the payload's size when all match.
std::size_t walk_filler(PayloadId id, std::byte *out, const std::byte *check, std::size_t bytes) {
  std::uint64_t state = filler_seed(id);
  for (std::size_t at = payload_header_bytes; at < bytes; at += 8) {
    std::uint64_t word = next_filler_word(state);
    std::size_t n = bytes - at < 8 ? bytes - at : 8;
    std::byte expected[8];
    put_le(expected, word, 8);
    if (out != nullptr) std::memcpy(out + at, expected, n);
    if (check != nullptr && std::memcmp(check + at, expected, n) != 0) {
      std::size_t first_differing = 0;
      while (check[at + first_differing] == expected[first_differing]) ++first_differing;
      return at + first_differing;
    }
  }
  return bytes;
}

}  // namespace

void make_payload(PayloadId id, std::size_t bytes, std::vector<std::byte> &out) {
  if (bytes < payload_header_bytes) bytes = payload_header_bytes;
  out.resize(bytes);
  put_le(out.data(), payload_magic, 4);
  put_le(out.data() + 4, id.writer, 4);
  put_le(out.data() + 8, id.seq, 8);
  put_le(out.data() + 16, bytes, 4);
  walk_filler(id, out.data(), nullptr, bytes);
}

std::variant<PayloadId, std::string> parse_payload(std::span<const std::byte> payload) {
  if (payload.size() < payload_header_bytes)
    return "payload of " + std::to_string(payload.size()) + " bytes is shorter than the soak header";
  if (get_le(payload.data(), 4) != payload_magic) return std::string("no soak magic at offset 0");
  PayloadId id{static_cast<std::uint32_t>(get_le(payload.data() + 4, 4)), get_le(payload.data() + 8, 8)};
  std::uint64_t stated_bytes = get_le(payload.data() + 16, 4);
  if (stated_bytes != payload.size())
    return "payload says " + std::to_string(stated_bytes) + " bytes, holds " + std::to_string(payload.size());
  std::size_t differs = walk_filler(id, nullptr, payload.data(), payload.size());
  if (differs != payload.size())
    return "filler of writer " + std::to_string(id.writer) + " seq " + std::to_string(id.seq) +
           " differs at offset " + std::to_string(differs);
  return id;
}

}  // namespace segstore::soak
