// Three raft servers on segstore in one process, over TCP on 127.0.0.1: elections, replication,
// restarts, a node rebuilt by snapshot install, a damaged follower.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "raft/cluster.h"
#include "segstore/store.h"
#include "support/temp_dir.h"

namespace segstore::testing {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds election_wait{5000};
constexpr milliseconds replication_wait{20000};

std::vector<std::uint64_t> numbers(std::uint64_t first, std::uint64_t count) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t k = 0; k < count; ++k) out.push_back(first + k);
  return out;
}

bool all_applied(RaftCluster &cluster, std::size_t count) {
  for (int i = 0; i < cluster.size(); ++i)
    if (cluster.node(i).running && cluster.node(i).applied.size() < count) return false;
  return true;
}

// raft takes a snapshot in steps (the state machine's copy, then the store's snapshot_put), and
// its log's snapshot index moves only when the put completes: a node may be in the middle of one
// after it applied every entry.
bool no_snapshot_running(RaftCluster &cluster) {
  for (int i = 0; i < cluster.size(); ++i) {
    const raft &r = cluster.node(i).r;
    if (cluster.node(i).running && (r.snapshot.pending.term != 0 || r.snapshot.put.data != nullptr)) return false;
  }
  return true;
}

TEST(RaftCluster, ElectsALeaderAndReplicatesToEveryNode) {
  TempDir dir;
  RaftCluster cluster(dir.path(), 3);
  for (int i = 0; i < 3; ++i) cluster.start(i);
  ASSERT_GE(cluster.wait_for_leader(election_wait), 0);
  ASSERT_TRUE(cluster.apply_range(1, 200, replication_wait)) << cluster.apply_failure();
  ASSERT_TRUE(cluster.run_until([&] { return all_applied(cluster, 200); }, replication_wait));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(cluster.node(i).applied, numbers(1, 200)) << "node " << i + 1;
  // raft_uv serves the network only: its directory holds no log of its own.
  for (int i = 0; i < 3; ++i)
    for (const auto &entry : std::filesystem::directory_iterator(cluster.node(i).dir + "/net"))
      EXPECT_EQ(entry.path().filename().string().rfind("open-", 0), std::string::npos) << entry.path();
}

TEST(RaftCluster, EveryNodeRestartsWithItsTermVoteLogAndSnapshot) {
  TempDir dir;
  RaftCluster cluster(dir.path(), 3, ClusterOptions{64, 16});
  for (int i = 0; i < 3; ++i) cluster.start(i);
  ASSERT_GE(cluster.wait_for_leader(election_wait), 0);
  ASSERT_TRUE(cluster.apply_range(1, 150, replication_wait)) << cluster.apply_failure();
  ASSERT_TRUE(cluster.run_until([&] { return all_applied(cluster, 150); }, replication_wait));
  // What each node holds is read once no snapshot is under way (under AddressSanitizer one
  // finished between this read and the stop: the node restarted with a newer snapshot).
  ASSERT_TRUE(cluster.run_until([&] { return no_snapshot_running(cluster); }, replication_wait));
  struct Saved {
    raft_term term;
    raft_id vote;
    raft_index last_index;
    raft_index snapshot_index;
  };
  std::vector<Saved> saved;
  for (int i = 0; i < 3; ++i) {
    raft &r = cluster.node(i).r;
    saved.push_back({r.current_term, r.voted_for, raft_last_index(&r), r.log.snapshot.last_index});
    EXPECT_GT(saved.back().snapshot_index, 0u) << "node " << i + 1 << " took no snapshot";
  }
  for (int i = 0; i < 3; ++i) cluster.stop(i);
  for (int i = 0; i < 3; ++i) {
    cluster.start(i);
    raft &r = cluster.node(i).r;
    EXPECT_EQ(r.current_term, saved[i].term) << "node " << i + 1;
    EXPECT_EQ(r.voted_for, saved[i].vote) << "node " << i + 1;
    EXPECT_EQ(raft_last_index(&r), saved[i].last_index) << "node " << i + 1;
    EXPECT_EQ(r.log.snapshot.last_index, saved[i].snapshot_index) << "node " << i + 1;
    EXPECT_EQ(cluster.node(i).restores, 1) << "node " << i + 1 << " did not restore its snapshot";
  }
  ASSERT_GE(cluster.wait_for_leader(election_wait), 0);
  ASSERT_TRUE(cluster.apply_range(151, 10, replication_wait)) << cluster.apply_failure();
  ASSERT_TRUE(cluster.run_until([&] { return all_applied(cluster, 160); }, replication_wait));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(cluster.node(i).applied, numbers(1, 160)) << "node " << i + 1;
}

