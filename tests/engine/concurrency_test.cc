// Many appenders and readers at once (also run under ThreadSanitizer: suite "concurrency").
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"

namespace segstore::testing {
namespace {

// Record payloads carry (writer, sequence) so every record can be checked independently.
std::vector<std::byte> tagged(std::uint32_t writer, std::uint32_t seq) {
  std::vector<std::byte> bytes = payload_for(writer * 1000003ull + seq, 40 + (seq * 13 + writer) % 700);
  std::memcpy(bytes.data(), &writer, 4);
  std::memcpy(bytes.data() + 4, &seq, 4);
  return bytes;
}

void run_concurrent(Durability durability, int writers, int per_writer) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(durability, 64 * 1024));
  std::mutex acked_mu;
  std::map<std::uint64_t, std::pair<std::uint32_t, std::uint32_t>> acked;  // lsn -> (writer, seq)
  std::atomic<bool> writing{true};
  std::atomic<std::uint64_t> reads_checked{0};

  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (int s = 0; s < per_writer; ++s) {
        Result<std::uint64_t> lsn = store->append(tagged(w, s), static_cast<std::uint32_t>(w));
        ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
        if (durability == Durability::sync) {
          ASSERT_GT(store->durable_lsn(), *lsn);
        }
        std::lock_guard lock(acked_mu);
        ASSERT_TRUE(acked.emplace(*lsn, std::make_pair(std::uint32_t(w), std::uint32_t(s))).second)
            << "LSN " << *lsn << " handed out twice";
      }
    });
  }
  // Readers: a tailing scanner and random point reads while appends go on.
  std::thread tail([&] {
    Result<Iterator> it = store->scan(0);
    ASSERT_TRUE(it.ok());
    std::uint64_t expected = 0;
    while (expected < static_cast<std::uint64_t>(writers) * per_writer) {
      Result<bool> more = it->next_wait(std::chrono::milliseconds(100));
      ASSERT_TRUE(more.ok()) << more.status().to_string();
      if (!*more) continue;
      ASSERT_EQ(it->record().lsn, expected) << "tailing iterator skipped or repeated";
      ++expected;
    }
  });
  std::thread reader([&] {
    std::uint64_t x = 12345;
    while (writing.load()) {
      const std::uint64_t next = store->next_lsn();
      if (next == 0) continue;
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      const std::uint64_t lsn = (x >> 33) % next;
      Result<Record> r = store->read(lsn);
      ASSERT_TRUE(r.ok()) << "lsn " << lsn << ": " << r.status().to_string();
      std::uint32_t w, s;
      std::memcpy(&w, r->payload.data(), 4);
      std::memcpy(&s, r->payload.data() + 4, 4);
      ASSERT_EQ(r->payload, tagged(w, s));
      ASSERT_EQ(r->stream, w);
      reads_checked++;
    }
  });
  for (auto &t : threads) t.join();
  writing = false;
  reader.join();
  tail.join();
  ASSERT_TRUE(store->sync().ok());

  ASSERT_EQ(acked.size(), static_cast<std::size_t>(writers) * per_writer);
  EXPECT_EQ(acked.begin()->first, 0u);
  EXPECT_EQ(acked.rbegin()->first, acked.size() - 1) << "LSNs are dense";
  std::map<std::uint32_t, std::uint32_t> next_seq;
  for (const auto &[lsn, ws] : acked) {
    Result<Record> r = store->read(lsn);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->payload, tagged(ws.first, ws.second));
    // One writer's records appear in the order it appended them.
    ASSERT_EQ(next_seq[ws.first]++, ws.second);
  }
}

TEST(Concurrency, SyncAppendersShareFlushesAndEveryAckedRecordReadsBack) {
  run_concurrent(Durability::sync, 8, 150);
}

TEST(Concurrency, NoneModeAppendersWithRollingSegments) { run_concurrent(Durability::none, 4, 2000); }

TEST(Concurrency, IntervalModeAppenders) { run_concurrent(Durability::interval, 4, 500); }

TEST(Concurrency, GroupCommitCoversManyAppendsPerFlush) {
  TempDir dir;
  Options options = small_segments(Durability::sync, 1 << 20);
  options.inflight_groups_max = 1;  // one flush at a time: the others must gather behind it
  auto store = open_or_die(dir.path(), options);
  std::vector<std::thread> threads;
  for (int w = 0; w < 16; ++w)
    threads.emplace_back([&, w] {
      for (int s = 0; s < 50; ++s) ASSERT_TRUE(store->append(tagged(w, s)).ok());
    });
  for (auto &t : threads) t.join();
  const Stats stats = store->stats();
  EXPECT_EQ(stats.appends, 800u);
  EXPECT_LT(stats.flushes, 800u) << "16 waiting threads must share flushes";
  EXPECT_GT(stats.average_group_records, 1.0);
}

// A read racing truncate_after (which zeroes the removed records' bytes) must answer with the
// record, or with lsn_out_of_range once it is gone, or with the record now at that LSN: never
// with corruption because it read bytes being zeroed under it.
TEST(Concurrency, ReadsRacingTruncateNeverSeeCorruption) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 64 * 1024));
  for (std::uint32_t s = 0; s < 200; ++s) ASSERT_TRUE(store->append(tagged(0, s)).ok());
  ASSERT_TRUE(store->sync().ok());
  std::atomic<bool> cutting{true};
  std::atomic<std::uint64_t> reads{0};
  std::thread reader([&] {
    std::uint64_t lsn = 100;
    while (cutting.load()) {
      Result<Record> got = store->read(lsn);
      ASSERT_TRUE(got.ok() || got.status().code() == Errc::lsn_out_of_range) << got.status().to_string();
      reads++;
      lsn = lsn + 7 >= 200 ? 100 + lsn % 7 : lsn + 7;
    }
  });
  for (int round = 0; round < 100; ++round) {
    ASSERT_TRUE(store->truncate_after(99).ok());
    for (std::uint32_t s = 100; s < 200; ++s) ASSERT_TRUE(store->append(tagged(1, s)).ok());
    ASSERT_TRUE(store->sync().ok());
  }
  cutting = false;
  reader.join();
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace segstore::testing
