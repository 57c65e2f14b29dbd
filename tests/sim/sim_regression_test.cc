// tests/sim/sim_regression_test.cc — one test per engine or recovery bug the crash simulation
// found, named after the seed that found it, each reduced to the few steps that show it on the
// simulated disk (testing/sim_env.h). docs/TESTING.md "Known bugs" explains each; crash_sim.cc lists
// how the simulation steers around the ones not fixed yet.
//
// tests/sim/meson.build registers each test on its own; a test of a bug that is not fixed yet
// is marked should_fail there (meson reports EXPECTEDFAIL). When a fix lands, its test passes,
// meson reports UNEXPECTEDPASS: drop should_fail for it, and drop the workaround in
// crash_sim.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <thread>

#include "format/layout.h"
#include "format/segment_header.h"
#include "format/store_dir.h"
#include "testing/sim_env.h"
#include "segstore/store.h"
#include "sim/crash_sim.h"
#include "sim/interrupted_cut.h"
#include "support/temp_dir.h"

namespace segstore {
namespace {

using testing::SimCrashModel;
using testing::SimDisk;
using testing::SimFault;
using testing::SimOp;

std::span<const std::byte> bytes_of(const std::string &s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}
std::string text_of(const std::vector<std::byte> &b) { return std::string(reinterpret_cast<const char *>(b.data()), b.size()); }

testing::SimCrashModel keep_everything() {
  testing::SimCrashModel m;
  m.keep_all = 1;
  m.lose_all = 0;
  return m;
}
testing::SimCrashModel lose_everything() {
  testing::SimCrashModel m;
  m.keep_all = 0;
  m.lose_all = 1;
  return m;
}

class SimRegression : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("SEGSTORE_QUIET", "1", 0);
    make(1);
  }
  void make(std::uint64_t seed) {
    store_.reset();
    disk_ = testing::SimDisk::make(seed, host_.path());
    dir_ = host_.sub("store");  // a path on the simulated disk: nothing is written on the host
  }
  // The store's directory made durable before the first open (as an operator would).
  void make_store_dir() {
    std::shared_ptr<io::Env> env = disk_->env();
    ASSERT_TRUE(env->make_dir(dir_).ok());
    ASSERT_TRUE(env->sync_dir(host_.path()).ok());
  }
  Options options(Durability durability = Durability::sync) {
    Options o;
    o.segment_bytes = 16 * 1024;
    o.durability = durability;
    o.write_group_bytes_max = 8 * 1024;
    o.prealloc = PreallocMode::fallocate;
    o.env = disk_->env();
    return o;
  }
  Result<std::unique_ptr<Store>> open(Options o) {
    o.env = disk_->env();
    return Store::open(dir_, o);
  }
  void open_ok(Options o) {
    Result<std::unique_ptr<Store>> s = open(o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
  }
  void crash() {
    disk_->crash();
    store_.reset();  // abandoned: every handle of the old boot fails now
  }
  std::string read_text(std::uint64_t lsn) {
    Result<Record> r = store_->read(lsn);
    return r.ok() ? text_of(r->payload) : "<" + r.status().to_string() + ">";
  }

  // Appends "kept" (LSN 0) and a record filling a whole segment (LSN 1, the first and only
  // record of the next segment), flips a byte of LSN 1's payload after a power cut, and opens
  // with the quarantine report's rename failing: recovery cuts LSN 1 (@B: the last segment,
  // nothing proves it was acknowledged), moves that segment to quarantine/ and fails.
  void interrupt_the_cut_of_a_rotted_segment() {
    disk_->set_crash_model(keep_everything());
    make_store_dir();
    open_ok(options());
    ASSERT_TRUE(store_->append(bytes_of("kept")).ok());
    // A record filling a whole segment: the first (and only) record of the next segment, so that
    // cutting it moves that whole file to quarantine/.
    const std::string marker = "rotted record";
    std::string big = marker + std::string(format::payload_max_for_segment(options().segment_bytes) - marker.size(), 'r');
    ASSERT_TRUE(store_->append(bytes_of(big)).ok());
    crash();
    {
      std::shared_ptr<io::Env> env = disk_->env();
      Result<std::vector<std::string>> names = env->list_dir(dir_);
      ASSERT_TRUE(names.ok()) << names.status().to_string();
      int rotted = 0;
      for (const std::string &name : *names) {
        if (!name.ends_with(".seg")) continue;
        Result<std::vector<std::byte>> bytes = io::read_whole_file(*env, dir_ + "/" + name, 1 << 20);
        ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
        const std::size_t at = text_of(*bytes).find(marker);
        if (at == std::string::npos) continue;
        io::OpenFlags flags;
        flags.write = true;
        Result<std::unique_ptr<io::File>> f = env->open_file(dir_ + "/" + name, flags);
        ASSERT_TRUE(f.ok()) << f.status().to_string();
        std::vector<std::byte> byte{(*bytes)[at + 100] ^ std::byte{0x01}};
        ASSERT_TRUE((*f)->write_at(at + 100, byte).ok());
        ASSERT_TRUE((*f)->sync_data().ok());
        rotted++;
      }
      ASSERT_EQ(rotted, 1) << "the large record should be in exactly one segment file";
    }
    disk_->arm({SimOp::rename, 1, SimFault::op_eio, "-report"});
    Result<std::unique_ptr<Store>> interrupted = open(options());
    disk_->clear_targets();
    ASSERT_FALSE(interrupted.ok());
    ASSERT_EQ(interrupted.status().code(), Errc::io_error) << interrupted.status().to_string();
  }

  void read_racing_a_failed_sync(const std::function<Status(std::uint64_t)> &read_first_dropped);

  testing::TempDir host_;
  std::shared_ptr<testing::SimDisk> disk_;
  std::string dir_;
  std::unique_ptr<Store> store_;
};

// Store::open() creates the store's directory (engine/store_open.cc, open_directory) but never
// fsyncs its parent: a power cut takes the directory, and with it every acknowledged record.
TEST_F(SimRegression, Seed1StoreDirectoryLostWithItsParent) {
  disk_->set_crash_model(lose_everything());
  open_ok(options());
  ASSERT_TRUE(store_->append(bytes_of("acknowledged")).ok());
  crash();
  open_ok(options());
  EXPECT_EQ(store_->next_lsn(), 1u);
  EXPECT_EQ(read_text(0), "acknowledged");
}

// truncate_after() inside an atomic batch kept the batch's head without its batch_last record;
// the next recovery cut the head as an unfinished batch, losing records truncate_after had
// kept. A cut inside a batch is now refused (Errc::splits_batch) and changes nothing; cuts at
// the batch's edges keep it whole or remove it whole, across a power cut.
TEST_F(SimRegression, Seed34TruncateInsideBatchLosesKeptRecords) {
  disk_->set_crash_model(keep_everything());
  make_store_dir();
  open_ok(options());
  const std::string a = "a", b = "b", c = "c", d = "d";
  const BatchEntry batch[] = {{0, bytes_of(a)}, {0, bytes_of(b)}, {0, bytes_of(c)}, {0, bytes_of(d)}};
  ASSERT_TRUE(store_->append(bytes_of("before")).ok());  // LSN 0
  ASSERT_TRUE(store_->append_batch(batch).ok());         // LSNs 1..4
  ASSERT_TRUE(store_->append(bytes_of("after")).ok());   // LSN 5
  for (std::uint64_t keep = 1; keep <= 3; ++keep)
    EXPECT_EQ(store_->truncate_after(keep).code(), Errc::splits_batch) << "truncate_after(" << keep << ")";
  EXPECT_EQ(store_->next_lsn(), 6u);
  EXPECT_EQ(read_text(5), "after");
  ASSERT_TRUE(store_->truncate_after(4).ok());  // right after the batch
  crash();
  open_ok(options());
  EXPECT_EQ(store_->next_lsn(), 5u) << store_->recovery_report().to_string();
  EXPECT_EQ(read_text(1), "a");
  EXPECT_EQ(read_text(4), "d");
  ASSERT_TRUE(store_->truncate_after(0).ok());  // right before the batch
  crash();
  open_ok(options());
  EXPECT_EQ(store_->next_lsn(), 1u) << store_->recovery_report().to_string();
  EXPECT_EQ(read_text(0), "before");
}

// A thread waiting in make_durable_locked() for an LSN that truncate_after() removes meanwhile
// finds it "neither durable nor in a group" and SEGSTORE_ASSERT aborts the process
// (engine/append.cc, make_durable_locked). Run in a child process: the parent sees the abort.
TEST_F(SimRegression, Seed125WaiterRacingTruncateAfterAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        make_store_dir();
        Options o = options(Durability::interval);
        o.flush_interval_ms = 1;
        open_ok(o);
        std::atomic<bool> stop{false};
        std::thread waiter([&] {
          while (!stop) {
            Result<std::uint64_t> lsn = store_->append_async(bytes_of("w"));
            if (lsn.ok()) (void)store_->wait_durable(*lsn);
          }
        });
        for (int i = 0; i < 3000; ++i) {
          const std::uint64_t next = store_->next_lsn();
          if (next >= 3) (void)store_->truncate_after(next - 3);
          (void)store_->append(bytes_of("t"), 0, Durability::none);
        }
        stop = true;
        waiter.join();
        store_.reset();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

// truncate_after() failing in zero_tail (the tail's rewrite) returns the error but leaves the
// store writable, with LSNs that the file no longer holds (engine/maintenance.cc). Each sync
// append fills a 4 KiB block: segment 1 holds LSNs 0..2, so the cut at LSN 2 rewrites a block
// of it (after segment 2 went).
TEST_F(SimRegression, Seed125FailedTruncateLeavesStoreWritable) {
  make_store_dir();
  open_ok(options());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(store_->append(bytes_of("record " + std::to_string(i))).ok());
  disk_->arm({testing::SimOp::write, 1, testing::SimFault::write_eio, ".seg"});
  Status truncated = store_->truncate_after(1);
  ASSERT_FALSE(truncated.ok()) << "the injected write error did not hit truncate_after";
  EXPECT_EQ(store_->next_lsn(), 2u);
  Result<std::uint64_t> appended = store_->append(bytes_of("after"));
  EXPECT_EQ(appended.status().code(), Errc::read_only)
      << "appended at LSN " << (appended.ok() ? std::to_string(*appended) : appended.status().to_string());
  for (std::uint64_t lsn = store_->first_lsn(); lsn < store_->next_lsn(); ++lsn)
    EXPECT_EQ(read_text(lsn).rfind("<", 0), std::string::npos) << "LSN " << lsn << ": " << read_text(lsn);
}

// truncate_after() zeroes the cut segment's tail before removing its index snapshot; when the
// zeroing is torn (here: a short write, then the power cut) the segment keeps an .idx that
// recovery trusts for the last segment, claiming records that are partly zeros now.
TEST_F(SimRegression, Seed125TornTruncateLeavesStaleIndexSnapshot) {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    make(seed);
    disk_->set_crash_model(keep_everything());
    make_store_dir();
    open_ok(options());
    const std::string big(3000, 'x');
    while (store_->next_lsn() < 8) ASSERT_TRUE(store_->append(bytes_of(big)).ok());
    ASSERT_TRUE(store_->close().ok());  // seals: every segment gets its .idx
    open_ok(options());
    disk_->arm({testing::SimOp::write, 1, testing::SimFault::short_write, "00000000000000000001.seg"});
    ASSERT_FALSE(store_->truncate_after(1).ok()) << "the injected short write did not hit truncate_after";
    crash();
    open_ok(options());
    for (std::uint64_t lsn = store_->first_lsn(); lsn < store_->next_lsn(); ++lsn)
      EXPECT_EQ(read_text(lsn), big) << "seed " << seed << ": LSN " << lsn << " of [" << store_->first_lsn() << ", "
                                     << store_->next_lsn() << "); " << store_->recovery_report().to_string();
  }
}

// truncate_after() rewrites the cut block and zeros the rest of the segment in one write; torn
// (a short write, then the power cut), it left a hole before records it was removing, and the
// next open read their headers as proof that acknowledged records past the hole were lost: it
// reported a loss and refused writes. The TRUNCATE intent (@U) tells recovery those records were
// going, and the open finishes the cut.
TEST_F(SimRegression, Seed10527TornTruncateReadAsDataLoss) {
  int reported_lost = 0;
  for (std::uint64_t seed = 1; seed <= 16; ++seed) {
    make(seed);
    disk_->set_crash_model(keep_everything());
    make_store_dir();
    Options o = options();
    o.preallocate_next_segment = false;
    open_ok(o);
    // Sync appends fill a block each: segment 1 holds LSNs 0..2 in blocks 1..3.
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->append(bytes_of("record " + std::to_string(i))).ok());
    disk_->arm({testing::SimOp::write, 1, testing::SimFault::short_write, "00000000000000000001.seg"});
    ASSERT_FALSE(store_->truncate_after(0).ok()) << "the injected short write did not hit truncate_after";
    crash();
    open_ok(o);
    const RecoveryReport &report = store_->recovery_report();
    if (report.acknowledged_data_lost) reported_lost++;
    EXPECT_FALSE(report.acknowledged_data_lost) << "seed " << seed << ": " << report.to_string();
    EXPECT_EQ(store_->next_lsn(), 1u) << "seed " << seed << ": the open did not finish the cut";
    EXPECT_EQ(read_text(0), "record 0") << "seed " << seed;
    Result<std::uint64_t> appended = store_->append(bytes_of("after"));
    ASSERT_TRUE(appended.ok()) << "seed " << seed << ": " << appended.status().to_string();
    EXPECT_EQ(*appended, 1u);
    // The intent is gone once the open finished the cut (on the simulated disk, where it lives).
    Result<io::FileKind> intent = disk_->env()->file_kind(dir_ + "/" + format::truncate_file_name);
    ASSERT_TRUE(intent.ok()) << intent.status().to_string();
    EXPECT_EQ(*intent, io::FileKind::missing) << "seed " << seed;
    store_.reset();
  }
  EXPECT_EQ(reported_lost, 0);
}

