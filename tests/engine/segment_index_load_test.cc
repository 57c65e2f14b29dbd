// tests/engine/segment_index_load_test.cc — the lazy load of a sealed segment's index
// (engine/segment_index_load.cc). Recovery trusts a sealed segment through its .idx header
// alone; a body that fails its checks when the segment is first read — damaged before the open
// or after it, or missing — costs a rescan of the segment and a rewritten .idx, never a read.
// Damage in the segment itself still fails the read, at the segment offset where it lies.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "format/store_dir.h"
#include "engine/store_fixture.h"
#include "format/index_snapshot.h"
#include "format/layout.h"

namespace segstore::testing {
namespace {

constexpr std::uint64_t records_written = 600;  // about 6 segments of 64 KiB
constexpr std::size_t payload_bytes = 500;

std::vector<std::byte> read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

std::string index_path(const TempDir &dir, std::uint64_t segment_id) {
  return dir.sub(format::numbered_name(segment_id, format::index_suffix));
}

format::IndexError index_error_of(const std::string &path) {
  const std::vector<std::byte> bytes = read_file(path);
  return format::decode_index_snapshot(bytes, nullptr, nullptr);
}

// A closed store of several sealed segments, each with its .idx.
void write_store(const TempDir &dir) {
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  for (std::uint64_t i = 0; i < records_written; ++i)
    ASSERT_TRUE(store->append(payload_for(i, payload_bytes), static_cast<std::uint32_t>(i % 3)).ok());
  SEGSTORE_ASSERT_OK(store->close());
  ASSERT_EQ(index_error_of(index_path(dir, 1)), format::IndexError::none);
}

void expect_every_record(Store &store) {
  for (std::uint64_t lsn = 0; lsn < records_written; ++lsn) {
    Result<Record> got = store.read(lsn);
    ASSERT_TRUE(got.ok()) << "lsn " << lsn << ": " << got.status().to_string();
    EXPECT_EQ(got->payload, payload_for(lsn, payload_bytes)) << lsn;
  }
}

// Opens without the CLEAN marker, so that recovery runs and trusts segment 1 by its header.
std::unique_ptr<Store> open_after_crash(const TempDir &dir) {
  std::filesystem::remove(dir.sub(format::clean_file_name));
  return open_or_die(dir.path(), small_segments(Durability::none));
}

TEST(SegmentIndexLoad, DamagedBodyBeforeOpenIsRebuiltFromTheSegment) {
  TempDir dir;
  write_store(dir);
  flip_byte(index_path(dir, 1), format::index_header_bytes + 3);  // the first entry's LSN delta
  ASSERT_EQ(index_error_of(index_path(dir, 1)), format::IndexError::body_checksum);
  auto store = open_after_crash(dir);
  expect_every_record(*store);
  EXPECT_EQ(index_error_of(index_path(dir, 1)), format::IndexError::none) << "the .idx was not rewritten";
}

TEST(SegmentIndexLoad, BodyDamagedAfterOpenIsRebuiltOnFirstRead) {
  TempDir dir;
  write_store(dir);
  auto store = open_after_crash(dir);
  const std::uint64_t last_byte = std::filesystem::file_size(index_path(dir, 2)) - 1;
  flip_byte(index_path(dir, 2), last_byte);  // inside a stream bitmap
  expect_every_record(*store);
  Result<Iterator> it = store->scan(0, 1);  // a stream scan uses the rebuilt bitmaps
  SEGSTORE_ASSERT_OK(it);
  std::uint64_t expected = 1;
  while (true) {
    Result<bool> more = it->next();
    SEGSTORE_ASSERT_OK(more);
    if (!*more) break;
    EXPECT_EQ(it->record().lsn, expected);
    expected += 3;
  }
  EXPECT_GE(expected, records_written);
  EXPECT_EQ(index_error_of(index_path(dir, 2)), format::IndexError::none);
}

TEST(SegmentIndexLoad, SnapshotRemovedAfterOpenIsRebuilt) {
  TempDir dir;
  write_store(dir);
  auto store = open_after_crash(dir);
  std::filesystem::remove(index_path(dir, 1));
  expect_every_record(*store);
  EXPECT_EQ(index_error_of(index_path(dir, 1)), format::IndexError::none);
}

TEST(SegmentIndexLoad, DamagedSegmentFailsTheReadAtItsOffsetNotAtTheSnapshot) {
  TempDir dir;
  write_store(dir);
  flip_byte(index_path(dir, 1), format::index_header_bytes + 3);
  // The second block's first bytes: a record header there no longer passes its checksum.
  const std::uint64_t damaged_at = 2 * format::block_size_bytes;
  flip_byte(dir.sub(format::numbered_name(1, format::segment_suffix)), damaged_at + 1);
  auto store = open_after_crash(dir);
  Result<Record> got = store->read(0);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Errc::corruption);
  const std::string message = got.status().message();
  EXPECT_NE(message.find(format::numbered_name(1, format::segment_suffix) + " at offset "), std::string::npos) << message;
  EXPECT_NE(message.find("while rebuilding its index"), std::string::npos) << message;
  EXPECT_EQ(message.find("index snapshot"), std::string::npos) << message;
}

}  // namespace
}  // namespace segstore::testing
