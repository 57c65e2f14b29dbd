// Bad input gets a distinct error, writes nothing, and leaves the store usable.
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"
#include "format/layout.h"

namespace segstore::testing {
namespace {

TEST(Errors, OversizedRecordIsRefusedAndNothingIsWritten) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync, 64 * 1024));
  ASSERT_TRUE(store->append(as_bytes("before")).ok());
  std::vector<std::byte> big(64 * 1024);
  Result<std::uint64_t> refused = store->append(big);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Errc::record_too_large);
  EXPECT_NE(refused.status().message().find("exceeds the maximum"), std::string::npos) << refused.status().message();
  EXPECT_EQ(store->next_lsn(), 1u);
  Result<std::uint64_t> after = store->append(as_bytes("after"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, 1u);
}

TEST(Errors, LargestRecordForTheSegmentFits) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync, 64 * 1024));
  std::vector<std::byte> largest = payload_for(3, format::payload_max_for_segment(64 * 1024));
  ASSERT_TRUE(store->append(as_bytes("x")).ok());
  Result<std::uint64_t> lsn = store->append(largest);
  ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  Result<Record> r = store->read(*lsn);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->payload, largest);
}

TEST(Errors, LsnOutsideTheLogIsOutOfRange) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  EXPECT_EQ(store->read(0).status().code(), Errc::lsn_out_of_range);
  ASSERT_TRUE(store->append(as_bytes("a")).ok());
  EXPECT_TRUE(store->read(0).ok());
  Result<Record> r = store->read(1);
  EXPECT_EQ(r.status().code(), Errc::lsn_out_of_range);
  EXPECT_NE(r.status().message().find("next 1"), std::string::npos) << r.status().message();
  EXPECT_EQ(store->scan(2).status().code(), Errc::lsn_out_of_range);
  EXPECT_EQ(store->truncate_after(5).code(), Errc::lsn_out_of_range);
}

TEST(Errors, ClosedStoreRefusesEverything) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  ASSERT_TRUE(store->append(as_bytes("a")).ok());
  Result<Iterator> it = store->scan(0);
  ASSERT_TRUE(it.ok());
  ASSERT_TRUE(store->close().ok());
  EXPECT_EQ(store->append(as_bytes("b")).status().code(), Errc::store_closed);
  EXPECT_EQ(store->read(0).status().code(), Errc::store_closed);
  EXPECT_EQ(store->sync().code(), Errc::store_closed);
  EXPECT_EQ(it->next().status().code(), Errc::store_closed);
  EXPECT_TRUE(store->close().ok()) << "close twice is harmless";
}

TEST(Errors, SecondOpenOfTheSameDirectoryIsRefusedAtOnce) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments());
  Result<std::unique_ptr<Store>> second = Store::open(dir.path(), small_segments());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Errc::store_in_use);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
  ASSERT_TRUE(store->append(as_bytes("still usable")).ok());
  ASSERT_TRUE(store->close().ok());
  EXPECT_TRUE(Store::open(dir.path(), small_segments()).ok()) << "the lock is released by close";
}

// Two processes: a writer holds the store, LOCK is deleted under it, a second process opens the
// store. It used to get in (both appended LSN 1 and the log interleaved their records); it must
// get store_in_use while the first holds the store, and get in once the first has exited.
TEST(Errors, DeletingLockWhileAWriterRunsDoesNotLetASecondWriterIn) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  ASSERT_TRUE(store->append(as_bytes("A0")).ok());
  ASSERT_EQ(::unlink(dir.sub("LOCK").c_str()), 0);
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(report[0]);
    Result<std::unique_ptr<Store>> second = Store::open(dir.path(), small_segments(Durability::sync));
    int code = second.ok() ? 0 : static_cast<int>(second.status().code());
    if (second.ok()) (void)(*second)->append(as_bytes("B"));
    ::_exit(::write(report[1], &code, sizeof code) == sizeof code ? 0 : 99);
  }
  ::close(report[1]);
  int code = -1;
  ASSERT_EQ(::read(report[0], &code, sizeof code), static_cast<ssize_t>(sizeof code));
  ::close(report[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(code, static_cast<int>(Errc::store_in_use)) << "a second process opened the store after LOCK was deleted";
  Result<std::uint64_t> mine = store->append(as_bytes("A1"));
  ASSERT_TRUE(mine.ok()) << mine.status().to_string();
  EXPECT_EQ(*mine, 1u);
  ASSERT_TRUE(store->close().ok());
  auto reopened = open_or_die(dir.path(), small_segments(Durability::sync));
  ASSERT_EQ(reopened->next_lsn(), 2u);
  EXPECT_EQ(as_string(reopened->read(1)->payload), "A1");
}

TEST(Errors, AFileInsteadOfADirectoryIsNotADirectory) {
  TempDir dir;
  std::ofstream(dir.sub("file")) << "hello";
  Result<std::unique_ptr<Store>> store = Store::open(dir.sub("file"), small_segments());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::not_a_directory);
  EXPECT_NE(store.status().message().find(dir.sub("file")), std::string::npos);
}

