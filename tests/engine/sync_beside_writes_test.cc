// A data sync run by a waiter must not hold up the writes behind it. When a lone thread waits
// for durability it collects its write completions itself (the reaper thread stands aside);
// while that waiter runs an fdatasync (a seal of the segment just rolled, a sync() of streamed
// records) it collects nothing, and streaming appends that needed a free write slot stalled
// for the whole sync: at most inflight_groups_max groups were submitted, their completions
// stayed uncollected, and W1's appender stood still during every seal's sync. The test holds a
// sync() inside its fdatasync and checks that appends worth many more groups than there are
// slots finish meanwhile.
#include <future>

#include <gtest/gtest.h>

#include "engine/gate.h"
#include "engine/store_fixture.h"
#include "io/env.h"
#include "support/forwarding_env.h"

namespace segstore::testing {
namespace {

// Far longer than the appends take even on a loaded machine; far shorter than never.
constexpr std::chrono::seconds bounded_wait{20};

// Holds the data syncs of one file, once armed, until released.
class SyncGate : public Gate {
 public:
  explicit SyncGate(std::string path_suffix) : path_suffix_(std::move(path_suffix)) {}
  bool holds(const std::string &path) const { return path.ends_with(path_suffix_); }

 private:
  const std::string path_suffix_;
};

class GatedFile final : public ForwardingFile {
 public:
  GatedFile(std::unique_ptr<io::File> base, SyncGate *gate) : ForwardingFile(std::move(base)), gate_(gate) {}
  Status sync_data() override {
    if (gate_ != nullptr) gate_->pass();
    return ForwardingFile::sync_data();
  }

 private:
  SyncGate *gate_;
};

// The real Env (thread backend: its queue writes through the File interface), whose files
// named like the gate's pass their data syncs through it.
class SyncGateEnv final : public ForwardingEnv {
 public:
  SyncGateEnv(std::shared_ptr<io::Env> base, SyncGate *gate) : ForwardingEnv(std::move(base)), gate_(gate) {}

  Result<std::unique_ptr<io::File>> open_file(const std::string &path, io::OpenFlags flags) override {
    Result<std::unique_ptr<io::File>> file = base().open_file(path, flags);
    if (!file.ok()) return file.status();
    return std::unique_ptr<io::File>(std::make_unique<GatedFile>(std::move(*file), gate_->holds(path) ? gate_ : nullptr));
  }
  std::string describe() const override { return "sync-gate(" + base().describe() + ")"; }

 private:
  SyncGate *gate_;
};

TEST(SyncBesideWrites, StreamingAppendsGoOnWhileALoneWaiterSyncs) {
  TempDir dir;
  SyncGate gate("/00000000000000000001.seg");
  io::EnvOptions env_options;
  env_options.backend = io::EnvOptions::Backend::thread;
  // The segment is big enough that no append rolls it: a roll would start a seal, whose wait
  // for durability makes a second waiter, and the reaper thread would collect completions anyway.
  Options options = small_segments(Durability::none, 8u << 20);
  options.write_group_bytes_max = 16 * 1024;
  options.inflight_groups_max = 2;
  options.env = std::make_shared<SyncGateEnv>(io::make_posix_env(env_options), &gate);
  auto store = open_or_die(dir.path(), options);
  constexpr std::size_t record_bytes = 1000;
  // Records worth more than a group: the full groups are written without a sync, so sync()
  // makes them durable with an fdatasync of the segment (a group cut for a waiter alone would
  // be one RWF_DSYNC write, no fdatasync).
  constexpr std::uint64_t before_sync = 40;
  for (std::uint64_t i = 0; i < before_sync; ++i) SEGSTORE_ASSERT_OK(store->append(payload_for(i, record_bytes)));

  gate.arm();  // the first segment exists and is active: its next data sync is the sync() below
  std::future<Status> synced = std::async(std::launch::async, [&] { return store->sync(); });
  ASSERT_TRUE(gate.wait_until_holding(bounded_wait)) << "sync() never reached its data sync";
  // While the only durable waiter is inside its fdatasync: 1 MiB of appends, 64 groups of 16 KiB
  // through 2 slots.
  constexpr std::uint64_t streamed = 1000;
  constexpr std::uint64_t records = before_sync + streamed;
  std::future<Status> appended = std::async(std::launch::async, [&] {
    for (std::uint64_t i = before_sync; i < records; ++i) {
      Result<std::uint64_t> lsn = store->append(payload_for(i, record_bytes));
      if (!lsn.ok()) return lsn.status();
    }
    return Status();
  });
  const bool appends_finished = appended.wait_for(bounded_wait) == std::future_status::ready;
  gate.release();

  EXPECT_TRUE(appends_finished) << "streaming appends waited for another thread's data sync";
  SEGSTORE_ASSERT_OK(synced.get());
  SEGSTORE_ASSERT_OK(appended.get());
  EXPECT_GE(store->durable_lsn(), before_sync);
  SEGSTORE_ASSERT_OK(store->sync());
  EXPECT_EQ(store->durable_lsn(), records);

  // Every record is on disk and intact after a reopen.
  SEGSTORE_ASSERT_OK(store->close());
  options.env.reset();
  store = open_or_die(dir.path(), options);
  ASSERT_EQ(store->next_lsn(), records);
  for (std::uint64_t i = 0; i < records; ++i) {
    Result<Record> record = store->read(i);
    SEGSTORE_ASSERT_OK(record);
    EXPECT_EQ(record->payload, payload_for(i, record_bytes)) << "LSN " << i;
  }
}

}  // namespace
}  // namespace segstore::testing
