// tests/testing/sim_env_test.cc — the simulated disk itself: each fault of the model, one test per
// scenario (testing/sim_env.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <thread>

#include "io/aligned_buffer.h"
#include "testing/sim_env.h"

namespace segstore::io {
namespace {

const std::string root = "/sim";
const std::string dir = "/sim/d";

std::vector<std::byte> filled(std::size_t n, int value) { return std::vector<std::byte>(n, std::byte(value)); }

testing::SimCrashModel lose_everything() {
  testing::SimCrashModel m;
  m.keep_all = 0;
  m.lose_all = 1;
  return m;
}
testing::SimCrashModel keep_everything() {
  testing::SimCrashModel m;
  m.keep_all = 1;
  m.lose_all = 0;
  return m;
}
testing::SimCrashModel sector_subsets() {
  testing::SimCrashModel m;
  m.keep_all = 0;
  m.lose_all = 0;
  m.sector_granularity = 1;
  return m;
}

class SimEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { make(1); }
  void make(std::uint64_t seed) {
    disk = testing::SimDisk::make(seed, root);
    env = disk->env();
    ASSERT_TRUE(env->make_dir(dir).ok());
    ASSERT_TRUE(env->sync_dir(root).ok());
  }
  void reboot() {
    disk->crash();
    env = disk->env();
  }
  std::unique_ptr<File> open(const std::string &name, bool create = true, bool direct = false) {
    OpenFlags flags;
    flags.create = create;
    flags.write = true;
    flags.direct = direct;
    Result<std::unique_ptr<File>> f = env->open_file(dir + "/" + name, flags);
    EXPECT_TRUE(f.ok()) << f.status().to_string();
    return f.ok() ? std::move(*f) : nullptr;
  }
  // A file `name` with `bytes` durable in it and its directory entry durable.
  void durable_file(const std::string &name, const std::vector<std::byte> &bytes) {
    auto f = open(name);
    ASSERT_TRUE(f->write_at(0, bytes).ok());
    ASSERT_TRUE(f->sync_data().ok());
    ASSERT_TRUE(env->sync_dir(dir).ok());
  }
  std::vector<std::byte> contents(const std::string &name) { return disk->contents(dir + "/" + name); }
  bool exists(const std::string &name) {
    Result<FileKind> k = env->file_kind(dir + "/" + name);
    return k.ok() && *k == FileKind::regular;
  }

  std::shared_ptr<testing::SimDisk> disk;
  std::shared_ptr<Env> env;
};

TEST_F(SimEnvTest, SyncedWriteSurvivesACrashThatLosesEverythingVolatile) {
  disk->set_crash_model(lose_everything());
  durable_file("a", filled(8192, 7));
  reboot();
  EXPECT_EQ(contents("a"), filled(8192, 7));
}

TEST_F(SimEnvTest, UnsyncedWriteIsLostWhenTheCrashLosesEverything) {
  disk->set_crash_model(lose_everything());
  durable_file("a", filled(4096, 1));
  auto f = open("a", false);
  ASSERT_TRUE(f->write_at(0, filled(4096, 2)).ok());
  EXPECT_EQ(contents("a"), filled(4096, 2)) << "reads see volatile writes";
  reboot();
  EXPECT_EQ(contents("a"), filled(4096, 1));
  EXPECT_GE(disk->faults(testing::SimFault::lost_write), 1u);
}

TEST_F(SimEnvTest, UnsyncedWriteSurvivesWhenTheCrashKeepsEverything) {
  disk->set_crash_model(keep_everything());
  durable_file("a", filled(4096, 1));
  auto f = open("a", false);
  ASSERT_TRUE(f->write_at(0, filled(4096, 2)).ok());
  reboot();
  EXPECT_EQ(contents("a"), filled(4096, 2));
}

// Over many seeds, a crash tears a 16-sector write: every sector is wholly old or wholly new,
// and some crashes keep a mixture.
TEST_F(SimEnvTest, TornWriteKeepsWholeSectorsOnly) {
  int mixed = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    make(seed);
    disk->set_crash_model(sector_subsets());
    durable_file("a", filled(8192, 0xAA));
    auto f = open("a", false);
    ASSERT_TRUE(f->write_at(0, filled(8192, 0x55)).ok());
    reboot();
    const std::vector<std::byte> got = contents("a");
    ASSERT_EQ(got.size(), 8192u);
    int fresh = 0;
    for (std::size_t s = 0; s < 16; ++s) {
      const std::byte first = got[s * 512];
      ASSERT_TRUE(first == std::byte(0xAA) || first == std::byte(0x55));
      for (std::size_t i = 0; i < 512; ++i) ASSERT_EQ(got[s * 512 + i], first) << "sector " << s << " torn inside";
      fresh += first == std::byte(0x55);
    }
    mixed += fresh > 0 && fresh < 16;
  }
  EXPECT_GT(mixed, 5);
}

