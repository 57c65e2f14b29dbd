// tests/raft/recovered_log.h — what a raft server's store holds after a power cut, read directly
// with segstore's API (recovery runs), not through raft: the crash simulation's ground truth.
//
// The adapter's bytes (docs/REPLICATION.md) are decoded here on their own: an entry is term (8,
// LE) | data, the metadata record version (4) | 0 (4) | term (8) | voted_for (8). A change of the
// adapter's format then shows up as a failure rather than being read the same wrong way.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "io/env.h"

namespace segstore::raft_sim {

struct RecoveredLog {
  std::string error;  // empty when the store opened and every record read back
  std::uint64_t first = 0;
  std::uint64_t next = 0;
  std::uint64_t snapshot_index = 0;  // 0: none
  std::uint64_t term = 0;
  std::uint64_t vote = 0;
  std::map<std::uint64_t, std::string> commands;  // index -> data of the RAFT_COMMAND entries
};

// Opens the store in `dir` on `env` (as the adapter does: verify_on_open, accept_data_loss),
// reads it whole and closes it.
RecoveredLog read_recovered_log(std::shared_ptr<io::Env> env, const std::string &dir, std::uint64_t segment_bytes);

// The sequence number a simulation command starts with (its first 8 bytes, little-endian).
std::uint64_t command_number(const std::string &command);

}  // namespace segstore::raft_sim
