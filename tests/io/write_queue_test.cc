// Tests of both WriteQueue backends (uring and thread), forced through EnvOptions, on O_DIRECT
// files: many groups in flight, every token completed exactly once, the bytes read back, and
// the errors a group can meet.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <sys/uio.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <tuple>
#include <map>
#include <mutex>

#include "io/aligned_buffer.h"
#include "io/device_cache.h"
#include "io/posix_env.h"
#include "io/thread_queue.h"
#include "io/uring_queue.h"
#include "io_test_util.h"

namespace segstore::io {
namespace {

using Backend = EnvOptions::Backend;
using testing::create_flags;
using testing::TempDir;
using testing::text;

constexpr std::size_t block = format::block_size_bytes;
// An rw_flags bit no kernel defines (RWF_* end far below it): the kernel refuses the write
// with EOPNOTSUPP.
constexpr int unknown_rw_flag = 1 << 30;

using QueueParam = std::tuple<Backend, SyncWrites>;

std::string param_name(const ::testing::TestParamInfo<QueueParam> &info) {
  return std::string(std::get<0>(info.param) == Backend::uring ? "uring" : "thread") +
         (std::get<1>(info.param) == SyncWrites::dsync ? "_dsync" : "_linked");
}

// Every backend, with each way of making a sync group durable.
class WriteQueueTest : public ::testing::TestWithParam<QueueParam> {
 protected:
  Backend backend() const { return std::get<0>(GetParam()); }
  SyncWrites sync_writes() const { return std::get<1>(GetParam()); }
  void SetUp() override {
    env = testing::make_env_exactly(backend(), true, {}, sync_writes());
    Result<std::unique_ptr<File>> opened = env->open_file(dir.file("data"), create_flags(true));
    ASSERT_TRUE(opened.ok()) << text(opened.status());
    file = std::move(*opened);
    ASSERT_TRUE(file->direct()) << dir.path() << " did not accept O_DIRECT";
  }

  std::unique_ptr<WriteQueue> make_queue(unsigned depth) {
    Result<std::unique_ptr<WriteQueue>> queue = env->make_write_queue(depth);
    EXPECT_TRUE(queue.ok()) << text(queue.status());
    return queue.ok() ? std::move(*queue) : nullptr;
  }

  // Writes `groups` groups of 1..16 blocks each at consecutive offsets, keeping up to `depth`
  // in flight; `sync_every` = n syncs every n-th group (0: none). Checks that every token
  // completes exactly once, ok, synced as asked, and that the file holds every group's bytes.
  void write_many(unsigned depth, unsigned groups, unsigned sync_every) {
    auto queue = make_queue(depth);
    ASSERT_NE(queue, nullptr);
    std::vector<AlignedBuffer> buffers;
    std::vector<std::uint64_t> offsets;
    std::uint64_t offset = 0;
    for (unsigned i = 0; i < groups; ++i) {
      buffers.emplace_back((1 + i % 16) * block);
      testing::fill_pattern(buffers.back().span(), 100 + i);
      offsets.push_back(offset);
      offset += buffers.back().size();
    }
    std::map<std::uint64_t, unsigned> completions_per_token;
    unsigned next = 0;
    unsigned completed = 0;
    std::vector<GroupCompletion> done;
    while (completed < groups) {
      while (next < groups && queue->inflight() < depth) {
        WriteGroup group;
        group.file = file.get();
        group.offset = offsets[next];
        group.data = buffers[next].span();
        group.sync = sync_every != 0 && next % sync_every == 0;
        group.token = 1000 + next;
        ASSERT_TRUE(queue->submit(group).ok());
        ++next;
      }
      EXPECT_LE(queue->inflight(), depth);
      done.clear();
      ASSERT_TRUE(queue->reap(&done, true).ok());
      ASSERT_FALSE(done.empty()) << "reap(wait) returned nothing with groups in flight";
      for (const GroupCompletion &completion : done) {
        ASSERT_TRUE(completion.status.ok()) << text(completion.status);
        ASSERT_GE(completion.token, 1000u);
        ASSERT_LT(completion.token, 1000u + groups);
        const unsigned index = static_cast<unsigned>(completion.token - 1000);
        EXPECT_EQ(completion.synced, sync_every != 0 && index % sync_every == 0)
            << "group " << index;
        ++completions_per_token[completion.token];
        ++completed;
      }
    }
    EXPECT_EQ(queue->inflight(), 0u);
    last_counts = queue->counts();
    EXPECT_EQ(completions_per_token.size(), groups);
    for (const auto &[token, count] : completions_per_token) {
      EXPECT_EQ(count, 1u) << "token " << token;
    }
    // Nothing more arrives after the last completion.
    done.clear();
    ASSERT_TRUE(queue->reap(&done, false).ok());
    EXPECT_TRUE(done.empty());

    AlignedBuffer read(offset);
    Result<std::size_t> n = file->read_at(0, read.span());
    ASSERT_TRUE(n.ok()) << text(n.status());
    ASSERT_EQ(*n, offset);
    for (unsigned i = 0; i < groups; ++i) {
      ASSERT_EQ(std::memcmp(read.data() + offsets[i], buffers[i].data(), buffers[i].size()), 0)
          << "group " << i << " at offset " << offsets[i];
    }
  }

