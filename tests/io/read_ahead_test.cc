// Tests of the read-aheads (io/read_ahead.h): the worker-thread one and the io_uring one return
// a file's bytes for reads submitted together (from several threads at once), short reads at
// the end of the file, and the io_uring one reads what its ring cannot hold on the caller's
// thread. Suite io (the uring_read_ahead's concurrency also runs in the engine's scan tests).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "io/aligned_buffer.h"
#include "io/posix_env.h"
#include "io/read_ahead.h"
#include "io_test_util.h"

namespace segstore::io {
namespace {

using testing::create_flags;
using testing::TempDir;
using testing::text;

constexpr std::size_t block = format::block_size_bytes;
constexpr std::size_t file_blocks = 64;

enum class Kind { threads, uring };

std::unique_ptr<ReadAhead> make(Kind kind, unsigned depth) {
  return kind == Kind::threads ? make_thread_read_ahead(4) : make_uring_read_ahead(depth);
}

class ReadAheadTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<File>> opened = env->open_file(dir.file("data"), create_flags(true));
    ASSERT_TRUE(opened.ok()) << text(opened.status());
    file = std::move(*opened);
    written.reset(file_blocks * block);
    testing::fill_pattern(written.span(), 7);
    ASSERT_TRUE(file->write_at(0, written.span()).ok());
  }

  // Submits reads of `blocks` blocks at each of `offsets` together (one by one, or with one
  // submit_batch), then waits for each and checks its bytes against the file's.
  void read_together(ReadAhead &ahead, const std::vector<std::uint64_t> &offsets, std::size_t blocks,
                     bool as_batch = false) {
    std::vector<AlignedBuffer> buffers;
    std::vector<AheadRead> reads(offsets.size());
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      buffers.emplace_back(blocks * block);
      reads[i].file = file.get();
      reads[i].offset = offsets[i];
      reads[i].out = buffers[i].span().first(blocks * block);
      if (!as_batch) ahead.submit(reads[i]);
    }
    if (as_batch) {
      std::vector<AheadRead *> batch;
      for (AheadRead &read : reads) batch.push_back(&read);
      ahead.submit_batch(batch);
    }
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      ahead.wait(reads[i]);
      ASSERT_TRUE(reads[i].status.ok()) << text(reads[i].status);
      const std::size_t expected = std::min<std::uint64_t>(blocks * block, file_blocks * block - offsets[i]);
      ASSERT_EQ(reads[i].bytes, expected) << "read at " << offsets[i];
      ASSERT_TRUE(std::equal(buffers[i].data(), buffers[i].data() + expected, written.data() + offsets[i]))
          << "read at " << offsets[i] << " returned other bytes";
    }
  }

  TempDir dir;
  std::shared_ptr<Env> env = testing::make_env_exactly(EnvOptions::Backend::uring, true);
  std::unique_ptr<File> file;
  AlignedBuffer written;
};

TEST_P(ReadAheadTest, ReadsSubmittedTogetherReturnTheFilesBytes) {
  std::unique_ptr<ReadAhead> ahead = make(GetParam(), 16);
  ASSERT_NE(ahead, nullptr);
  std::vector<std::uint64_t> offsets;
  for (std::size_t b = 0; b + 2 <= file_blocks; b += 5) offsets.push_back(b * block);
  read_together(*ahead, offsets, 2);
}

// A batch larger than the ring (16 entries): what it cannot hold is read on the caller's thread,
// with the same outcome; reads that end past the file's end are short.
TEST_P(ReadAheadTest, ReadsSubmittedAsOneBatchReturnTheFilesBytes) {
  std::unique_ptr<ReadAhead> ahead = make(GetParam(), 16);
  ASSERT_NE(ahead, nullptr);
  std::vector<std::uint64_t> offsets;
  for (std::size_t b = 0; b < file_blocks; b += 2) offsets.push_back(b * block);
  read_together(*ahead, offsets, 3, true);
  read_together(*ahead, {(file_blocks - 1) * block}, 4, true);
}

TEST_P(ReadAheadTest, ReadPastTheEndOfTheFileIsShort) {
  std::unique_ptr<ReadAhead> ahead = make(GetParam(), 16);
  ASSERT_NE(ahead, nullptr);
  read_together(*ahead, {(file_blocks - 1) * block, (file_blocks - 3) * block}, 4);
}

TEST_P(ReadAheadTest, SeveralThreadsReadAtOnce) {
  std::unique_ptr<ReadAhead> ahead = make(GetParam(), 8);
  ASSERT_NE(ahead, nullptr);
  std::vector<std::thread> readers;
  for (std::uint64_t t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        std::vector<std::uint64_t> offsets;
        for (std::uint64_t i = 0; i < 6; ++i) offsets.push_back(((t * 7 + i * 11 + round) % (file_blocks - 1)) * block);
        read_together(*ahead, offsets, 1, round % 2 == 0);
      }
    });
  }
  for (std::thread &r : readers) r.join();
}

INSTANTIATE_TEST_SUITE_P(Kinds, ReadAheadTest, ::testing::Values(Kind::threads, Kind::uring),
                         [](const auto &info) { return info.param == Kind::threads ? "threads" : "uring"; });

// A ring of 2 entries given 12 reads: the 10 it cannot hold are read on the caller's thread,
// with the same outcome.
TEST(UringReadAhead, ReadsBeyondTheRingAreReadOnTheCallersThread) {
  TempDir dir;
  std::shared_ptr<Env> env = testing::make_env_exactly(EnvOptions::Backend::uring, true);
  Result<std::unique_ptr<File>> file = env->open_file(dir.file("data"), create_flags(true));
  ASSERT_TRUE(file.ok()) << text(file.status());
  AlignedBuffer written(16 * block);
  testing::fill_pattern(written.span(), 3);
  ASSERT_TRUE((*file)->write_at(0, written.span()).ok());
  std::unique_ptr<ReadAhead> ahead = make_uring_read_ahead(2);
  ASSERT_NE(ahead, nullptr);
  std::vector<AlignedBuffer> buffers;
  std::vector<AheadRead> reads(12);
  for (std::size_t i = 0; i < reads.size(); ++i) {
    buffers.emplace_back(block);
    reads[i].file = file->get();
    reads[i].offset = i * block;
    reads[i].out = buffers[i].span();
    ahead->submit(reads[i]);
  }
  for (std::size_t i = 0; i < reads.size(); ++i) {
    ahead->wait(reads[i]);
    ASSERT_TRUE(reads[i].status.ok()) << text(reads[i].status);
    ASSERT_EQ(reads[i].bytes, block);
    ASSERT_TRUE(std::equal(buffers[i].data(), buffers[i].data() + block, written.data() + i * block)) << "read " << i;
  }
}

}  // namespace
}  // namespace segstore::io
