// tests/hostile/hostile_library_test.cc — the library (Store::open, append, latest_snapshot,
// close) against the hostile directories and operator errors that hostile_cli_test.py drives the
// CLI through: the same reproductions, seen by a program that links libsegstore. Grouped by class
// of attack like the CLI's tests (FIFOs, symbolic links, sparse files, forged ids, operator
// errors). A hang is caught by the meson timeout: every call here returns at once when correct.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "../engine/store_fixture.h"
#include "format/store_dir.h"
#include "format/crc32c.h"
#include "format/small_files.h"

namespace segstore::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t segment_bytes = 16 * 1024;
constexpr int records = 50;

Options hostile_options(std::uint64_t bytes = segment_bytes) {
  Options options = small_segments(Durability::sync, bytes);
  options.write_group_bytes_max = 16 * 1024;
  return options;
}

// The base store: 50 records "rec i" in 16 KiB segments, closed cleanly.
void fill(const std::string &dir) {
  std::unique_ptr<Store> store = open_or_die(dir, hostile_options());
  for (int i = 0; i < records; ++i) ASSERT_TRUE(store->append(as_bytes("rec " + std::to_string(i))).ok());
  ASSERT_TRUE(store->close().ok());
}

std::string segment_path(const std::string &dir, std::uint64_t id) {
  return format::join_path(dir, format::numbered_name(id, format::segment_suffix));
}

std::uint64_t last_segment_id(const std::string &dir) {
  std::uint64_t last = 0;
  for (const auto &entry : fs::directory_iterator(dir))
    if (auto id = format::parse_numbered_name(entry.path().filename().string(), format::segment_suffix))
      last = std::max(last, *id);
  return last;
}

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The zero-filled next segment that the preallocator of an open with `bytes` segments leaves,
// made here so that a test does not depend on the timing of that thread.
void plant_preallocation(const std::string &dir, std::uint64_t bytes) {
  const std::string path = segment_path(dir, last_segment_id(dir) + 1);
  write_file(path, "");
  fs::resize_file(path, bytes);
}

// --- FIFOs ---------------------------------------------------------------------------------------

class HostileFifo : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string dir_ = tmp_.sub("s");
  void SetUp() override { fill(dir_); }
  void replace_with_fifo(const std::string &path) {
    ::unlink(path.c_str());
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
  }
};

TEST_F(HostileFifo, SegmentNamedFifoIsRefusedAtOnce) {
  const std::string fifo = segment_path(dir_, last_segment_id(dir_) + 1);
  replace_with_fifo(fifo);
  Result<std::unique_ptr<Store>> store = Store::open(dir_, hostile_options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::not_a_regular_file) << store.status().to_string();
  EXPECT_NE(store.status().message().find(fifo), std::string::npos) << store.status().to_string();
}

// After a clean close a sealed segment is not opened until it is read (docs/RECOVERY.md "Open
// after a clean close"): a FIFO planted under its name is refused then, without blocking, and
// only the reads that need it fail.
TEST_F(HostileFifo, SealedSegmentNamedFifoIsRefusedAtItsFirstRead) {
  ASSERT_GE(last_segment_id(dir_), 3u);
  const std::string fifo = segment_path(dir_, 2);
  replace_with_fifo(fifo);
  std::unique_ptr<Store> store = open_or_die(dir_, hostile_options());
  std::uint64_t lsn = 0;
  Result<Record> got = store->read(lsn);
  while (got.ok() && lsn + 1 < static_cast<std::uint64_t>(records)) got = store->read(++lsn);
  ASSERT_FALSE(got.ok()) << "every record was read through a FIFO";
  EXPECT_GT(lsn, 0u) << "segment 1 is still read";
  EXPECT_EQ(got.status().code(), Errc::not_a_regular_file) << got.status().to_string();
  EXPECT_NE(got.status().message().find(fifo), std::string::npos) << got.status().to_string();
  Result<Record> last = store->read(records - 1);
  EXPECT_TRUE(last.ok()) << last.status().to_string();
}

TEST_F(HostileFifo, MetaNamedFifoIsRefusedAtOnce) {
  replace_with_fifo(format::join_path(dir_, format::meta_file_name));
  Result<std::unique_ptr<Store>> store = Store::open(dir_, hostile_options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::not_a_regular_file) << store.status().to_string();
}

