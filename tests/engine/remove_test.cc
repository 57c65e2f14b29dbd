// Removing records: truncate_after, trim_before, reset_to, retention.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"
#include "format/segment_header.h"

namespace segstore::testing {
namespace {

std::size_t count_files(const std::string &dir, const std::string &suffix) {
  std::size_t n = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    if (entry.path().filename().string().ends_with(suffix)) ++n;
  return n;
}

// The segment files of `dir`, in id order (their names sort so).
std::vector<std::string> segment_paths(const std::string &dir) {
  std::vector<std::string> paths;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".seg") paths.push_back(entry.path().string());
  std::sort(paths.begin(), paths.end());
  return paths;
}

void append_n(Store &store, std::uint64_t from, std::uint64_t count, std::size_t size = 300) {
  for (std::uint64_t i = from; i < from + count; ++i) {
    Result<std::uint64_t> lsn = store.append(payload_for(i, size), static_cast<std::uint32_t>(i % 4));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  }
}

TEST(Remove, TruncateAfterThenAppendReusesTheLsnsAndSurvivesReopen) {
  TempDir dir;
  const Options options = small_segments(Durability::none, 16 * 1024);
  {
    auto store = open_or_die(dir.path(), options);
    append_n(*store, 0, 400);
    ASSERT_TRUE(store->truncate_after(149).ok());
    EXPECT_EQ(store->next_lsn(), 150u);
    EXPECT_EQ(store->read(150).status().code(), Errc::lsn_out_of_range);
    // New records with other payloads take LSNs 150...
    for (std::uint64_t i = 0; i < 100; ++i) {
      Result<std::uint64_t> lsn = store->append(payload_for(10000 + i, 123));
      ASSERT_TRUE(lsn.ok());
      EXPECT_EQ(*lsn, 150 + i);
    }
    ASSERT_TRUE(store->sync().ok());
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto store = open_or_die(dir.path(), options);
    ASSERT_EQ(store->next_lsn(), 250u);
    for (std::uint64_t i = 0; i < 250; ++i) {
      Result<Record> r = store->read(i);
      ASSERT_TRUE(r.ok()) << i << " " << r.status().to_string();
      EXPECT_EQ(r->payload, i < 150 ? payload_for(i, 300) : payload_for(10000 + i - 150, 123)) << i;
    }
  }
}

TEST(Remove, TruncateAfterAtEveryPositionOfASegmentKeepsExactlyThePrefix) {
  for (std::uint64_t keep : {0ull, 1ull, 7ull, 12ull, 13ull, 14ull, 40ull}) {
    TempDir dir;
    auto store = open_or_die(dir.path(), small_segments(Durability::none, 16 * 1024));
    append_n(*store, 0, 60, 1000);
    ASSERT_TRUE(store->truncate_after(keep).ok()) << keep;
    ASSERT_EQ(store->next_lsn(), keep + 1);
    Result<Iterator> it = store->scan(0);
    ASSERT_TRUE(it.ok());
    std::uint64_t n = 0;
    while (true) {
      Result<bool> more = it->next();
      ASSERT_TRUE(more.ok()) << more.status().to_string();
      if (!*more) break;
      ASSERT_EQ(it->record().lsn, n);
      ++n;
    }
    EXPECT_EQ(n, keep + 1);
    append_n(*store, 1000, 30, 1000);
    EXPECT_EQ(store->next_lsn(), keep + 31);
    Result<Record> r = store->read(keep + 1);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->payload, payload_for(1000, 1000));
  }
}

