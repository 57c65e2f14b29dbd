// Group commit's waiting scheme under many threads (also run under ThreadSanitizer: suite
// "concurrency"): waiters are woken one by one as their records become durable, a leader and
// the reaper thread share the work, and every way a wait can end reaches every waiter.
#include <atomic>
#include <condition_variable>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
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

// close() while appenders roll segments in none mode. Two bugs this caught: records appended
// while close() waited for its final sync were left behind, yet counted in CLEAN's next LSN (the
// next open reported them lost and refused writes); and the maintenance thread, which makes a
// rolled segment durable before sealing it, retried that wait for ever with the store's mutex
// held once close() refused it, so close() never returned. Every append that succeeded must
// read back after a reopen, and the reopened store must take appends.
TEST(GroupCommit, CloseWhileAppendersRollSegmentsReturnsAndKeepsEveryAppendedRecord) {
  constexpr int rounds = 40;
  constexpr int appenders = 4;
  for (int round = 0; round < rounds; ++round) {
    TempDir dir;
    const Options options = small_segments(Durability::none, 64 * 1024);
    auto store = open_or_die(dir.path(), options);
    std::atomic<std::uint64_t> appended{0};
    std::atomic<std::uint64_t> acked_end{0};  // one past the highest LSN an append returned
    std::mutex mu;
    std::condition_variable grew;
    std::vector<std::thread> threads;
    for (std::uint32_t w = 0; w < appenders; ++w)
      threads.emplace_back([&, w] {
        for (std::uint32_t s = 0;; ++s) {
          std::vector<std::byte> bytes = tagged(w, s);
          bytes.resize(1024);
          Result<std::uint64_t> lsn = store->append(bytes, w);
          if (!lsn.ok()) {
            EXPECT_EQ(lsn.status().code(), Errc::store_closed) << lsn.status().to_string();
            return;
          }
          std::uint64_t seen = acked_end.load();
          while (seen < *lsn + 1 && !acked_end.compare_exchange_weak(seen, *lsn + 1)) {
          }
          if (appended.fetch_add(1) % 64 == 0) grew.notify_all();
        }
      });
    {
      std::unique_lock lock(mu);
      grew.wait(lock, [&] { return appended.load() >= 200 + 37 * static_cast<std::uint64_t>(round); });
    }
    std::future<Status> closed = std::async(std::launch::async, [&] { return store->close(); });
    if (closed.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "round " << round << ": close() did not return within 60 s while appenders rolled segments";
      std::fflush(nullptr);
      std::_Exit(1);  // the store's threads cannot be joined: end the test binary here
    }
    EXPECT_TRUE(closed.get().ok());
    for (auto &t : threads) t.join();
    store.reset();
    auto reopened = open_or_die(dir.path(), options);
    ASSERT_GE(reopened->next_lsn(), acked_end.load()) << "round " << round;
    for (std::uint64_t lsn = reopened->first_lsn(); lsn < acked_end.load(); ++lsn) {
      Result<Record> got = reopened->read(lsn);
      ASSERT_TRUE(got.ok()) << "round " << round << ": LSN " << lsn << ": " << got.status().to_string();
    }
    const Result<std::uint64_t> after = reopened->append(tagged(99, 0), 0);
    ASSERT_TRUE(after.ok()) << "round " << round << ": " << after.status().to_string();
  }
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

// After a sync released many waiters, the next group waits for them to come back (the gather
// window, engine/gather_window.h). Here only one comes back: its group must still be cut when
// the window's time has passed (the reaper thread's timed wait), or that append would wait for
// ever. Windows open only where a sync time is known and more threads were released than
// groups may be in flight, and a window nobody filled skips the next few: many rounds, so that
// some lone appends fall inside a window. Every acknowledged record is durable at the end.
TEST(GroupCommit, AnAppenderAloneInAGatherWindowIsCutWhenTheWindowEnds) {
  constexpr int rounds = 60;
  constexpr std::uint32_t group_threads = 8;
  TempDir dir;
  const Options options = small_segments(Durability::sync, 1024 * 1024);
  auto store = open_or_die(dir.path(), options);
  Ledger ledger;
  for (int round = 0; round < rounds; ++round) {
    // The round runs beside a watchdog: an append left waiting fails the test, not the suite's timeout.
    std::future<void> ran = std::async(std::launch::async, [&] {
      std::vector<std::thread> threads;
      for (std::uint32_t w = 0; w < group_threads; ++w)
        threads.emplace_back([&, w] {
          std::vector<std::byte> bytes = tagged(w, static_cast<std::uint32_t>(round));
          Result<std::uint64_t> lsn = store->append(bytes, w, Durability::sync);
          ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
          ledger.ack(*lsn, std::move(bytes));
        });
      for (auto &t : threads) t.join();
      // Released together; only this one appends again.
      std::vector<std::byte> bytes = tagged(group_threads, static_cast<std::uint32_t>(round));
      Result<std::uint64_t> lsn = store->append(bytes, group_threads, Durability::sync);
      ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
      ASSERT_LT(*lsn, store->durable_lsn()) << "acknowledged before durable";
      ledger.ack(*lsn, std::move(bytes));
    });
    if (ran.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "round " << round << ": a sync append did not return within 60 s";
      std::fflush(nullptr);
      std::_Exit(1);  // the store's threads cannot be joined: end the test binary here
    }
    ran.get();
  }
  EXPECT_EQ(store->durable_lsn(), store->next_lsn());
  store.reset();
  expect_acked_readable(dir.path(), options, ledger);
}

// close() makes every record durable before it returns; when that last sync fails, close()
// says so with the failure (read_only), not with the store_closed its own closing would give a
// racing append: the caller must learn its records are not durable. (Found by the crash
// simulation: "close() failed: store_closed: ... is closing".)
TEST(GroupCommit, FailedSyncInsideCloseIsReportedAsTheFailure) {
  SimStore sim(Durability::none, /*flush_interval_ms=*/0);
  auto store = sim.open();
  ASSERT_TRUE(store->append(tagged(0, 0), 0, Durability::sync).ok());  // the first segment exists
  sim.fail_next_segment_sync();
  for (std::uint32_t s = 1; s <= 5; ++s) ASSERT_TRUE(store->append(tagged(0, s), 0).ok());
  ASSERT_LT(store->durable_lsn(), store->next_lsn()) << "nothing left for close() to sync";
  const Status closed = store->close();
  EXPECT_EQ(closed.code(), Errc::read_only) << closed.to_string();
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

// Threads that append and exit at once, leaving the groups they cut in flight: the I/O of a
// group must not depend on the thread that submitted it (io_uring issues a linked sync, or a
// write it had to defer, on behalf of the submitting thread, and fails it once that thread has
// exited). Every record must be readable and durable after the main thread's sync().
void short_lived_appenders(Durability durability) {
  TempDir dir;
  Options options = small_segments(durability, 1 << 20);
  options.io_backend = IoBackendKind::uring;
  Result<std::unique_ptr<Store>> opened = Store::open(dir.path(), options);
  if (!opened.ok() && opened.status().code() != Errc::invalid_argument) GTEST_SKIP() << "no io_uring here: " << opened.status().to_string();
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<Store> store = std::move(*opened);
  std::map<std::uint64_t, std::vector<std::byte>> appended;
  std::mutex mu;
  constexpr int rounds = 40;
  constexpr int threads_per_round = 4;
  constexpr std::uint32_t records_per_thread = 48;  // ~1.5 groups of 64 KiB each
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_per_round; ++t) {
      const auto w = static_cast<std::uint32_t>(round * threads_per_round + t);
      threads.emplace_back([&, w] {
        for (std::uint32_t s = 0; s < records_per_thread; ++s) {
          std::vector<std::byte> bytes = tagged(w, s);
          bytes.resize(2048);
          Result<std::uint64_t> lsn = s + 1 == records_per_thread && w % 2 == 0 ? store->append(bytes, 0, Durability::sync)
                                                                                  : store->append_async(bytes, 0);
          ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
          std::lock_guard lock(mu);
          appended.emplace(*lsn, std::move(bytes));
        }
      });
    }
    for (auto &t : threads) t.join();  // the threads are gone; their groups may still be in flight
    ASSERT_TRUE(store->sync().ok()) << "round " << round;
  }
  for (const auto &[lsn, payload] : appended) {
    Result<Record> got = store->read(lsn);
    ASSERT_TRUE(got.ok()) << "LSN " << lsn << ": " << got.status().to_string();
    ASSERT_EQ(got->payload, payload) << "LSN " << lsn;
  }
}

