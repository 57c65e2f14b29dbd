// Tests of io/device_cache: queue/fua and queue/write_cache read from a sysfs-shaped tree of the
// test's own (a whole disk, a partition reached through its link, a device that is not there,
// contents that are not a known value), and the answer for a real file agreeing with the tree
// it comes from.
#include "io/device_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io_test_util.h"

namespace segstore::io {
namespace {

using testing::TempDir;

// <root>/devices/<disk>/queue/{fua,write_cache}, and <root>/dev/block/<major>:0 linking to the
// disk as the kernel's /sys/dev/block does.
void add_disk(const TempDir &root, const std::string &disk, unsigned major, const std::string &fua,
              const std::string &write_cache) {
  const std::filesystem::path queue = std::filesystem::path(root.path()) / "devices" / disk / "queue";
  std::filesystem::create_directories(queue);
  std::ofstream(queue / "fua") << fua;
  std::ofstream(queue / "write_cache") << write_cache;
  std::filesystem::create_directories(std::filesystem::path(root.path()) / "dev" / "block");
  std::filesystem::create_symlink("../../devices/" + disk,
                                  std::filesystem::path(root.path()) / "dev" / "block" / (std::to_string(major) + ":0"));
}

// A partition: a directory inside its disk's, with no queue/ of its own.
void add_partition(const TempDir &root, const std::string &disk, unsigned major, unsigned minor) {
  const std::string name = disk + std::to_string(minor);
  std::filesystem::create_directories(std::filesystem::path(root.path()) / "devices" / disk / name);
  std::filesystem::create_symlink("../../devices/" + disk + "/" + name,
                                  std::filesystem::path(root.path()) / "dev" / "block" /
                                      (std::to_string(major) + ":" + std::to_string(minor)));
}

TEST(DeviceCache, FuaOrNoVolatileCacheNeedsNoFlush) {
  TempDir root;
  add_disk(root, "nvme0n1", 259, "1\n", "write back\n");
  add_disk(root, "nvme1n1", 260, "0\n", "write through\n");
  add_disk(root, "vda", 254, "0\n", "write back\n");
  const std::string block = root.file("dev/block");
  EXPECT_EQ(dsync_needs_no_flush_at(block, 259, 0), std::optional<bool>(true)) << "FUA";
  EXPECT_EQ(dsync_needs_no_flush_at(block, 260, 0), std::optional<bool>(true)) << "no volatile cache";
  EXPECT_EQ(dsync_needs_no_flush_at(block, 254, 0), std::optional<bool>(false)) << "a cache and no FUA";
}

TEST(DeviceCache, APartitionTakesItsDisksAnswer) {
  TempDir root;
  add_disk(root, "nvme0n1", 259, "1\n", "write back\n");
  add_partition(root, "nvme0n1", 259, 1);
  add_disk(root, "vda", 254, "0\n", "write back\n");
  add_partition(root, "vda", 254, 2);
  const std::string block = root.file("dev/block");
  EXPECT_EQ(dsync_needs_no_flush_at(block, 259, 1), std::optional<bool>(true));
  EXPECT_EQ(dsync_needs_no_flush_at(block, 254, 2), std::optional<bool>(false));
}

TEST(DeviceCache, NoDeviceOrUnknownValuesIsNoAnswer) {
  TempDir root;
  add_disk(root, "sda", 8, "0\n", "write back\n");
  const std::string block = root.file("dev/block");
  EXPECT_EQ(dsync_needs_no_flush_at(block, 8, 16), std::nullopt) << "no such device";
  EXPECT_EQ(dsync_needs_no_flush_at(root.file("missing"), 8, 0), std::nullopt) << "no sysfs at all";
  for (const char *contents : {"", "yes\n", "10\n", "2\n", "1x"}) {
    std::ofstream(root.file("devices/sda/queue/fua"), std::ios::trunc) << contents;
    EXPECT_EQ(dsync_needs_no_flush_at(block, 8, 0), std::nullopt) << "fua \"" << contents << "\"";
  }
  std::ofstream(root.file("devices/sda/queue/fua"), std::ios::trunc) << "0";
  std::ofstream(root.file("devices/sda/queue/write_cache"), std::ios::trunc) << "write around\n";
  EXPECT_EQ(dsync_needs_no_flush_at(block, 8, 0), std::nullopt) << "an unknown cache mode";
  std::ofstream(root.file("devices/sda/queue/fua"), std::ios::trunc) << "1";
  EXPECT_EQ(dsync_needs_no_flush_at(block, 8, 0), std::optional<bool>(true)) << "FUA, without the newline";
}

// A real file's answer is its own device's entry under /sys/dev/block (no answer where the
// file system has no single block device, e.g. tmpfs).
TEST(DeviceCache, ARealFileAsksItsOwnDevice) {
  TempDir dir;
  const int fd = ::open(dir.file("f").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  const std::optional<bool> expected = dsync_needs_no_flush_at("/sys/dev/block", major(st.st_dev), minor(st.st_dev));
  EXPECT_EQ(dsync_needs_no_flush(fd), expected);
  EXPECT_EQ(dsync_needs_no_flush(-1), std::nullopt) << "a descriptor fstat refuses";
  ::close(fd);
}

}  // namespace
}  // namespace segstore::io
