// Store::install_snapshot: a follower replacing its log by its leader's state, atomically.
#include <filesystem>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"
#include "testing/sim_env.h"

namespace segstore::testing {
namespace {

void append_numbered(Store &store, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) ASSERT_TRUE(store.append(payload_for(i, 100)).ok());
}

TEST(InstallSnapshot, PastTheEndLeavesAnEmptyLogAfterTheSnapshot) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  append_numbered(*store, 50);
  SEGSTORE_ASSERT_OK(store->write_snapshot(20, as_bytes("old")));
  SEGSTORE_ASSERT_OK(store->install_snapshot(1000, as_bytes("leader state")));
  EXPECT_EQ(store->first_lsn(), 1001u);
  EXPECT_EQ(store->next_lsn(), 1001u);
  Result<Snapshot> latest = store->latest_snapshot();
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  EXPECT_EQ(latest->lsn, 1000u);
  EXPECT_EQ(as_string(latest->state), "leader state");
  Result<std::uint64_t> next = store->append(as_bytes("after"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 1001u);
}

TEST(InstallSnapshot, InsideTheLogCutsTheRecordsFromItsLsnOn) {
  TempDir dir;
  {
    auto store = open_or_die(dir.path(), small_segments(Durability::none));
    append_numbered(*store, 50);
    SEGSTORE_ASSERT_OK(store->install_snapshot(30, as_bytes("at 30")));
    EXPECT_EQ(store->first_lsn(), 31u);
    EXPECT_EQ(store->next_lsn(), 31u);
    EXPECT_EQ(store->read(29).status().code(), Errc::lsn_out_of_range);
  }
  // And so it stays after a reopen.
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  EXPECT_EQ(store->next_lsn(), 31u);
  Result<Snapshot> latest = store->latest_snapshot();
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  EXPECT_EQ(latest->lsn, 30u);
  EXPECT_EQ(as_string(latest->state), "at 30");
}

TEST(InstallSnapshot, OlderThanTheLogIsRefusedAndChangesNothing) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  SEGSTORE_ASSERT_OK(store->reset_to(100));
  append_numbered(*store, 5);
  EXPECT_EQ(store->install_snapshot(50, as_bytes("stale")).code(), Errc::lsn_out_of_range);
  EXPECT_EQ(store->next_lsn(), 105u);
  EXPECT_EQ(store->latest_snapshot().status().code(), Errc::not_found);
  EXPECT_EQ(store->install_snapshot(UINT64_MAX, as_bytes("x")).code(), Errc::invalid_argument);
}

// The crash-point tests run on the simulated disk: a targeted fault stops install_snapshot at
// a chosen step, then a power cut, then a reopen shows which of the two states is on disk.
class InstallSnapshotCrash : public ::testing::Test {
 protected:
  InstallSnapshotCrash() : disk_(::segstore::testing::SimDisk::make(7, host_.path())), dir_(host_.sub("store")) {
    std::filesystem::create_directories(dir_);  // events.log goes to the host's file system
    EXPECT_TRUE(disk_->env()->make_dir(dir_).ok());
    EXPECT_TRUE(disk_->env()->sync_dir(host_.path()).ok());
  }
  Options options() {
    Options options = small_segments(Durability::sync);
    options.prealloc = PreallocMode::fallocate;
    options.direct_io = false;
    // No spare segment: the maintenance thread removes a spare it finished creating after the
    // reset raised the segment ids, and that removal could take the fault armed for
    // install_snapshot's own (the test then saw install_snapshot succeed, ~1 run in 75).
    options.preallocate_next_segment = false;
    options.env = disk_->env();
    return options;
  }
  // 40 records and a snapshot at 30; then install_snapshot(500) fails at the armed fault.
  void install_into_fault(const ::segstore::testing::SimTarget &fault) {
    auto store = open_or_die(dir_, options());
    append_numbered(*store, 40);
    SEGSTORE_ASSERT_OK(store->write_snapshot(30, as_bytes("own")));
    disk_->arm(fault);
    EXPECT_FALSE(store->install_snapshot(500, as_bytes("leader")).ok());
    disk_->crash();
  }

  TempDir host_;
  std::shared_ptr<::segstore::testing::SimDisk> disk_;
  std::string dir_;
};

TEST_F(InstallSnapshotCrash, BeforeTheResetCommitsTheOldLogAndSnapshotRemain) {
  // META's atomic write is the commit: its rename fails.
  install_into_fault({::segstore::testing::SimOp::rename, 1, ::segstore::testing::SimFault::op_eio, "META"});
  auto store = open_or_die(dir_, options());
  EXPECT_EQ(store->first_lsn(), 0u);
  EXPECT_EQ(store->next_lsn(), 40u);
  for (std::uint64_t lsn = 0; lsn < 40; ++lsn) {
    Result<Record> record = store->read(lsn);
    ASSERT_TRUE(record.ok()) << record.status().to_string();
    EXPECT_EQ(record->payload, payload_for(lsn, 100));
  }
  Result<Snapshot> latest = store->latest_snapshot();
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  EXPECT_EQ(latest->lsn, 30u);
  EXPECT_EQ(as_string(latest->state), "own");
}

TEST_F(InstallSnapshotCrash, AfterTheResetCommitsTheNewStateRemains) {
  // The old segments' removal fails: META already says the log starts at 501.
  install_into_fault({::segstore::testing::SimOp::remove, 1, ::segstore::testing::SimFault::op_eio, ".seg"});
  auto store = open_or_die(dir_, options());
  EXPECT_EQ(store->first_lsn(), 501u);
  EXPECT_EQ(store->next_lsn(), 501u);
  Result<Snapshot> latest = store->latest_snapshot();
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  EXPECT_EQ(latest->lsn, 500u);
  EXPECT_EQ(as_string(latest->state), "leader");
}

}  // namespace
}  // namespace segstore::testing