  // Submits one group and waits for its completion.
  GroupCompletion run_one(WriteQueue &queue, const WriteGroup &group) {
    Status submitted = queue.submit(group);
    EXPECT_TRUE(submitted.ok()) << text(submitted);
    std::vector<GroupCompletion> done;
    Status reaped = queue.reap(&done, true);
    EXPECT_TRUE(reaped.ok()) << text(reaped);
    EXPECT_EQ(done.size(), 1u);
    return done.empty() ? GroupCompletion{} : done.front();
  }

  TempDir dir;
  std::shared_ptr<Env> env;
  std::unique_ptr<File> file;
  WriteQueueCounts last_counts;  // of write_many's queue
};

TEST_P(WriteQueueTest, QueueNameIsTheBackend) {
  auto queue = make_queue(4);
  ASSERT_NE(queue, nullptr);
  EXPECT_STREQ(queue->name(), backend() == Backend::uring ? "uring" : "thread");
  EXPECT_EQ(queue->sync_writes(), sync_writes());
}

// The point of dsync: a durable group is one request to the kernel (a write with RWF_DSYNC);
// linked, it is two (the write and a data sync).
TEST_P(WriteQueueTest, SyncGroupIsOneRequestWithDsyncAndTwoLinked) {
  write_many(4, 12, 1);
  const WriteQueueCounts counts = last_counts;
  if (sync_writes() == SyncWrites::dsync) {
    EXPECT_EQ(counts.dsync_writes, 12u);
    EXPECT_EQ(counts.writes, 0u);
    EXPECT_EQ(counts.syncs, 0u);
  } else {
    EXPECT_EQ(counts.dsync_writes, 0u);
    EXPECT_EQ(counts.writes, 12u);
    EXPECT_EQ(counts.syncs, 12u);
  }
  EXPECT_EQ(counts.dsync_refusals, 0u);
}

TEST_P(WriteQueueTest, ManyGroupsInFlightWithSyncCompleteOnceAndReadBack) {
  write_many(16, 200, 1);
}

TEST_P(WriteQueueTest, ManyGroupsInFlightWithoutSyncCompleteOnceAndReadBack) {
  write_many(32, 300, 0);
}

TEST_P(WriteQueueTest, MixedSyncGroupsAtDepthOne) { write_many(1, 40, 3); }

TEST_P(WriteQueueTest, SubmitBeyondDepthIsBusy) {
  auto queue = make_queue(2);
  ASSERT_NE(queue, nullptr);
  AlignedBuffer buffer(3 * block);
  for (std::uint64_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(queue->submit({file.get(), i * block, {buffer.data(), block}, true, i}).ok());
  }
  EXPECT_EQ(queue->inflight(), 2u);
  Status busy = queue->submit({file.get(), 2 * block, {buffer.data(), block}, true, 2});
  EXPECT_EQ(busy.code(), Errc::busy) << text(busy);
  std::vector<GroupCompletion> done;
  while (queue->inflight() > 0) ASSERT_TRUE(queue->reap(&done, true).ok());
  EXPECT_EQ(done.size(), 2u);
  GroupCompletion third = run_one(*queue, {file.get(), 2 * block, {buffer.data(), block}, true, 2});
  EXPECT_TRUE(third.status.ok()) << text(third.status);
  EXPECT_EQ(third.token, 2u);
}

TEST_P(WriteQueueTest, MisalignedGroupOnDirectFileIsRefusedAtSubmit) {
  auto queue = make_queue(4);
  ASSERT_NE(queue, nullptr);
  AlignedBuffer buffer(2 * block);
  const WriteGroup misaligned[] = {
      {file.get(), 100, {buffer.data(), block}, true, 1},
      {file.get(), 0, {buffer.data() + 512, block}, true, 2},
      {file.get(), 0, {buffer.data(), block + 1}, true, 3},
  };
  for (const WriteGroup &group : misaligned) {
    Status status = queue->submit(group);
    EXPECT_EQ(status.code(), Errc::invalid_argument) << text(status);
  }
  EXPECT_EQ(queue->inflight(), 0u);
  std::vector<GroupCompletion> done;
  ASSERT_TRUE(queue->reap(&done, true).ok());
  EXPECT_TRUE(done.empty());
  EXPECT_EQ(*file->size(), 0u);
}

TEST_P(WriteQueueTest, GroupOnReadOnlyFileCompletesWithAnError) {
  OpenFlags read_only;
  read_only.direct = true;
  Result<std::unique_ptr<File>> reader = env->open_file(dir.file("data"), read_only);
  ASSERT_TRUE(reader.ok()) << text(reader.status());
  auto queue = make_queue(4);
  ASSERT_NE(queue, nullptr);
  AlignedBuffer buffer(block);
  GroupCompletion completion = run_one(*queue, {reader->get(), 0, buffer.span(), true, 7});
  EXPECT_EQ(completion.token, 7u);
  EXPECT_EQ(completion.status.code(), Errc::io_error) << text(completion.status);
  EXPECT_NE(completion.status.message().find("(errno 9)"), std::string::npos)  // EBADF
      << completion.status.message();
  EXPECT_FALSE(completion.synced);
  EXPECT_EQ(queue->inflight(), 0u);
}

TEST_P(WriteQueueTest, ReapWithNothingInFlightReturnsAtOnce) {
  auto queue = make_queue(4);
  ASSERT_NE(queue, nullptr);
  std::vector<GroupCompletion> done;
  ASSERT_TRUE(queue->reap(&done, true).ok());  // would hang (and time out) if it waited
  EXPECT_TRUE(done.empty());
}

TEST_P(WriteQueueTest, EmptyGroupsCompleteSyncedOnlyWhenAsked) {
  auto queue = make_queue(4);
  ASSERT_NE(queue, nullptr);
  GroupCompletion with_sync = run_one(*queue, {file.get(), 0, {}, true, 1});
  EXPECT_EQ(with_sync.token, 1u);
  EXPECT_TRUE(with_sync.status.ok()) << text(with_sync.status);
  EXPECT_TRUE(with_sync.synced);
  GroupCompletion without = run_one(*queue, {file.get(), 0, {}, false, 2});
  EXPECT_EQ(without.token, 2u);
  EXPECT_TRUE(without.status.ok()) << text(without.status);
  EXPECT_FALSE(without.synced);
}

TEST_P(WriteQueueTest, DestroyingTheQueueWaitsForGroupsInFlight) {
  std::vector<AlignedBuffer> buffers;
  for (int i = 0; i < 8; ++i) {
    buffers.emplace_back(16 * block);
    testing::fill_pattern(buffers.back().span(), 200 + i);
  }
  {
    auto queue = make_queue(8);
    ASSERT_NE(queue, nullptr);
    for (std::uint64_t i = 0; i < 8; ++i) {
      ASSERT_TRUE(queue->submit({file.get(), i * 16 * block, buffers[i].span(), true, i}).ok());
    }
  }  // destroyed without reaping
  AlignedBuffer read(16 * block);
  for (std::uint64_t i = 0; i < 8; ++i) {
    ASSERT_EQ(*file->read_at(i * 16 * block, read.span()), 16 * block);
    EXPECT_EQ(std::memcmp(read.data(), buffers[i].data(), 16 * block), 0) << "group " << i;
  }
}

// RLIMIT_FSIZE makes the kernel write only up to the limit (a short write) and refuse the rest
// with EFBIG: the queue must continue the short write and then report the refusal at the
// offset where the rest begins, without looping.
TEST_P(WriteQueueTest, ShortWriteAtFileSizeLimitIsContinuedThenReported) {
  auto queue = make_queue(4);
  ASSERT_NE(queue, nullptr);
  AlignedBuffer buffer(4 * block);
  testing::fill_pattern(buffer.span(), 9);

  struct sigaction ignore {};
  struct sigaction old_action {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit limit = old_limit;
  limit.rlim_cur = 2 * block;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  GroupCompletion completion = run_one(*queue, {file.get(), 0, buffer.span(), true, 5});
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &old_action, nullptr), 0);