// In sync mode a full group cut by append_async goes out durable on its own (one dsync write, the
// sim's default): pipelined appends keep several durable writes in flight without a waiter. The
// first full group becomes durable although nobody waits (wait_until_durable starts no flush), and
// the open group, which nobody cut, does not.
TEST(GroupCommit, FullGroupsOfAsyncAppendsBecomeDurableWithoutAWaiterInSyncMode) {
  SimStore sim(Durability::sync);  // write groups of 16 KiB: 11 records of 1 KiB each
  auto store = sim.open();
  ASSERT_TRUE(store->append(tagged(0, 0), 0).ok());  // the first segment exists, its header durable
  constexpr std::uint32_t records = 40;              // three full groups cut by the appends, a fourth open
  std::vector<std::uint64_t> lsns;
  for (std::uint32_t s = 1; s <= records; ++s) {
    std::vector<std::byte> bytes = tagged(1, s);
    bytes.resize(1024);
    Result<std::uint64_t> lsn = store->append_async(bytes, 0);
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    lsns.push_back(*lsn);
  }
  const Status durable = store->wait_until_durable(lsns.front(), std::chrono::seconds(20));
  ASSERT_TRUE(durable.ok()) << "the first full group of async appends never became durable by itself: "
                            << durable.to_string();
  EXPECT_LE(store->durable_lsn(), lsns.back()) << "the open group was made durable although nobody waited";
  const Stats stats = store->stats();
  EXPECT_GE(stats.flushes, 4u) << "the first append's group and three full groups, each with its own sync";
}

