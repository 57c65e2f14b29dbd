// tests/raft/raft_sim.h — the raft adapter under the crash simulation (docs/TESTING.md,
// docs/REPLICATION.md "Tests").
//
// Per seed: three raft servers in one process and one libuv loop, each with its store on its own
// simulated disk (testing/sim_env.h) and raft's messages carried by an in-process network
// (sim_network.h) on a virtual clock. Clients submit commands to the leader; at seed-chosen
// moments one server's disk loses power (with its storage thread idle: docs/TESTING.md says why),
// the server is rebuilt from what its store recovered and rejoins. Checked:
//   - after each crash, on the crashed server's recovered store: the term never went backwards,
//     and a vote raft acted on survived (same term: same vote); every entry raft counted as
//     stored (its append callback reported success) is still there unless raft truncated it; the
//     entries at committed indexes hold the committed bytes;
//   - at the end, after a power cut of all three disks at once: each committed entry is on a
//     majority's recovered logs with its bytes (or below a snapshot covering it);
//   - after every step: a follower the leader counts as matched up to an index holds the leader's
//     term there (both in the leader's term);
//   - after every server restarted and caught up: every server applied exactly the committed
//     commands, in the same order, and every acknowledged command is among them.
// The seed drives every decision except the interleaving of each server's storage thread with
// the loop, which the driver removes by waiting for the storage threads before time moves on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace segstore::raft_sim {

struct RaftSimConfig {
  std::uint64_t seed = 1;
  unsigned crashes = 3;          // single-server power cuts per seed (then the all-server cut)
  unsigned steps_min = 300;      // virtual milliseconds between two crashes: between min and max
  unsigned steps_max = 1500;
  std::string host_dir;          // an existing real directory (the stores' events.log land here)
  // Cut the power under a server whose storage thread runs a request (its write groups held
  // in flight), so that raft hears of a failed append. raft 0.15 does not survive that
  // (docs/REPLICATION.md "Limits"); tests/raft/raft_sim_test.cc pins it.
  bool cut_with_request_running = false;
  bool verbose = false;          // one line per crash on stderr
};

struct RaftSimStats {
  std::uint64_t seeds = 0;
  std::uint64_t crashes = 0;             // single-server power cuts
  std::uint64_t submitted = 0;           // commands given to a leader
  std::uint64_t acknowledged = 0;        // commands whose apply callback reported success
  std::uint64_t entries_checked = 0;     // committed entries compared on recovered stores
  std::uint64_t match_indexes_checked = 0;  // a leader's match index compared with its follower's log
  std::uint64_t snapshots_installed = 0; // a server restored a snapshot it received or loaded
  std::vector<std::string> failures;     // "seed S: what"

  void add(const RaftSimStats &other);
  std::string summary() const;
};

RaftSimStats run_raft_sim(const RaftSimConfig &config);

}  // namespace segstore::raft_sim