  EXPECT_EQ(completion.status.code(), Errc::io_error) << text(completion.status);
  EXPECT_NE(completion.status.message().find("at offset " + std::to_string(2 * block)),
            std::string::npos)
      << completion.status.message();
  EXPECT_NE(completion.status.message().find("(errno 27)"), std::string::npos)  // EFBIG
      << completion.status.message();
  EXPECT_FALSE(completion.synced);
  if (backend() == Backend::uring && sync_writes() == SyncWrites::dsync) {
    // The part written and the rest asked for again: both with RWF_DSYNC.
    EXPECT_EQ(queue->counts().dsync_writes, 2u);
    EXPECT_EQ(queue->counts().writes, 0u);
    EXPECT_EQ(queue->counts().syncs, 0u);
  }
  EXPECT_EQ(*file->size(), 2 * block);
  AlignedBuffer read(2 * block);
  ASSERT_EQ(*file->read_at(0, read.span()), 2 * block);
  EXPECT_EQ(std::memcmp(read.data(), buffer.data(), 2 * block), 0);
}

// The thread that submitted a group may exit before the group completes (an appender that
// cut a group and returned): the group must still complete whole, whoever reaps it. io_uring
// runs some requests' later steps (a linked sync, a write punted after -EAGAIN) on the
// submitter's task, which is gone by then.
TEST_P(WriteQueueTest, GroupsSubmittedByAThreadThatExitedComplete) {
  auto queue = make_queue(8);
  ASSERT_NE(queue, nullptr);
  constexpr unsigned rounds = 30;
  constexpr unsigned groups_per_round = 4;
  std::vector<AlignedBuffer> buffers;
  for (unsigned i = 0; i < rounds * groups_per_round; ++i) {
    buffers.emplace_back(2 * block);
    testing::fill_pattern(buffers.back().span(), 500 + i);
  }
  unsigned failed = 0;
  for (unsigned round = 0; round < rounds; ++round) {
    std::thread submitter([&] {
      for (unsigned g = 0; g < groups_per_round; ++g) {
        const unsigned i = round * groups_per_round + g;
        // Each group extends the file: the write cannot finish without waiting (-EAGAIN first).
        Status submitted = queue->submit({file.get(), i * 2 * block, buffers[i].span(), g % 2 == 0, i});
        EXPECT_TRUE(submitted.ok()) << text(submitted);
      }
    });
    submitter.join();
    std::vector<GroupCompletion> done;
    while (done.size() < groups_per_round) ASSERT_TRUE(queue->reap(&done, true).ok());
    for (const GroupCompletion &c : done) {
      if (!c.status.ok()) ++failed;
      EXPECT_TRUE(c.status.ok()) << "group " << c.token << ": " << text(c.status);
      EXPECT_EQ(c.synced, c.status.ok() && c.token % 2 == 0) << "group " << c.token;
    }
  }
  ASSERT_EQ(failed, 0u);
  AlignedBuffer read(2 * block);
  for (unsigned i = 0; i < rounds * groups_per_round; ++i) {
    ASSERT_EQ(*file->read_at(i * 2 * block, read.span()), 2 * block);
    ASSERT_EQ(std::memcmp(read.data(), buffers[i].data(), 2 * block), 0) << "group " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, WriteQueueTest,
                         ::testing::Combine(::testing::Values(Backend::uring, Backend::thread),
                                            ::testing::Values(SyncWrites::dsync, SyncWrites::linked)),
                         param_name);

// A kernel that refuses RWF_DSYNC, played by the real kernel: the flags carry a bit it does not
// know, which it refuses with EOPNOTSUPP as one without RWF_DSYNC does. The group is written
// again the linked way and completes synced; the queue goes linked for good, so the next group
// costs no refused request.
TEST(WriteQueueDsync, UringQueueFallsBackToLinkedOnceTheKernelRefusesTheFlag) {
  TempDir dir;
  auto env = testing::make_env_exactly(Backend::uring, true);
  Result<std::unique_ptr<File>> file = env->open_file(dir.file("data"), create_flags(true));
  ASSERT_TRUE(file.ok()) << text(file.status());
  UringQueueOptions options;
  options.sync_writes = SyncWrites::dsync;
  options.dsync_rw_flags = RWF_DSYNC | unknown_rw_flag;
  Result<std::unique_ptr<WriteQueue>> queue = make_uring_queue(4, options);
  ASSERT_TRUE(queue.ok()) << text(queue.status());
  AlignedBuffer buffer(2 * block);
  testing::fill_pattern(buffer.span(), 31);
  for (std::uint64_t i = 0; i < 2; ++i) {
    ASSERT_TRUE((*queue)->submit({file->get(), i * block, {buffer.data() + i * block, block}, true, i}).ok());
    std::vector<GroupCompletion> done;
    ASSERT_TRUE((*queue)->reap(&done, true).ok());
    ASSERT_EQ(done.size(), 1u);
    EXPECT_TRUE(done[0].status.ok()) << text(done[0].status);
    EXPECT_TRUE(done[0].synced) << "group " << i;
  }
  const WriteQueueCounts counts = (*queue)->counts();
  EXPECT_EQ(counts.dsync_refusals, 1u);
  EXPECT_EQ(counts.dsync_writes, 1u) << "only the first group asked";
  EXPECT_EQ(counts.writes, 2u);
  EXPECT_EQ(counts.syncs, 2u);
  EXPECT_EQ((*queue)->sync_writes(), SyncWrites::linked);
  AlignedBuffer read(2 * block);
  ASSERT_EQ(*(*file)->read_at(0, read.span()), 2 * block);
  EXPECT_EQ(std::memcmp(read.data(), buffer.data(), 2 * block), 0);
}

// SyncWrites::automatic (the default): the uring queue's first group decides, by whether the
// device under its file needs a flush after a dsync write (io/device_cache.h); the thread queue
// writes with RWF_DSYNC from the start.
// Either way the group completes synced and costs the requests of the way chosen.
TEST(WriteQueueAutomatic, UringQueueGoesDsyncExactlyWhereTheDeviceNeedsNoFlush) {
  TempDir dir;
  auto env = testing::make_env_exactly(Backend::uring, true, {}, SyncWrites::automatic);
  Result<std::unique_ptr<File>> file = env->open_file(dir.file("data"), create_flags(true));
  ASSERT_TRUE(file.ok()) << text(file.status());
  auto *posix = dynamic_cast<PosixFile *>(file->get());
  ASSERT_NE(posix, nullptr);
  const bool no_flush = dsync_needs_no_flush(posix->fd()).value_or(false);
  Result<std::unique_ptr<WriteQueue>> queue = env->make_write_queue(4);
  ASSERT_TRUE(queue.ok()) << text(queue.status());
  EXPECT_EQ((*queue)->sync_writes(), SyncWrites::linked) << "before any group: the way that needs no answer";
  AlignedBuffer buffer(block);
  testing::fill_pattern(buffer.span(), 47);
  ASSERT_TRUE((*queue)->submit({file->get(), 0, buffer.span(), true, 7}).ok());
  std::vector<GroupCompletion> done;
  ASSERT_TRUE((*queue)->reap(&done, true).ok());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].status.ok()) << text(done[0].status);
  EXPECT_TRUE(done[0].synced);
  const WriteQueueCounts counts = (*queue)->counts();
  if (no_flush) {
    EXPECT_EQ((*queue)->sync_writes(), SyncWrites::dsync) << dir.path() << " is on a device with FUA or no volatile cache";
    EXPECT_EQ(counts.dsync_writes, 1u);
    EXPECT_EQ(counts.syncs, 0u);
  } else {
    EXPECT_EQ((*queue)->sync_writes(), SyncWrites::linked) << dir.path() << " is on a device that needs a flush";
    EXPECT_EQ(counts.dsync_writes, 0u);
    EXPECT_EQ(counts.writes, 1u);
    EXPECT_EQ(counts.syncs, 1u);
  }
}

