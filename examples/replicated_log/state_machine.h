// examples/replicated_log/state_machine.h — what the replicated log is applied to: a key-value
// map (PUT) and an append-only list (APPEND), as a raft_fsm with snapshots.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "raft/segstore_raft.h"  // raft.h with C linkage


namespace replicated_log {

// A command as it travels in a raft entry: 'P' key value, or 'A' value (each string: length
// (4, LE) then bytes), zero-padded to a multiple of 8 bytes.
std::string encode_put(const std::string &key, const std::string &value);
std::string encode_append(const std::string &value);

class StateMachine {
 public:
  StateMachine();
  raft_fsm *fsm() { return &fsm_; }

  const std::map<std::string, std::string> &values() const { return values_; }
  const std::vector<std::string> &appended() const { return appended_; }
  std::uint64_t restores() const { return restores_; }

 private:
  static int apply(raft_fsm *fsm, const raft_buffer *buf, void **result);
  static int snapshot(raft_fsm *fsm, raft_buffer *bufs[], unsigned *n_bufs);
  static int restore(raft_fsm *fsm, raft_buffer *buf);

  raft_fsm fsm_{};
  std::map<std::string, std::string> values_;
  std::vector<std::string> appended_;
  std::uint64_t restores_ = 0;
};

}  // namespace replicated_log
