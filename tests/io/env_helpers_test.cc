// Tests of the helpers on top of any Env: errno_status, write_file_atomic, read_whole_file.
#include <gtest/gtest.h>

#include <cerrno>

#include "io/posix_env.h"
#include "io_test_util.h"

namespace segstore::io {
namespace {

using testing::create_flags;
using testing::TempDir;
using testing::text;
using testing::to_bytes;

TEST(ErrnoStatus, MapsEachErrnoToItsCode) {
  const std::pair<int, Errc> cases[] = {
      {ENOSPC, Errc::no_space},          {EDQUOT, Errc::no_space},
      {EACCES, Errc::permission_denied}, {EPERM, Errc::permission_denied},
      {EROFS, Errc::permission_denied},  {ENOTDIR, Errc::not_a_directory},
      {EIO, Errc::io_error},             {ENOENT, Errc::io_error},
      {EBADF, Errc::io_error},           {EINVAL, Errc::io_error},
  };
  for (const auto &[err, code] : cases) {
    EXPECT_EQ(errno_status(err, "write", "/x").code(), code) << "errno " << err;
  }
}

TEST(ErrnoStatus, MessageNamesWhatPathOffsetAndErrno) {
  EXPECT_EQ(errno_status(ENOSPC, "write", "/store/00000001.seg", 4096).message(),
            "write /store/00000001.seg at offset 4096: No space left on device (errno 28)");
  EXPECT_EQ(errno_status(EIO, "fdatasync", "/store/f").message(),
            "fdatasync /store/f: Input/output error (errno 5)");
  EXPECT_EQ(errno_status(EIO, "read", "/f", 0).message(),
            "read /f at offset 0: Input/output error (errno 5)");
}

TEST(ParentDir, IsTheDirectoryWhoseFsyncMakesTheEntryDurable) {
  EXPECT_EQ(parent_dir("/var/lib/store"), "/var/lib");
  EXPECT_EQ(parent_dir("/var/lib/store/"), "/var/lib");
  EXPECT_EQ(parent_dir("/var/lib/store//"), "/var/lib");
  EXPECT_EQ(parent_dir("/store"), "/");
  EXPECT_EQ(parent_dir("store"), ".");
  EXPECT_EQ(parent_dir("store/"), ".");
  EXPECT_EQ(parent_dir("a/store"), "a");
}

class EnvHelpersTest : public ::testing::Test {
 protected:
  std::string content_of(const std::string &path) {
    Result<std::vector<std::byte>> bytes = read_whole_file(*env, path, 1 << 20);
    EXPECT_TRUE(bytes.ok()) << text(bytes.status());
    if (!bytes.ok()) return "";
    return std::string(reinterpret_cast<const char *>(bytes->data()), bytes->size());
  }

  TempDir dir;
  std::shared_ptr<Env> env = testing::make_env_exactly(EnvOptions::Backend::thread, true);
};

TEST_F(EnvHelpersTest, WriteFileAtomicReplacesContentAndLeavesNoTmp) {
  const std::string path = dir.file("MANIFEST");
  ASSERT_TRUE(write_file_atomic(*env, path, to_bytes("first version, rather long")).ok());
  EXPECT_EQ(content_of(path), "first version, rather long");
  ASSERT_TRUE(write_file_atomic(*env, path, to_bytes("second")).ok());
  EXPECT_EQ(content_of(path), "second");
  Result<std::vector<std::string>> names = env->list_dir(dir.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"MANIFEST"});
}

TEST_F(EnvHelpersTest, WriteFileAtomicOverAStaleLongerTmpWritesExactContent) {
  const std::string path = dir.file("MANIFEST");
  {
    auto stale = env->open_file(path + ".tmp", create_flags(false));
    ASSERT_TRUE(stale.ok());
    ASSERT_TRUE((*stale)->write_at(0, to_bytes("a stale temporary file from a crash")).ok());
  }
  ASSERT_TRUE(write_file_atomic(*env, path, to_bytes("new")).ok());
  EXPECT_EQ(content_of(path), "new");
  EXPECT_EQ(*env->file_kind(path + ".tmp"), FileKind::missing);
}

TEST_F(EnvHelpersTest, WriteFileAtomicInMissingDirectoryFails) {
  Status status = write_file_atomic(*env, dir.file("absent/MANIFEST"), to_bytes("x"));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("absent/MANIFEST.tmp"), std::string::npos) << status.message();
}

TEST_F(EnvHelpersTest, ReadWholeFileReturnsEveryByte) {
  const std::vector<std::byte> written = testing::pattern(300001, 11);
  ASSERT_TRUE(write_file_atomic(*env, dir.file("f"), written).ok());
  Result<std::vector<std::byte>> read = read_whole_file(*env, dir.file("f"), written.size());
  ASSERT_TRUE(read.ok()) << text(read.status());
  EXPECT_EQ(*read, written);
}

TEST_F(EnvHelpersTest, ReadWholeFileOfEmptyFileIsEmpty) {
  ASSERT_TRUE(write_file_atomic(*env, dir.file("f"), {}).ok());
  Result<std::vector<std::byte>> read = read_whole_file(*env, dir.file("f"), 0);
  ASSERT_TRUE(read.ok()) << text(read.status());
  EXPECT_TRUE(read->empty());
}

TEST_F(EnvHelpersTest, ReadWholeFileOverTheMaximumIsCorruption) {
  ASSERT_TRUE(write_file_atomic(*env, dir.file("f"), testing::pattern(1001, 12)).ok());
  Result<std::vector<std::byte>> read = read_whole_file(*env, dir.file("f"), 1000);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Errc::corruption);
  EXPECT_EQ(read.status().message(),
            "file " + dir.file("f") + " is 1001 bytes, more than the 1000 allowed");
}

TEST_F(EnvHelpersTest, ReadWholeFileOfMissingFileIsAnError) {
  Result<std::vector<std::byte>> read = read_whole_file(*env, dir.file("absent"), 1000);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Errc::io_error);
  EXPECT_NE(read.status().message().find(dir.file("absent")), std::string::npos);
}

}  // namespace
}  // namespace segstore::io
