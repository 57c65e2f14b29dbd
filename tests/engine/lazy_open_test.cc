// tests/engine/lazy_open_test.cc — sealed segments that recovery trusted without opening them
// after a clean close (engine/segment_open.cc): the header of such a segment is checked before
// its first record is returned, a bad one fails every read that needs the segment (naming the
// file, the offset and the cause) and nothing else, and a store of many segments opens and
// reads under a low descriptor limit.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"
#include "format/layout.h"
#include "format/store_dir.h"

namespace segstore::testing {
namespace {

constexpr std::uint64_t records_written = 600;  // about 6 segments of 64 KiB
constexpr std::size_t payload_bytes = 500;

std::string segment_path(const TempDir &dir, std::uint64_t id) {
  return dir.sub(format::numbered_name(id, format::segment_suffix));
}

// A cleanly closed store of several sealed segments; returns the first LSN of each segment.
std::vector<std::uint64_t> write_closed_store(const TempDir &dir, const Options &options, std::uint64_t records,
                                              std::size_t payload) {
  auto store = open_or_die(dir.path(), options);
  for (std::uint64_t i = 0; i < records; ++i) EXPECT_TRUE(store->append(payload_for(i, payload)).ok());
  const Status closed = store->close();
  EXPECT_TRUE(closed.ok()) << closed.to_string();
  // The base LSN of each segment, from its header (bytes 24..31, format/segment_header.h); a
  // preallocated segment (block 0 all zero) ends the list.
  std::vector<std::uint64_t> bases;
  for (std::uint64_t id = 1;; ++id) {
    std::ifstream in(segment_path(dir, id), std::ios::binary);
    unsigned char header[32] = {};
    if (!in.read(reinterpret_cast<char *>(header), sizeof header) || header[0] == 0) break;
    std::uint64_t base = 0;
    for (int b = 31; b >= 24; --b) base = (base << 8) | header[b];
    bases.push_back(base);
  }
  return bases;
}

TEST(LazyOpen, BadHeaderOfAnUnopenedSealedSegmentFailsItsReadsOnly) {
  TempDir dir;
  const Options options = small_segments(Durability::none);
  const std::vector<std::uint64_t> bases = write_closed_store(dir, options, records_written, payload_bytes);
  ASSERT_GE(bases.size(), 4u);
  ASSERT_EQ(bases[0], 0u);
  // Segment 2's header CRC no longer matches (byte 40: inside the checksummed header).
  flip_byte(segment_path(dir, 2), 40);
  auto store = open_or_die(dir.path(), options);
  EXPECT_FALSE(store->recovery_report().cut) << "the open does not read segment 2";

  Result<Record> bad = store->read(bases[1]);
  ASSERT_FALSE(bad.ok()) << "a record of segment 2 was returned without its header checked";
  EXPECT_EQ(bad.status().code(), Errc::corruption);
  const std::string message = bad.status().to_string();
  EXPECT_NE(message.find(segment_path(dir, 2)), std::string::npos) << message;
  EXPECT_NE(message.find("at offset 0"), std::string::npos) << message;
  // Asked again, the same answer: a failed check is not remembered as passed.
  Result<Record> again = store->read(bases[1] + 1);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Errc::corruption);

  // A scan returns segment 1's records, then fails before any record of segment 2.
  Result<Iterator> it = store->scan(0);
  ASSERT_TRUE(it.ok()) << it.status().to_string();
  std::uint64_t seen = 0;
  Result<bool> more = it->next();
  while (more.ok() && *more) {
    EXPECT_LT(it->record().lsn, bases[1]);
    ++seen;
    more = it->next();
  }
  EXPECT_FALSE(more.ok()) << "the scan ended without reporting segment 2";
  EXPECT_EQ(seen, bases[1]);

  // The rest of the store is unaffected and writable.
  for (std::uint64_t lsn : {bases[0], bases[2], bases[3]}) {
    Result<Record> got = store->read(lsn);
    ASSERT_TRUE(got.ok()) << "lsn " << lsn << ": " << got.status().to_string();
    EXPECT_EQ(got->payload, payload_for(lsn, payload_bytes));
  }
  EXPECT_TRUE(store->append(payload_for(records_written, payload_bytes)).ok());
}

TEST(LazyOpen, HeaderOfAnotherSegmentUnderTheNameIsCaught) {
  TempDir dir;
  const Options options = small_segments(Durability::none);
  const std::vector<std::uint64_t> bases = write_closed_store(dir, options, records_written, payload_bytes);
  ASSERT_GE(bases.size(), 4u);
  // Segment 3's bytes under segment 2's name: a valid header of the wrong segment.
  std::filesystem::copy_file(segment_path(dir, 3), segment_path(dir, 2), std::filesystem::copy_options::overwrite_existing);
  auto store = open_or_die(dir.path(), options);
  Result<Record> bad = store->read(bases[1]);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Errc::corruption);
  EXPECT_NE(bad.status().to_string().find("its header says segment 3"), std::string::npos) << bad.status().to_string();
}

// The child: under a limit of `nofile` descriptors, opens the store and reads the first record
// of every segment (each segment's file is opened and checked). Exit code 0 when all is well.
[[noreturn]] void open_and_read_limited(const std::string &dir, const Options &options,
                                        const std::vector<std::uint64_t> &bases, rlim_t nofile) {
  const rlimit limit{nofile, nofile};
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(2);
  Result<std::unique_ptr<Store>> store = Store::open(dir, options);
  if (!store.ok()) ::_exit(3);
  for (std::uint64_t base : bases) {
    Result<Record> got = (*store)->read(base);
    if (!got.ok() || got->payload != payload_for(base, 1000)) ::_exit(4);
  }
  if (!(*store)->close().ok()) ::_exit(5);
  ::_exit(0);
}

TEST(LazyOpen, ManySegmentsOpenAndReadUnderALowDescriptorLimit) {
  TempDir dir;
  const Options options = small_segments(Durability::none, format::segment_size_min_bytes);
  // 16 KiB segments hold 11 records of 1,000 bytes after their header block.
  const std::vector<std::uint64_t> bases = write_closed_store(dir, options, 300 * 12, 1000);
  ASSERT_GE(bases.size(), 300u);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) open_and_read_limited(dir.path(), options, bases, 64);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died: status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: setrlimit, 3: open, 4: read, 5: close failed";
}

}  // namespace
}  // namespace segstore::testing
