// tests/sim/kill_test.cc — real process crashes: a writer process (crash_writer.cc) appends with
// durability sync and reports each acknowledged LSN on a pipe; the test reads a random number of
// acknowledgements, kills it with SIGKILL, reopens the store in this process (recovery runs) and
// checks every acknowledged record, then starts the writer again on the same store.
//
// A SIGKILL loses nothing the kernel has (the page cache survives the process), so these loops
// test the engine's own ordering: that nothing is acknowledged before it was written and synced,
// and that recovery accepts whatever a process can leave behind mid-operation (a group half
// submitted, a segment half created, a snapshot half renamed). Power cuts are the simulator's job.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "segstore/store.h"
#include "sim/crash_payload.h"
#include "support/temp_dir.h"

extern char **environ;

namespace segstore::sim {
namespace {

struct Acks {
  std::map<std::uint64_t, std::uint64_t> records;  // lsn -> payload id
  std::uint64_t snapshot_lsn_max = 0;
  bool snapshot = false;
};

class Writer {
 public:
  // Starts crash_writer with stdout on a pipe.
  Writer(const std::string &dir, std::uint64_t first_id, const std::string &mode, std::uint64_t segment_bytes) {
    const char *exe = std::getenv("SEGSTORE_CRASH_WRITER");
    if (exe == nullptr) throw std::runtime_error("SEGSTORE_CRASH_WRITER is not set (meson sets it)");
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    const std::string id = std::to_string(first_id), seg = std::to_string(segment_bytes);
    std::vector<char *> args = {const_cast<char *>(exe), const_cast<char *>(dir.c_str()), const_cast<char *>(id.c_str()),
                                const_cast<char *>(mode.c_str()), const_cast<char *>(seg.c_str()), nullptr};
    if (::posix_spawn(&pid_, exe, &actions, nullptr, args.data(), environ) != 0)
      throw std::runtime_error(std::string("posix_spawn ") + exe + " failed");
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
  }
  ~Writer() {
    kill();
    if (out_ != nullptr) std::fclose(out_);
  }
  // Reads acknowledgements until `count` records were acknowledged or the writer ended.
  // Returns false when the writer ended on its own (an error: it runs until killed).
  bool read_acks(std::uint64_t count, Acks &acks) {
    char line[128];
    std::uint64_t seen = 0;
    while (seen < count && std::fgets(line, sizeof line, out_) != nullptr) {
      unsigned long long a = 0, b = 0;
      if (std::sscanf(line, "A %llu %llu", &a, &b) == 2) {
        acks.records[a] = b;
        seen++;
      } else if (std::sscanf(line, "S %llu", &a) == 1) {
        acks.snapshot = true;
        acks.snapshot_lsn_max = std::max<std::uint64_t>(acks.snapshot_lsn_max, a);
      }
    }
    return seen == count;
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  FILE *out_ = nullptr;
};

// Opens the store (recovery runs), checks every acknowledged record and the whole log, closes.
// Returns the next payload id to use.
void check_store(const std::string &dir, const Acks &acks, std::uint64_t segment_bytes, std::uint64_t *checked) {
  Options options;
  options.segment_bytes = segment_bytes;
  Result<std::unique_ptr<Store>> opened = Store::open(dir, options);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  Store &store = **opened;
  for (const auto &[lsn, id] : acks.records) {
    Result<Record> rec = store.read(lsn);
    ASSERT_TRUE(rec.ok()) << "acknowledged LSN " << lsn << ": " << rec.status().to_string() << "; "
                          << store.recovery_report().to_string();
    ASSERT_EQ(crash_payload_id(rec->payload), std::optional<std::uint64_t>(id)) << "acknowledged LSN " << lsn;
    (*checked)++;
  }
  // The log is a dense prefix of self-checking payloads: nothing torn or foreign in it.
  Result<Iterator> it = store.scan(store.first_lsn());
  ASSERT_TRUE(it.ok());
  std::uint64_t expect = store.first_lsn();
  while (true) {
    Result<bool> more = it->next();
    ASSERT_TRUE(more.ok()) << more.status().to_string();
    if (!*more) break;
    ASSERT_EQ(it->record().lsn, expect);
    ASSERT_TRUE(crash_payload_id(it->record().payload).has_value()) << "LSN " << expect << " holds bytes no writer wrote";
    expect++;
  }
  EXPECT_EQ(expect, store.next_lsn());
  if (acks.snapshot) {
    Result<Snapshot> snap = store.latest_snapshot();
    ASSERT_TRUE(snap.ok()) << snap.status().to_string();
    EXPECT_GE(snap->lsn, acks.snapshot_lsn_max) << "an acknowledged snapshot is gone";
    EXPECT_EQ(snap->state, crash_payload(snap->lsn, 100 + snap->lsn % 500)) << "snapshot at LSN " << snap->lsn;
  }
  ASSERT_TRUE(store.close().ok());
}

void kill_loop(const std::string &mode, std::uint64_t segment_bytes, int kills, std::uint64_t acks_max) {
  testing::TempDir dir;
  const std::string store_dir = dir.sub("store");
  std::mt19937_64 random(std::random_device{}());
  Acks acks;
  std::uint64_t next_id = 1, checked = 0, total_acks = 0;
  for (int k = 0; k < kills; ++k) {
    const std::uint64_t want = 1 + random() % acks_max;
    {
      Writer writer(store_dir, next_id, mode, segment_bytes);
      const std::size_t before = acks.records.size();
      ASSERT_TRUE(writer.read_acks(want, acks)) << "the writer stopped before it was killed (run " << k << ")";
      total_acks += acks.records.size() - before;
      writer.kill();
    }
    next_id += 1u << 20;  // each run numbers its payloads apart
    check_store(store_dir, acks, segment_bytes, &checked);
    if (::testing::Test::HasFatalFailure()) {
      ADD_FAILURE() << "after kill " << k;
      return;
    }
  }
  std::printf("%s: %d kills, %llu acknowledgements, %llu acknowledged records checked\n", mode.c_str(), kills,
              static_cast<unsigned long long>(total_acks), static_cast<unsigned long long>(checked));
  EXPECT_GT(checked, static_cast<std::uint64_t>(kills));
}

TEST(KillNine, SyncWriterKilledAtRandomAcknowledgements) { kill_loop("plain", 1u << 20, 50, 60); }

// 16 KiB segments with payloads up to 3 KiB: a segment rolls every few records, so most kills
// land during or right after a roll (a new segment's first write, the old one's sealing).
TEST(KillNine, SyncWriterKilledDuringSegmentRolls) { kill_loop("plain", 16 * 1024, 25, 30); }

// A snapshot after every third record: kills land in write_snapshot's temp file, rename and
// pruning.
TEST(KillNine, SnapshotWriterKilledDuringSnapshots) { kill_loop("snapshot", 16 * 1024, 25, 30); }

}  // namespace
}  // namespace segstore::sim
