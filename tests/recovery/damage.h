// tests/recovery/damage.h — the damage recovery tests inflict on store files, one helper per
// kind of damage, named after it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "format/crc32c.h"
#include "format/endian.h"
#include "format/layout.h"
#include "store_builder.h"

namespace segstore::recovery::testing {

// Inverts every bit of the byte at `offset` (bit rot, a misdirected write).
inline void flip_byte(const std::string &path, std::uint64_t offset) {
  Bytes bytes = read_file(path);
  bytes.at(offset) ^= std::byte{0xff};
  write_file(path, bytes);
}

// Zeroes [from, to): a lost write, or a torn one whose later sectors never landed.
inline void zero_range(const std::string &path, std::uint64_t from, std::uint64_t to) {
  Bytes bytes = read_file(path);
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(from), bytes.begin() + static_cast<std::ptrdiff_t>(to),
            std::byte{0});
  write_file(path, bytes);
}

// Writes `n` seeded garbage bytes at `offset` (a write that landed where it should not).
inline void write_garbage(const std::string &path, std::uint64_t offset, std::uint64_t n, std::uint64_t seed) {
  Bytes bytes = read_file(path);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    bytes.at(offset + i) = static_cast<std::byte>(x | 1);  // never zero
  }
  write_file(path, bytes);
}

// The file loses everything from `size` on (a file system that lost the tail's extents).
inline void shrink_file(const std::string &path, std::uint64_t size) { std::filesystem::resize_file(path, size); }

inline void remove_file(const std::string &path) { std::filesystem::remove(path); }

// A copy of segment `from` appears under the name of segment `to` (an operator's mistake).
inline void duplicate_segment(const StoreBuilder &store, std::uint64_t from, std::uint64_t to) {
  std::filesystem::copy_file(store.segment_path(from), store.segment_path(to),
                             std::filesystem::copy_options::overwrite_existing);
}

// Segment `from` is renamed to `to` (its header still names `from`).
inline void rename_segment(const StoreBuilder &store, std::uint64_t from, std::uint64_t to) {
  std::filesystem::rename(store.segment_path(from), store.segment_path(to));
}

// Flips one byte of an index snapshot.
inline void corrupt_idx(const StoreBuilder &store, std::uint64_t id, std::uint64_t offset) {
  flip_byte(store.index_path(id), offset);
}

// Sets bytes of the record header at `record_offset` and recomputes its header checksum: damage
// a checksum cannot see (a writer bug, stale data), to reach the checks after it.
inline void patch_record_header(const std::string &path, std::uint64_t record_offset, std::uint64_t field_offset,
                                const Bytes &value) {
  Bytes bytes = read_file(path);
  std::copy(value.begin(), value.end(), bytes.begin() + static_cast<std::ptrdiff_t>(record_offset + field_offset));
  std::byte *header = bytes.data() + record_offset;
  const std::uint32_t crc = format::crc32c(std::span<const std::byte>(header + 4, format::record_header_bytes - 4));
  format::store_u32(header, format::crc32c_mask(crc));
  write_file(path, bytes);
}

inline Bytes u8_bytes(std::uint8_t v) { return Bytes{static_cast<std::byte>(v)}; }
inline Bytes u32_bytes(std::uint32_t v) {
  Bytes b(4);
  format::store_u32(b.data(), v);
  return b;
}
inline Bytes u64_bytes(std::uint64_t v) {
  Bytes b(8);
  format::store_u64(b.data(), v);
  return b;
}

}  // namespace segstore::recovery::testing