TEST(Errors, ADirectoryOfOtherFilesIsNotAStoreAndIsLeftAlone) {
  TempDir dir;
  std::ofstream(dir.sub("notes.txt")) << "my files";
  Result<std::unique_ptr<Store>> store = Store::open(dir.path(), small_segments());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::not_a_store);
  EXPECT_NE(store.status().message().find("notes.txt"), std::string::npos);
  std::ifstream in(dir.sub("notes.txt"));
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "my files");
}

// What a crash in the middle of the first open leaves (docs/RECOVERY.md "Store creation"):
// LOCK and a META.tmp that is empty, torn or whole, no META. The next open creates the store.
TEST(Errors, AnInterruptedCreationIsCompleted) {
  const std::string meta_temps[] = {"", std::string("SGSTME"), std::string(64, '\0')};
  for (const std::string &temp : meta_temps) {
    TempDir dir;
    std::ofstream(dir.sub("LOCK")).flush();
    std::ofstream(dir.sub("META.tmp"), std::ios::binary) << temp;
    auto store = open_or_die(dir.path(), small_segments());
    ASSERT_TRUE(store->append(as_bytes("first")).ok()) << "META.tmp of " << temp.size() << " bytes";
    EXPECT_TRUE(std::filesystem::exists(dir.sub("META")));
    EXPECT_FALSE(std::filesystem::exists(dir.sub("META.tmp")));
  }
}

TEST(Errors, AForeignMetaTmpIsNotAStoreAndIsLeftAlone) {
  TempDir dir;
  std::ofstream(dir.sub("META.tmp")) << "my own META.tmp, not a segstore file";
  Result<std::unique_ptr<Store>> store = Store::open(dir.path(), small_segments());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::not_a_store);
  EXPECT_NE(store.status().message().find("META.tmp"), std::string::npos) << store.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir.sub("META")));
  std::ifstream in(dir.sub("META.tmp"));
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "my own META.tmp, not a segstore file");
}

TEST(Errors, GarbageMetaIsCorruptionNamingTheFile) {
  TempDir dir;
  { auto store = open_or_die(dir.path(), small_segments()); }
  std::ofstream(dir.sub("META"), std::ios::trunc) << "garbage garbage garbage";
  Result<std::unique_ptr<Store>> store = Store::open(dir.path(), small_segments());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::corruption);
  EXPECT_NE(store.status().message().find("META"), std::string::npos);
}

TEST(Errors, MissingDirectoryWithoutCreateIsNotFound) {
  TempDir dir;
  Options options = small_segments();
  options.create_if_missing = false;
  EXPECT_EQ(Store::open(dir.sub("absent"), options).status().code(), Errc::not_found);
}

TEST(Errors, UnwritableDirectoryIsPermissionDenied) {
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.sub("locked").c_str(), 0500), 0);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  // Permissions do not restrict root: the open runs in a child that drops to nobody (65534)
  // when the test runs as root, and reports the error code as its exit status.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(100);
    Result<std::unique_ptr<Store>> store = Store::open(dir.sub("locked"), small_segments());
    ::_exit(store.ok() ? 0 : static_cast<int>(store.status().code()));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), static_cast<int>(Errc::permission_denied));
}

TEST(Errors, InvalidOptionsAreRefused) {
  TempDir dir;
  Options options;
  options.segment_bytes = 5000;
  Result<std::unique_ptr<Store>> store = Store::open(dir.path(), options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace segstore::testing
