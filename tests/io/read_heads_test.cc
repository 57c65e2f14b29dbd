// Env::read_heads: the first bytes of many files of one directory. The real env's io_uring way
// (io/uring_heads.h) must give exactly what reading each file alone gives (the thread backend
// and Env's default do that), for every kind of entry a hostile directory may hold.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "io/posix_env.h"
#include "io/uring_heads.h"
#include "io_test_util.h"

namespace segstore::io {
namespace {

using Backend = EnvOptions::Backend;
using Heads = std::vector<std::optional<std::vector<std::byte>>>;
using testing::make_env_exactly;
using testing::pattern;
using testing::TempDir;

constexpr std::size_t head_bytes = 80;

void write_file(const std::string &path, const std::vector<std::byte> &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// Regular files of every length around head_bytes, and one of each entry that must not be
// read: a symbolic link to a regular file, a FIFO (opening it must not wait for a writer), a
// directory, a socket, and a name with nothing behind it. Returns the names in order.
std::vector<std::string> populate(const TempDir &dir, std::size_t regular_files) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < regular_files; ++i) {
    const std::string name = "f" + std::to_string(i);
    write_file(dir.file(name), pattern(i % (2 * head_bytes), i + 1));  // empty, short, exact, longer
    names.push_back(name);
  }
  EXPECT_EQ(::symlink(dir.file("f3").c_str(), dir.file("link").c_str()), 0);
  EXPECT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
  EXPECT_EQ(::mkdir(dir.file("subdir").c_str(), 0700), 0);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = dir.file("sock");
  if (sock >= 0 && sock_path.size() < sizeof addr.sun_path) {
    std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
    EXPECT_EQ(::bind(sock, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
  }
  if (sock >= 0) ::close(sock);
  // Spread among the regular files, so that every batch of the ring meets some.
  for (const char *odd : {"link", "fifo", "subdir", "sock", "missing"})
    names.insert(names.begin() + static_cast<std::ptrdiff_t>(names.size() / 2), odd);
  return names;
}

// What reading each file alone gives (the rule read_heads must follow).
Heads expected_heads(const TempDir &dir, const std::vector<std::string> &names) {
  Heads heads;
  for (const std::string &name : names) {
    struct stat st {};
    if (::lstat(dir.file(name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      heads.emplace_back();
      continue;
    }
    std::ifstream in(dir.file(name), std::ios::binary);
    std::vector<std::byte> bytes(head_bytes);
    in.read(reinterpret_cast<char *>(bytes.data()), head_bytes);
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    heads.push_back(bytes);
  }
  return heads;
}

void expect_same(const Heads &got, const Heads &want, const std::vector<std::string> &names) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].has_value(), want[i].has_value()) << names[i];
    if (want[i]) {
      EXPECT_EQ(*got[i], *want[i]) << names[i];
    }
  }
}

class ReadHeads : public ::testing::TestWithParam<Backend> {};

// 200 regular files: more than three of the ring's batches of 64, the last one partial.
TEST_P(ReadHeads, GiveWhatReadingEachFileAloneGivesAndSkipWhatIsNotARegularFile) {
  TempDir dir;
  const std::vector<std::string> names = populate(dir, 200);
  const Heads want = expected_heads(dir, names);
  std::shared_ptr<Env> env = make_env_exactly(GetParam(), false);
  expect_same(env->read_heads(dir.path(), names, head_bytes), want, names);
  // The same through an env bound to the directory (what a store uses).
  Result<std::shared_ptr<const Dir>> root = env->open_dir(dir.path());
  ASSERT_TRUE(root.ok());
  std::shared_ptr<Env> bound = bind_env_to_dir(env, *root);
  expect_same(bound->read_heads(dir.path(), names, head_bytes), want, names);
}

TEST_P(ReadHeads, NoNamesAndAMissingDirectoryGiveNothingToRead) {
  TempDir dir;
  std::shared_ptr<Env> env = make_env_exactly(GetParam(), false);
  EXPECT_TRUE(env->read_heads(dir.path(), {}, head_bytes).empty());
  const std::vector<std::string> names = {"a", "b"};
  const Heads heads = env->read_heads(dir.file("none"), names, head_bytes);
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_FALSE(heads[0]);
  EXPECT_FALSE(heads[1]);
}

// The ring itself (the env above falls back to one file at a time if the ring cannot be made:
// here that would fail, so the batched way is the one checked).
TEST(ReadHeadsUring, BatchesGiveWhatReadingEachFileAloneGives) {
  TempDir dir;
  const std::vector<std::string> names = populate(dir, 130);
  const int dir_fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir_fd, 0);
  const std::optional<FileHeads> heads = read_heads_uring(dir_fd, names, head_bytes);
  ::close(dir_fd);
  ASSERT_TRUE(heads.has_value()) << "no io_uring on this machine";
  expect_same(*heads, expected_heads(dir, names), names);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReadHeads, ::testing::Values(Backend::uring, Backend::thread),
                         [](const auto &info) { return info.param == Backend::uring ? "uring" : "thread"; });

}  // namespace
}  // namespace segstore::io