// After a failed fdatasync the kernel drops the dirty pages but reads still see them; reopening
// in the same boot recovers the record from the page cache, syncs (a no-op for dropped pages)
// and acknowledges it (durable_lsn() == next_lsn()); the next power cut takes it.
TEST_F(SimRegression, Seed18ReopenAfterFailedSyncTrustsDroppedPages) {
  int acknowledged_then_lost = 0;
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    make(seed);
    disk_->set_crash_model(keep_everything());
    make_store_dir();
    Options o = options();
    o.direct_io = false;
    open_ok(o);
    ASSERT_TRUE(store_->append(bytes_of("a")).ok());
    disk_->arm({testing::SimOp::sync, 1, testing::SimFault::sync_eio, "00000000000000000001.seg"});
    ASSERT_FALSE(store_->append(bytes_of("b")).ok());
    (void)store_->close();
    store_.reset();
    open_ok(o);  // same boot: no crash between
    const bool acknowledged = store_->durable_lsn() >= 2 && read_text(1) == "b";
    crash();
    open_ok(o);
    if (acknowledged && read_text(1) != "b") acknowledged_then_lost++;
    store_.reset();
  }
  EXPECT_EQ(acknowledged_then_lost, 0) << "records acknowledged by a reopen after a failed sync were lost";
}

