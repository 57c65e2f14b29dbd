// tests/raft/append_result_test.cc — what a follower on the adapter reports to its leader when it
// accepts an AppendEntries, with entries of an older term after the prefix the leader matched
// (raft/segstore_raft_io.cc, on_recv). The leader is played by this test over the in-process
// network: server 1 is raft on the adapter, server 2 only sends and receives messages.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raft/command_fsm.h"
#include "raft/segstore_raft.h"
#include "raft/sim_network.h"
#include "support/temp_dir.h"

namespace segstore::raft_sim {
namespace {

constexpr raft_id follower_id = 1;
constexpr raft_id leader_id = 2;

class FollowerWithLeftovers : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    write_log();
    start_follower();
    Endpoint &leader = network_.endpoint(static_cast<int>(leader_id) - 1);
    leader.io.data = &results_;
    ASSERT_EQ(leader.io.start(&leader.io, 1000000, [](raft_io *) {}, &FollowerWithLeftovers::on_leader_recv), 0);
  }

  void TearDown() override {
    bool closed = false;
    r_.data = &closed;
    raft_close(&r_, [](raft *r) { *static_cast<bool *>(r->data) = true; });
    while (!closed) uv_run(&loop_, UV_RUN_ONCE);
    segstore_raft_io_close(&io_);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  segstore_raft_options options() {
    segstore_raft_options options{};
    options.transport = &network_.endpoint(static_cast<int>(follower_id) - 1).io;
    return options;
  }

  // The follower's log before the test: 1 the configuration (term 1), 2 "committed" (term 1),
  // 3..6 "leftover0..3" (term 2: appended while it led in term 2, never replicated).
  void write_log() {
    raft_io io{};
    const segstore_raft_options opts = options();
    ASSERT_EQ(segstore_raft_io_init(&io, &loop_, dir_.path().c_str(), &opts), 0);
    ASSERT_EQ(io.init(&io, follower_id, "sim-1"), 0) << io.errmsg;
    raft_configuration configuration;
    raft_configuration_init(&configuration);
    raft_configuration_add(&configuration, follower_id, "sim-1", RAFT_VOTER);
    raft_configuration_add(&configuration, leader_id, "sim-2", RAFT_VOTER);
    ASSERT_EQ(io.bootstrap(&io, &configuration), 0) << io.errmsg;
    raft_configuration_close(&configuration);
    ASSERT_EQ(io.set_term(&io, 2), 0) << io.errmsg;
    std::vector<std::string> data{"committed", "leftover0", "leftover1", "leftover2", "leftover3"};
    std::vector<raft_entry> entries(data.size());
    for (std::size_t k = 0; k < data.size(); ++k) {
      entries[k].term = k == 0 ? 1 : 2;
      entries[k].type = RAFT_COMMAND;
      entries[k].buf = raft_buffer{data[k].data(), data[k].size()};
    }
    int status = -1;
    raft_io_append req{};
    req.data = &status;
    ASSERT_EQ(io.append(&io, &req, entries.data(), static_cast<unsigned>(entries.size()),
                        [](raft_io_append *r, int s) { *static_cast<int *>(r->data) = s; }),
              0);
    while (status == -1) uv_run(&loop_, UV_RUN_ONCE);
    ASSERT_EQ(status, 0);
    bool closed = false;
    io.data = &closed;
    io.close(&io, [](raft_io *closing) { *static_cast<bool *>(closing->data) = true; });
    while (!closed) uv_run(&loop_, UV_RUN_ONCE);
    segstore_raft_io_close(&io);
  }

  void start_follower() {
    const segstore_raft_options opts = options();
    ASSERT_EQ(segstore_raft_io_init(&io_, &loop_, dir_.path().c_str(), &opts), 0);
    fsm_.reset();
    ASSERT_EQ(raft_init(&r_, &io_, &fsm_.fsm, follower_id, "sim-1"), 0) << io_.errmsg;
    raft_set_election_timeout(&r_, 1000000);  // it never campaigns: the test leads
    ASSERT_EQ(raft_start(&r_), 0) << raft_errmsg(&r_);
    ASSERT_EQ(raft_last_index(&r_), 6u);
    ASSERT_EQ(r_.last_stored, 6u);
  }

  static void on_leader_recv(raft_io *io, raft_message *message) {
    if (message->type == RAFT_IO_APPEND_ENTRIES_RESULT)
      static_cast<std::vector<raft_append_entries_result> *>(io->data)->push_back(message->append_entries_result);
  }

  struct Entry {
    raft_term term;
    std::string data;
  };

  // The leader (term 3, whose log holds 1 and 2 as the follower's, then entries of term 3)
  // sends one AppendEntries; returns the follower's answer.
  raft_append_entries_result send(raft_index prev_log_index, raft_term prev_log_term, std::vector<Entry> entries,
                                  raft_index leader_commit = 2) {
    std::vector<raft_entry> copies(entries.size());
    for (std::size_t k = 0; k < entries.size(); ++k) {
      copies[k].term = entries[k].term;
      copies[k].type = RAFT_COMMAND;
      copies[k].buf = raft_buffer{entries[k].data.data(), entries[k].data.size()};
    }
    raft_message message{};
    message.type = RAFT_IO_APPEND_ENTRIES;
    message.server_id = follower_id;
    message.server_address = "sim-1";
    message.append_entries.term = 3;
    message.append_entries.prev_log_index = prev_log_index;
    message.append_entries.prev_log_term = prev_log_term;
    message.append_entries.leader_commit = leader_commit;
    message.append_entries.entries = copies.empty() ? nullptr : copies.data();
    message.append_entries.n_entries = static_cast<unsigned>(copies.size());
    Endpoint &leader = network_.endpoint(static_cast<int>(leader_id) - 1);
    raft_io_send req{};
    const std::size_t before = results_.size();
    EXPECT_EQ(leader.io.send(&leader.io, &req, &message, nullptr), 0);  // the network copies it
    // Virtual time moves in steps of 1 ms; the follower's writes finish before each step.
    for (int step = 0; step < 200 && results_.size() == before; ++step) {
      network_.advance_to(network_.now() + 1);
      segstore_raft_io_wait_idle(&io_);
      uv_run(&loop_, UV_RUN_NOWAIT);
    }
    EXPECT_EQ(results_.size(), before + 1) << "the follower answered no or more than one AppendEntries";
    return results_.size() > before ? results_[before] : raft_append_entries_result{};
  }

  testing::TempDir dir_;
  uv_loop_t loop_{};
  SimNetwork network_{2, 1};
  raft_io io_{};
  raft r_{};
  CommandFsm fsm_;
  std::vector<raft_append_entries_result> results_;
};

// Before the adapter capped the answer, the follower reported 6: its last stored index, covering
// the four leftover entries the message never compared. The leader, whose own log had grown
// since it sent the heartbeat, then took the follower for holding its entries 3..6.
TEST_F(FollowerWithLeftovers, AHeartbeatMatchingIndexTwoReportsTwo) {
  const raft_append_entries_result result = send(2, 1, {});
  EXPECT_EQ(result.rejected, 0u);
  EXPECT_EQ(result.last_log_index, 2u);
  EXPECT_EQ(r_.current_term, 3u);
  EXPECT_EQ(raft_last_index(&r_), 6u) << "a heartbeat removes nothing";
}

// The leader has committed 6 entries (its 3..6 are of term 3); the heartbeat matched index 2 only.
// Before the adapter capped leader_commit, raft took its commit index to min(6, last stored 6)
// and applied the four leftover entries of term 2, which were never committed.
TEST_F(FollowerWithLeftovers, AHeartbeatCommitsNoEntryPastWhatItMatched) {
  const raft_append_entries_result result = send(2, 1, {}, 6);
  EXPECT_EQ(result.rejected, 0u);
  EXPECT_EQ(r_.commit_index, 2u);
  EXPECT_EQ(fsm_.applied, (std::vector<std::string>{"committed"}));
}

// Entry 2 sent again: the follower holds it, writes nothing and answers at once, up to it.
TEST_F(FollowerWithLeftovers, AnEntryAlreadyHeldReportsItsIndexNotTheLogsEnd) {
  const raft_append_entries_result result = send(1, 1, {{1, "committed"}});
  EXPECT_EQ(result.rejected, 0u);
  EXPECT_EQ(result.last_log_index, 2u);
}

// The reply of a write (from the append's callback) was right before and stays so: the
// conflicting leftovers were truncated, the new entries written, and the answer is their end.
TEST_F(FollowerWithLeftovers, ConflictingEntriesAreReplacedAndTheirEndReported) {
  const raft_append_entries_result written = send(2, 1, {{3, "kept0"}, {3, "kept1"}});
  EXPECT_EQ(written.rejected, 0u);
  EXPECT_EQ(written.last_log_index, 4u);
  EXPECT_EQ(raft_last_index(&r_), 4u);
  EXPECT_EQ(r_.last_stored, 4u);
  const raft_append_entries_result heartbeat = send(4, 3, {});
  EXPECT_EQ(heartbeat.rejected, 0u);
  EXPECT_EQ(heartbeat.last_log_index, 4u);
  // A heartbeat past the follower's log is rejected, with its last index as the hint.
  const raft_append_entries_result ahead = send(5, 3, {});
  EXPECT_EQ(ahead.rejected, 5u);
}

}  // namespace
}  // namespace segstore::raft_sim
