// Group commit's waiting scheme under many threads (also run under ThreadSanitizer: suite
// "concurrency"): waiters are woken one by one as their records become durable, a leader and
// the reaper thread share the work, and every way a wait can end reaches every waiter.
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/sim_store.h"
#include "engine/store_fixture.h"

namespace segstore::testing {
namespace {

constexpr int writers = 24;
constexpr int appends_per_writer = 60;

std::vector<std::byte> tagged(std::uint32_t writer, std::uint32_t seq) {
  std::vector<std::byte> bytes = payload_for(writer * 1000003ull + seq, 16 + (seq * 29 + writer) % 900);
  std::memcpy(bytes.data(), &writer, 4);
  std::memcpy(bytes.data() + 4, &seq, 4);
  return bytes;
}

struct Ledger {
  std::mutex mu;
  std::condition_variable grew;
  std::map<std::uint64_t, std::vector<std::byte>> acked;  // acknowledged durable: lsn -> payload
  void ack(std::uint64_t lsn, std::vector<std::byte> payload) {
    std::lock_guard lock(mu);
    EXPECT_TRUE(acked.emplace(lsn, std::move(payload)).second) << "LSN " << lsn << " acknowledged twice";
    grew.notify_all();
  }
};

// One writer: sync appends, async appends with wait_durable, none appends acknowledged by a
// later sync(). Stops at the first refusal, which must be store_closed (close() ran).
void write_mixed(Store &store, std::uint32_t w, Ledger &ledger) {
  std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> unsynced;
  for (std::uint32_t s = 0; s < appends_per_writer; ++s) {
    std::vector<std::byte> bytes = tagged(w, s);
    const std::uint32_t how = (s + w) % 3;
    Result<std::uint64_t> lsn = how == 0   ? store.append(bytes, w, Durability::sync)
                                : how == 1 ? store.append_async(bytes, w)
                                           : store.append(bytes, w, Durability::none);
    Status durable = lsn.status();
    if (lsn.ok() && how == 1) durable = store.wait_durable(*lsn);
    if (lsn.ok() && how == 2) {
      unsynced.emplace_back(*lsn, bytes);
      if (s % 4 != 0) continue;
      durable = store.sync();
      if (durable.ok())
        for (auto &[l, b] : unsynced) ledger.ack(l, std::move(b));
      unsynced.clear();
      if (durable.ok()) continue;
    }
    if (!durable.ok()) {
      EXPECT_EQ(durable.code(), Errc::store_closed) << durable.to_string();
      return;
    }
    if (how != 2) {
      EXPECT_GT(store.durable_lsn(), *lsn) << "acknowledged before durable_lsn passed it";
      ledger.ack(*lsn, std::move(bytes));
    }
  }
  const Status synced = store.sync();
  if (!synced.ok()) {
    EXPECT_EQ(synced.code(), Errc::store_closed) << synced.to_string();
    return;
  }
  for (auto &[l, b] : unsynced) ledger.ack(l, std::move(b));
}

// Every acknowledged record reads back after a reopen.
void expect_acked_readable(const std::string &dir, const Options &options, const Ledger &ledger) {
  auto store = open_or_die(dir, options);
  for (const auto &[lsn, payload] : ledger.acked) {
    Result<Record> got = store->read(lsn);
    ASSERT_TRUE(got.ok()) << "acknowledged LSN " << lsn << ": " << got.status().to_string();
    EXPECT_EQ(got->payload, payload) << "LSN " << lsn;
  }
}

TEST(GroupCommit, ManyWaitersWithSyncWaitDurableAndCloseAcknowledgeOnlyDurableRecords) {
  TempDir dir;
  const Options options = small_segments(Durability::sync, 256 * 1024);
  auto store = open_or_die(dir.path(), options);
  Ledger ledger;
  std::vector<std::thread> threads;
  for (std::uint32_t w = 0; w < writers; ++w) threads.emplace_back([&, w] { write_mixed(*store, w, ledger); });
  // close() while the writers are in full flight: every wait ends, records it made durable
  // stay acknowledged, later ones are refused with store_closed.
  {
    std::unique_lock lock(ledger.mu);
    ledger.grew.wait(lock, [&] { return ledger.acked.size() >= writers * appends_per_writer / 3; });
  }
  EXPECT_TRUE(store->close().ok());
  for (auto &t : threads) t.join();
  EXPECT_GE(ledger.acked.size(), static_cast<std::size_t>(writers * appends_per_writer / 3));
  store.reset();
  expect_acked_readable(dir.path(), options, ledger);
}

TEST(GroupCommit, ManyWaitersWithoutCloseAllBecomeDurable) {
  TempDir dir;
  const Options options = small_segments(Durability::sync, 256 * 1024);
  auto store = open_or_die(dir.path(), options);
  Ledger ledger;
  std::vector<std::thread> threads;
  for (std::uint32_t w = 0; w < writers; ++w) threads.emplace_back([&, w] { write_mixed(*store, w, ledger); });
  for (auto &t : threads) t.join();
  // Every writer ends with a sync(): all records were acknowledged.
  EXPECT_EQ(store->durable_lsn(), store->next_lsn());
  const Stats stats = store->stats();
  EXPECT_LT(stats.flushes, stats.appends) << "waiting threads must share data syncs";
  store.reset();
  expect_acked_readable(dir.path(), options, ledger);
}

// A failed data sync ends every wait with the failure: no waiter sleeps on, none is told its
// record is durable.
TEST(GroupCommit, FailedSyncWakesEveryWaiterWithTheError) {
  SimStore sim(Durability::sync);
  auto store = sim.open();
  ASSERT_TRUE(store->append(tagged(0, 0), 0).ok());
  const std::uint64_t durable_before = store->durable_lsn();
  sim.fail_next_segment_sync();
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (std::uint32_t w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      for (std::uint32_t s = 1; s < 1000; ++s) {
        Result<std::uint64_t> lsn = (s % 2 == 0) ? store->append(tagged(w, s), w) : store->append_async(tagged(w, s), w);
        Status status = lsn.status();
        if (lsn.ok() && s % 2 == 1) status = store->wait_durable(*lsn);
        if (status.ok()) continue;
        EXPECT_TRUE(status.code() == Errc::read_only || status.code() == Errc::io_error) << status.to_string();
        failed++;
        return;
      }
      ADD_FAILURE() << "writer " << w << " never saw the failed sync";
    });
  for (auto &t : threads) t.join();
  EXPECT_EQ(failed.load(), writers);
  // The failed group and everything after it never became durable.
  EXPECT_EQ(store->durable_lsn(), durable_before);
  EXPECT_EQ(store->sync().code(), Errc::read_only);
}

}  // namespace
}  // namespace segstore::testing