// trim_before(lsn) past the durable end writes META.first_lsn = lsn; a crash loses the records
// below it, the store reopens with first = next < lsn without rewriting META, and the records
// appended next (LSNs below META.first_lsn) vanish at the following open.
TEST_F(SimRegression, Seed76TrimPastDurableEndHidesLaterRecords) {
  disk_->set_crash_model(lose_everything());
  make_store_dir();
  open_ok(options(Durability::none));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->append(bytes_of("durable"), 0, Durability::sync).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->append(bytes_of("volatile"), 0, Durability::none).ok());
  ASSERT_TRUE(store_->trim_before(8).ok());
  crash();
  open_ok(options());
  const std::uint64_t lsn = store_->next_lsn();
  ASSERT_TRUE(store_->append(bytes_of("acknowledged")).ok());
  crash();
  open_ok(options());
  EXPECT_EQ(store_->next_lsn(), lsn + 1);
  EXPECT_EQ(read_text(lsn), "acknowledged") << "log [" << store_->first_lsn() << ", " << store_->next_lsn() << ")";
}

// trim_before's META write failed in its directory sync after the rename had landed: memory kept
// the old first LSN and the store stayed writable, so a truncate_after below the new first LSN
// succeeded, and the next open read META's first LSN past the log's end as acknowledged records
// lost (DATA LOSS, writes refused). Found by the crash simulation (sim_runner --seed
// 1525038900024757448 --cycles-per-seed 8: 25 of 300 runs). A failed META write now leaves the
// store read-only until reopened, as a failed reset does.
TEST_F(SimRegression, FailedTrimMetaThenTruncateReadAsDataLoss) {
  constexpr std::uint64_t records = 12, trim_to = 10;
  // The store's own threads may sync the directory too (about 1 run in 6 took the armed fault
  // before the trim did): a run where the trim then succeeded tests nothing and is made again.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    make(seed);
    make_store_dir();
    Options o = options();
    o.preallocate_next_segment = false;  // one directory sync fewer to take the armed fault
    open_ok(o);
    for (std::uint64_t i = 0; i < records; ++i) ASSERT_TRUE(store_->append(bytes_of("r" + std::to_string(i))).ok());
    disk_->arm({testing::SimOp::sync_dir, 1, testing::SimFault::sync_dir_eio, dir_});
    if (store_->trim_before(trim_to).ok()) continue;  // the armed sync was another's
    const Status truncated = store_->truncate_after(5);
    EXPECT_EQ(truncated.code(), Errc::read_only) << truncated.to_string();
    store_.reset();
    open_ok(o);
    // Either META may have landed; neither may report a loss, and every record kept reads back.
    EXPECT_TRUE(store_->first_lsn() == 0 || store_->first_lsn() == trim_to) << store_->first_lsn();
    EXPECT_EQ(store_->next_lsn(), records);
    const Result<std::uint64_t> appended = store_->append(bytes_of("after"));
    EXPECT_TRUE(appended.ok()) << appended.status().to_string();
    for (std::uint64_t lsn = store_->first_lsn(); lsn < records; ++lsn)
      EXPECT_EQ(read_text(lsn), "r" + std::to_string(lsn)) << "LSN " << lsn;
    return;
  }
  FAIL() << "in 20 runs the armed directory sync never was the trim's";
}

// A power cut may keep a later segment's writes and lose the first segment's (nothing was
// acknowledged); recovery then refuses to open ("@M ... the segments holding the LSNs between
// are missing", recovery/recover.cc walk_segments) instead of cutting.
TEST_F(SimRegression, Seed59GapBeforeFirstSegmentRefusesOpen) {
  int refused = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    make(seed);
    make_store_dir();
    Options o = options(Durability::none);
    o.inflight_groups_max = 32;
    open_ok(o);
    disk_->hold_writes(true);
    const std::string big(3000, 'y');
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->append(bytes_of(big), 0, Durability::none).ok());
    crash();
    Result<std::unique_ptr<Store>> reopened = open(o);
    if (!reopened.ok()) {
      refused++;
      ADD_FAILURE() << "seed " << seed << ": " << reopened.status().to_string();
    }
  }
  EXPECT_EQ(refused, 0);
}

