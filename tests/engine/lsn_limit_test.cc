// tests/engine/lsn_limit_test.cc — the LSN limit (format/layout.h, next_lsn_max = 2^64 - 1):
// appends take LSNs up to 2^64 - 2, then the log is full and says so with log_full, across a
// reopen too; a batch that does not fit is refused whole.
#include <gtest/gtest.h>

#include "engine/store_fixture.h"
#include "format/layout.h"

namespace segstore::testing {
namespace {

using format::next_lsn_max;

TEST(LsnLimit, AppendsUpToTheLimitThenTheLogIsFull) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  SEGSTORE_ASSERT_OK(store->reset_to(next_lsn_max - 2));
  Result<std::uint64_t> first = store->append(as_bytes("first"));
  SEGSTORE_ASSERT_OK(first);
  EXPECT_EQ(*first, next_lsn_max - 2);
  Result<std::uint64_t> last = store->append(as_bytes("last"));
  SEGSTORE_ASSERT_OK(last);
  EXPECT_EQ(*last, next_lsn_max - 1);
  EXPECT_EQ(store->next_lsn(), next_lsn_max);

  Result<std::uint64_t> refused = store->append(as_bytes("one too many"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Errc::log_full) << refused.status().to_string();
  EXPECT_NE(refused.status().message().find("passes the LSN limit"), std::string::npos) << refused.status().message();
  EXPECT_EQ(store->next_lsn(), next_lsn_max);
  Result<Record> read = store->read(next_lsn_max - 1);
  SEGSTORE_ASSERT_OK(read);
  EXPECT_EQ(as_string(read->payload), "last");
}

TEST(LsnLimit, BatchThatDoesNotFitIsRefusedWhole) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync));
  SEGSTORE_ASSERT_OK(store->reset_to(next_lsn_max - 1));
  const std::vector<std::byte> a = payload_for(1, 10), b = payload_for(2, 10);
  const std::vector<BatchEntry> batch{{1, a}, {1, b}};
  Result<std::uint64_t> refused = store->append_batch(batch);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Errc::log_full) << refused.status().to_string();
  EXPECT_EQ(store->next_lsn(), next_lsn_max - 1);
  Result<std::uint64_t> one = store->append(a);  // the last LSN still takes a single record
  SEGSTORE_ASSERT_OK(one);
  EXPECT_EQ(*one, next_lsn_max - 1);
}

TEST(LsnLimit, FullLogStaysFullAfterReopen) {
  TempDir dir;
  {
    auto store = open_or_die(dir.path(), small_segments(Durability::sync));
    SEGSTORE_ASSERT_OK(store->reset_to(next_lsn_max - 1));
    SEGSTORE_ASSERT_OK(store->append(as_bytes("at the limit")));
    SEGSTORE_ASSERT_OK(store->close());
  }
  for (const bool verify : {false, true}) {
    Options options = small_segments(Durability::sync);
    options.verify_on_open = verify;  // through the CLEAN marker, then through a scan
    auto store = open_or_die(dir.path(), options);
    EXPECT_EQ(store->next_lsn(), next_lsn_max) << verify;
    Result<Record> read = store->read(next_lsn_max - 1);
    SEGSTORE_ASSERT_OK(read);
    EXPECT_EQ(as_string(read->payload), "at the limit");
    Result<std::uint64_t> refused = store->append(as_bytes("x"));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), Errc::log_full) << refused.status().to_string();
    SEGSTORE_ASSERT_OK(store->close());
  }
}

}  // namespace
}  // namespace segstore::testing