// In sync mode a full group cut by append_async goes out durable (one dsync write) when the
// queue writes so, and is otherwise written without a sync and made durable by the next data
// sync. A fault on the second such group, in its write or in that sync: the records
// acknowledged durable are a prefix ending before that group (none of it or after it is), they
// read back intact, and the store turns read-only. Whether the first group's records are among
// them depends on whether a sync covered them before the fault (the appends do not wait).
void fail_second_async_group(SimOp op, SimFault fault) {
  SimStore sim(Durability::sync);  // write groups of 16 KiB: 11 records of 1 KiB each
  auto store = sim.open();
  ASSERT_TRUE(store->append(tagged(0, 0), 0).ok());  // the first segment exists, its header durable
  sim.fail_segment_op(op, 2, fault);
  constexpr std::uint32_t records = 40;  // three full groups cut by the appends, a fourth open
  std::vector<std::uint64_t> lsns;
  std::vector<std::vector<std::byte>> payloads;
  for (std::uint32_t s = 1; s <= records; ++s) {
    std::vector<std::byte> bytes = tagged(1, s);
    bytes.resize(1024);
    Result<std::uint64_t> lsn = store->append_async(bytes, 0);
    if (!lsn.ok()) {  // the failure may already have turned the store read-only
      EXPECT_EQ(lsn.status().code(), Errc::read_only) << lsn.status().to_string();
      break;
    }
    lsns.push_back(*lsn);
    payloads.push_back(std::move(bytes));
  }
  std::size_t acknowledged = 0;
  for (std::size_t i = 0; i < lsns.size(); ++i) {
    const Status waited = store->wait_durable(lsns[i]);
    if (waited.ok()) {
      EXPECT_EQ(acknowledged, i) << "LSN " << lsns[i] << " durable after a failed one";
      ++acknowledged;
      continue;
    }
    EXPECT_EQ(waited.code(), Errc::read_only) << "LSN " << lsns[i] << ": " << waited.to_string();
  }
  // At most the first group's records were acknowledged: the fault hit the second.
  EXPECT_LT(acknowledged, lsns.size());
  EXPECT_EQ(store->durable_lsn(), lsns.front() + acknowledged);
  EXPECT_EQ(store->sync().code(), Errc::read_only);
  EXPECT_EQ(store->append(tagged(2, 0), 0).status().code(), Errc::read_only);
  for (std::size_t i = 0; i < acknowledged; ++i) {
    Result<Record> got = store->read(lsns[i]);
    ASSERT_TRUE(got.ok()) << "LSN " << lsns[i] << ": " << got.status().to_string();
    EXPECT_EQ(got->payload, payloads[i]) << "LSN " << lsns[i];
  }
}

TEST(GroupCommit, FailedWriteOfAnAsyncGroupFailsItsWaitsAndLaterOnes) {
  fail_second_async_group(SimOp::write, SimFault::write_eio);
}
TEST(GroupCommit, FailedSyncOfAnAsyncGroupFailsItsWaitsAndLaterOnes) {
  fail_second_async_group(SimOp::sync, SimFault::sync_eio);
}

TEST(GroupCommit, GroupsOfExitedThreadsCompleteInSyncMode) { short_lived_appenders(Durability::sync); }
TEST(GroupCommit, GroupsOfExitedThreadsCompleteInNoneMode) { short_lived_appenders(Durability::none); }

}  // namespace
}  // namespace segstore::testing