// Recovery keeps a segment whose header block is zero ("unused") for reuse without zeroing the
// rest; when a crash kept later blocks of it, the engine reactivates it at the same base LSN and
// the next recovery finds those old records continuing the new log.
TEST_F(SimRegression, Seed2189UnusedSegmentReusedWithStaleRecords) {
  disk_->set_crash_model(keep_everything());
  make_store_dir();
  open_ok(options());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->append(bytes_of("old " + std::to_string(i))).ok());
  ASSERT_TRUE(store_->close().ok());
  store_.reset();
  // What a power cut may leave: segment 2's header block lost, its later blocks kept.
  {
    std::shared_ptr<io::Env> env = disk_->env();
    const std::string seg2 = dir_ + "/00000000000000000002.seg";
    io::OpenFlags flags;
    flags.write = true;
    Result<std::unique_ptr<io::File>> f = env->open_file(seg2, flags);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    std::vector<std::byte> zeros(4096);
    ASSERT_TRUE((*f)->write_at(0, zeros).ok());
    ASSERT_TRUE((*f)->sync_data().ok());
    (void)env->remove(dir_ + "/00000000000000000002.idx");
    ASSERT_TRUE(env->remove(dir_ + "/CLEAN").ok());
    ASSERT_TRUE(env->sync_dir(dir_).ok());
  }
  // Segment 2's records had been acknowledged: the loss is reported, and writes continue only
  // once it is accepted (docs/RECOVERY.md, "Acknowledged data lost").
  Options accept = options();
  accept.accept_data_loss = true;
  open_ok(accept);
  const std::uint64_t base = store_->next_lsn();
  ASSERT_TRUE(store_->append(bytes_of("new")).ok());
  crash();
  open_ok(options());
  EXPECT_EQ(store_->next_lsn(), base + 1) << "LSN " << base + 1 << " holds '" << read_text(base + 1)
                                          << "', a record of the lost history";
  EXPECT_EQ(read_text(base), "new");
}

// Bit rot cuts the log below the point trim_before() kept: recovery opened the log empty at the
// cut (first = next) but left META's first_lsn above it; the records appended next lay below
// META's first_lsn, and the following open started the log after them, dropping every one
// without reporting a cut. Seeds 2318 and 2494 (--latent) found the same.
TEST_F(SimRegression, Seed2083CutBelowTrimPointHidesLaterRecords) {
  // Room for the four records in one segment however they are grouped (a synced append may
  // take a block of its own), so that trim_before(3) keeps the segment holding LSN 1.
  Options roomy = options();
  roomy.segment_bytes = 64 * 1024;
  disk_->set_crash_model(keep_everything());
  make_store_dir();
  open_ok(roomy);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store_->append(bytes_of("trimmed " + std::to_string(i))).ok());
  ASSERT_TRUE(store_->trim_before(3).ok());  // META.first_lsn = 3; the only segment stays
  crash();
  // Rot in LSN 1's payload, found by its text: which segment and block it landed in depends on
  // whether the preallocator or the first append created the segment, and on group timing.
  {
    std::shared_ptr<io::Env> env = disk_->env();
    Result<std::vector<std::string>> names = env->list_dir(dir_);
    ASSERT_TRUE(names.ok()) << names.status().to_string();
    const std::string needle = "trimmed 1";
    int rotted = 0;
    for (const std::string &name : *names) {
      if (!name.ends_with(".seg")) continue;
      Result<std::vector<std::byte>> bytes = io::read_whole_file(*env, dir_ + "/" + name, 1 << 20);
      ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
      const std::string text = text_of(*bytes);
      const std::size_t at = text.find(needle);
      if (at == std::string::npos) continue;
      io::OpenFlags flags;
      flags.write = true;
      Result<std::unique_ptr<io::File>> f = env->open_file(dir_ + "/" + name, flags);
      ASSERT_TRUE(f.ok()) << f.status().to_string();
      std::vector<std::byte> byte{(*bytes)[at] ^ std::byte{0x01}};
      ASSERT_TRUE((*f)->write_at(at, byte).ok());
      ASSERT_TRUE((*f)->sync_data().ok());
      rotted++;
    }
    std::string listing;
    for (const std::string &name : *names) listing += " " + name;
    ASSERT_EQ(rotted, 1) << "LSN 1's payload should be in exactly one segment file:" << listing;
  }
  // The rotted records had been acknowledged: writes continue only once the loss is accepted.
  Options roomy_accepting = roomy;
  roomy_accepting.accept_data_loss = true;
  open_ok(roomy_accepting);
  ASSERT_TRUE(store_->recovery_report().cut) << store_->recovery_report().to_string();
  ASSERT_EQ(store_->recovery_report().cut_lsn, 1u) << store_->recovery_report().to_string();
  const std::uint64_t lsn = store_->next_lsn();
  ASSERT_TRUE(store_->append(bytes_of("acknowledged")).ok());
  crash();
  open_ok(roomy);
  EXPECT_FALSE(store_->recovery_report().cut) << store_->recovery_report().to_string();
  EXPECT_LE(store_->first_lsn(), lsn);
  EXPECT_EQ(store_->next_lsn(), lsn + 1);
  EXPECT_EQ(read_text(lsn), "acknowledged") << "log [" << store_->first_lsn() << ", " << store_->next_lsn() << ")";
}

// truncate_after()/reset_to() leave the snapshot files past the new end in place; a snapshot
// written below them is pruned at once (they are "newer"): write_snapshot returns ok and
// latest_snapshot() cannot find it (engine/snapshots.cc).
TEST_F(SimRegression, Seed2862SnapshotAfterResetPrunedAtOnce) {
  make_store_dir();
  Options o = options();
  o.snapshots_kept = 1;
  open_ok(o);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->append(bytes_of("r")).ok());
  ASSERT_TRUE(store_->write_snapshot(9, bytes_of("state at 9")).ok());
  ASSERT_TRUE(store_->reset_to(0).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->append(bytes_of("s")).ok());
  ASSERT_TRUE(store_->write_snapshot(2, bytes_of("state at 2")).ok());
  Result<Snapshot> latest = store_->latest_snapshot();
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  EXPECT_EQ(latest->lsn, 2u);
  EXPECT_EQ(text_of(latest->state), "state at 2");
}