TEST_F(SimEnvTest, CreateWithoutDirectorySyncIsLost) {
  disk->set_crash_model(lose_everything());
  auto f = open("new");
  ASSERT_TRUE(f->write_at(0, filled(100, 3)).ok());
  ASSERT_TRUE(f->sync_data().ok());  // the data, not the name
  reboot();
  EXPECT_FALSE(exists("new"));
  EXPECT_GE(disk->faults(testing::SimFault::lost_dir_op), 1u);
}

TEST_F(SimEnvTest, CreateWithDirectorySyncSurvives) {
  disk->set_crash_model(lose_everything());
  durable_file("new", filled(100, 3));
  reboot();
  EXPECT_TRUE(exists("new"));
  EXPECT_EQ(contents("new"), filled(100, 3));
}

TEST_F(SimEnvTest, LostRenameLeavesTheOldName) {
  disk->set_crash_model(lose_everything());
  durable_file("META", filled(64, 1));
  durable_file("META.tmp", filled(64, 2));
  ASSERT_TRUE(env->rename(dir + "/META.tmp", dir + "/META").ok());
  EXPECT_EQ(contents("META"), filled(64, 2));
  EXPECT_FALSE(exists("META.tmp"));
  reboot();
  EXPECT_EQ(contents("META"), filled(64, 1));
  EXPECT_EQ(contents("META.tmp"), filled(64, 2));
}

TEST_F(SimEnvTest, RenameMadeDurableByDirectorySync) {
  disk->set_crash_model(lose_everything());
  durable_file("META", filled(64, 1));
  durable_file("META.tmp", filled(64, 2));
  ASSERT_TRUE(env->rename(dir + "/META.tmp", dir + "/META").ok());
  ASSERT_TRUE(env->sync_dir(dir).ok());
  reboot();
  EXPECT_EQ(contents("META"), filled(64, 2));
  EXPECT_FALSE(exists("META.tmp"));
}

TEST_F(SimEnvTest, LostRemoveBringsTheFileBack) {
  disk->set_crash_model(lose_everything());
  durable_file("old", filled(4096, 9));
  ASSERT_TRUE(env->remove(dir + "/old").ok());
  EXPECT_FALSE(exists("old"));
  reboot();
  EXPECT_EQ(contents("old"), filled(4096, 9));
}

TEST_F(SimEnvTest, DirectoryLostWithItsParentTakesItsFiles) {
  disk->set_crash_model(lose_everything());
  ASSERT_TRUE(env->make_dir(dir + "/sub").ok());
  OpenFlags flags;
  flags.create = flags.write = true;
  auto f = env->open_file(dir + "/sub/x", flags);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->sync_data().ok());
  ASSERT_TRUE(env->sync_dir(dir + "/sub").ok());  // the child's entry, but not sub's own
  reboot();
  Result<FileKind> kind = env->file_kind(dir + "/sub");
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(*kind, FileKind::missing);
  EXPECT_TRUE(disk->contents(dir + "/sub/x").empty());
}

// fsyncgate: after a failed fdatasync the dropped pages stay readable, a second fdatasync
// succeeds, and still a crash may lose them.
TEST_F(SimEnvTest, FailedSyncDropsPagesThatALaterSyncDoesNotSave) {
  int lost = 0;
  for (std::uint64_t seed = 1; seed <= 32; ++seed) {
    make(seed);
    disk->set_crash_model(keep_everything());
    durable_file("seg", filled(4096, 1));
    auto f = open("seg", false);
    ASSERT_TRUE(f->write_at(0, filled(4096, 2)).ok());
    disk->arm({testing::SimOp::sync, 1, testing::SimFault::sync_eio, "seg"});
    Status failed = f->sync_data();
    ASSERT_EQ(failed.code(), Errc::io_error);
    EXPECT_EQ(contents("seg"), filled(4096, 2));
    ASSERT_TRUE(f->sync_data().ok());
    reboot();
    lost += contents("seg") == filled(4096, 1);
  }
  EXPECT_GT(lost, 4);
  EXPECT_LT(lost, 28);
}

