// tests/log/store_files_test.cc — the one classifier of a store directory's names, and the
// listing built on it (what recovery and the inspection tools both read a directory with).
#include "log/store_files.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "recovery/recovery_fixture.h"

namespace segstore::recovery::testing {
namespace {

using log::StoreNameKind;

TEST(StoreNameTest, NumberedNamesCarryTheirId) {
  const log::StoreName segment = log::classify_store_name(format::numbered_name(7, format::segment_suffix));
  EXPECT_EQ(segment.kind, StoreNameKind::segment);
  EXPECT_EQ(segment.id, 7u);
  const log::StoreName index = log::classify_store_name(format::numbered_name(9, format::index_suffix));
  EXPECT_EQ(index.kind, StoreNameKind::index);
  EXPECT_EQ(index.id, 9u);
}

TEST(StoreNameTest, IdAboveTheLargestSegmentIdIsNotASegment) {
  const std::uint64_t too_large = format::segment_id_max + 1;
  EXPECT_EQ(log::classify_store_name(format::numbered_name(too_large, format::segment_suffix)).kind,
            StoreNameKind::id_out_of_range);
  EXPECT_EQ(log::classify_store_name(format::numbered_name(too_large, format::index_suffix)).kind,
            StoreNameKind::id_out_of_range);
  EXPECT_EQ(log::classify_store_name(format::numbered_name(format::segment_id_max, format::segment_suffix)).kind,
            StoreNameKind::segment);
}

TEST(StoreNameTest, FixedNamesTemporaryFilesAndStrangers) {
  EXPECT_EQ(log::classify_store_name(format::meta_file_name).kind, StoreNameKind::meta);
  EXPECT_EQ(log::classify_store_name(format::lock_file_name).kind, StoreNameKind::lock);
  EXPECT_EQ(log::classify_store_name(format::clean_file_name).kind, StoreNameKind::clean);
  EXPECT_EQ(log::classify_store_name(format::truncate_file_name).kind, StoreNameKind::truncate);
  EXPECT_EQ(log::classify_store_name(format::events_file_name).kind, StoreNameKind::events);
  EXPECT_EQ(log::classify_store_name(format::app_meta_file_name).kind, StoreNameKind::app_meta);
  EXPECT_EQ(log::classify_store_name(format::snapshots_dir_name).kind, StoreNameKind::snapshots_dir);
  EXPECT_EQ(log::classify_store_name(format::quarantine_dir_name).kind, StoreNameKind::quarantine_dir);
  EXPECT_EQ(log::classify_store_name("META.tmp").kind, StoreNameKind::temp);
  EXPECT_EQ(log::classify_store_name("notes.txt").kind, StoreNameKind::unknown);
  EXPECT_EQ(log::classify_store_name("1.seg").kind, StoreNameKind::unknown) << "ids are written with 20 digits";
}

class StoreFilesTest : public RecoveryTest {};

TEST_F(StoreFilesTest, ListingSortsEveryNameIntoItsPlace) {
  StoreBuilder b(dir());
  b.append(100);
  b.roll();
  b.append(100);
  b.flush();
  b.write();
  write_file(path(format::clean_file_name), Bytes(64));
  write_file(path("stray.txt"), Bytes(3));
  write_file(path(format::numbered_name(format::segment_id_max + 1, format::segment_suffix)), Bytes(3));
  std::filesystem::create_directory(path(format::snapshots_dir_name));
  write_file(format::join_path(path(format::snapshots_dir_name), format::numbered_name(42, format::snapshot_suffix)),
             Bytes(3));
  write_file(format::join_path(path(format::snapshots_dir_name), "other"), Bytes(3));

  Result<log::StoreFiles> files = log::list_store_files(*env_, dir());
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  EXPECT_EQ(files->meta_error, format::SmallFileError::none);
  EXPECT_EQ(files->meta.store_id, test_store_id);
  EXPECT_TRUE(files->has_clean);
  EXPECT_FALSE(files->has_quarantine);
  ASSERT_EQ(files->segments.size(), 2u);
  EXPECT_EQ(files->segments.at(1), b.segment_path(1));
  EXPECT_EQ(files->indexes.size(), 1u) << "the sealed segment's snapshot";
  ASSERT_EQ(files->snapshots.size(), 1u);
  EXPECT_EQ(files->snapshots.begin()->first, 42u);
  EXPECT_EQ(files->snapshot_others, std::vector<std::string>{"other"});
  std::vector<std::string> others = files->others;
  std::sort(others.begin(), others.end());
  EXPECT_EQ(others, (std::vector<std::string>{format::numbered_name(format::segment_id_max + 1, format::segment_suffix),
                                              "stray.txt"}));
}

TEST_F(StoreFilesTest, DirectoryWithoutMetaIsNotAStore) {
  Result<log::StoreFiles> files = log::list_store_files(*env_, dir());
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), Errc::not_a_store);
  EXPECT_NE(files.status().message().find(dir()), std::string::npos) << files.status().message();
}

TEST_F(StoreFilesTest, MissingDirectoryAndPlainFileAreTold) {
  EXPECT_EQ(log::list_store_files(*env_, path("absent")).status().code(), Errc::not_found);
  write_file(path("plain"), Bytes(1));
  EXPECT_EQ(log::list_store_files(*env_, path("plain")).status().code(), Errc::not_a_directory);
}

TEST_F(StoreFilesTest, DamagedMetaIsAValueNotAnError) {
  StoreBuilder b(dir());
  b.write();
  flip_byte(path(format::meta_file_name), 20);
  Result<log::StoreFiles> files = log::list_store_files(*env_, dir());
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  EXPECT_NE(files->meta_error, format::SmallFileError::none);
}

}  // namespace
}  // namespace segstore::recovery::testing