// The same files make latest_snapshot() return the state of records truncate_after() replaced,
// once the log grows past that LSN again.
TEST_F(SimRegression, Seed2862StaleSnapshotAfterTruncate) {
  make_store_dir();
  open_ok(options());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->append(bytes_of("first history")).ok());
  ASSERT_TRUE(store_->write_snapshot(8, bytes_of("state of the first history at 8")).ok());
  ASSERT_TRUE(store_->truncate_after(4).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->append(bytes_of("second history")).ok());
  Result<Snapshot> latest = store_->latest_snapshot();
  EXPECT_FALSE(latest.ok() && latest->lsn == 8)
      << "latest_snapshot() returned the state of records that truncate_after(4) removed";
}

// truncate_after moved the snapshot past its cut into quarantine/ (a rename), then its report's
// write failed: the store turned read-only with both directories unsynced. Reopened in the same
// boot, recovery saw the snapshot already gone and synced neither; the log grew past LSN 8 again,
// and a power cut lost the rename: the snapshot came back as the state of the new records (sim
// seed 2018, --latent, under load).
TEST_F(SimRegression, Seed2018FailedSnapshotQuarantineUndoneByALaterCrash) {
  make_store_dir();
  open_ok(options());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->append(bytes_of("first history")).ok());
  ASSERT_TRUE(store_->write_snapshot(8, bytes_of("state of the first history at 8")).ok());
  disk_->arm({testing::SimOp::write, 1, testing::SimFault::write_eio, "report.txt.tmp"});
  ASSERT_FALSE(store_->truncate_after(4).ok());
  (void)store_->close();  // read-only: its own result does not matter, the reopen does
  store_.reset();
  open_ok(options());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->append(bytes_of("second history")).ok());
  crash();
  open_ok(options());
  ASSERT_GE(store_->next_lsn(), 9u) << "the second history's records were acknowledged";
  Result<Snapshot> latest = store_->latest_snapshot();
  EXPECT_FALSE(latest.ok() && latest->lsn == 8)
      << "latest_snapshot() returned the state of records that truncate_after(4) removed";
}

// A crash while the first open writes META can leave META.tmp without META (the fsync of the
// directory failed, then the power cut kept the create and lost the rename); every later open
// refused the directory as "not a segstore store" (engine/store_open.cc, open_directory).
TEST_F(SimRegression, Seed1089InterruptedCreateLeavesMetaTmp) {
  int refused = 0, meta_tmp_left = 0;
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    make(seed);
    make_store_dir();
    // The store directory's own fsync (after META's rename), not its parent's.
    disk_->arm({testing::SimOp::sync_dir, 1, testing::SimFault::sync_dir_eio, dir_});
    ASSERT_FALSE(open(options()).ok());
    disk_->crash();
    const std::vector<std::string> paths = disk_->paths();
    const bool meta = std::find(paths.begin(), paths.end(), dir_ + "/META") != paths.end();
    const bool meta_tmp = std::find(paths.begin(), paths.end(), dir_ + "/META.tmp") != paths.end();
    if (meta_tmp && !meta) meta_tmp_left++;
    Result<std::unique_ptr<Store>> reopened = open(options());
    if (!reopened.ok()) {
      refused++;
      ADD_FAILURE() << "seed " << seed << ": " << reopened.status().to_string();
      continue;
    }
    store_ = std::move(*reopened);
    ASSERT_TRUE(store_->append(bytes_of("acknowledged")).ok());
    crash();
    open_ok(options());
    EXPECT_EQ(read_text(0), "acknowledged") << "seed " << seed;
  }
  EXPECT_EQ(refused, 0);
  EXPECT_GT(meta_tmp_left, 0) << "no seed left META.tmp without META: the test no longer reaches the bug";
}

// reset_to() sets first/next/durable LSN before writing META; when that write fails the store
// keeps running with LSNs that are not on disk (engine/maintenance.cc, reset_to).
TEST_F(SimRegression, Seed7828FailedResetHalfResetsTheStore) {
  make_store_dir();
  open_ok(options());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->append(bytes_of("r")).ok());
  disk_->arm({testing::SimOp::write, 1, testing::SimFault::write_eio, "META.tmp"});
  ASSERT_FALSE(store_->reset_to(100).ok());
  const bool unchanged = store_->next_lsn() == 10 && store_->first_lsn() == 0 && read_text(9) == "r";
  Result<std::uint64_t> appended = store_->append(bytes_of("after"));
  EXPECT_TRUE(unchanged || appended.status().code() == Errc::read_only)
      << "after the failed reset_to: first " << store_->first_lsn() << ", next " << store_->next_lsn()
      << ", durable " << store_->durable_lsn() << ", append " << appended.status().to_string();
}

// Two appenders that both find no active segment each create one (activate_segment_locked takes
// an id, then unlocks); the loser's file is kept as the preallocated segment and activated after
// segments with higher ids. Recovery walks segments by id: ids must rise with base LSNs.
TEST_F(SimRegression, Seed4ConcurrentActivationsBreakSegmentIdOrder) {
  make_store_dir();
  open_ok(options());
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&] {
      const std::string payload(900, 'z');
      for (int i = 0; i < 300; ++i) ASSERT_TRUE(store_->append(bytes_of(payload)).ok());
    });
  for (std::thread &t : writers) t.join();
  ASSERT_TRUE(store_->close().ok());
  store_.reset();
  std::shared_ptr<io::Env> env = disk_->env();
  Result<std::vector<std::string>> names = env->list_dir(dir_);
  ASSERT_TRUE(names.ok());
  std::uint64_t previous_base = 0;
  std::string previous;
  for (const std::string &name : *names) {
    if (name.size() != 24 || name.substr(20) != ".seg") continue;
    Result<std::vector<std::byte>> bytes = io::read_whole_file(*env, dir_ + "/" + name, 1 << 20);
    ASSERT_TRUE(bytes.ok());
    format::SegmentHeader header;
    if (format::decode_segment_header(*bytes, &header) != format::SegmentHeaderError::none) continue;  // unused
    EXPECT_GE(header.base_lsn, previous_base) << name << " starts at LSN " << header.base_lsn << ", below " << previous
                                              << " (LSN " << previous_base << ")";
    previous_base = header.base_lsn;
    previous = name;
  }
}