// The dropped pages live in the page cache only: a read through O_DIRECT (or bypass_cache) sees
// the device, with the writes the failed sync did write and the volatile ones after it, and
// without the dropped ones; a buffered read still sees them all.
TEST_F(SimEnvTest, DirectReadAfterFailedSyncSeesTheDeviceNotTheDroppedPages) {
  int dropped = 0, written = 0;
  for (std::uint64_t seed = 1; seed <= 32; ++seed) {
    make(seed);
    durable_file("seg", filled(2 * 4096, 1));
    auto f = open("seg", false);
    ASSERT_TRUE(f->write_at(0, filled(4096, 2)).ok());
    disk->arm({testing::SimOp::sync, 1, testing::SimFault::sync_eio, "seg"});
    ASSERT_EQ(f->sync_data().code(), Errc::io_error);
    ASSERT_TRUE(f->write_at(4096, filled(4096, 3)).ok());  // volatile, after the failure
    OpenFlags flags;
    flags.bypass_cache = true;
    Result<std::unique_ptr<File>> device = env->open_file(dir + "/seg", flags);
    ASSERT_TRUE(device.ok()) << device.status().to_string();
    ASSERT_TRUE((*device)->direct());
    AlignedBuffer seen(2 * 4096);
    Result<std::size_t> got = (*device)->read_at(0, std::span<std::byte>(seen.data(), seen.size()));
    ASSERT_TRUE(got.ok() && *got == seen.size());
    const std::vector<std::byte> first(seen.data(), seen.data() + 4096), second(seen.data() + 4096, seen.data() + 8192);
    EXPECT_EQ(second, filled(4096, 3)) << "seed " << seed;
    if (first == filled(4096, 1)) dropped++;
    if (first == filled(4096, 2)) written++;
    std::vector<std::byte> cached = filled(4096, 2);
    const std::vector<std::byte> tail = filled(4096, 3);
    cached.insert(cached.end(), tail.begin(), tail.end());
    EXPECT_EQ(contents("seg"), cached) << "buffered reads see the page cache";
    reboot();
    const std::vector<std::byte> after = contents("seg");
    EXPECT_EQ(std::vector<std::byte>(after.begin(), after.begin() + 4096), first)
        << "seed " << seed << ": the device after the reboot is what the direct read saw";
  }
  EXPECT_EQ(dropped + written, 32);
  EXPECT_GT(dropped, 4);
  EXPECT_GT(written, 4);
}

TEST_F(SimEnvTest, TargetHitsTheNthOperationOfItsKindOnly) {
  auto f = open("a");
  disk->arm({testing::SimOp::write, 3, testing::SimFault::write_eio, "/a"});
  EXPECT_TRUE(f->write_at(0, filled(10, 1)).ok());
  EXPECT_TRUE(f->write_at(10, filled(10, 1)).ok());
  Status third = f->write_at(20, filled(10, 1));
  EXPECT_EQ(third.code(), Errc::io_error);
  EXPECT_NE(third.message().find("errno 5"), std::string::npos) << third.message();
  EXPECT_TRUE(f->write_at(20, filled(10, 1)).ok());
  EXPECT_EQ(disk->faults(testing::SimFault::write_eio), 1u);
  EXPECT_EQ(contents("a").size(), 30u);
}

TEST_F(SimEnvTest, EnospcOnAllocateAndWrite) {
  auto f = open("a");
  disk->arm({testing::SimOp::allocate, 1, testing::SimFault::allocate_enospc, ""});
  EXPECT_EQ(f->allocate(1 << 20).code(), Errc::no_space);
  disk->arm({testing::SimOp::write, 1, testing::SimFault::write_enospc, ""});
  EXPECT_EQ(f->write_at(0, filled(10, 1)).code(), Errc::no_space);
  EXPECT_TRUE(contents("a").empty());
}

