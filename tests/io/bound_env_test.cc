// tests/io/bound_env_test.cc — an env bound to an opened directory (io::bind_env_to_dir): its
// paths keep naming the directory that was opened after that directory's path is renamed away
// and a symbolic link to a decoy put in its place, including a file reopened after the
// descriptor cache closed its descriptor; a link inside the directory is never followed.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io/descriptor_cache.h"
#include "io/env.h"
#include "io/posix_env.h"
#include "io_test_util.h"

namespace segstore::io::testing {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> entries_under(const std::string &dir) {
  std::vector<std::string> found;
  for (const auto &entry : fs::recursive_directory_iterator(dir)) found.push_back(entry.path().string());
  return found;
}

class BoundEnvTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  const std::string dir_ = tmp_.file("store");
  const std::string moved_ = tmp_.file("moved");
  const std::string decoy_ = tmp_.file("decoy");
  std::shared_ptr<Env> base_ = make_env_exactly(EnvOptions::Backend::thread, false);
  std::shared_ptr<Env> env_;

  void SetUp() override {
    ASSERT_TRUE(fs::create_directory(dir_));
    ASSERT_TRUE(fs::create_directory(decoy_));
    Result<std::shared_ptr<const Dir>> root = base_->open_dir(dir_);
    ASSERT_TRUE(root.ok()) << text(root.status());
    env_ = bind_env_to_dir(base_, *root);
  }
  // The store directory renamed away, a link to the decoy at its path.
  void swap_for_link() {
    fs::rename(dir_, moved_);
    fs::create_directory_symlink(decoy_, dir_);
  }
  void write_text(const std::string &path, const std::string &content, OpenFlags flags = create_flags(false)) {
    Result<std::unique_ptr<File>> file = env_->open_file(path, flags);
    ASSERT_TRUE(file.ok()) << text(file.status());
    ASSERT_TRUE((*file)->write_at(0, to_bytes(content)).ok());
    ASSERT_TRUE((*file)->sync_data().ok());
  }
};

TEST_F(BoundEnvTest, EveryOperationActsOnTheOpenedDirectoryAfterItsPathIsSwapped) {
  swap_for_link();
  write_text(dir_ + "/a", "first");
  ASSERT_TRUE(env_->make_dir(dir_ + "/sub").ok());
  ASSERT_TRUE(env_->rename(dir_ + "/a", dir_ + "/sub/b").ok());
  ASSERT_TRUE(env_->sync_dir(dir_ + "/sub").ok());
  ASSERT_TRUE(env_->sync_dir(dir_).ok());
  write_text(dir_ + "/gone", "x");
  ASSERT_TRUE(env_->remove(dir_ + "/gone").ok());
  Result<std::vector<std::string>> names = env_->list_dir(dir_);
  ASSERT_TRUE(names.ok()) << text(names.status());
  EXPECT_EQ(*names, std::vector<std::string>{"sub"});
  Result<FileKind> kind = env_->file_kind(dir_ + "/sub/b");
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(*kind, FileKind::regular);

  EXPECT_TRUE(entries_under(decoy_).empty()) << ::testing::PrintToString(entries_under(decoy_));
  EXPECT_EQ(read_text(moved_ + "/sub/b"), "first");
  EXPECT_FALSE(fs::exists(moved_ + "/gone"));
}

TEST_F(BoundEnvTest, FileReopenedByTheDescriptorCacheStaysInTheOpenedDirectory) {
  OpenFlags flags = create_flags(false);
  Result<std::unique_ptr<File>> first = env_->open_file(dir_ + "/first", flags);
  ASSERT_TRUE(first.ok()) << text(first.status());
  ASSERT_TRUE((*first)->write_at(0, to_bytes("one")).ok());
  ASSERT_TRUE((*first)->sync_data().ok());  // idle and synced: the cache may close it
  // More files than the cache keeps open push the first one's descriptor out.
  std::vector<std::unique_ptr<File>> others;
  for (std::size_t i = 0; i < descriptors_cached_max + 2; ++i) {
    Result<std::unique_ptr<File>> other = env_->open_file(dir_ + "/other" + std::to_string(i), flags);
    ASSERT_TRUE(other.ok()) << text(other.status());
    others.push_back(std::move(*other));
  }
  swap_for_link();
  Status written = (*first)->write_at(3, to_bytes("two"));  // reopens the descriptor
  ASSERT_TRUE(written.ok()) << text(written);
  ASSERT_TRUE((*first)->sync_data().ok());
  EXPECT_EQ(read_text(moved_ + "/first"), "onetwo");
  EXPECT_TRUE(entries_under(decoy_).empty()) << ::testing::PrintToString(entries_under(decoy_));
}

TEST_F(BoundEnvTest, SymbolicLinkInsideTheDirectoryIsNotFollowed) {
  ASSERT_EQ(::symlink(decoy_.c_str(), (dir_ + "/snapshots").c_str()), 0);
  Result<std::unique_ptr<File>> file = env_->open_file(dir_ + "/snapshots/x", create_flags(false));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Errc::not_a_directory) << text(file.status());
  EXPECT_EQ(env_->make_dir(dir_ + "/snapshots").code(), Errc::not_a_directory);
  Result<FileKind> kind = env_->file_kind(dir_ + "/snapshots");
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(*kind, FileKind::other);
  EXPECT_TRUE(entries_under(decoy_).empty());
}

TEST_F(BoundEnvTest, PathLeavingTheDirectoryIsRefused) {
  Result<std::unique_ptr<File>> file = env_->open_file(dir_ + "/../escaped", create_flags(false));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Errc::invalid_argument) << text(file.status());
  EXPECT_FALSE(fs::exists(tmp_.file("escaped")));
}

TEST(PosixEnvDir, StoreDirectoryThatIsASymbolicLinkIsRefused) {
  TempDir tmp;
  ASSERT_TRUE(fs::create_directory(tmp.file("real")));
  ASSERT_EQ(::symlink(tmp.file("real").c_str(), tmp.file("link").c_str()), 0);
  Result<std::shared_ptr<const Dir>> dir = make_env_exactly(EnvOptions::Backend::thread, false)->open_dir(tmp.file("link"));
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Errc::not_a_directory) << text(dir.status());
}

}  // namespace
}  // namespace segstore::io::testing
