// Application snapshots: the event-store pattern (snapshot + replay of the rest).
#include <filesystem>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"

namespace segstore::testing {
namespace {

std::vector<std::byte> encode_u64(std::uint64_t v) {
  std::vector<std::byte> bytes(8);
  std::memcpy(bytes.data(), &v, 8);
  return bytes;
}
std::uint64_t decode_u64(std::span<const std::byte> bytes) {
  std::uint64_t v = 0;
  std::memcpy(&v, bytes.data(), std::min<std::size_t>(8, bytes.size()));
  return v;
}

TEST(Snapshots, NoSnapshotIsNotFound) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  EXPECT_EQ(store->latest_snapshot().status().code(), Errc::not_found);
}

TEST(Snapshots, LatestSnapshotPlusReplayRebuildsTheState) {
  TempDir dir;
  std::uint64_t expected_sum = 0;
  {
    auto store = open_or_die(dir.path(), small_segments(Durability::none, 64 * 1024));
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < 10000; ++i) {
      Result<std::uint64_t> lsn = store->append(encode_u64(i));
      ASSERT_TRUE(lsn.ok());
      sum += i;
      if (*lsn % 1000 == 999) SEGSTORE_ASSERT_OK(store->write_snapshot(*lsn, encode_u64(sum)));
    }
    expected_sum = sum;
    SEGSTORE_ASSERT_OK(store->sync());
  }
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 64 * 1024));
  Result<Snapshot> snapshot = store->latest_snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
  EXPECT_EQ(snapshot->lsn, 9999u);
  std::uint64_t sum = decode_u64(snapshot->state);
  Result<Iterator> it = store->scan(snapshot->lsn + 1);
  ASSERT_TRUE(it.ok());
  while (true) {
    Result<bool> more = it->next();
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    sum += decode_u64(it->record().payload);
  }
  EXPECT_EQ(sum, expected_sum);
}

TEST(Snapshots, OnlyTheNewestAreKept) {
  TempDir dir;
  Options options = small_segments(Durability::sync);
  options.snapshots_kept = 2;
  auto store = open_or_die(dir.path(), options);
  for (int i = 0; i < 5; ++i) {
    Result<std::uint64_t> lsn = store->append(encode_u64(i));
    ASSERT_TRUE(lsn.ok());
    SEGSTORE_ASSERT_OK(store->write_snapshot(*lsn, encode_u64(100 + i)));
  }
  std::size_t files = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir.sub("snapshots"))) {
    EXPECT_EQ(entry.path().extension(), ".snap");
    ++files;
  }
  EXPECT_EQ(files, 2u);
  Result<Snapshot> latest = store->latest_snapshot();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->lsn, 4u);
  EXPECT_EQ(decode_u64(latest->state), 104u);
}

TEST(Snapshots, SnapshotMustNameAnLsnOfTheLog) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  EXPECT_EQ(store->write_snapshot(0, encode_u64(1)).code(), Errc::lsn_out_of_range);
  ASSERT_TRUE(store->append(encode_u64(1)).ok());
  EXPECT_EQ(store->write_snapshot(1, encode_u64(1)).code(), Errc::lsn_out_of_range);
  SEGSTORE_ASSERT_OK(store->write_snapshot(0, encode_u64(1)));
}

TEST(Snapshots, DamagedNewestSnapshotFallsBackToTheOneBefore) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store->append(encode_u64(i)).ok());
    SEGSTORE_ASSERT_OK(store->write_snapshot(static_cast<std::uint64_t>(i), encode_u64(10 + i)));
  }
  const std::string newest = dir.sub("snapshots/00000000000000000002.snap");
  std::filesystem::resize_file(newest, std::filesystem::file_size(newest) - 3);
  Result<Snapshot> latest = store->latest_snapshot();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->lsn, 1u);
  EXPECT_EQ(decode_u64(latest->state), 11u);
}

TEST(Snapshots, CallbackFiresEveryNRecords) {
  TempDir dir;
  Options options = small_segments(Durability::none);
  options.snapshot_every_records = 100;
  std::vector<std::uint64_t> due;
  options.on_snapshot_due = [&](std::uint64_t lsn) { due.push_back(lsn); };
  auto store = open_or_die(dir.path(), options);
  for (int i = 0; i < 350; ++i) ASSERT_TRUE(store->append(encode_u64(i)).ok());
  EXPECT_EQ(due, (std::vector<std::uint64_t>{99, 199, 299}));
}

}  // namespace
}  // namespace segstore::testing