TEST(WriteQueueAutomatic, ThreadQueueWritesWithDsync) {
  TempDir dir;
  auto env = testing::make_env_exactly(Backend::thread, true, {}, SyncWrites::automatic);
  Result<std::unique_ptr<File>> file = env->open_file(dir.file("data"), create_flags(true));
  ASSERT_TRUE(file.ok()) << text(file.status());
  Result<std::unique_ptr<WriteQueue>> queue = env->make_write_queue(4);
  ASSERT_TRUE(queue.ok()) << text(queue.status());
  EXPECT_EQ((*queue)->sync_writes(), SyncWrites::dsync);
  AlignedBuffer buffer(block);
  testing::fill_pattern(buffer.span(), 48);
  ASSERT_TRUE((*queue)->submit({file->get(), 0, buffer.span(), true, 8}).ok());
  std::vector<GroupCompletion> done;
  ASSERT_TRUE((*queue)->reap(&done, true).ok());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].synced);
  EXPECT_EQ((*queue)->counts().dsync_writes, 1u);
  EXPECT_EQ((*queue)->counts().syncs, 0u);
}

// The uring queue writes descriptors, so it takes only files of the posix env; the thread
// queue calls the File interface and takes any File.
class MemoryFile final : public File {
 public:
  const std::string &path() const override { return path_; }
  bool direct() const override { return false; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override {
    std::lock_guard lock(mutex_);
    if (offset >= bytes_.size()) return std::size_t{0};
    const std::size_t n = std::min(out.size(), bytes_.size() - offset);
    std::memcpy(out.data(), bytes_.data() + offset, n);
    return n;
  }
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    std::lock_guard lock(mutex_);
    if (bytes_.size() < offset + data.size()) bytes_.resize(offset + data.size());
    std::memcpy(bytes_.data() + offset, data.data(), data.size());
    return Status();
  }
  Status sync_data() override { return Status(); }
  Result<std::uint64_t> size() override {
    std::lock_guard lock(mutex_);
    return std::uint64_t{bytes_.size()};
  }
  Status allocate(std::uint64_t) override { return Status(); }
  Status truncate(std::uint64_t) override { return Status(); }

