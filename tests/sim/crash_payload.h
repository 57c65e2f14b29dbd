// tests/sim/crash_payload.h — self-checking payloads for the kill -9 tests: the first 8 bytes
// hold the payload's id (little-endian), the rest is a function of the id. Any record read
// back can be checked without knowing what was written: garbage or a torn record cannot pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "testing/sim_env.h"

namespace segstore::sim {

inline std::vector<std::byte> crash_payload(std::uint64_t id, std::size_t extra_bytes) {
  std::vector<std::byte> bytes(8 + extra_bytes);
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<std::byte>(id >> (8 * i));
  std::uint64_t x = id;
  for (std::size_t i = 8; i < bytes.size(); ++i) {
    if ((i - 8) % 8 == 0) x = testing::splitmix64(x);
    bytes[i] = static_cast<std::byte>(x >> (8 * ((i - 8) % 8)));
  }
  return bytes;
}

// The size the writer uses for payload `id` (a function of the id, 16 B .. ~3 KiB).
inline std::size_t crash_payload_extra(std::uint64_t id) { return 8 + (id * 7919) % 3000; }

// The id of a payload that checks out, or nullopt for bytes no writer produced.
inline std::optional<std::uint64_t> crash_payload_id(std::span<const std::byte> bytes) {
  if (bytes.size() < 8) return std::nullopt;
  std::uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id |= std::to_integer<std::uint64_t>(bytes[static_cast<std::size_t>(i)]) << (8 * i);
  const std::vector<std::byte> expected = crash_payload(id, crash_payload_extra(id));
  if (expected.size() != bytes.size() || !std::equal(expected.begin(), expected.end(), bytes.begin())) return std::nullopt;
  return id;
}

}  // namespace segstore::sim
