// examples/event_store/workload.h — a deterministic stream of account events, shared by the
// CLI's benchmark and the tests: event n of seed s is always the same text, so a test can check
// any event read back without keeping a copy.
#pragma once

#include <cstdint>
#include <string>

namespace event_store {

inline std::string workload_event(std::uint64_t seed, std::uint64_t n) {
  static constexpr const char *accounts[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"};
  constexpr std::uint64_t account_count = sizeof(accounts) / sizeof(accounts[0]);
  std::uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (n + 1) * 0xC2B2AE3D27D4EB4Full;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  const char *from = accounts[x % account_count];
  const char *to = accounts[(x >> 8) % account_count];
  const std::uint64_t amount = 1 + (x >> 16) % 500;
  switch ((x >> 40) % 4) {
    case 0:
    case 1: return std::string("deposit ") + from + " " + std::to_string(amount);
    case 2: return std::string("withdraw ") + from + " " + std::to_string(amount);
    default: return std::string("transfer ") + from + " " + to + " " + std::to_string(amount);
  }
}

}  // namespace event_store
