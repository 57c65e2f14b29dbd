// tests/recovery/lost_tail_test.cc — acknowledged records missing from the log's end, where the
// scan itself finds a clean end (a zeroed block, a truncated file): the evidence of how far the
// log reached (CLEAN, the last segment's index snapshot, META) proves
// the loss; recovery reports it, records it in META, and the store refuses writes until the loss
// is accepted, so no acknowledged LSN is silently handed out again (docs/RECOVERY.md).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/store_fixture.h"
#include "format/layout.h"
#include "segstore/store.h"

namespace segstore::testing {
namespace {

constexpr std::uint64_t record_count = 50;
constexpr std::uint64_t segment_bytes = 16 * 1024;

Options store_options() {
  Options options;
  options.segment_bytes = segment_bytes;
  options.durability = Durability::sync;
  options.write_group_bytes_max = 64 * 1024;
  return options;
}

// After a clean close the next open trusts CLEAN and the index snapshots without reading records
// (a zeroed block is then bit rot that a read of it reports as corruption, and appends continue
// after LSN 49: no LSN is reused). `segstore recover` (verify_on_open) reads everything.
Options verify_options() {
  Options options = store_options();
  options.verify_on_open = true;
  return options;
}

std::string record_text(std::uint64_t lsn) { return "rec " + std::to_string(lsn); }

// 50 synced records of 1000 bytes: a few per 16 KiB segment, each group on its own block.
void write_store(const std::string &dir) {
  auto store = open_or_die(dir, store_options());
  for (std::uint64_t i = 0; i < record_count; ++i) {
    std::string text = record_text(i);
    text.resize(1000, '.');
    Result<std::uint64_t> lsn = store->append(as_bytes(text));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    ASSERT_EQ(*lsn, i);
  }
  ASSERT_TRUE(store->close().ok());
}

// The segment holding the log's last record: the highest-numbered .seg that is not all zero.
std::string last_used_segment(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".seg") names.push_back(entry.path().string());
  std::sort(names.begin(), names.end());
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    std::vector<char> block(format::block_size_bytes);
    const int fd = ::open(it->c_str(), O_RDONLY);
    const ssize_t got = ::pread(fd, block.data(), block.size(), 0);
    ::close(fd);
    if (got > 0 && std::any_of(block.begin(), block.end(), [](char c) { return c != 0; })) return *it;
  }
  ADD_FAILURE() << "no used segment in " << dir;
  return {};
}

// The last block of `path` holding data (what dd of zeros over the tail's records would hit).
std::uint64_t last_nonzero_block(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  std::uint64_t last = 0;
  std::vector<char> block(format::block_size_bytes);
  for (std::uint64_t b = 0;; ++b) {
    const ssize_t got = ::pread(fd, block.data(), block.size(), static_cast<off_t>(b * block.size()));
    if (got <= 0) break;
    if (std::any_of(block.begin(), block.begin() + got, [](char c) { return c != 0; })) last = b;
  }
  ::close(fd);
  return last;
}

void zero_block(const std::string &path, std::uint64_t block) {
  const std::vector<char> zeros(format::block_size_bytes, 0);
  const int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(block * zeros.size())),
            static_cast<ssize_t>(zeros.size()));
  ::close(fd);
}

class LostTailTest : public ::testing::Test {
 protected:
  void SetUp() override { write_store(dir_.path()); }

  // Zeroes the block holding the last record(s): the scan then meets zeros to the segment's end.
  std::uint64_t lose_last_block() {
    const std::string seg = last_used_segment(dir_.path());
    const std::uint64_t block = last_nonzero_block(seg);
    EXPECT_GT(block, 0u);
    zero_block(seg, block);
    return block;
  }

