// tests/format/damage.h — helpers shared by the format tests: byte strings, seeded random
// bytes, and the damage a test inflicts on an encoded structure (named after the damage).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "format/crc32c.h"
#include "format/endian.h"

namespace segstore::format::testing {

using Bytes = std::vector<std::byte>;

inline Bytes bytes_of(std::string_view text) {
  Bytes out(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) out[i] = static_cast<std::byte>(text[i]);
  return out;
}

inline Bytes random_bytes(std::mt19937_64 &rng, std::size_t n) {
  Bytes out(n);
  for (auto &b : out) b = static_cast<std::byte>(rng() & 0xffu);
  return out;
}

// Inverts every bit of one byte.
inline void flip_byte(Bytes &bytes, std::size_t offset) { bytes.at(offset) ^= std::byte{0xff}; }

inline void set_u8(Bytes &bytes, std::size_t offset, std::uint8_t v) {
  bytes.at(offset) = static_cast<std::byte>(v);
}
inline void set_u16(Bytes &bytes, std::size_t offset, std::uint16_t v) {
  (void)bytes.at(offset + 1);
  store_u16(bytes.data() + offset, v);
}
inline void set_u32(Bytes &bytes, std::size_t offset, std::uint32_t v) {
  (void)bytes.at(offset + 3);
  store_u32(bytes.data() + offset, v);
}
inline void set_u64(Bytes &bytes, std::size_t offset, std::uint64_t v) {
  (void)bytes.at(offset + 7);
  store_u64(bytes.data() + offset, v);
}

// Recomputes the masked CRC32C of bytes [begin, end) and stores it at crc_offset: damage that
// a checksum cannot see (a writer bug, or a crafted input that must reach a later check).
inline void fix_checksum(Bytes &bytes, std::size_t crc_offset, std::size_t begin,
                         std::size_t end) {
  const std::uint32_t crc =
      crc32c(std::span<const std::byte>(bytes).subspan(begin, end - begin));
  set_u32(bytes, crc_offset, crc32c_mask(crc));
}

// Returns the first `n` bytes: a file or buffer cut short by a crash.
inline Bytes truncate_to(const Bytes &bytes, std::size_t n) {
  return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace segstore::format::testing