TEST_F(HostileFifo, LockNamedFifoIsRefusedAtOnce) {
  replace_with_fifo(format::join_path(dir_, format::lock_file_name));
  Result<std::unique_ptr<Store>> store = Store::open(dir_, hostile_options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::not_a_regular_file) << store.status().to_string();
}

TEST_F(HostileFifo, CleanNamedFifoLeavesTheStoreUsable) {
  replace_with_fifo(format::join_path(dir_, format::clean_file_name));
  std::unique_ptr<Store> store = open_or_die(dir_, hostile_options());
  Result<std::uint64_t> lsn = store->append(as_bytes("X"));
  ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  EXPECT_EQ(*lsn, std::uint64_t{records});
}

TEST_F(HostileFifo, EventsLogNamedFifoLeavesTheStoreUsable) {
  replace_with_fifo(format::join_path(dir_, format::events_file_name));
  ::unlink(format::join_path(dir_, format::clean_file_name).c_str());  // the open logs its recovery
  std::unique_ptr<Store> store = open_or_die(dir_, hostile_options());
  EXPECT_TRUE(store->append(as_bytes("X")).ok());
  EXPECT_TRUE(store->close().ok());
}

// --- symbolic links ------------------------------------------------------------------------------

class HostileSymlink : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string dir_ = tmp_.sub("s");
  std::string victim_ = tmp_.sub("victim");
  void SetUp() override { fill(dir_); }
  void plant(const std::string &name) {
    const std::string path = format::join_path(dir_, name);
    ::unlink(path.c_str());
    ASSERT_EQ(::symlink(victim_.c_str(), path.c_str()), 0) << path;
  }
};

TEST_F(HostileSymlink, LockSymlinkDoesNotCreateItsTarget) {
  plant(format::lock_file_name);
  Result<std::unique_ptr<Store>> store = Store::open(dir_, hostile_options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::not_a_regular_file) << store.status().to_string();
  EXPECT_FALSE(fs::exists(fs::symlink_status(victim_)));
}

TEST_F(HostileSymlink, EventsLogSymlinkIsNotAppendedTo) {
  write_file(victim_, "keep\n");
  plant(format::events_file_name);
  ::unlink(format::join_path(dir_, format::clean_file_name).c_str());
  std::unique_ptr<Store> store = open_or_die(dir_, hostile_options());
  EXPECT_TRUE(store->close().ok());
  EXPECT_EQ(read_file(victim_), "keep\n");
}

// CLEAN.tmp is written at close (CLEAN's atomic replacement): a link planted there while the
// store is open must not be written through.
TEST_F(HostileSymlink, CleanTempSymlinkIsNotWrittenThrough) {
  write_file(victim_, "keep\n");
  std::unique_ptr<Store> store = open_or_die(dir_, hostile_options());
  plant(std::string(format::clean_file_name) + format::temp_suffix);
  EXPECT_TRUE(store->close().ok());
  EXPECT_EQ(read_file(victim_), "keep\n");
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(format::join_path(dir_, format::clean_file_name))));
}

TEST_F(HostileSymlink, SnapshotSymlinkIsNotRead) {
  {
    std::unique_ptr<Store> store = open_or_die(dir_, hostile_options());
    ASSERT_TRUE(store->write_snapshot(10, as_bytes("state at 10")).ok());
  }
  const std::string snap = format::join_path(format::join_path(dir_, format::snapshots_dir_name),
                                             format::numbered_name(10, ".snap"));
  fs::rename(snap, victim_);
  ASSERT_EQ(::symlink(victim_.c_str(), snap.c_str()), 0);
  std::unique_ptr<Store> store = open_or_die(dir_, hostile_options());
  Result<Snapshot> latest = store->latest_snapshot();
  EXPECT_FALSE(latest.ok()) << "read through a symbolic link";
}