// Found by seed 7483: a `none` append returned ok, then the write of its group failed (EIO);
// the reaper marked the group written although its bytes never reached the file, and read()
// of the record then read zeros there and reported corruption (zero_header) instead of the
// write failure. Records of a failed group must read as that failure, never as damage.
TEST_F(SimRegression, Seed7483ReadOfWrittenRecordSeesZeros) {
  make_store_dir();
  open_ok(options(Durability::none));
  ASSERT_TRUE(store_->append(bytes_of("durable"), 0, Durability::sync).ok());
  disk_->arm({testing::SimOp::write, 1, testing::SimFault::write_eio, ".seg"});
  Result<std::uint64_t> lsn = store_->append(bytes_of("never written"), 0, Durability::none);
  ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  ASSERT_FALSE(store_->sync().ok()) << "the injected write error did not hit the group";
  ASSERT_EQ(disk_->faults(testing::SimFault::write_eio), 1u);
  Result<Record> failed = store_->read(*lsn);
  ASSERT_FALSE(failed.ok()) << "read a record whose write failed: '" << text_of(failed->payload) << "'";
  EXPECT_EQ(failed.status().code(), Errc::io_error) << failed.status().to_string();
  EXPECT_NE(failed.status().to_string().find("data sync failed: io_error: write"), std::string::npos) << failed.status().to_string();
  EXPECT_EQ(read_text(0), "durable");
  // A scan stops at the same failure.
  Result<Iterator> it = store_->scan(0);
  ASSERT_TRUE(it.ok()) << it.status().to_string();
  Result<bool> first = it->next();
  ASSERT_TRUE(first.ok() && *first) << (first.ok() ? "end of log" : first.status().to_string());
  Result<bool> second = it->next();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Errc::io_error) << second.status().to_string();
}

// Found by seed 41 (CrashSim.FixedSeedsWithInjectedErrors failed about once in 2,000 runs of
// it): a group's write completed, then a data sync of its segment failed and dropped the
// group's pages (Linux may; the simulated disk then shows O_DIRECT reads the device's older
// bytes, zeros here), and a scan read those blocks after the drop but before the store had
// marked the group failed. It reported corruption (zero_header) at the group's first record
// instead of the failed sync: damage where nothing was damaged. Here the failed sync is held
// until the reader's read (SimTarget::returns_after_a_read) instead of left to the timing.
// `read_first_dropped` reads the first record appended after "durable" and returns its status.
// Replay: build/tests/sim/sim_runner --seed 41 --cycles-per-seed 8 --repeat 2000
void SimRegression::read_racing_a_failed_sync(const std::function<Status(std::uint64_t)> &read_first_dropped) {
  make_store_dir();
  Options o = options(Durability::none);
  o.segment_bytes = 64 * 1024;
  o.direct_io = true;
  o.preallocate_next_segment = false;  // the armed sync is the active segment's, no other file's
  open_ok(o);
  ASSERT_TRUE(store_->append(bytes_of("durable"), 0, Durability::sync).ok());
  // Two write-only groups: the second record does not fit the first's group (8 KiB), which is
  // cut and written; sync() then writes the second's group without a sync of its own (one is
  // pending before it) and syncs the file: the sync the target fails.
  Result<std::uint64_t> lsn = store_->append(bytes_of(std::string(3000, 'a')), 0, Durability::none);
  ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  ASSERT_TRUE(store_->append(bytes_of(std::string(6000, 'b')), 0, Durability::none).ok());
  Result<std::vector<std::string>> names = disk_->env()->list_dir(dir_);
  ASSERT_TRUE(names.ok()) << names.status().to_string();
  std::vector<std::string> segments;
  for (const std::string &name : *names)
    if (name.ends_with(".seg")) segments.push_back(name);
  ASSERT_EQ(segments.size(), 1u) << "expected the active segment only";
  testing::SimTarget target{SimOp::sync, 1, SimFault::sync_eio, segments.front()};
  target.writes_none = true;
  target.returns_after_a_read = true;
  disk_->arm(target);
  Status synced;
  std::thread syncer([&] { synced = store_->sync(); });  // writes the group, then syncs (and fails)
  disk_->wait_for_held_sync();
  const Status read = read_first_dropped(*lsn);
  syncer.join();
  ASSERT_FALSE(synced.ok()) << "the injected sync error did not hit the store's sync";
  EXPECT_EQ(read.code(), Errc::io_error) << read.to_string();
  EXPECT_NE(read.to_string().find("write or data sync failed"), std::string::npos) << read.to_string();
  // The record that was durable before reads back whole; the dropped one answers the failure.
  EXPECT_EQ(read_text(0), "durable");
  Result<Record> again = store_->read(*lsn);
  ASSERT_FALSE(again.ok()) << "read a record the failed sync dropped: '" << text_of(again->payload) << "'";
  EXPECT_EQ(again.status().code(), Errc::io_error) << again.status().to_string();
}

TEST_F(SimRegression, Seed41ScanRacingAFailedSyncReadsDroppedBlocks) {
  read_racing_a_failed_sync([&](std::uint64_t lsn) {
    Result<Iterator> it = store_->scan(0);
    if (!it.ok()) return it.status();
    Result<bool> first = it->next();  // "durable", read in the same window as the dropped record
    if (!first.ok()) return first.status();
    if (!*first || it->record().lsn != 0) return Status(Errc::not_found, "the scan did not return LSN 0 first");
    Result<bool> second = it->next();
    if (!second.ok()) return second.status();
    return Status(Errc::not_found, *second ? "the scan returned LSN " + std::to_string(it->record().lsn) + ", wanted the failure at " + std::to_string(lsn)
                                          : std::string("the scan ended"));
  });
}

TEST_F(SimRegression, Seed41PointReadRacingAFailedSyncReadsDroppedBlocks) {
  read_racing_a_failed_sync([&](std::uint64_t lsn) {
    Result<Record> got = store_->read(lsn);
    return got.ok() ? Status(Errc::not_found, "read LSN " + std::to_string(lsn) + ": '" + text_of(got->payload) + "'")
                    : got.status();
  });
}