 private:
  std::string path_ = "memory";
  std::mutex mutex_;
  std::vector<std::byte> bytes_;
};

// A file whose write_dsync_at always meets a refused flag, counting what the queue calls.
class RefusingDsyncFile final : public File {
 public:
  const std::string &path() const override { return memory.path(); }
  bool direct() const override { return false; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override {
    return memory.read_at(offset, out);
  }
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    ++write_calls;
    return memory.write_at(offset, data);
  }
  Status sync_data() override {
    ++sync_calls;
    return Status();
  }
  Result<bool> write_dsync_at(std::uint64_t, std::span<const std::byte>) override {
    ++dsync_calls;
    return false;
  }
  Result<std::uint64_t> size() override { return memory.size(); }
  Status allocate(std::uint64_t) override { return Status(); }
  Status truncate(std::uint64_t) override { return Status(); }

  MemoryFile memory;
  std::atomic<unsigned> write_calls{0}, sync_calls{0}, dsync_calls{0};
};

TEST(WriteQueueDsync, ThreadQueueFallsBackToLinkedOnceTheFileRefusesTheFlag) {
  Result<std::unique_ptr<WriteQueue>> queue = make_thread_queue(1, SyncWrites::dsync);
  ASSERT_TRUE(queue.ok()) << text(queue.status());
  RefusingDsyncFile file;
  const std::vector<std::byte> data = testing::pattern(64, 5);
  for (std::uint64_t i = 0; i < 2; ++i) {
    ASSERT_TRUE((*queue)->submit({&file, i * 64, data, true, i}).ok());
    std::vector<GroupCompletion> done;
    ASSERT_TRUE((*queue)->reap(&done, true).ok());
    ASSERT_EQ(done.size(), 1u);
    EXPECT_TRUE(done[0].status.ok()) << text(done[0].status);
    EXPECT_TRUE(done[0].synced) << "group " << i;
  }
  EXPECT_EQ(file.dsync_calls.load(), 1u) << "refused once, not asked again";
  EXPECT_EQ(file.write_calls.load(), 2u);
  EXPECT_EQ(file.sync_calls.load(), 2u);
  EXPECT_EQ((*queue)->sync_writes(), SyncWrites::linked);
  EXPECT_EQ((*queue)->counts().dsync_refusals, 1u);
  std::vector<std::byte> read(64);
  ASSERT_EQ(*file.read_at(64, read), 64u);
  EXPECT_EQ(read, data);
}