TEST(Remove, TrimBeforeDeletesWholeSegmentsBelowAndHidesTheRest) {
  TempDir dir;
  const Options options = small_segments(Durability::none, 16 * 1024);
  {
    auto store = open_or_die(dir.path(), options);
    append_n(*store, 0, 500);
    ASSERT_TRUE(store->sync().ok());
    const std::vector<std::string> before = segment_paths(dir.path());
    ASSERT_TRUE(store->trim_before(250).ok());
    EXPECT_EQ(store->first_lsn(), 250u);
    EXPECT_EQ(store->read(249).status().code(), Errc::lsn_out_of_range);
    EXPECT_TRUE(store->read(250).ok());
    // The file is named, not the files counted: the next spare segment may be made meanwhile.
    EXPECT_FALSE(std::filesystem::exists(before.front())) << "the first segment holds only LSNs below 250";
    EXPECT_EQ(store->trim_before(501).code(), Errc::lsn_out_of_range);
  }
  auto store = open_or_die(dir.path(), options);
  EXPECT_EQ(store->first_lsn(), 250u);
  Result<Record> r = store->read(250);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->payload, payload_for(250, 300));
}

TEST(Remove, RetentionBySegmentCountKeepsTheNewestSegments) {
  TempDir dir;
  Options options = small_segments(Durability::none, 16 * 1024);
  options.retain_segments_max = 3;
  {
    auto store = open_or_die(dir.path(), options);
    append_n(*store, 0, 1000);
    // close() waits for the sealing of every rolled segment, and retention runs at sealing.
    ASSERT_TRUE(store->close().ok());
  }
  // 3 sealed segments, the active one, and at most one preallocated, never-used segment.
  EXPECT_LE(count_files(dir.path(), ".seg"), 5u);
  auto store = open_or_die(dir.path(), options);
  EXPECT_LE(store->stats().segment_count, 4u);
  EXPECT_GT(store->first_lsn(), 0u);
  EXPECT_EQ(store->read(0).status().code(), Errc::lsn_out_of_range);
  Result<Record> last = store->read(999);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->payload, payload_for(999, 300));
}

format::SegmentHeader read_segment_header(const std::string &path) {
  std::vector<std::byte> block(4096);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char *>(block.data()), static_cast<std::streamsize>(block.size()));
  format::SegmentHeader header;
  EXPECT_EQ(format::decode_segment_header(block, &header), format::SegmentHeaderError::none) << path;
  return header;
}

// Rewrites the segment's header with another creation time (and a matching checksum): the
// way to make a segment old without waiting for it to age.
void set_segment_created_ms(const std::string &path, std::uint64_t created_unix_ms) {
  format::SegmentHeader header = read_segment_header(path);
  header.created_unix_ms = created_unix_ms;
  std::byte bytes[format::segment_header_bytes];
  format::encode_segment_header(header, bytes);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.write(reinterpret_cast<const char *>(bytes), sizeof bytes);
  ASSERT_TRUE(f.good()) << path;
}

std::uint64_t unix_ms_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

constexpr std::uint64_t hour_ms = 3600 * 1000;

// A store of several sealed 16 KiB segments; returns their paths (the last one is the active
// segment or a preallocated spare).
std::vector<std::string> store_of_several_segments(const std::string &dir, const Options &options) {
  auto store = open_or_die(dir, options);
  append_n(*store, 0, 600);
  EXPECT_TRUE(store->close().ok());
  return segment_paths(dir);
}

// store_of_several_segments (at least 5 files) whose two oldest segments were made two hours
// ago; the rest were made seconds ago.
std::vector<std::string> store_with_two_old_segments(const std::string &dir, const Options &options) {
  std::vector<std::string> paths = store_of_several_segments(dir, options);
  if (paths.size() < 5) return paths;  // the caller's check fails
  set_segment_created_ms(paths[0], unix_ms_now() - 2 * hour_ms);
  set_segment_created_ms(paths[1], unix_ms_now() - 2 * hour_ms);
  return paths;
}

// Every record in [from, to) reads back as append_n wrote it.
void expect_records_intact(Store &store, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t lsn = from; lsn < to; ++lsn) {
    Result<Record> r = store.read(lsn);
    ASSERT_TRUE(r.ok()) << lsn << ": " << r.status().to_string();
    ASSERT_EQ(r->payload, payload_for(lsn, 300)) << lsn;
  }
}