TEST_F(SimEnvTest, ShortWriteLandsAPrefixOfWholeSectorsThenFails) {
  int partial = 0;
  for (std::uint64_t seed = 1; seed <= 16; ++seed) {
    make(seed);
    auto f = open("a");
    disk->arm({testing::SimOp::write, 1, testing::SimFault::short_write, ""});
    Status s = f->write_at(0, filled(8 * 512, 4));
    EXPECT_TRUE(s.code() == Errc::io_error || s.code() == Errc::no_space) << s.to_string();
    const std::size_t landed = contents("a").size();
    EXPECT_EQ(landed % 512, 0u);
    EXPECT_LT(landed, 8u * 512);
    partial += landed != 0;
  }
  EXPECT_GT(partial, 0);
}

TEST_F(SimEnvTest, CapacityGivesEnospcAndFreeingSpaceHelps) {
  disk->set_capacity(64 * 1024);
  auto filler = open("filler");
  ASSERT_TRUE(filler->write_at(0, filled(60 * 1024, 1)).ok());
  auto f = open("a");
  Status full = f->write_at(0, filled(8192, 2));
  EXPECT_EQ(full.code(), Errc::no_space);
  EXPECT_EQ(contents("a").size(), 4096u) << "the sectors that fit landed";
  filler.reset();
  ASSERT_TRUE(env->remove(dir + "/filler").ok());
  EXPECT_TRUE(f->write_at(0, filled(8192, 2)).ok());
}

TEST_F(SimEnvTest, MisdirectedReadReturnsAnotherBlock) {
  std::vector<std::byte> bytes;
  for (int b = 0; b < 4; ++b) {
    auto block = filled(4096, 10 + b);
    bytes.insert(bytes.end(), block.begin(), block.end());
  }
  durable_file("a", bytes);
  auto f = open("a", false);
  disk->arm({testing::SimOp::read, 1, testing::SimFault::misdirected_read, ""});
  std::vector<std::byte> out(4096);
  Result<std::size_t> got = f->read_at(4096, out);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 4096u);
  EXPECT_NE(out, filled(4096, 11));
  EXPECT_TRUE(out == filled(4096, 10) || out == filled(4096, 12) || out == filled(4096, 13));
  ASSERT_TRUE(f->read_at(4096, out).ok());
  EXPECT_EQ(out, filled(4096, 11)) << "the next read is right";
}

TEST_F(SimEnvTest, ReadEioIsReported) {
  durable_file("a", filled(100, 1));
  auto f = open("a", false);
  disk->arm({testing::SimOp::read, 1, testing::SimFault::read_eio, ""});
  std::vector<std::byte> out(100);
  EXPECT_EQ(f->read_at(0, out).status().code(), Errc::io_error);
}

TEST_F(SimEnvTest, BitFlipChangesExactlyOneBitOfDurableBytes) {
  durable_file("a", filled(4096, 0));
  const std::string where = disk->flip_durable_bit("/a");
  EXPECT_NE(where, "");
  reboot();
  const std::vector<std::byte> got = contents("a");
  int bits = 0;
  for (std::byte b : got) bits += __builtin_popcount(static_cast<unsigned>(b));
  EXPECT_EQ(bits, 1);
  EXPECT_EQ(disk->faults(testing::SimFault::bit_flip), 1u);
}

TEST_F(SimEnvTest, DirectFilesRefuseUnalignedRequests) {
  auto f = open("a", true, true);
  AlignedBuffer buffer(4096);
  EXPECT_TRUE(f->write_at(0, std::span<const std::byte>(buffer.data(), 4096)).ok());
  EXPECT_EQ(f->write_at(100, std::span<const std::byte>(buffer.data(), 4096)).code(), Errc::invalid_argument);
  EXPECT_EQ(f->write_at(0, std::span<const std::byte>(buffer.data(), 100)).code(), Errc::invalid_argument);
  EXPECT_EQ(f->read_at(0, std::span<std::byte>(buffer.data() + 1, 4096)).status().code(), Errc::invalid_argument);
}