// Found by seed 7536252105372163043 (a long run): a crash left the last segment with its header
// and no record, and a later file whose LSNs did not join; recovery cut at the later file and
// kept the empty segment closed. The next append activated a new segment at the same base LSN,
// the key under which the engine kept the empty one, which memory then forgot while its file
// stayed. A truncate_after() below it removed the new segment and left the empty one; the log
// grew again past its base, and the next open found the empty segment's header contradicting
// the records before it, cut there, and dropped acknowledged records.
TEST_F(SimRegression, Seed7536252105372163043EmptySegmentForgottenLosesRecords) {
  auto acked_payload = [](int i) { return "acked " + std::to_string(i) + std::string(5000, 'a'); };
  make_store_dir();
  open_ok(options());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->append(bytes_of("before " + std::to_string(i))).ok());
  const std::uint64_t end = store_->next_lsn();
  ASSERT_TRUE(store_->close().ok());
  store_.reset();
  // What a crash may leave: a segment activated at `end` whose records were lost (its header
  // block kept), and a later segment starting two LSNs past it.
  {
    std::shared_ptr<io::Env> env = disk_->env();
    Result<std::vector<std::string>> names = env->list_dir(dir_);
    ASSERT_TRUE(names.ok()) << names.status().to_string();
    std::vector<std::string> segments;
    for (const std::string &n : *names)
      if (n.ends_with(".seg")) segments.push_back(n);
    std::sort(segments.begin(), segments.end());
    ASSERT_FALSE(segments.empty());
    Result<std::vector<std::byte>> first = io::read_whole_file(*env, dir_ + "/" + segments.front(), 1 << 20);
    ASSERT_TRUE(first.ok()) << first.status().to_string();
    format::SegmentHeader header;
    ASSERT_EQ(format::decode_segment_header(*first, &header), format::SegmentHeaderError::none);
    // The records are in the first segment; a preallocated one after it would come between.
    for (std::size_t i = 1; i < segments.size(); ++i) ASSERT_TRUE(env->remove(dir_ + "/" + segments[i]).ok());
    auto write_segment = [&](std::uint64_t id, std::uint64_t base_lsn) {
      header.segment_id = id;
      header.base_lsn = base_lsn;
      std::vector<std::byte> block(header.segment_bytes);
      format::encode_segment_header(header, block.data());
      char name[32];
      std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(id));
      io::OpenFlags flags;
      flags.write = true;
      flags.create = true;
      Result<std::unique_ptr<io::File>> f = env->open_file(dir_ + "/" + name, flags);
      ASSERT_TRUE(f.ok()) << f.status().to_string();
      ASSERT_TRUE((*f)->write_at(0, block).ok());
      ASSERT_TRUE((*f)->sync_data().ok());
    };
    const std::uint64_t first_id = header.segment_id;
    write_segment(first_id + 1, end);      // empty: its records were lost
    write_segment(first_id + 2, end + 2);  // does not join: recovery cuts here
    (void)env->remove(dir_ + "/CLEAN");
    ASSERT_TRUE(env->sync_dir(dir_).ok());
  }
  open_ok(options());
  ASSERT_TRUE(store_->recovery_report().cut) << store_->recovery_report().to_string();
  ASSERT_EQ(store_->next_lsn(), end);
  ASSERT_TRUE(store_->append(bytes_of("dropped")).ok());
  ASSERT_TRUE(store_->truncate_after(end - 2).ok());
  // Enough to roll into new segments, which the empty one's id comes before.
  std::vector<std::uint64_t> acked;
  for (int i = 0; i < 8; ++i) {
    Result<std::uint64_t> lsn = store_->append(bytes_of(acked_payload(i)));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    acked.push_back(*lsn);
  }
  ASSERT_TRUE(store_->close().ok());
  store_.reset();
  open_ok(options());
  EXPECT_FALSE(store_->recovery_report().cut) << store_->recovery_report().to_string();
  for (std::size_t i = 0; i < acked.size(); ++i)
    EXPECT_EQ(read_text(acked[i]), acked_payload(i)) << "LSN " << acked[i];
}

// Found by the threads mode once a remover raced the writers: reset_to while 16-64 threads
// append, then a crash. The reopen refused the store: META's first LSN (the reset's) was below
// the first segment that survived ("the segments holding the LSNs between are missing"). An
// appender that found no spare segment created one with mu_ released; reset_to ran meanwhile
// and made its lowest live id higher than the new file's; the appender activated the file all
// the same, its records went into a segment recovery deletes (ids below META's lowest). Now the
// append path drops such a file and makes another. The interleaving is the machine's: before
// the fix the seed failed about one run in six (run 31 of 40, and 9 of 20, here), so the test
// runs it 24 times (a run that shows the bug is missed with probability ~1 %); 12 times under
// AddressSanitizer, where each run takes five times as long (`./dev test --asan`).
// Replay: build/tests/sim/sim_runner --seed 29 --cycles-per-seed 8 --threads
TEST_F(SimRegression, Seed29ThreadsResetRacingAppendsLeavesGapAfterMetaFirst) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int runs = 12;
#else
  constexpr int runs = 24;
#endif
  for (int run = 0; run < runs; ++run) {
    testing::TempDir host;
    sim::CrashSimConfig config;
    config.seed = 29;
    config.cycles = 8;
    config.threads = true;
    config.avoid_known_bugs = false;
    config.host_dir = host.path();
    const sim::CrashSimStats stats = sim::run_crash_sim(config);
    ASSERT_TRUE(stats.failures.empty()) << "run " << run << ": " << stats.failures.front();
  }
}

// An open that fails while recovery is cutting the log has already moved the cut segment to
// quarantine/; it reports the cut in one line of events.log only, and the next open finds the
// log ending cleanly before the cut. The crash simulation credits such a cut from that line,
// but read the line from a file on the host, where nothing is written since events.log goes
// through the store's Env to the simulated disk: under --latent it counted the acknowledged
// records that bit rot had cost as lost without a report (seed 5320 failed about one run in
// 70: a flipped bit in the first record of the last segment, then the open failing on a
// rename after that segment was moved away).
// Replay: build/tests/sim/sim_runner --seed 5320 --cycles-per-seed 8 --latent --repeat 200
TEST_F(SimRegression, Seed5320InterruptedCutCreditedFromEventsLog) {
  interrupt_the_cut_of_a_rotted_segment();
  if (HasFatalFailure()) return;
  // What the simulation reads to credit the cut: the line on the simulated disk.
  const std::optional<std::uint64_t> cut = sim::interrupted_cut_lsn(*disk_, dir_);
  ASSERT_TRUE(cut.has_value()) << "events.log: " << text_of(disk_->contents(sim::events_log_path(dir_)));
  EXPECT_EQ(*cut, 1u);
  crash();
  open_ok(options());
  EXPECT_EQ(store_->next_lsn(), 1u) << store_->recovery_report().to_string();
  EXPECT_EQ(read_text(0), "kept");
}

