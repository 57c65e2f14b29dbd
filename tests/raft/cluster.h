// tests/raft/cluster.h — raft servers on segstore in one process and one libuv loop, talking
// TCP over 127.0.0.1 (raft_uv's transport), for the adapter's tests.
#pragma once

#include <chrono>
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
  // Applies count values from first on, waiting for each batch of 16 to commit; true when all did.
  bool apply_range(std::uint64_t first, std::uint64_t count, std::chrono::milliseconds timeout);

  uv_loop_t *loop() { return &loop_; }

 private:
  uv_loop_t loop_{};
  uv_timer_t waker_{};
  ClusterOptions options_;
  std::vector<std::unique_ptr<RaftNode>> nodes_;
};

}  // namespace segstore::testing