TEST_F(SimEnvTest, EveryHandleOfTheOldBootFailsAfterACrash) {
  auto f = open("a");
  Result<std::unique_ptr<WriteQueue>> q = env->make_write_queue(4);
  ASSERT_TRUE(q.ok());
  std::shared_ptr<Env> old_env = env;
  reboot();
  std::vector<std::byte> out(10);
  EXPECT_EQ(f->write_at(0, filled(10, 1)).code(), Errc::io_error);
  EXPECT_EQ(f->read_at(0, out).status().code(), Errc::io_error);
  EXPECT_EQ(f->sync_data().code(), Errc::io_error);
  EXPECT_EQ(old_env->make_dir(dir + "/x").code(), Errc::io_error);
  EXPECT_EQ(old_env->rename(dir + "/a", dir + "/b").code(), Errc::io_error);
  EXPECT_EQ(old_env->list_dir(dir).status().code(), Errc::io_error);
  WriteGroup g;
  g.file = f.get();
  EXPECT_EQ((*q)->submit(g).code(), Errc::io_error);
  EXPECT_TRUE(env->list_dir(dir).ok()) << "the new boot's env works";
}

TEST_F(SimEnvTest, LockConflictsWithinABootAndTheRebootReleasesIt) {
  Result<std::unique_ptr<DirLock>> first = env->lock_file(dir + "/LOCK");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(env->lock_file(dir + "/LOCK").status().code(), Errc::store_in_use);
  reboot();
  Result<std::unique_ptr<DirLock>> second = env->lock_file(dir + "/LOCK");
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  first->reset();  // the old boot's lock going away must not release the new one
  EXPECT_EQ(env->lock_file(dir + "/LOCK").status().code(), Errc::store_in_use);
  second->reset();
  EXPECT_TRUE(env->lock_file(dir + "/LOCK").ok());
}

TEST_F(SimEnvTest, NamesAndKinds) {
  durable_file("b", {});
  durable_file("a", {});
  ASSERT_TRUE(env->make_dir(dir + "/c").ok());
  Result<std::vector<std::string>> names = env->list_dir(dir);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*env->file_kind(dir + "/c"), FileKind::directory);
  EXPECT_EQ(*env->file_kind(dir + "/a"), FileKind::regular);
  EXPECT_EQ(*env->file_kind(dir + "/zz"), FileKind::missing);
  EXPECT_EQ(env->remove(dir).code(), Errc::io_error) << "not empty";
  OpenFlags excl;
  excl.create = excl.exclusive = excl.write = true;
  EXPECT_FALSE(env->open_file(dir + "/a", excl).ok());
  EXPECT_FALSE(env->open_file(dir + "/missing", OpenFlags{}).ok());
}

// Groups written through the queue: completions come back in seed-chosen order, not always the
// submission order; held groups stay in flight until released.
TEST_F(SimEnvTest, QueueCompletesGroupsOutOfSubmissionOrder) {
  int reordered = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    make(seed);
    auto f = open("seg", true, true);
    AlignedBuffer data(4 * 4096);
    auto q = std::move(*env->make_write_queue(4));
    disk->hold_writes(true);
    for (std::uint64_t i = 0; i < 4; ++i) {
      WriteGroup g{f.get(), i * 4096, std::span<const std::byte>(data.data() + i * 4096, 4096), i % 2 == 0, i};
      ASSERT_TRUE(q->submit(g).ok());
    }
    EXPECT_EQ(disk->groups_in_flight(), 4u);
    disk->hold_writes(false);
    std::vector<GroupCompletion> done;
    while (done.size() < 4) ASSERT_TRUE(q->reap(&done, true).ok());
    std::vector<std::uint64_t> tokens;
    for (const auto &c : done) {
      EXPECT_TRUE(c.status.ok());
      EXPECT_EQ(c.synced, c.token % 2 == 0);
      tokens.push_back(c.token);
    }
    reordered += !std::is_sorted(tokens.begin(), tokens.end());
    EXPECT_EQ(q->inflight(), 0u);
  }
  EXPECT_GT(reordered, 0);
}