// That line is the only account of the cut once the segment is in quarantine/ (the quarantine
// report comes after the moves, and here its write is what failed), and the power may go before
// the next open. It was an unsynced append: a power cut that kept the segment's move and lost
// the line left acknowledged records gone with no report anywhere. Recovery now syncs it.
TEST_F(SimRegression, Seed5320InterruptedCutLineSurvivesThePowerCut) {
  interrupt_the_cut_of_a_rotted_segment();
  if (HasFatalFailure()) return;
  disk_->set_crash_model(lose_everything());
  crash();
  const std::optional<std::uint64_t> cut = sim::interrupted_cut_lsn(*disk_, dir_);
  ASSERT_TRUE(cut.has_value()) << "events.log after the power cut: " << text_of(disk_->contents(sim::events_log_path(dir_)));
  EXPECT_EQ(*cut, 1u);
}

// Runs `seed` under --latent with `cycles` cycles up to `runs` times, each on a fresh host
// directory, and fails the test at the first run that reports a failure. Returns the sum of
// `counted(stats)` over the runs; with `stop_once_counted`, stops after the first run that
// counted something. For seeds whose scenario depends on the engine's threads' timing.
template <typename Counted>
std::uint64_t repeat_latent_seed(std::uint64_t seed, std::uint64_t cycles, int runs, Counted counted,
                                 bool stop_once_counted = false) {
  std::uint64_t total = 0;
  for (int run = 0; run < runs && !(stop_once_counted && total > 0); ++run) {
    testing::TempDir host;
    sim::CrashSimConfig config;
    config.seed = seed;
    config.cycles = cycles;
    config.latent_faults = true;
    config.host_dir = host.path();
    const sim::CrashSimStats stats = sim::run_crash_sim(config);
    if (!stats.failures.empty()) {
      ADD_FAILURE() << "run " << run << ": " << stats.failures.front();
      return total;
    }
    total += counted(stats);
  }
  return total;
}

// The seed itself (its first 7 cycles): whether its cycle 7 lays the records out so that the
// cut empties the last segment depends on the engine's threads, so the seed runs many times
// (before the fix about one run in 100 failed: 2, 3 and 3 of 200 in three tries; 500 runs miss
// that with probability under 1 %). Under AddressSanitizer each run takes ten times as long
// (250 runs took 44 s): 40 runs there, a smoke test; the deterministic test above is the guard.
TEST_F(SimRegression, Seed5320LatentRunsCreditInterruptedCuts) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int runs = 40;
#else
  constexpr int runs = 500;
#endif
  const std::uint64_t lost_to_latent =
      repeat_latent_seed(5320, 7, runs, [](const sim::CrashSimStats &stats) { return stats.lost_to_latent; });
  EXPECT_GT(lost_to_latent, 0u) << "no run of the seed lost acknowledged records to bit rot: it no longer checks the credit";
}

// The store's creation is interrupted (an injected EIO on the directory sync after META's
// rename), the power cut loses the rename and flips a bit of META.tmp: the next open refuses the
// directory as not a store (META.tmp is not a META being written, and there is no META), the
// right answer for a file it cannot tell from a foreign one. Nothing had been acknowledged, but
// the simulation excused only `corruption` under --latent and reported this refusal as a
// failure, on every run of the seed (found by a 5,000-seed --latent sweep).
TEST_F(SimRegression, Seed5504517291656153735RotInUnfinishedCreationIsRefused) {
  sim::CrashSimConfig config;
  config.seed = 5504517291656153735ull;
  config.cycles = 8;
  config.latent_faults = true;
  config.host_dir = host_.path();
  const sim::CrashSimStats stats = sim::run_crash_sim(config);
  ASSERT_TRUE(stats.failures.empty()) << stats.failures.front();
  EXPECT_EQ(stats.latent_detected, 1u) << "the seed no longer meets a rotted META.tmp at creation: it tests nothing";
  EXPECT_EQ(stats.cycles, 0u);
}

// The simulated queue runs a group inside reap(), on the engine's reaper thread: a background
// data sync of the active segment failed there, the simulation saw the injected fault at once
// and expected the store read-only, and the very next `none` append, racing the reaper's
// handling of the completion, was still taken: "append accepted after a failed data sync". The
// engine cannot refuse what it does not know yet; the simulation now calls sync() when it
// first sees such a fault (which waits for the completion to be handled, and must fail).
// The race is the machine's: before, 5, 9 and 14 of 300 runs of 8 cycles failed, and 6 and 8 of
// 300 runs of the one cycle that shows it; 400 runs miss it with probability under 0.01 %.
// Replay: build/tests/sim/sim_runner --seed 428 --cycles-per-seed 1 --latent --repeat 300
TEST_F(SimRegression, Seed428AppendRacingTheReapOfAFailedSync) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int runs = 200;
#else
  constexpr int runs = 400;
#endif
  const std::uint64_t read_only_checks =
      repeat_latent_seed(428, 1, runs, [](const sim::CrashSimStats &stats) { return stats.read_only_checks; });
  EXPECT_GT(read_only_checks, 0u) << "no run met the failed data sync: the seed no longer tests the race";
}

// The same account, from an open whose recovery finished its cut (bit rot in LSN 3 of the last
// segment, @B, quarantined and zeroed, its report appended to events.log) and which then failed
// (an injected EIO on the sync of the last segment as the engine resumes it): the next open
// finds the log ending at LSN 3 and nothing to cut. The simulation credited only the line of an
// interrupted pass ("recovery interrupted by"), not a finished pass's "log cut in ... (first
// LSN cut 3)", and counted LSN 3 and 4 as lost without a report (on main's build 16 of 50 runs
// of 8 cycles, 8 of 50 runs of the first cycle alone). How often a run reaches the failed open
// depends on the engine's threads' timing: 60 runs once missed it under a loaded CI machine,
// so the runs go on until one was credited, up to 600 (about 2 ms each).
// Since durable waiters write their own groups, seed 2784 no longer reaches such an open (its
// writes take another course); seed 2816 does on every run: bit rot at LSN 45, its cut
// reported, then the open fails on an injected EIO writing a sealed segment's .idx.tmp.
// Replay: build/tests/sim/sim_runner --seed 2816 --cycles-per-seed 1 --latent --repeat 50 --verbose
TEST_F(SimRegression, Seed2816CutOfAnOpenFailingAfterRecoveryIsCredited) {
  const std::uint64_t credited = repeat_latent_seed(
      2816, 1, 600, [](const sim::CrashSimStats &stats) { return stats.lost_to_failed_open_cut; },
      /*stop_once_counted=*/true);
  EXPECT_GT(credited, 0u) << "no run had an open fail after its cut: the seed no longer tests the credit";
}

}  // namespace
}  // namespace segstore
