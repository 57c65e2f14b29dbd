// tests/raft/command_fsm.h — the state machine of the raft crash simulation: the commands in the
// order applied. Its snapshot is that list (per command: length (4, host order) | bytes), so a
// server that catches up by InstallSnapshot ends with the same list as the others.
#pragma once

#include <string>
#include <vector>

#include "raft/segstore_raft.h"  // raft.h with C linkage

namespace segstore::raft_sim {

struct CommandFsm {
  raft_fsm fsm{};  // handed to raft_init; its data points here
  std::vector<std::string> applied;
  int restores = 0;  // snapshots restored (loaded at start or installed from the leader)

  // Empties the list and wires `fsm` to this object (before each raft_init).
  void reset();
};

}  // namespace segstore::raft_sim