TEST(RaftCluster, ANodeWhoseDirectoryWasDeletedCatchesUpBySnapshotInstall) {
  TempDir dir;
  RaftCluster cluster(dir.path(), 3, ClusterOptions{32, 8});
  for (int i = 0; i < 3; ++i) cluster.start(i);
  ASSERT_GE(cluster.wait_for_leader(election_wait), 0);
  ASSERT_TRUE(cluster.apply_range(1, 120, replication_wait)) << cluster.apply_failure();
  const int leader = cluster.wait_for_leader(election_wait);  // it may have changed under load
  ASSERT_GE(leader, 0);
  const int victim = (leader + 1) % 3;
  cluster.stop(victim);
  std::filesystem::remove_all(cluster.node(victim).dir);
  ASSERT_TRUE(cluster.apply_range(121, 40, replication_wait)) << cluster.apply_failure();
  cluster.start(victim, /*join=*/true);
  ASSERT_TRUE(cluster.run_until([&] { return all_applied(cluster, 160); }, replication_wait));
  EXPECT_EQ(cluster.node(victim).applied, numbers(1, 160));
  EXPECT_GE(cluster.node(victim).restores, 1) << "caught up without a snapshot";
  cluster.stop(victim);
  // On disk: the installed snapshot, and a log that starts after it.
  Result<std::unique_ptr<Store>> store = Store::open(cluster.node(victim).dir + "/log");
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  Result<Snapshot> snapshot = (*store)->latest_snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
  EXPECT_GT(snapshot->lsn, 1u);
  EXPECT_GT((*store)->first_lsn(), 1u);
}

// A byte flipped in a follower's segment: its recovery cuts the log there (the cut records go
// to quarantine/) and the follower gets the rest from the leader again.
TEST(RaftCluster, AFollowerWithAFlippedByteRecoversFromTheLeader) {
  TempDir dir;
  RaftCluster cluster(dir.path(), 3);  // no snapshot: the follower's whole log is in its segments
  for (int i = 0; i < 3; ++i) cluster.start(i);
  ASSERT_GE(cluster.wait_for_leader(election_wait), 0);
  ASSERT_TRUE(cluster.apply_range(1, 100, replication_wait)) << cluster.apply_failure();
  const int leader = cluster.wait_for_leader(election_wait);  // it may have changed under load
  ASSERT_GE(leader, 0);
  const int follower = (leader + 1) % 3;
  ASSERT_TRUE(cluster.run_until([&] { return cluster.node(follower).applied.size() >= 100; }, replication_wait));
  cluster.stop(follower);
  const std::string log_dir = cluster.node(follower).dir + "/log";
  std::string segment;
  for (const auto &entry : std::filesystem::directory_iterator(log_dir))
    if (entry.path().extension() == ".seg") segment = entry.path().string();
  ASSERT_FALSE(segment.empty());
  {
    // 2 KiB in: inside the records (the first block holds the segment header and early entries).
    std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(4096 + 2048);
    char byte = 0;
    file.get(byte);
    file.seekp(4096 + 2048);
    file.put(static_cast<char>(byte ^ 0x5a));
  }
  std::filesystem::remove(log_dir + "/CLEAN");  // as after a crash: the scan runs
  cluster.start(follower);
  ASSERT_TRUE(cluster.apply_range(101, 10, replication_wait)) << cluster.apply_failure();
  ASSERT_TRUE(cluster.run_until([&] { return all_applied(cluster, 110); }, replication_wait));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(cluster.node(i).applied, numbers(1, 110)) << "node " << i + 1;
  cluster.stop(follower);
  ASSERT_TRUE(std::filesystem::exists(log_dir + "/quarantine"));
  EXPECT_FALSE(std::filesystem::is_empty(log_dir + "/quarantine")) << "recovery did not cut the damaged records";
}

}  // namespace
}  // namespace segstore::testing