TEST(Remove, RetentionByAgeRemovesExactlyTheSegmentsOlderThanTheLimit) {
  TempDir dir;
  Options options = small_segments(Durability::none, 16 * 1024);
  const std::vector<std::string> paths = store_with_two_old_segments(dir.path(), options);
  ASSERT_GE(paths.size(), 5u);
  const std::uint64_t first_young_lsn = read_segment_header(paths[2]).base_lsn;
  ASSERT_GT(first_young_lsn, 0u);

  options.retain_age_ms_max = hour_ms;
  {
    auto store = open_or_die(dir.path(), options);
    EXPECT_EQ(store->first_lsn(), 0u);  // retention runs when a segment is sealed, not at open
    append_n(*store, 600, 200);         // rolls at least once
    ASSERT_TRUE(store->close().ok());   // waits for the sealing, hence for retention
  }
  EXPECT_FALSE(std::filesystem::exists(paths[0]));
  EXPECT_FALSE(std::filesystem::exists(paths[1]));
  EXPECT_TRUE(std::filesystem::exists(paths[2]));
  auto store = open_or_die(dir.path(), options);
  EXPECT_EQ(store->first_lsn(), first_young_lsn);
  EXPECT_EQ(store->read(first_young_lsn - 1).status().code(), Errc::lsn_out_of_range);
  expect_records_intact(*store, first_young_lsn, 800);
}

TEST(Remove, RetentionByAgeNeverRemovesASegmentWhoseHeaderCannotBeRead) {
  TempDir dir;
  Options options = small_segments(Durability::none, 16 * 1024);
  const std::vector<std::string> paths = store_with_two_old_segments(dir.path(), options);
  ASSERT_GE(paths.size(), 5u);
  flip_byte(paths[0], 40);  // the creation time itself: the header's checksum fails

  options.retain_age_ms_max = hour_ms;
  {
    auto store = open_or_die(dir.path(), options);
    append_n(*store, 600, 200);
    ASSERT_TRUE(store->close().ok());
  }
  // Its age is unknown, and retention removes segments oldest first: neither it nor the old
  // segment behind it goes.
  EXPECT_TRUE(std::filesystem::exists(paths[0]));
  EXPECT_TRUE(std::filesystem::exists(paths[1]));
  auto store = open_or_die(dir.path(), options);
  EXPECT_EQ(store->first_lsn(), 0u);
  Result<Record> damaged = store->read(0);
  EXPECT_EQ(damaged.status().code(), Errc::corruption);
  EXPECT_NE(damaged.status().message().find(std::filesystem::path(paths[0]).filename().string()), std::string::npos)
      << damaged.status().to_string();
  expect_records_intact(*store, read_segment_header(paths[1]).base_lsn, 800);
}

TEST(Remove, ResetToDiscardsEverythingAndContinuesAtTheGivenLsn) {
  TempDir dir;
  const Options options = small_segments(Durability::sync, 16 * 1024);
  {
    auto store = open_or_die(dir.path(), options);
    append_n(*store, 0, 100);
    ASSERT_TRUE(store->reset_to(1000000).ok());
    EXPECT_EQ(store->first_lsn(), 1000000u);
    EXPECT_EQ(store->next_lsn(), 1000000u);
    EXPECT_EQ(store->read(5).status().code(), Errc::lsn_out_of_range);
    Result<std::uint64_t> lsn = store->append(as_bytes("after reset"));
    ASSERT_TRUE(lsn.ok());
    EXPECT_EQ(*lsn, 1000000u);
  }
  auto store = open_or_die(dir.path(), options);
  EXPECT_EQ(store->first_lsn(), 1000000u);
  EXPECT_EQ(store->next_lsn(), 1000001u);
  Result<Record> r = store->read(1000000);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(as_string(r->payload), "after reset");
}

TEST(Remove, ResetToOnAnEmptyStoreIsDurable) {
  TempDir dir;
  {
    auto store = open_or_die(dir.path(), small_segments(Durability::sync));
    ASSERT_TRUE(store->reset_to(77).ok());
  }
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  EXPECT_EQ(store->next_lsn(), 77u);
  EXPECT_EQ(store->first_lsn(), 77u);
}

}  // namespace
}  // namespace segstore::testing
