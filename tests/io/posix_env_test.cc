// Tests of the posix env: backend choice and its fallback, O_DIRECT and its fallback, the
// environment variables, the LOCK file, and the directory operations.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "io/aligned_buffer.h"
#include "io/posix_env.h"
#include "io_test_util.h"

namespace segstore::io {
namespace {

using Backend = EnvOptions::Backend;
using testing::create_flags;
using testing::make_env_exactly;
using testing::ScopedEnvVar;
using testing::TempDir;
using testing::text;

// --- Stand-ins for system calls -------------------------------------------------------------

// A file system that refuses O_DIRECT the way Linux does it: the file is created first, then
// the open fails with EINVAL. Applies to paths containing "/nodirect/".
std::atomic<int> direct_opens_refused{0};
int open_refusing_direct(int dir_fd, const char *path, int flags, mode_t mode) {
  if ((flags & O_DIRECT) != 0 && std::strstr(path, "/nodirect/") != nullptr) {
    ++direct_opens_refused;
    const int fd = ::openat(dir_fd, path, flags & ~O_DIRECT, mode);
    if (fd < 0) return fd;
    ::close(fd);
    errno = EINVAL;
    return -1;
  }
  return ::openat(dir_fd, path, flags, mode);
}

int uring_init_eperm(unsigned, io_uring *, unsigned) { return -EPERM; }
int uring_init_enosys(unsigned, io_uring *, unsigned) { return -ENOSYS; }
int uring_init_eacces(unsigned, io_uring *, unsigned) { return -EACCES; }
int uring_init_enomem(unsigned, io_uring *, unsigned) { return -ENOMEM; }

std::size_t count_of(const std::string &haystack, const std::string &needle) {
  std::size_t count = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

std::string queue_name(Env &env) {
  Result<std::unique_ptr<WriteQueue>> queue = env.make_write_queue(4);
  if (!queue.ok()) return "error: " + text(queue.status());
  return (*queue)->name();
}

// --- Backend choice --------------------------------------------------------------------------

TEST(PosixEnvBackend, DescribeNamesBackendAndRequestedDirectBeforeAnyOpen) {
  EXPECT_EQ(make_env_exactly(Backend::thread, true)->describe(), "thread+direct");
  EXPECT_EQ(make_env_exactly(Backend::thread, false)->describe(), "thread+buffered");
  EXPECT_EQ(make_env_exactly(Backend::uring, true)->describe(), "uring+direct");
  EXPECT_EQ(make_env_exactly(Backend::uring, false)->describe(), "uring+buffered");
}

TEST(PosixEnvBackend, ForcedBackendsMakeTheirQueues) {
  EXPECT_EQ(queue_name(*make_env_exactly(Backend::uring, true)), "uring");
  EXPECT_EQ(queue_name(*make_env_exactly(Backend::thread, true)), "thread");
}

TEST(PosixEnvBackend, AutomaticUsesUringWhereItWorks) {
  // This machine has io_uring (kernel.io_uring_disabled=0, no seccomp filter).
  auto env = make_env_exactly(Backend::automatic, true);
  EXPECT_EQ(env->describe(), "uring+direct");
  EXPECT_EQ(queue_name(*env), "uring");
}

class UringRefused : public ::testing::TestWithParam<UringInit> {};

TEST_P(UringRefused, AutomaticFallsBackToThreadBackend) {
  PosixSyscalls syscalls;
  syscalls.uring_init = GetParam();
  auto env = make_env_exactly(Backend::automatic, true, syscalls);
  EXPECT_EQ(env->describe(), "thread+direct");
  EXPECT_EQ(queue_name(*env), "thread");
}

INSTANTIATE_TEST_SUITE_P(ByErrno, UringRefused,
                         ::testing::Values(&uring_init_eperm, &uring_init_enosys,
                                           &uring_init_eacces));

TEST(PosixEnvBackend, UringFallbackIsLoggedAtMostOncePerProcess) {
  PosixSyscalls syscalls;
  syscalls.uring_init = &uring_init_eperm;
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(make_env_exactly(Backend::automatic, true, syscalls)->describe(), "thread+direct");
  }
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_LE(count_of(logged, "io_uring is not available"), 1u) << logged;
}

TEST(PosixEnvBackend, OtherUringFailureStaysUringAndIsReportedByMakeWriteQueue) {
  PosixSyscalls syscalls;
  syscalls.uring_init = &uring_init_enomem;
  auto env = make_env_exactly(Backend::automatic, true, syscalls);
  EXPECT_EQ(env->describe(), "uring+direct");
  Result<std::unique_ptr<WriteQueue>> queue = env->make_write_queue(4);
  ASSERT_FALSE(queue.ok());
  EXPECT_EQ(queue.status().code(), Errc::io_error);
  EXPECT_NE(queue.status().message().find("io_uring_queue_init"), std::string::npos)
      << queue.status().message();
}

TEST(PosixEnvBackend, ForcedUringRefusedIsPermissionDeniedAtMakeWriteQueue) {
  PosixSyscalls syscalls;
  syscalls.uring_init = &uring_init_eperm;
  auto env = make_env_exactly(Backend::uring, true, syscalls);
  EXPECT_EQ(env->describe(), "uring+direct");
  Result<std::unique_ptr<WriteQueue>> queue = env->make_write_queue(4);
  ASSERT_FALSE(queue.ok());
  EXPECT_EQ(queue.status().code(), Errc::permission_denied) << text(queue.status());
}

TEST(PosixEnvBackend, ZeroDepthQueueIsInvalidArgument) {
  for (Backend backend : {Backend::uring, Backend::thread}) {
    Result<std::unique_ptr<WriteQueue>> queue =
        make_env_exactly(backend, true)->make_write_queue(0);
    ASSERT_FALSE(queue.ok());
    EXPECT_EQ(queue.status().code(), Errc::invalid_argument);
  }
}

// --- Environment variables -------------------------------------------------------------------

TEST(PosixEnvVariables, BackendThreadIsHonouredByAutomatic) {
  ScopedEnvVar backend(backend_env_var, "thread");
  ScopedEnvVar direct(direct_io_env_var, nullptr);
  auto env = make_posix_env(EnvOptions{});
  EXPECT_EQ(env->describe(), "thread+direct");
  EXPECT_EQ(queue_name(*env), "thread");
}

TEST(PosixEnvVariables, BackendUringOverridesThreadOption) {
  ScopedEnvVar backend(backend_env_var, "uring");
  ScopedEnvVar direct(direct_io_env_var, nullptr);
  EnvOptions options;
  options.backend = Backend::thread;
  auto env = make_posix_env(options);
  EXPECT_EQ(env->describe(), "uring+direct");
  EXPECT_EQ(queue_name(*env), "uring");
}

TEST(PosixEnvVariables, UnknownBackendValueIsIgnored) {
  ScopedEnvVar backend(backend_env_var, "fastest");
  ScopedEnvVar direct(direct_io_env_var, nullptr);
  EnvOptions options;
  options.backend = Backend::thread;
  EXPECT_EQ(make_posix_env(options)->describe(), "thread+direct");
}

SyncWrites queue_sync_writes(Env &env) {
  Result<std::unique_ptr<WriteQueue>> queue = env.make_write_queue(2);
  EXPECT_TRUE(queue.ok()) << queue.status().to_string();
  return queue.ok() ? (*queue)->sync_writes() : SyncWrites::dsync;
}

TEST(PosixEnvVariables, SyncWritesLinkedOverridesTheDsyncOptionOfBothBackends) {
  ScopedEnvVar sync_writes(sync_writes_env_var, "linked");
  for (Backend backend : {Backend::uring, Backend::thread}) {
    ScopedEnvVar forced(backend_env_var, backend == Backend::uring ? "uring" : "thread");
    EnvOptions options;
    options.sync_writes = SyncWrites::dsync;
    EXPECT_EQ(queue_sync_writes(*make_posix_env(options)), SyncWrites::linked);
  }
}

TEST(PosixEnvVariables, SyncWritesDsyncOverridesTheLinkedOptionAndUnknownIsIgnored) {
  EnvOptions linked;
  linked.sync_writes = SyncWrites::linked;
  {
    ScopedEnvVar sync_writes(sync_writes_env_var, "dsync");
    EXPECT_EQ(queue_sync_writes(*make_posix_env(linked)), SyncWrites::dsync);
  }
  ScopedEnvVar sync_writes(sync_writes_env_var, "fsync-please");
  EXPECT_EQ(queue_sync_writes(*make_posix_env(linked)), SyncWrites::linked);
}

// auto: the thread queue writes with RWF_DSYNC at once; the uring queue says linked until its
// first group shows it the device (write_queue_test.cc follows one group through).
TEST(PosixEnvVariables, SyncWritesAutoOverridesTheLinkedOptionAndIsTheDefault) {
  EXPECT_EQ(EnvOptions{}.sync_writes, SyncWrites::automatic);
  EnvOptions linked;
  linked.sync_writes = SyncWrites::linked;
  ScopedEnvVar sync_writes(sync_writes_env_var, "auto");
  {
    ScopedEnvVar forced(backend_env_var, "thread");
    EXPECT_EQ(queue_sync_writes(*make_posix_env(linked)), SyncWrites::dsync);
  }
  ScopedEnvVar forced(backend_env_var, "uring");
  EXPECT_EQ(queue_sync_writes(*make_posix_env(linked)), SyncWrites::linked);
}

TEST(PosixEnvVariables, DirectIoZeroTurnsDirectOff) {
  TempDir dir;
  ScopedEnvVar backend(backend_env_var, "thread");
  ScopedEnvVar direct(direct_io_env_var, "0");
  auto env = make_posix_env(EnvOptions{});
  EXPECT_EQ(env->describe(), "thread+buffered");
  Result<std::unique_ptr<File>> file = env->open_file(dir.file("data"), create_flags(true));
  ASSERT_TRUE(file.ok()) << text(file.status());
  EXPECT_FALSE((*file)->direct());
}

// --- O_DIRECT and its fallback ---------------------------------------------------------------

TEST(PosixEnvDirect, FileSystemRefusingODirectFallsBackToBuffered) {
  TempDir dir;
  ASSERT_TRUE(::mkdir(dir.file("nodirect").c_str(), 0755) == 0);
  PosixSyscalls syscalls;
  syscalls.open = &open_refusing_direct;
  auto env = make_env_exactly(Backend::thread, true, syscalls);
  const int refused_before = direct_opens_refused.load();

  ::testing::internal::CaptureStderr();
  OpenFlags flags = create_flags(true);
  flags.exclusive = true;  // the refused open created the file: the reopen must not fail
  Result<std::unique_ptr<File>> first = env->open_file(dir.file("nodirect/a"), flags);
  Result<std::unique_ptr<File>> second = env->open_file(dir.file("nodirect/b"), flags);
  const std::string logged = ::testing::internal::GetCapturedStderr();

  ASSERT_TRUE(first.ok()) << text(first.status());
  ASSERT_TRUE(second.ok()) << text(second.status());
  EXPECT_EQ(direct_opens_refused.load() - refused_before, 2) << "O_DIRECT was not tried";
  EXPECT_FALSE((*first)->direct());
  EXPECT_EQ(env->describe(), "thread+buffered");
  EXPECT_LE(count_of(logged, "refuses O_DIRECT"), 1u) << logged;

  // Buffered now: unaligned I/O works.
  const std::vector<std::byte> written = testing::pattern(777, 7);
  ASSERT_TRUE((*first)->write_at(3, written).ok());
  std::vector<std::byte> read(777);
  ASSERT_EQ(*(*first)->read_at(3, read), 777u);
  EXPECT_EQ(read, written);
}

TEST(PosixEnvDirect, DescribeReportsWhatTheLastDirectFileGot) {
  TempDir dir;
  ASSERT_TRUE(::mkdir(dir.file("nodirect").c_str(), 0755) == 0);
  PosixSyscalls syscalls;
  syscalls.open = &open_refusing_direct;
  auto env = make_env_exactly(Backend::thread, true, syscalls);
  ASSERT_TRUE(env->open_file(dir.file("direct-file"), create_flags(true)).ok());
  EXPECT_EQ(env->describe(), "thread+direct");
  ASSERT_TRUE(env->open_file(dir.file("nodirect/f"), create_flags(true)).ok());
  EXPECT_EQ(env->describe(), "thread+buffered");
  // A file opened buffered on purpose says nothing about O_DIRECT.
  ASSERT_TRUE(env->open_file(dir.file("buffered-file"), create_flags(false)).ok());
  EXPECT_EQ(env->describe(), "thread+buffered");
  ASSERT_TRUE(env->open_file(dir.file("direct-file"), create_flags(true)).ok());
  EXPECT_EQ(env->describe(), "thread+direct");
}

// The same fallback on a real file system that refuses O_DIRECT, where one exists.
TEST(PosixEnvDirect, TmpfsRefusingODirectFallsBackToBuffered) {
  const char *shm = "/dev/shm";
  struct statfs fs {};
  if (::statfs(shm, &fs) != 0 || fs.f_type != TMPFS_MAGIC) {
    GTEST_SKIP() << shm << " is absent or not tmpfs here: no file system refusing O_DIRECT to "
                 << "test with (FileSystemRefusingODirectFallsBackToBuffered covers the path)";
  }
  TempDir dir(shm);
  const int probe = ::open(dir.file("probe").c_str(), O_CREAT | O_RDWR | O_DIRECT, 0644);
  if (probe >= 0) {
    ::close(probe);
    GTEST_SKIP() << "tmpfs at " << shm << " accepts O_DIRECT on this kernel (Linux >= 6.6): no "
                 << "file system refusing O_DIRECT to test with "
                 << "(FileSystemRefusingODirectFallsBackToBuffered covers the path)";
  }
  ASSERT_EQ(errno, EINVAL) << std::strerror(errno);
  auto env = make_env_exactly(Backend::thread, true);
  Result<std::unique_ptr<File>> file = env->open_file(dir.file("data"), create_flags(true));
  ASSERT_TRUE(file.ok()) << text(file.status());
  EXPECT_FALSE((*file)->direct());
  EXPECT_EQ(env->describe(), "thread+buffered");
  const std::vector<std::byte> written = testing::pattern(100, 8);
  ASSERT_TRUE((*file)->write_at(1, written).ok());
  std::vector<std::byte> read(100);
  ASSERT_EQ(*(*file)->read_at(1, read), 100u);
  EXPECT_EQ(read, written);
}

// --- LOCK file -------------------------------------------------------------------------------

TEST(PosixEnvLock, LockingTwiceInOneProcessIsStoreInUse) {
  TempDir dir;
  auto env = make_env_exactly(Backend::thread, true);
  Result<std::unique_ptr<DirLock>> first = env->lock_file(dir.file("LOCK"));
  ASSERT_TRUE(first.ok()) << text(first.status());
  Result<std::unique_ptr<DirLock>> second = env->lock_file(dir.file("LOCK"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Errc::store_in_use);
  EXPECT_EQ(second.status().message(), "store is in use: " + dir.file("LOCK") +
                                           " is locked by another open (this or another process)");
}

// An operator's rm of LOCK used to let a second open create a new LOCK and write beside the
// first writer: the lock is held on the directory itself.
TEST(PosixEnvLock, DeletingTheLockFileDoesNotLetASecondLockIn) {
  TempDir dir;
  auto env = make_env_exactly(Backend::thread, true);
  Result<std::unique_ptr<DirLock>> first = env->lock_file(dir.file("LOCK"));
  ASSERT_TRUE(first.ok()) << text(first.status());
  ASSERT_EQ(::unlink(dir.file("LOCK").c_str()), 0);
  Result<std::unique_ptr<DirLock>> second = env->lock_file(dir.file("LOCK"));
  ASSERT_FALSE(second.ok()) << "a second lock was taken after LOCK was deleted";
  EXPECT_EQ(second.status().code(), Errc::store_in_use);
}

TEST(PosixEnvLock, LockFileSymlinkIsNotFollowed) {
  TempDir dir;
  ASSERT_EQ(::symlink(dir.file("target").c_str(), dir.file("LOCK").c_str()), 0);
  Result<std::unique_ptr<DirLock>> lock = make_env_exactly(Backend::thread, true)->lock_file(dir.file("LOCK"));
  EXPECT_FALSE(lock.ok());
  struct stat st {};
  EXPECT_NE(::stat(dir.file("target").c_str(), &st), 0) << "the symlink's target was created";
}

TEST(PosixEnvLock, LockingAgainAfterReleaseSucceeds) {
  TempDir dir;
  auto env = make_env_exactly(Backend::thread, true);
  {
    Result<std::unique_ptr<DirLock>> first = env->lock_file(dir.file("LOCK"));
    ASSERT_TRUE(first.ok()) << text(first.status());
  }
  Result<std::unique_ptr<DirLock>> again = env->lock_file(dir.file("LOCK"));
  EXPECT_TRUE(again.ok()) << text(again.status());
}

TEST(PosixEnvLock, LockInMissingDirectoryIsAnError) {
  TempDir dir;
  Result<std::unique_ptr<DirLock>> lock =
      make_env_exactly(Backend::thread, true)->lock_file(dir.file("absent/LOCK"));
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), Errc::io_error);
}

// --- Directories -----------------------------------------------------------------------------

class PosixEnvDirs : public ::testing::Test {
 protected:
  void touch(const std::string &name) {
    ASSERT_TRUE(env->open_file(dir.file(name), create_flags(false)).ok()) << name;
  }
  TempDir dir;
  std::shared_ptr<Env> env = make_env_exactly(Backend::thread, true);
};

TEST_F(PosixEnvDirs, FileKindTellsMissingRegularAndDirectory) {
  touch("file");
  EXPECT_EQ(*env->file_kind(dir.file("absent")), FileKind::missing);
  EXPECT_EQ(*env->file_kind(dir.file("file")), FileKind::regular);
  EXPECT_EQ(*env->file_kind(dir.path()), FileKind::directory);
  EXPECT_EQ(*env->file_kind("/dev/null"), FileKind::other);
  Result<FileKind> under_file = env->file_kind(dir.file("file/child"));
  ASSERT_FALSE(under_file.ok());
  EXPECT_EQ(under_file.status().code(), Errc::not_a_directory);
}

TEST_F(PosixEnvDirs, ListDirReturnsSortedNamesWithoutDots) {
  for (const char *name : {"b", "a", "c.tmp", "00000001.seg"}) touch(name);
  ASSERT_TRUE(env->make_dir(dir.file("sub")).ok());
  Result<std::vector<std::string>> names = env->list_dir(dir.path());
  ASSERT_TRUE(names.ok()) << text(names.status());
  EXPECT_EQ(*names, (std::vector<std::string>{"00000001.seg", "a", "b", "c.tmp", "sub"}));
  Result<std::vector<std::string>> missing = env->list_dir(dir.file("absent"));
  EXPECT_FALSE(missing.ok());
}

TEST_F(PosixEnvDirs, MakeDirAcceptsExistingDirectoryAndRefusesFile) {
  EXPECT_TRUE(env->make_dir(dir.file("sub")).ok());
  EXPECT_TRUE(env->make_dir(dir.file("sub")).ok());
  EXPECT_EQ(*env->file_kind(dir.file("sub")), FileKind::directory);
  touch("file");
  Status status = env->make_dir(dir.file("file"));
  EXPECT_EQ(status.code(), Errc::not_a_directory) << text(status);
}

TEST_F(PosixEnvDirs, RemoveDeletesFileAndEmptyDirectory) {
  touch("file");
  ASSERT_TRUE(env->make_dir(dir.file("sub")).ok());
  EXPECT_TRUE(env->remove(dir.file("file")).ok());
  EXPECT_TRUE(env->remove(dir.file("sub")).ok());
  EXPECT_EQ(*env->file_kind(dir.file("file")), FileKind::missing);
  EXPECT_EQ(*env->file_kind(dir.file("sub")), FileKind::missing);
  Status again = env->remove(dir.file("file"));
  EXPECT_EQ(again.code(), Errc::io_error);
  EXPECT_NE(again.message().find(dir.file("file")), std::string::npos);
}

TEST_F(PosixEnvDirs, RenameReplacesTargetAndSyncDirSucceeds) {
  touch("from");
  touch("to");
  ASSERT_TRUE(env->rename(dir.file("from"), dir.file("to")).ok());
  EXPECT_EQ(*env->file_kind(dir.file("from")), FileKind::missing);
  EXPECT_EQ(*env->file_kind(dir.file("to")), FileKind::regular);
  EXPECT_TRUE(env->sync_dir(dir.path()).ok());
  Status missing = env->rename(dir.file("from"), dir.file("to"));
  EXPECT_EQ(missing.code(), Errc::io_error);
  EXPECT_FALSE(env->sync_dir(dir.file("absent")).ok());
}

}  // namespace
}  // namespace segstore::io