TEST_F(SimEnvTest, CrashTearsOrDropsGroupsHeldInFlightAndFailsThem) {
  disk->set_crash_model(lose_everything());
  auto f = open("seg", true, true);
  AlignedBuffer data(8 * 4096);
  std::memset(data.data(), 0x77, data.size());
  auto q = std::move(*env->make_write_queue(8));
  disk->hold_writes(true);
  for (std::uint64_t i = 0; i < 8; ++i)
    ASSERT_TRUE(q->submit({f.get(), i * 4096, std::span<const std::byte>(data.data() + i * 4096, 4096), true, i}).ok());
  reboot();
  std::vector<GroupCompletion> done;
  ASSERT_TRUE(q->reap(&done, true).ok());
  ASSERT_EQ(done.size(), 8u);
  for (const auto &c : done) {
    EXPECT_EQ(c.status.code(), Errc::io_error);
    EXPECT_FALSE(c.synced);
  }
  const std::vector<std::byte> got = disk->contents(dir + "/seg");
  for (std::size_t s = 0; s * 512 < got.size(); ++s) {
    const std::byte first = got[s * 512];
    EXPECT_TRUE(first == std::byte(0) || first == std::byte(0x77));
    for (std::size_t i = 0; i < 512 && s * 512 + i < got.size(); ++i) ASSERT_EQ(got[s * 512 + i], first);
  }
  EXPECT_EQ(disk->faults(testing::SimFault::inflight_lost) + disk->faults(testing::SimFault::inflight_torn) +
                disk->faults(testing::SimFault::inflight_landed),
            8u);
}

// A queued sync group under SyncWrites::dsync is one RWF_DSYNC write: it makes its own bytes
// durable and nothing else. A write-only group before it in the same file stays volatile, and a
// crash that loses everything volatile keeps the group and loses the other (linked: the whole
// file's sync keeps both). The engine may rely only on the first.
void run_sync_group_after_unsynced_write(testing::SimDisk &disk, std::shared_ptr<Env> &env,
                                         const std::string &path, io::SyncWrites sync_writes) {
  disk.set_crash_model(lose_everything());
  disk.set_sync_writes(sync_writes);
  OpenFlags flags;
  flags.create = true;
  flags.write = true;
  flags.direct = true;
  auto f = std::move(*env->open_file(path, flags));
  ASSERT_TRUE(f->allocate(2 * 4096).ok());
  ASSERT_TRUE(f->sync_data().ok());
  ASSERT_TRUE(env->sync_dir(dir).ok());
  AlignedBuffer data(2 * 4096);
  std::memset(data.data(), 0x11, 4096);
  std::memset(data.data() + 4096, 0x22, 4096);
  auto q = std::move(*env->make_write_queue(2));
  EXPECT_EQ(q->sync_writes(), sync_writes);
  std::vector<GroupCompletion> done;
  ASSERT_TRUE(q->submit({f.get(), 0, std::span<const std::byte>(data.data(), 4096), false, 1}).ok());
  while (done.size() < 1) ASSERT_TRUE(q->reap(&done, true).ok());
  ASSERT_TRUE(q->submit({f.get(), 4096, std::span<const std::byte>(data.data() + 4096, 4096), true, 2}).ok());
  while (done.size() < 2) ASSERT_TRUE(q->reap(&done, true).ok());
  for (const auto &c : done) {
    ASSERT_TRUE(c.status.ok()) << c.status.to_string();
    EXPECT_EQ(c.synced, c.token == 2);
  }
  disk.crash();
  env = disk.env();
}

TEST_F(SimEnvTest, DsyncGroupMakesOnlyItsOwnBytesDurable) {
  run_sync_group_after_unsynced_write(*disk, env, dir + "/seg", io::SyncWrites::dsync);
  const std::vector<std::byte> got = contents("seg");
  ASSERT_EQ(got.size(), 2 * 4096u);
  EXPECT_EQ(std::vector<std::byte>(got.begin(), got.begin() + 4096), filled(4096, 0)) << "the write-only group is lost";
  EXPECT_EQ(std::vector<std::byte>(got.begin() + 4096, got.end()), filled(4096, 0x22)) << "the dsync group is durable";
}

TEST_F(SimEnvTest, LinkedSyncGroupMakesEarlierWritesOfTheFileDurableToo) {
  run_sync_group_after_unsynced_write(*disk, env, dir + "/seg", io::SyncWrites::linked);
  const std::vector<std::byte> got = contents("seg");
  ASSERT_EQ(got.size(), 2 * 4096u);
  EXPECT_EQ(std::vector<std::byte>(got.begin(), got.begin() + 4096), filled(4096, 0x11));
  EXPECT_EQ(std::vector<std::byte>(got.begin() + 4096, got.end()), filled(4096, 0x22));
}