// The store directory renamed away while the store is open, a symbolic link to an empty decoy
// directory put at its path: every file the store writes afterwards — a new segment (and the
// next one preallocated), snapshots, META (a trim), the quarantine of snapshots past a
// truncation, events.log, CLEAN at close — must land in the directory it locked, none through
// the link.
TEST(HostileSwappedDir, WritesAfterTheDirectoryIsSwappedForASymlinkLandInTheLockedOne) {
  TempDir tmp;
  const std::string dir = tmp.sub("s");
  const std::string moved = tmp.sub("moved");
  const std::string decoy = tmp.sub("decoy");
  fill(dir);
  std::unique_ptr<Store> store = open_or_die(dir, hostile_options());
  const std::uint64_t last_segment_before = last_segment_id(dir);
  fs::rename(dir, moved);
  fs::create_directory(decoy);
  fs::create_directory_symlink(decoy, dir);

  const std::string payload(1000, 'p');  // 15 to a 16 KiB segment: 60 of them roll 4 times
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(store->append(as_bytes(payload)).ok()) << i;
  EXPECT_TRUE(store->write_snapshot(60, as_bytes("state at 60")).ok());
  EXPECT_TRUE(store->write_snapshot(100, as_bytes("state at 100")).ok());
  Status trimmed = store->trim_before(60);
  EXPECT_TRUE(trimmed.ok()) << trimmed.to_string();
  Status truncated = store->truncate_after(80);  // snapshot 100 is past the new end: quarantined
  EXPECT_TRUE(truncated.ok()) << truncated.to_string();
  Status closed = store->close();
  EXPECT_TRUE(closed.ok()) << closed.to_string();

  std::vector<std::string> in_decoy;
  for (const auto &entry : fs::recursive_directory_iterator(decoy)) in_decoy.push_back(entry.path().string());
  EXPECT_TRUE(in_decoy.empty()) << "written through the link: " << ::testing::PrintToString(in_decoy);

  EXPECT_GT(last_segment_id(moved), last_segment_before + 2);
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(format::join_path(moved, format::clean_file_name))));
  const std::string snapshots = format::join_path(moved, format::snapshots_dir_name);
  EXPECT_TRUE(fs::is_regular_file(format::join_path(snapshots, format::numbered_name(60, format::snapshot_suffix))));
  EXPECT_FALSE(fs::exists(format::join_path(snapshots, format::numbered_name(100, format::snapshot_suffix))));
  std::vector<std::string> quarantined;
  const std::string quarantine = format::join_path(moved, format::quarantine_dir_name);
  if (fs::is_directory(quarantine))
    for (const auto &entry : fs::recursive_directory_iterator(quarantine))
      if (entry.path().filename().string().find("-snapshot-") != std::string::npos)
        quarantined.push_back(entry.path().string());
  EXPECT_EQ(quarantined.size(), 1u) << ::testing::PrintToString(quarantined);
  format::MetaFile meta;
  const std::string meta_bytes = read_file(format::join_path(moved, format::meta_file_name));
  ASSERT_EQ(format::decode_meta(std::as_bytes(std::span(meta_bytes)), &meta), format::SmallFileError::none);
  EXPECT_GT(meta.min_segment_id, 1u) << "the trim's META was not written here";

  // The store at its real place holds what was acknowledged there.
  std::unique_ptr<Store> reopened = open_or_die(moved, hostile_options());
  EXPECT_EQ(reopened->first_lsn(), 60u);
  EXPECT_EQ(reopened->next_lsn(), 81u);
}

TEST(HostileFileMode, CreatedFilesAre0640UnlessAnOptionSaysOtherwise) {
  const mode_t old = ::umask(022);
  TempDir tmp;
  fill(tmp.sub("s"));
  Options options = hostile_options();
  options.file_mode = 0600;
  std::unique_ptr<Store> other = open_or_die(tmp.sub("t"), options);
  ASSERT_TRUE(other->append(as_bytes("x")).ok());
  ASSERT_TRUE(other->close().ok());
  ::umask(old);
  for (const char *name : {format::meta_file_name, format::lock_file_name, format::events_file_name}) {
    EXPECT_EQ(fs::status(tmp.sub("s") + "/" + name).permissions(),
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read)
        << name;
  }
  EXPECT_EQ(fs::status(segment_path(tmp.sub("s"), 1)).permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_EQ(fs::status(tmp.sub("t") + "/META").permissions(), fs::perms::owner_read | fs::perms::owner_write);
  options.file_mode = 01777;
  Result<std::unique_ptr<Store>> refused = Store::open(tmp.sub("u"), options);
  EXPECT_EQ(refused.status().code(), Errc::invalid_argument);
}

// --- sparse and huge files -----------------------------------------------------------------------

TEST(HostileSparse, HugeSparseSnapshotIsSkippedNotAllocated) {
  TempDir tmp;
  const std::string dir = tmp.sub("s");
  fill(dir);
  std::unique_ptr<Store> store = open_or_die(dir, hostile_options());
  ASSERT_TRUE(store->write_snapshot(5, as_bytes("state at 5")).ok());
  const std::string snap = format::join_path(format::join_path(dir, format::snapshots_dir_name),
                                             format::numbered_name(10, ".snap"));
  {
    // A checksummed header claiming 100 GiB of state over a sparse file of that size.
    format::MetaFile meta;
    const std::string meta_bytes = read_file(format::join_path(dir, format::meta_file_name));
    ASSERT_EQ(format::decode_meta(std::as_bytes(std::span(meta_bytes)), &meta), format::SmallFileError::none);
    std::vector<std::byte> bytes = format::encode_snapshot(format::SnapshotHeader{meta.store_id, 10, 0}, {});
    const std::uint64_t claimed = 100ull << 30;
    std::memcpy(bytes.data() + 32, &claimed, sizeof claimed);  // state_bytes (the host is little-endian)
    const std::uint32_t crc = format::crc32c_mask(format::crc32c(std::span<const std::byte>(bytes.data(), 60)));
    std::memcpy(bytes.data() + 60, &crc, sizeof crc);
    std::ofstream(snap, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()), 64);
    fs::resize_file(snap, 64 + claimed);
  }
  Result<Snapshot> latest = store->latest_snapshot();
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  EXPECT_EQ(latest->lsn, 5u);
}

