// Waiting at the tail: Iterator::next_wait() ended by cancel(), by close(), by a failed store;
// Store::wait_for_lsn() and wait_until_durable() reporting why they did not succeed.
//
// No test sleeps or measures time. A wait that should end early is given a timeout far longer
// than the test (wait_long): if it ended by timing out instead, it returns false or timed_out
// and the test fails on that value, not on a clock.
#include <gtest/gtest.h>

#include <thread>

#include "engine/sim_store.h"
#include "engine/store_fixture.h"

namespace segstore::testing {
namespace {

constexpr std::chrono::milliseconds wait_long{120'000};

// Starts `it` waiting on another thread, makes the store's next data sync fail (sync() must
// report it), and returns how the wait ended.
Status wait_through_a_failed_sync(SimStore &sim, Store &store, Iterator &it) {
  sim.fail_next_segment_sync();
  Status waited;
  std::thread waiter([&] { waited = it.next_wait(wait_long).status(); });
  EXPECT_FALSE(store.sync().ok());
  waiter.join();
  return waited;
}

TEST(TailWait, CancelFromAnotherThreadEndsTheWaitWithCancelled) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  Result<Iterator> it = store->scan(0);
  SEGSTORE_ASSERT_OK(it);
  IteratorCanceller canceller = it->canceller();
  Status waited;
  // Whether cancel() comes while the waiter sleeps or just before it begins to, the wait ends.
  std::thread waiter([&] { waited = it->next_wait(wait_long).status(); });
  canceller.cancel();
  waiter.join();
  EXPECT_EQ(waited.code(), Errc::cancelled) << waited.to_string();
}

TEST(TailWait, ACancelIsConsumedByTheWaitItEnds) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  Result<Iterator> it = store->scan(0);
  SEGSTORE_ASSERT_OK(it);
  it->cancel();
  EXPECT_EQ(it->next_wait(wait_long).status().code(), Errc::cancelled);
  // The request is gone: the next wait times out as usual, and records still come.
  Result<bool> idle = it->next_wait(std::chrono::milliseconds(0));
  SEGSTORE_ASSERT_OK(idle);
  EXPECT_FALSE(*idle);
  ASSERT_TRUE(store->append(as_bytes("after")).ok());
  Result<bool> got = it->next_wait(wait_long);
  SEGSTORE_ASSERT_OK(got);
  ASSERT_TRUE(*got);
  EXPECT_EQ(as_string(it->record().payload), "after");
}

TEST(TailWait, ACancelBeforeRecordsArriveDoesNotHideThem) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  ASSERT_TRUE(store->append(as_bytes("there")).ok());
  Result<Iterator> it = store->scan(0);
  SEGSTORE_ASSERT_OK(it);
  it->cancel();
  // A record is there: next_wait returns it without waiting; the request ends the next wait.
  Result<bool> got = it->next_wait(wait_long);
  SEGSTORE_ASSERT_OK(got);
  ASSERT_TRUE(*got);
  EXPECT_EQ(as_string(it->record().payload), "there");
  EXPECT_EQ(it->next_wait(wait_long).status().code(), Errc::cancelled);
}

TEST(TailWait, ACancellerMayOutliveItsIteratorAndStore) {
  std::optional<IteratorCanceller> canceller;
  {
    TempDir dir;
    auto store = open_or_die(dir.path(), small_segments(Durability::none));
    Result<Iterator> it = store->scan(0);
    SEGSTORE_ASSERT_OK(it);
    canceller = it->canceller();
  }
  canceller->cancel();  // nothing to wake; must neither crash nor touch freed memory (ASan)
}

TEST(TailWait, CloseEndsAWaitWithStoreClosed) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  Result<Iterator> it = store->scan(0);
  SEGSTORE_ASSERT_OK(it);
  Status waited;
  std::thread waiter([&] { waited = it->next_wait(wait_long).status(); });
  SEGSTORE_ASSERT_OK(store->close());
  waiter.join();
  EXPECT_EQ(waited.code(), Errc::store_closed) << waited.to_string();
}

// The store fails (a data sync error) while an iterator waits for the next record: the wait
// ends with read_only at once, since no record can be appended any more.
TEST(TailWait, AFailedSyncEndsAWaitForAppendsWithReadOnly) {
  SimStore sim(Durability::none);
  auto store = sim.open();
  ASSERT_TRUE(store->append(as_bytes("a"), 0, Durability::sync).ok());
  ASSERT_TRUE(store->append(as_bytes("b")).ok());  // not durable yet
  Result<Iterator> it = store->scan(store->next_lsn());
  SEGSTORE_ASSERT_OK(it);
  const Status waited = wait_through_a_failed_sync(sim, *store, *it);
  EXPECT_EQ(waited.code(), Errc::read_only) << waited.to_string();
}

// The same for a durable_only iterator waiting for "b" to become durable: it never will.
TEST(TailWait, AFailedSyncEndsAWaitForDurabilityWithReadOnly) {
  SimStore sim(Durability::none);
  auto store = sim.open();
  ASSERT_TRUE(store->append(as_bytes("a"), 0, Durability::sync).ok());
  Result<std::uint64_t> b = store->append(as_bytes("b"));
  ASSERT_TRUE(b.ok());
  ScanOptions durable;
  durable.durable_only = true;
  Result<Iterator> it = store->scan(*b, durable);
  SEGSTORE_ASSERT_OK(it);
  const Status waited = wait_through_a_failed_sync(sim, *store, *it);
  EXPECT_EQ(waited.code(), Errc::read_only) << waited.to_string();
}

TEST(TailWait, WaitForLsnTimesOutWithTimedOut) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  EXPECT_EQ(store->wait_for_lsn(store->next_lsn(), std::chrono::milliseconds(0)).code(), Errc::timed_out);
  ASSERT_TRUE(store->append(as_bytes("x")).ok());
  SEGSTORE_ASSERT_OK(store->wait_for_lsn(0, std::chrono::milliseconds(0)));
}

TEST(TailWait, WaitForLsnOfAClosedStoreIsStoreClosed) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  SEGSTORE_ASSERT_OK(store->close());
  EXPECT_EQ(store->wait_for_lsn(0, wait_long).code(), Errc::store_closed);
  EXPECT_EQ(store->wait_until_durable(0, wait_long).code(), Errc::store_closed);
}

// Interval mode: the background flush fails. wait_until_durable says so at once (read_only),
// where a timeout alone could not tell a slow flush from one that will never come.
TEST(TailWait, WaitUntilDurableReportsAFailedBackgroundFlush) {
  SimStore sim(Durability::interval, 1);
  auto store = sim.open();
  Result<std::uint64_t> a = store->append(as_bytes("a"));
  ASSERT_TRUE(a.ok());
  SEGSTORE_ASSERT_OK(store->wait_until_durable(*a, wait_long));
  sim.fail_next_segment_sync();
  Result<std::uint64_t> b = store->append(as_bytes("b"));
  ASSERT_TRUE(b.ok());
  Status durable = store->wait_until_durable(*b, wait_long);
  EXPECT_EQ(durable.code(), Errc::read_only) << durable.to_string();
  EXPECT_LE(store->durable_lsn(), *b);
}

}  // namespace
}  // namespace segstore::testing
