// The segstore raft_io driven directly (no raft): load, append, truncate, snapshots, term and
// vote, across reopens. The loop runs the worker's completions.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "raft/segstore_raft.h"
#include "support/temp_dir.h"

namespace segstore::testing {
namespace {

// One io on its own loop; calls as raft makes them, on this thread.
class DirectIo {
 public:
  explicit DirectIo(const std::string &dir) {
    uv_loop_init(&loop_);
    segstore_raft_options options{};
    options.segment_bytes = 128 * 1024;
    EXPECT_EQ(segstore_raft_io_init(&io_, &loop_, dir.c_str(), &options), 0);
    EXPECT_EQ(io_.init(&io_, 1, "127.0.0.1:0"), 0) << io_.errmsg;
  }
  ~DirectIo() {
    bool closed = false;
    io_.data = &closed;
    io_.close(&io_, [](raft_io *io) { *static_cast<bool *>(io->data) = true; });
    while (!closed) uv_run(&loop_, UV_RUN_ONCE);
    segstore_raft_io_close(&io_);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  raft_io &io() { return io_; }

  // Appends entries with these terms (data: "e<term>.<k>") as one request; waits for its status.
  int append(const std::vector<raft_term> &terms, const std::string &tag) {
    std::vector<std::string> data;
    std::vector<raft_entry> entries(terms.size());
    for (std::size_t k = 0; k < terms.size(); ++k) data.push_back(tag + std::to_string(k));
    for (std::size_t k = 0; k < terms.size(); ++k) {
      entries[k].term = terms[k];
      entries[k].type = RAFT_COMMAND;
      entries[k].buf = raft_buffer{data[k].data(), data[k].size()};
    }
    int status = -1;
    raft_io_append req{};
    req.data = &status;
    int rv = io_.append(&io_, &req, entries.data(), static_cast<unsigned>(entries.size()),
                        [](raft_io_append *r, int s) { *static_cast<int *>(r->data) = s; });
    if (rv != 0) return rv;
    while (status == -1) uv_run(&loop_, UV_RUN_ONCE);
    return status;
  }

  struct Loaded {
    raft_term term = 0;
    raft_id vote = 0;
    raft_index start = 0;
    raft_index snapshot_index = 0;
    std::vector<std::string> data;
    std::vector<raft_term> terms;
  };
  Loaded load() {
    Loaded out;
    raft_snapshot *snapshot = nullptr;
    raft_entry *entries = nullptr;
    std::size_t n = 0;
    EXPECT_EQ(io_.load(&io_, &out.term, &out.vote, &snapshot, &out.start, &entries, &n), 0) << io_.errmsg;
    for (std::size_t k = 0; k < n; ++k) {
      out.data.emplace_back(static_cast<const char *>(entries[k].buf.base), entries[k].buf.len);
      out.terms.push_back(entries[k].term);
      raft_free(entries[k].buf.base);
    }
    raft_free(entries);
    if (snapshot != nullptr) {
      out.snapshot_index = snapshot->index;
      raft_configuration_close(&snapshot->configuration);
      raft_free(snapshot->bufs[0].base);
      raft_free(snapshot->bufs);
      raft_free(snapshot);
    }
    return out;
  }

  int snapshot_put(raft_index index, raft_term term, unsigned trailing, const std::string &state) {
    raft_snapshot snapshot{};
    snapshot.index = index;
    snapshot.term = term;
    raft_configuration_init(&snapshot.configuration);
    raft_configuration_add(&snapshot.configuration, 1, "127.0.0.1:1", RAFT_VOTER);
    snapshot.configuration_index = 1;
    raft_buffer buf{const_cast<char *>(state.data()), state.size()};
    snapshot.bufs = &buf;
    snapshot.n_bufs = 1;
    int status = -1;
    raft_io_snapshot_put req{};
    req.data = &status;
    int rv = io_.snapshot_put(&io_, trailing, &req, &snapshot,
                              [](raft_io_snapshot_put *r, int s) { *static_cast<int *>(r->data) = s; });
    if (rv == 0)
      while (status == -1) uv_run(&loop_, UV_RUN_ONCE);
    raft_configuration_close(&snapshot.configuration);
    return rv != 0 ? rv : status;
  }

  uv_loop_t loop_{};
  raft_io io_{};
};

TEST(RaftIo, ANewStoreLoadsEmptyAtIndexOne) {
  TempDir dir;
  DirectIo io(dir.path());
  DirectIo::Loaded loaded = io.load();
  EXPECT_EQ(loaded.term, 0u);
  EXPECT_EQ(loaded.vote, 0u);
  EXPECT_EQ(loaded.start, 1u);
  EXPECT_TRUE(loaded.data.empty());
}

TEST(RaftIo, TermVoteAndEntriesSurviveAReopen) {
  TempDir dir;
  {
    DirectIo io(dir.path());
    ASSERT_EQ(io.io().set_term(&io.io(), 7), 0);
    ASSERT_EQ(io.io().set_vote(&io.io(), 3), 0);
    ASSERT_EQ(io.append({1, 1, 2}, "a"), 0);
    ASSERT_EQ(io.append({7}, "b"), 0);
  }
  DirectIo io(dir.path());
  DirectIo::Loaded loaded = io.load();
  EXPECT_EQ(loaded.term, 7u);
  EXPECT_EQ(loaded.vote, 3u);
  EXPECT_EQ(loaded.start, 1u);
  EXPECT_EQ(loaded.data, (std::vector<std::string>{"a0", "a1", "a2", "b0"}));
  EXPECT_EQ(loaded.terms, (std::vector<raft_term>{1, 1, 2, 7}));
  // A new term clears the vote, as raft expects.
  ASSERT_EQ(io.io().set_term(&io.io(), 8), 0);
  EXPECT_EQ(io.load().vote, 0u);
}

// A follower's conflicting entries go from the first conflicting index on, here from the middle
// of what one append request (and one data sync) wrote.
TEST(RaftIo, TruncateInsideOneAppendRequestKeepsItsHead) {
  TempDir dir;
  {
    DirectIo io(dir.path());
    ASSERT_EQ(io.append({1, 1, 1, 1, 1, 1}, "old"), 0);  // indexes 1..6 in one request
    ASSERT_EQ(io.io().truncate(&io.io(), 4), 0);          // 4..6 conflict
    ASSERT_EQ(io.append({2, 2}, "new"), 0);               // become 4..5
    DirectIo::Loaded now = io.load();
    EXPECT_EQ(now.data, (std::vector<std::string>{"old0", "old1", "old2", "new0", "new1"}));
  }
  DirectIo io(dir.path());
  DirectIo::Loaded loaded = io.load();
  EXPECT_EQ(loaded.data, (std::vector<std::string>{"old0", "old1", "old2", "new0", "new1"}));
  EXPECT_EQ(loaded.terms, (std::vector<raft_term>{1, 1, 1, 2, 2}));
}

TEST(RaftIo, ASnapshotWithTrailingKeepsTheTailOfTheLog) {
  TempDir dir;
  DirectIo io(dir.path());
  for (int k = 0; k < 40; ++k) ASSERT_EQ(io.append({1, 1, 1, 1, 1}, "r" + std::to_string(k) + "."), 0);
  ASSERT_EQ(io.snapshot_put(150, 1, 20, "state at 150"), 0);
  DirectIo::Loaded loaded = io.load();
  EXPECT_EQ(loaded.snapshot_index, 150u);
  // Whole segments go: the log starts at or before 131 and still ends at 200.
  EXPECT_LE(loaded.start, 131u);
  EXPECT_GT(loaded.start, 1u) << "nothing was trimmed";
  EXPECT_EQ(loaded.start + loaded.data.size() - 1, 200u);
}

TEST(RaftIo, AnInstalledSnapshotReplacesTheLog) {
  TempDir dir;
  {
    DirectIo io(dir.path());
    ASSERT_EQ(io.append({1, 1, 1}, "x"), 0);
    ASSERT_EQ(io.snapshot_put(500, 4, 0, "leader's state"), 0);  // trailing 0: InstallSnapshot
    ASSERT_EQ(io.append({4}, "after"), 0);
  }
  DirectIo io(dir.path());
  DirectIo::Loaded loaded = io.load();
  EXPECT_EQ(loaded.snapshot_index, 500u);
  EXPECT_EQ(loaded.start, 501u);
  EXPECT_EQ(loaded.data, (std::vector<std::string>{"after0"}));
}

}  // namespace
}  // namespace segstore::testing