  // Opens, expects the loss to be reported and writes refused; returns the next LSN the store
  // would give (its log's end).
  std::uint64_t expect_loss_refused(const Options &options) {
    Result<std::unique_ptr<Store>> store = Store::open(dir_.path(), options);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    if (!store.ok()) return 0;
    const RecoveryReport &report = (*store)->recovery_report();
    EXPECT_TRUE(report.acknowledged_data_lost) << report.to_string();
    EXPECT_FALSE(report.loss_accepted);
    const std::uint64_t end = (*store)->next_lsn();
    EXPECT_LT(end, record_count);
    EXPECT_EQ(report.lost_lsn_first, end) << report.to_string();
    EXPECT_EQ(report.lost_lsn_last, record_count - 1) << report.to_string();
    EXPECT_NE(report.to_string().find("DATA LOSS"), std::string::npos) << report.to_string();
    Result<std::uint64_t> refused = (*store)->append(as_bytes("X"));
    EXPECT_FALSE(refused.ok()) << "the append took LSN " << (refused.ok() ? *refused : 0)
                               << ", which was acknowledged before";
    if (!refused.ok()) {
      EXPECT_EQ(refused.status().code(), Errc::data_loss) << refused.status().to_string();
    }
    // Nothing can arrive past the end until the loss is accepted: waits there say so at once
    // instead of running out their time (a day here: a hang would fail the test's timeout).
    const auto day = std::chrono::hours(24);
    EXPECT_EQ((*store)->wait_for_lsn(end, day).code(), Errc::data_loss);
    EXPECT_EQ((*store)->wait_until_durable(end, day).code(), Errc::data_loss);
    Result<Iterator> tail = (*store)->scan(end);
    EXPECT_TRUE(tail.ok()) << tail.status().to_string();
    if (tail.ok()) {
      Result<bool> waited = tail->next_wait(day);
      EXPECT_FALSE(waited.ok());
      if (!waited.ok()) {
        EXPECT_EQ(waited.status().code(), Errc::data_loss) << waited.status().to_string();
      }
    }
    // Every record the log still holds is served.
    for (std::uint64_t lsn = 0; lsn < end; ++lsn) {
      Result<Record> r = (*store)->read(lsn);
      EXPECT_TRUE(r.ok()) << lsn << ": " << r.status().to_string();
      if (r.ok()) {
        EXPECT_EQ(as_string(r->payload).substr(0, record_text(lsn).size()), record_text(lsn));
      }
    }
    return end;
  }

  TempDir dir_;
};

// The reported case: `recover` (verify_on_open) used to find a clean end, report 49 records and
// exit 0, and the next append took LSN 49, acknowledged before, for another record.
TEST_F(LostTailTest, ZeroedLastBlockIsReportedAndItsLsnsAreNotReused) {
  lose_last_block();
  const std::uint64_t end = expect_loss_refused(verify_options());
  // The decision survives the reopen: the evidence (CLEAN) is gone after the first open, META
  // keeps the loss.
  EXPECT_EQ(expect_loss_refused(store_options()), end);
}

TEST_F(LostTailTest, TruncatedLastSegmentIsReported) {
  const std::string seg = last_used_segment(dir_.path());
  const std::uint64_t block = last_nonzero_block(seg);
  ASSERT_EQ(::truncate(seg.c_str(), static_cast<off_t>(block * format::block_size_bytes)), 0);
  expect_loss_refused(store_options());
}

// Without CLEAN (an operator's rm, or a crash of a later open before its first append), the last
// segment's index snapshot still proves how far the log reached.
TEST_F(LostTailTest, IndexSnapshotProvesTheLossWithoutClean) {
  lose_last_block();
  ASSERT_TRUE(std::filesystem::remove(dir_.sub("CLEAN")));
  expect_loss_refused(store_options());
}

TEST_F(LostTailTest, AcceptingTheLossLetsWritesContinue) {
  lose_last_block();
  const std::uint64_t end = expect_loss_refused(verify_options());
  Options accept = store_options();
  accept.accept_data_loss = true;
  {
    auto store = open_or_die(dir_.path(), accept);
    EXPECT_TRUE(store->recovery_report().acknowledged_data_lost);
    EXPECT_TRUE(store->recovery_report().loss_accepted) << store->recovery_report().to_string();
    Result<std::uint64_t> lsn = store->append(as_bytes("X"));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    EXPECT_EQ(*lsn, end);
    ASSERT_TRUE(store->close().ok());
  }
  // Accepted once: later opens are clean and writable.
  auto store = open_or_die(dir_.path(), store_options());
  EXPECT_FALSE(store->recovery_report().acknowledged_data_lost) << store->recovery_report().to_string();
  EXPECT_TRUE(store->append(as_bytes("Y")).ok());
}

// strict_recovery changes nothing and refuses the open when a loss is found.
TEST_F(LostTailTest, StrictRecoveryRefusesALostTail) {
  lose_last_block();
  Options strict = verify_options();
  strict.strict_recovery = true;
  Result<std::unique_ptr<Store>> store = Store::open(dir_.path(), strict);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::recovery_required) << store.status().to_string();
  // Nothing was recorded: a verifying open still finds the evidence.
  expect_loss_refused(verify_options());
}

// A clean close and reopen, untouched: no loss is claimed (the evidence agrees with the log).
TEST_F(LostTailTest, IntactStoreReportsNoLoss) {
  auto store = open_or_die(dir_.path(), store_options());
  EXPECT_FALSE(store->recovery_report().acknowledged_data_lost) << store->recovery_report().to_string();
  EXPECT_EQ(store->next_lsn(), record_count);
  EXPECT_TRUE(store->append(as_bytes("more")).ok());
}

}  // namespace
}  // namespace segstore::testing
