// tests/raft/cluster.h — raft servers on segstore in one process and one libuv loop, talking
// TCP over 127.0.0.1 (raft_uv's transport), for the adapter's tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "raft/segstore_raft.h"

namespace segstore::testing {

// One server: raft, its segstore-backed io and a state machine that keeps the applied
// commands (8-byte numbers) in order.
struct RaftNode {
  raft_id id = 0;
  std::string address;
  std::string dir;
  raft_io io{};
  raft_fsm fsm{};
  raft r{};
  std::vector<std::uint64_t> applied;
  int restores = 0;
  bool running = false;
  bool closed = false;
};

struct ClusterOptions {
  unsigned snapshot_threshold = 1024;
  unsigned snapshot_trailing = 128;
};

class RaftCluster {
 public:
  RaftCluster(const std::string &root, int servers, ClusterOptions options = {});
  ~RaftCluster();

  // Starts server i (0-based); bootstraps the configuration of all servers unless `join`
  // (a server whose data is gone rejoins as an empty follower).
  void start(int i, bool join = false);
  void stop(int i);
  RaftNode &node(int i) { return *nodes_[i]; }
  int size() const { return static_cast<int>(nodes_.size()); }

  // Runs the loop until pred() holds; false when `timeout` passed first.
  bool run_until(const std::function<bool()> &pred, std::chrono::milliseconds timeout);
  // The running leader's index, or -1.
  int leader() const;
  int wait_for_leader(std::chrono::milliseconds timeout);
  // Applies `value` on the leader; the result (0 or a RAFT_* code) lands in *status when known.
  bool apply(int leader, std::uint64_t value, const std::shared_ptr<int> &status);
  // Applies count values from first on, waiting for each batch of 16 to commit; true when all
  // did, each exactly once and in order. A leader change is raft working, not a failure: the
  // values whose outcome it made unknown are looked up in the next leader's applied log once a
  // barrier of its term has committed, and only those missing there are applied again. False
  // (with apply_failure() saying why) at the deadline or on any other error.
  bool apply_range(std::uint64_t first, std::uint64_t count, std::chrono::milliseconds timeout);
  const std::string &apply_failure() const { return apply_failure_; }

  uv_loop_t *loop() { return &loop_; }

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  // A leader on which a barrier of its own term has been applied; -1 at the deadline or when
  // the barrier failed otherwise than by a lost leadership (apply_failure_ says which).
  int settled_leader(Deadline deadline);
  // Submits up to 16 values from `next` on and waits for their outcomes: how many were
  // acknowledged (a prefix), *lost set when raft lost the leadership before the rest were.
  bool apply_batch(std::uint64_t next, std::uint64_t count, Deadline deadline, std::uint64_t *acknowledged,
                   bool *lost);
  // How many of count values from `next` on the leader l has applied; -1 when they are not a prefix.
  std::int64_t applied_prefix(int l, std::uint64_t next, std::uint64_t count) const;

  uv_loop_t loop_{};
  uv_timer_t waker_{};
  ClusterOptions options_;
  std::vector<std::unique_ptr<RaftNode>> nodes_;
  std::string apply_failure_;
};

}  // namespace segstore::testing
