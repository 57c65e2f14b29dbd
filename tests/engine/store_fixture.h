// tests/engine/store_fixture.h — helpers shared by the engine tests.
#pragma once

#include <cstring>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "segstore/store.h"
#include "support/temp_dir.h"

namespace segstore::testing {

// Deterministic payload for (lsn-independent) record number `n`: its size and bytes are a
// function of n, so any read can be checked without keeping copies.
inline std::vector<std::byte> payload_for(std::uint64_t n, std::size_t size) {
  std::vector<std::byte> bytes(size);
  std::uint64_t x = n * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    bytes[i] = static_cast<std::byte>(x);
  }
  return bytes;
}

// A payload of `size` bytes (at least 8) that names its round (the truncate or reset that
// preceded it) and its position in its first 8 bytes; payload_for's bytes after them.
inline std::vector<std::byte> round_payload(std::uint32_t round, std::uint32_t position, std::size_t size) {
  std::vector<std::byte> bytes = payload_for(round * 1000003ull + position, size);
  std::memcpy(bytes.data(), &round, 4);
  std::memcpy(bytes.data() + 4, &position, 4);
  return bytes;
}

// The 32-bit field at `at` of a payload (round_payload's round at 0, position at 4).
inline std::uint32_t payload_u32(std::span<const std::byte> payload, std::size_t at) {
  std::uint32_t value;
  std::memcpy(&value, payload.data() + at, 4);
  return value;
}

inline std::span<const std::byte> as_bytes(const std::string &s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}
inline std::string as_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char *>(b.data()), b.size());
}

inline Options small_segments(Durability durability = Durability::none, std::uint64_t segment_bytes = 64 * 1024) {
  Options options;
  options.segment_bytes = segment_bytes;
  options.durability = durability;
  options.write_group_bytes_max = 64 * 1024;
  return options;
}

// Inverts every bit of the byte at `offset` of a store file (bit rot).
inline void flip_byte(const std::string &path, std::uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(~c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  ASSERT_TRUE(f.good()) << path;
}

inline std::unique_ptr<Store> open_or_die(const std::string &dir, const Options &options) {
  Result<std::unique_ptr<Store>> store = Store::open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  if (!store.ok()) throw std::runtime_error(store.status().to_string());
  return std::move(*store);
}

}  // namespace segstore::testing

// Asserts that a Status or Result is ok, printing its error otherwise.
#define SEGSTORE_ASSERT_OK(expr)                                      \
  do {                                                                \
    const auto &segstore_assert_ok_value = (expr);                    \
    ASSERT_TRUE(segstore_assert_ok_value.ok())                        \
        << #expr << ": " << ::segstore::testing::status_of(segstore_assert_ok_value).to_string(); \
  } while (0)

namespace segstore::testing {
inline Status status_of(const Status &s) { return s; }
template <typename T>
Status status_of(const Result<T> &r) { return r.status(); }
}  // namespace segstore::testing
