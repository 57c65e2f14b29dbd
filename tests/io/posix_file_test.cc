// Tests of PosixFile through the posix env: round trips, the O_DIRECT alignment rule, end of
// file, and errors surfacing as Status values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "io/aligned_buffer.h"
#include "io/posix_env.h"
#include "io_test_util.h"

namespace segstore::io {
namespace {

using testing::create_flags;
using testing::TempDir;
using testing::text;

constexpr std::size_t block = format::block_size_bytes;

class PosixFileTest : public ::testing::Test {
 protected:
  std::unique_ptr<File> open_direct(const std::string &name) {
    Result<std::unique_ptr<File>> file = env->open_file(dir.file(name), create_flags(true));
    EXPECT_TRUE(file.ok()) << text(file.status());
    if (!file.ok()) return nullptr;
    // The brief of these tests: /tmp of this machine accepts O_DIRECT.
    EXPECT_TRUE((*file)->direct()) << dir.path() << " did not accept O_DIRECT";
    return std::move(*file);
  }

  TempDir dir;
  std::shared_ptr<Env> env = testing::make_env_exactly(EnvOptions::Backend::thread, true);
};

TEST_F(PosixFileTest, DirectWriteThenReadReturnsSameBytes) {
  auto file = open_direct("data");
  ASSERT_NE(file, nullptr);
  AlignedBuffer written(5 * block);
  testing::fill_pattern(written.span(), 1);
  ASSERT_TRUE(file->write_at(3 * block, written.span()).ok());
  ASSERT_TRUE(file->sync_data().ok());

  AlignedBuffer read(5 * block);
  Result<std::size_t> n = file->read_at(3 * block, read.span());
  ASSERT_TRUE(n.ok()) << text(n.status());
  EXPECT_EQ(*n, 5 * block);
  EXPECT_EQ(std::memcmp(read.data(), written.data(), 5 * block), 0);
  Result<std::uint64_t> size = file->size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 8 * block);
}

TEST_F(PosixFileTest, MisalignedRequestsOnDirectFileAreRefusedAndWriteNothing) {
  auto file = open_direct("data");
  ASSERT_NE(file, nullptr);
  AlignedBuffer before(2 * block);
  testing::fill_pattern(before.span(), 2);
  ASSERT_TRUE(file->write_at(0, before.span()).ok());

  AlignedBuffer other(3 * block);
  testing::fill_pattern(other.span(), 3);
  const std::span<const std::byte> aligned{other.data(), block};
  const std::span<const std::byte> bad_address{other.data() + 512, block};
  const std::span<const std::byte> bad_length{other.data(), block - 100};
  for (const auto &[offset, data] : {std::pair{std::uint64_t{0}, bad_address},
                                     std::pair{std::uint64_t{100}, aligned},
                                     std::pair{std::uint64_t{block}, bad_length}}) {
    Status status = file->write_at(offset, data);
    EXPECT_EQ(status.code(), Errc::invalid_argument) << text(status);
    EXPECT_NE(status.message().find("O_DIRECT"), std::string::npos) << status.message();
  }

  // Nothing reached the file: same size, same bytes.
  Result<std::uint64_t> size = file->size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 2 * block);
  AlignedBuffer after(2 * block);
  Result<std::size_t> n = file->read_at(0, after.span());
  ASSERT_TRUE(n.ok()) << text(n.status());
  EXPECT_EQ(*n, 2 * block);
  EXPECT_EQ(std::memcmp(after.data(), before.data(), 2 * block), 0);
}

TEST_F(PosixFileTest, MisalignedReadOnDirectFileIsRefused) {
  auto file = open_direct("data");
  ASSERT_NE(file, nullptr);
  AlignedBuffer buffer(2 * block);
  ASSERT_TRUE(file->write_at(0, buffer.span()).ok());
  EXPECT_EQ(file->read_at(1, {buffer.data(), block}).status().code(), Errc::invalid_argument);
  EXPECT_EQ(file->read_at(0, {buffer.data() + 8, block}).status().code(),
            Errc::invalid_argument);
  EXPECT_EQ(file->read_at(0, {buffer.data(), 100}).status().code(), Errc::invalid_argument);
}

TEST_F(PosixFileTest, BufferedFileAcceptsUnalignedIo) {
  auto buffered_env = testing::make_env_exactly(EnvOptions::Backend::thread, false);
  Result<std::unique_ptr<File>> file =
      buffered_env->open_file(dir.file("data"), create_flags(true));
  ASSERT_TRUE(file.ok()) << text(file.status());
  EXPECT_FALSE((*file)->direct());
  const std::vector<std::byte> written = testing::pattern(1001, 4);
  ASSERT_TRUE((*file)->write_at(7, written).ok());
  std::vector<std::byte> read(1001);
  Result<std::size_t> n = (*file)->read_at(7, read);
  ASSERT_TRUE(n.ok()) << text(n.status());
  EXPECT_EQ(*n, 1001u);
  EXPECT_EQ(read, written);
  EXPECT_EQ(buffered_env->describe(), "thread+buffered");
}