// A dsync group whose write went through but whose own sync failed is not durable: it completes
// with EIO, unsynced, and a crash that keeps nothing volatile loses it (whether the failed sync
// left it volatile or dropped its pages).
TEST_F(SimEnvTest, DsyncGroupWhoseSyncFailedIsNotDurable) {
  for (std::uint64_t seed = 1; seed <= 16; ++seed) {
    make(seed);
    disk->set_crash_model(lose_everything());
    auto f = open("seg", true, true);
    ASSERT_TRUE(f->allocate(4096).ok());
    ASSERT_TRUE(f->sync_data().ok());
    ASSERT_TRUE(env->sync_dir(dir).ok());
    AlignedBuffer data(4096);
    std::memset(data.data(), 0x33, data.size());
    auto q = std::move(*env->make_write_queue(1));
    disk->arm({testing::SimOp::sync, 1, testing::SimFault::sync_eio, "seg"});
    ASSERT_TRUE(q->submit({f.get(), 0, data.span(), true, 1}).ok());
    std::vector<GroupCompletion> done;
    ASSERT_TRUE(q->reap(&done, true).ok());
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status.code(), Errc::io_error);
    EXPECT_FALSE(done[0].synced);
    reboot();
    EXPECT_EQ(contents("seg"), filled(4096, 0)) << "seed " << seed;
  }
}

// File::write_dsync_at on the simulated disk: durable when it returns true, only its bytes.
TEST_F(SimEnvTest, WriteDsyncAtIsDurableAloneWithoutOtherWrites) {
  disk->set_crash_model(lose_everything());
  durable_file("a", filled(2 * 4096, 1));
  auto f = open("a", false);
  ASSERT_TRUE(f->write_at(0, filled(4096, 2)).ok());
  Result<bool> durable = f->write_dsync_at(4096, filled(4096, 3));
  ASSERT_TRUE(durable.ok()) << durable.status().to_string();
  EXPECT_TRUE(*durable);
  reboot();
  std::vector<std::byte> expected = filled(4096, 1);
  const std::vector<std::byte> second = filled(4096, 3);
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(contents("a"), expected);
}

// The WriteQueue contract: one thread submits while another blocks in reap().
TEST_F(SimEnvTest, QueueSubmitAndReapFromTwoThreads) {
  auto f = open("seg", true, true);
  AlignedBuffer data(4096);
  auto q = std::move(*env->make_write_queue(4));
  constexpr std::uint64_t groups = 2000;
  std::atomic<std::uint64_t> reaped{0};
  std::atomic<std::uint64_t> slots{4};
  std::thread reaper([&] {
    std::vector<GroupCompletion> done;
    std::set<std::uint64_t> seen;
    while (seen.size() < groups) {
      done.clear();
      ASSERT_TRUE(q->reap(&done, true).ok());
      for (const auto &c : done) {
        EXPECT_TRUE(seen.insert(c.token).second);
        EXPECT_TRUE(c.status.ok());
      }
      reaped += done.size();
      slots += done.size();
      disk->poke();
    }
  });
  for (std::uint64_t i = 0; i < groups; ++i) {
    disk->wait_until([&] { return slots.load() > 0; });
    slots--;
    ASSERT_TRUE(q->submit({f.get(), (i % 16) * 4096, std::span<const std::byte>(data.data(), 4096), i % 3 == 0, i}).ok());
  }
  reaper.join();
  EXPECT_EQ(reaped.load(), groups);
}

// The same seed and the same operations give the same faults.
TEST_F(SimEnvTest, RandomFaultsAreAFunctionOfTheSeed) {
  auto run = [&](std::uint64_t seed) {
    make(seed);
    testing::SimFaultRates rates;
    rates.write_eio = 0.2;
    rates.sync_eio = 0.2;
    disk->set_fault_rates(rates);
    auto f = open("a");
    std::string outcome;
    for (int i = 0; i < 200; ++i) {
      outcome += f->write_at(static_cast<std::uint64_t>(i) * 10, filled(10, i)).ok() ? 'w' : 'W';
      if (i % 5 == 0) outcome += f->sync_data().ok() ? 's' : 'S';
    }
    reboot();
    outcome += std::to_string(contents("a").size());
    return outcome;
  };
  const std::string a = run(42), b = run(42), c = run(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a.find('W'), std::string::npos);
}

}  // namespace
}  // namespace segstore::io