// pwritev2 with RWF_DSYNC on a real file: the bytes land and the call says they are durable.
TEST(WriteQueueDsync, PosixWriteDsyncAtWritesAndReportsDurable) {
  TempDir dir;
  auto env = testing::make_env_exactly(Backend::thread, true);
  Result<std::unique_ptr<File>> file = env->open_file(dir.file("data"), create_flags(true));
  ASSERT_TRUE(file.ok()) << text(file.status());
  AlignedBuffer buffer(3 * block);
  testing::fill_pattern(buffer.span(), 77);
  Result<bool> durable = (*file)->write_dsync_at(block, buffer.span());
  ASSERT_TRUE(durable.ok()) << text(durable.status());
  EXPECT_TRUE(*durable);
  AlignedBuffer read(3 * block);
  ASSERT_EQ(*(*file)->read_at(block, read.span()), 3 * block);
  EXPECT_EQ(std::memcmp(read.data(), buffer.data(), 3 * block), 0);
  Result<bool> misaligned = (*file)->write_dsync_at(100, buffer.span());
  EXPECT_EQ(misaligned.status().code(), Errc::invalid_argument) << text(misaligned.status());
}

TEST(WriteQueueFiles, UringQueueRefusesAFileNotOfThePosixEnv) {
  auto queue = testing::make_env_exactly(Backend::uring, true)->make_write_queue(4);
  ASSERT_TRUE(queue.ok()) << text(queue.status());
  MemoryFile memory;
  const std::vector<std::byte> data = testing::pattern(10, 1);
  Status status = (*queue)->submit({&memory, 0, data, false, 1});
  EXPECT_EQ(status.code(), Errc::invalid_argument) << text(status);
  EXPECT_EQ((*queue)->inflight(), 0u);
}

TEST(WriteQueueFiles, ThreadQueueWritesAnyFile) {
  Result<std::unique_ptr<WriteQueue>> queue = make_thread_queue(4);
  ASSERT_TRUE(queue.ok()) << text(queue.status());
  MemoryFile memory;
  const std::vector<std::byte> data = testing::pattern(10, 1);
  ASSERT_TRUE((*queue)->submit({&memory, 3, data, true, 1}).ok());
  std::vector<GroupCompletion> done;
  ASSERT_TRUE((*queue)->reap(&done, true).ok());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].synced);
  std::vector<std::byte> read(10);
  ASSERT_EQ(*memory.read_at(3, read), 10u);
  EXPECT_EQ(read, data);
}

}  // namespace
}  // namespace segstore::io