TEST_F(PosixFileTest, ReadPastEndOfFileReturnsZeroBytes) {
  auto file = open_direct("data");
  ASSERT_NE(file, nullptr);
  AlignedBuffer buffer(2 * block);
  ASSERT_TRUE(file->write_at(0, buffer.span()).ok());
  for (std::uint64_t offset : {2 * block, 10 * block}) {
    Result<std::size_t> n = file->read_at(offset, buffer.span());
    ASSERT_TRUE(n.ok()) << text(n.status());
    EXPECT_EQ(*n, 0u) << "at offset " << offset;
  }
  // A read that straddles the end returns the bytes before it.
  Result<std::size_t> n = file->read_at(block, buffer.span());
  ASSERT_TRUE(n.ok()) << text(n.status());
  EXPECT_EQ(*n, block);
}

TEST_F(PosixFileTest, DirectReadOfFileWithUnalignedSizeStopsAtItsEnd) {
  const std::vector<std::byte> written = testing::pattern(5000, 5);
  {
    auto buffered_env = testing::make_env_exactly(EnvOptions::Backend::thread, false);
    auto file = buffered_env->open_file(dir.file("data"), create_flags(false));
    ASSERT_TRUE(file.ok()) << text(file.status());
    ASSERT_TRUE((*file)->write_at(0, written).ok());
    ASSERT_TRUE((*file)->sync_data().ok());
  }
  auto file = open_direct("data");
  ASSERT_NE(file, nullptr);
  AlignedBuffer buffer(4 * block);
  Result<std::size_t> n = file->read_at(0, buffer.span());
  ASSERT_TRUE(n.ok()) << text(n.status());
  ASSERT_EQ(*n, 5000u);
  EXPECT_EQ(std::memcmp(buffer.data(), written.data(), 5000), 0);
}

TEST_F(PosixFileTest, WriteToReadOnlyFileIsAnErrorStatus) {
  { ASSERT_TRUE(env->open_file(dir.file("data"), create_flags(true)).ok()); }
  OpenFlags read_only;
  read_only.direct = true;
  Result<std::unique_ptr<File>> file = env->open_file(dir.file("data"), read_only);
  ASSERT_TRUE(file.ok()) << text(file.status());
  AlignedBuffer buffer(block);
  Status status = (*file)->write_at(0, buffer.span());
  EXPECT_EQ(status.code(), Errc::io_error) << text(status);
  EXPECT_NE(status.message().find(dir.file("data")), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("(errno 9)"), std::string::npos) << status.message();  // EBADF
  Result<std::uint64_t> size = (*file)->size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
}

TEST_F(PosixFileTest, OpeningMissingFileWithoutCreateNamesThePath) {
  Result<std::unique_ptr<File>> file = env->open_file(dir.file("absent"), OpenFlags{});
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Errc::io_error);
  EXPECT_NE(file.status().message().find(dir.file("absent")), std::string::npos);
  EXPECT_NE(file.status().message().find("(errno 2)"), std::string::npos)
      << file.status().message();
}

TEST_F(PosixFileTest, CreateExclusiveOfExistingFileFails) {
  OpenFlags flags = create_flags(true);
  flags.exclusive = true;
  ASSERT_TRUE(env->open_file(dir.file("data"), flags).ok());
  Result<std::unique_ptr<File>> again = env->open_file(dir.file("data"), flags);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("(errno 17)"), std::string::npos)  // EEXIST
      << again.status().message();
}

TEST_F(PosixFileTest, AllocateAndTruncateSetTheSizeAndKeepContents) {
  auto file = open_direct("data");
  ASSERT_NE(file, nullptr);
  AlignedBuffer written(block);
  testing::fill_pattern(written.span(), 6);
  ASSERT_TRUE(file->write_at(0, written.span()).ok());
  ASSERT_TRUE(file->allocate(256 * block).ok());
  EXPECT_EQ(*file->size(), 256 * block);
  ASSERT_TRUE(file->truncate(2 * block).ok());
  EXPECT_EQ(*file->size(), 2 * block);
  AlignedBuffer read(block);
  ASSERT_EQ(*file->read_at(0, read.span()), block);
  EXPECT_EQ(std::memcmp(read.data(), written.data(), block), 0);
  ASSERT_TRUE(file->allocate(0).ok());
  EXPECT_EQ(*file->size(), 2 * block);
}

}  // namespace
}  // namespace segstore::io