// --- forged ids ----------------------------------------------------------------------------------

TEST(HostileForgedId, StraySegmentWithTheLargestIdNeverWrapsTheNextId) {
  TempDir tmp;
  const std::string dir = tmp.sub("s");
  fill(dir);
  const std::string stray = segment_path(dir, UINT64_MAX);
  write_file(stray, "");
  fs::resize_file(stray, segment_bytes);
  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<Store> store = open_or_die(dir, hostile_options());
    for (int i = 0; i < 200; ++i) {
      Result<std::uint64_t> lsn = store->append(as_bytes("more " + std::to_string(i)));
      ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    }
    ASSERT_TRUE(store->close().ok());
  }
  EXPECT_TRUE(fs::exists(stray));
  std::unique_ptr<Store> store = open_or_die(dir, hostile_options());
  EXPECT_EQ(store->next_lsn(), std::uint64_t{records + 400});
}

// --- operator errors -----------------------------------------------------------------------------

TEST(HostileOperator, RetryAfterRecordTooLargeWithTheDefaultSegmentSize) {
  TempDir tmp;
  const std::string dir = tmp.sub("a3");
  const std::string big(20000, 'y');
  {
    std::unique_ptr<Store> store = open_or_die(dir, hostile_options());
    EXPECT_EQ(store->append(as_bytes(big)).status().code(), Errc::record_too_large);
  }
  if (last_segment_id(dir) == 0) plant_preallocation(dir, segment_bytes);
  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<Store> store = open_or_die(dir, small_segments(Durability::sync, 1 << 20));
    Result<std::uint64_t> lsn = store->append(as_bytes(big));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    EXPECT_EQ(*lsn, std::uint64_t(round));
  }
  std::unique_ptr<Store> store = open_or_die(dir, small_segments(Durability::sync, 1 << 20));
  for (std::uint64_t lsn = 0; lsn < 2; ++lsn) {
    Result<Record> got = store->read(lsn);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(as_string(got->payload), big);
  }
}

// reset_to leaves no record and a preallocated segment of the old size; reopened with a larger
// segment size, the first record too large for it must go to a new segment of the new size, not
// to a second segment at the same LSN.
TEST(HostileOperator, EmptyActiveSegmentTooSmallAfterReopen) {
  TempDir tmp;
  const std::string dir = tmp.sub("s");
  {
    std::unique_ptr<Store> store = open_or_die(dir, hostile_options());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->append(as_bytes("small")).ok());
    ASSERT_TRUE(store->reset_to(3).ok());
  }
  plant_preallocation(dir, segment_bytes);
  std::unique_ptr<Store> store = open_or_die(dir, hostile_options(4 * segment_bytes));
  const std::string big(30000, 'z');
  Result<std::uint64_t> lsn = store->append(as_bytes(big));
  ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  EXPECT_EQ(*lsn, 3u);
  ASSERT_TRUE(store->close().ok());
  store = open_or_die(dir, hostile_options(4 * segment_bytes));
  Result<Record> got = store->read(3);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(as_string(got->payload), big);
}

}  // namespace
}  // namespace segstore::testing
