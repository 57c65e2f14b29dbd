// Store::write_metadata / read_metadata: a small record beside the log, replaced atomically.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"
#include "testing/sim_env.h"

namespace segstore::testing {
namespace {

TEST(AppMetadata, NoneWrittenIsNotFound) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments());
  EXPECT_EQ(store->read_metadata().status().code(), Errc::not_found);
}

TEST(AppMetadata, TheLastWriteIsReadAfterAReopen) {
  TempDir dir;
  {
    auto store = open_or_die(dir.path(), small_segments());
    SEGSTORE_ASSERT_OK(store->write_metadata(as_bytes("term 1 vote 2")));
    SEGSTORE_ASSERT_OK(store->write_metadata(as_bytes("term 3 vote 1")));
    Result<std::vector<std::byte>> now = store->read_metadata();
    ASSERT_TRUE(now.ok());
    EXPECT_EQ(as_string(*now), "term 3 vote 1");
  }
  auto store = open_or_die(dir.path(), small_segments());
  Result<std::vector<std::byte>> after = store->read_metadata();
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_EQ(as_string(*after), "term 3 vote 1");
  EXPECT_FALSE(store->recovery_report().to_string().find("unknown file") != std::string::npos);
}

TEST(AppMetadata, SurvivesTheLogBeingRewritten) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->append(as_bytes("r")).ok());
  SEGSTORE_ASSERT_OK(store->write_metadata(as_bytes("kept")));
  SEGSTORE_ASSERT_OK(store->truncate_after(4));
  SEGSTORE_ASSERT_OK(store->reset_to(100));
  SEGSTORE_ASSERT_OK(store->install_snapshot(200, as_bytes("s")));
  Result<std::vector<std::byte>> now = store->read_metadata();
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(as_string(*now), "kept");
}

TEST(AppMetadata, TooLargeIsRefused) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments());
  std::vector<std::byte> big(metadata_bytes_max + 1);
  EXPECT_EQ(store->write_metadata(big).code(), Errc::invalid_argument);
  std::vector<std::byte> largest(metadata_bytes_max, std::byte{7});
  SEGSTORE_ASSERT_OK(store->write_metadata(largest));
  Result<std::vector<std::byte>> now = store->read_metadata();
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(*now, largest);
}

TEST(AppMetadata, AFlippedByteIsReportedAsCorruptionNamingTheFile) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments());
  SEGSTORE_ASSERT_OK(store->write_metadata(as_bytes("term 9 vote 3")));
  const std::string path = dir.path() + "/APPMETA";
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(70);  // inside the body
    file.put('X');
  }
  Result<std::vector<std::byte>> read = store->read_metadata();
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Errc::corruption);
  EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status().message();
  // The store stays usable and a new write replaces the damaged record.
  SEGSTORE_ASSERT_OK(store->write_metadata(as_bytes("term 10 vote 3")));
  ASSERT_TRUE(store->read_metadata().ok());
}

// A power cut at any moment of a replacement leaves the old or the new record: the write's
// rename (its commit point) fails, then the disk loses whatever it may lose.
TEST(AppMetadata, ACrashDuringAReplacementLeavesTheOldOrTheNew) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    TempDir host;
    auto disk = ::segstore::testing::SimDisk::make(seed, host.path());
    const std::string dir = host.sub("store");
    std::filesystem::create_directories(dir);  // events.log goes to the host's file system
    ASSERT_TRUE(disk->env()->make_dir(dir).ok());
    ASSERT_TRUE(disk->env()->sync_dir(host.path()).ok());
    Options options = small_segments();
    options.direct_io = false;
    // No background preallocation: its directory sync would take the fault armed below.
    options.preallocate_next_segment = false;
    options.env = disk->env();
    {
      auto store = open_or_die(dir, options);
      SEGSTORE_ASSERT_OK(store->write_metadata(as_bytes("old")));
      if (seed % 2 == 0) disk->arm({::segstore::testing::SimOp::sync_dir, 1, ::segstore::testing::SimFault::sync_dir_eio, ""});
      Status replaced = store->write_metadata(as_bytes("new"));
      if (seed % 2 == 0) {
        EXPECT_FALSE(replaced.ok());
      }
      disk->crash();
    }
    options.env = disk->env();
    auto store = open_or_die(dir, options);
    Result<std::vector<std::byte>> after = store->read_metadata();
    ASSERT_TRUE(after.ok()) << "seed " << seed << ": " << after.status().to_string();
    const std::string value = as_string(*after);
    EXPECT_TRUE(value == "old" || value == "new") << "seed " << seed << ": " << value;
  }
}

}  // namespace
}  // namespace segstore::testing
