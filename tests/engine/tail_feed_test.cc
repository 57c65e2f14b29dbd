// Tailing iterators served from the tail feed (engine/tail_feed.h): the newest groups' bytes
// kept in memory while an iterator follows the head. They see every record once and in order,
// read nothing from the device while at the head, never a record truncate_after, reset_to or a
// trim removed, and a durable_only one never a record that is not durable (these start threads:
// also run under ThreadSanitizer, suite "concurrency").
#include <atomic>
#include <cstring>
#include <optional>
#include <thread>

#include <algorithm>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"
#include "engine/tail_feed.h"
#include "io/aligned_buffer.h"
#include "format/record.h"

namespace segstore::testing {
namespace {

constexpr std::chrono::milliseconds no_wait{0};
constexpr std::chrono::milliseconds wait_slice{20};

// A record's payload names its round (the truncate or reset that preceded it) and position.
std::vector<std::byte> round_record(std::uint32_t round, std::uint32_t position) {
  return round_payload(round, position, 40 + (position * 37) % 300);
}

Options tail_options() { return small_segments(Durability::none, 1u << 20); }

ScanOptions durable_only() {
  ScanOptions options;
  options.durable_only = true;
  return options;
}

// A durable_only iterator from `from` that has waited at the head once: the store keeps the
// bytes of the groups it writes from now on for it.
Iterator tailer_at(Store &store, std::uint64_t from) {
  Result<Iterator> it = store.scan(from, durable_only());
  EXPECT_TRUE(it.ok()) << it.status().to_string();
  Result<bool> none = it->next_wait(no_wait);
  EXPECT_TRUE(none.ok() && !*none);
  return std::move(*it);
}

void append_round(Store &store, std::uint32_t round, std::uint32_t from, std::uint32_t to) {
  for (std::uint32_t p = from; p < to; ++p) ASSERT_TRUE(store.append(round_record(round, p)).ok());
  SEGSTORE_ASSERT_OK(store.sync());
}

// The record the iterator returns next, checked to be the one at `lsn` of `round`.
void expect_next(Iterator &it, std::uint64_t lsn, std::uint32_t round, std::uint64_t first) {
  Result<bool> got = it.next_wait(no_wait);
  SEGSTORE_ASSERT_OK(got);
  ASSERT_TRUE(*got) << "nothing at LSN " << lsn;
  ASSERT_EQ(it.record().lsn, lsn);
  const std::vector<std::byte> expected = round_record(round, static_cast<std::uint32_t>(lsn - first));
  ASSERT_EQ(payload_u32(it.record().payload, 0), round) << "LSN " << lsn << " is of another round";
  ASSERT_TRUE(std::equal(expected.begin(), expected.end(), it.record().payload.begin(), it.record().payload.end()))
      << "LSN " << lsn << " differs";
}

TEST(TailFeed, ATailerAtTheHeadReadsNewRecordsFromMemory) {
  TempDir dir;
  auto store = open_or_die(dir.path(), tail_options());
  const std::uint64_t first = store->first_lsn();
  Iterator it = tailer_at(*store, first);
  append_round(*store, 0, 0, 400);  // ~80 KiB: two groups
  const std::uint64_t blocks_before = store->stats().blocks_read;
  for (std::uint64_t lsn = first; lsn < first + 400; ++lsn) ASSERT_NO_FATAL_FAILURE(expect_next(it, lsn, 0, first));
  Result<bool> end = it.next_wait(no_wait);
  SEGSTORE_ASSERT_OK(end);
  EXPECT_FALSE(*end) << "returned LSN " << it.record().lsn << " past the durable end";
  EXPECT_EQ(store->stats().blocks_read, blocks_before) << "the tailer read the device for records kept in memory";
}

// A tailer that scanned its way to the head holds the buffers of its device reads (read-ahead
// windows of 1 MiB and head room, up to the full depth, and its cursor's window); once the
// store's memory serves it, it holds none of them, so idle tailers cost no read memory. Left
// behind again (the feed keeps only the newest groups), it reads the device as before.
TEST(TailFeed, ATailerServedFromMemoryLetsGoOfItsReadBuffers) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none, 4u << 20));
  const std::uint64_t first = store->first_lsn();
  constexpr std::uint32_t record_bytes = 2000, scanned = 6000;  // ~12 MiB: a dozen windows
  auto record = [](std::uint32_t p) { return round_payload(0, p, record_bytes); };
  auto expect_record = [&](Iterator &it, std::uint32_t p) {
    Result<bool> got = it.next_wait(no_wait);
    SEGSTORE_ASSERT_OK(got);
    ASSERT_TRUE(*got) << "nothing at LSN " << first + p;
    ASSERT_EQ(it.record().lsn, first + p);
    const std::vector<std::byte> expected = record(p);
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), it.record().payload.begin(), it.record().payload.end()))
        << "LSN " << first + p << " differs";
  };
  for (std::uint32_t p = 0; p < scanned; ++p) ASSERT_TRUE(store->append(record(p)).ok());
  SEGSTORE_ASSERT_OK(store->sync());
  Result<Iterator> it = store->scan(first);
  SEGSTORE_ASSERT_OK(it.status());
  for (std::uint32_t p = 0; p < scanned; ++p) ASSERT_NO_FATAL_FAILURE(expect_record(*it, p));
  Result<bool> end = it->next_wait(no_wait);
  ASSERT_TRUE(end.ok() && !*end);
  const std::size_t scanning = io::AlignedBuffer::mapped_bytes_in_use();

  std::uint32_t appended = scanned;
  for (; appended < scanned + 10; ++appended) ASSERT_TRUE(store->append(record(appended)).ok());
  SEGSTORE_ASSERT_OK(store->sync());
  const std::uint64_t blocks_before = store->stats().blocks_read;
  for (std::uint32_t p = scanned; p < appended; ++p) ASSERT_NO_FATAL_FAILURE(expect_record(*it, p));
  EXPECT_EQ(store->stats().blocks_read, blocks_before) << "not served from memory";
  // The read buffers are 1.125 MiB each: at least the cursor's and 4 read ahead went (a group's
  // buffer of at most 1 MiB, kept by the feed, came). The process's count: this test's store
  // is the only one and idle.
  const std::size_t served = io::AlignedBuffer::mapped_bytes_in_use();
  EXPECT_GE(scanning, served + (4u << 20)) << "mapped buffers: " << scanning << " bytes at the head, " << served
                                           << " once served from memory";

  // ~6 MiB more than the feed keeps: the tailer reads the device again, every record intact.
  const std::uint32_t behind = appended + 3000;
  for (; appended < behind; ++appended) ASSERT_TRUE(store->append(record(appended)).ok());
  SEGSTORE_ASSERT_OK(store->sync());
  for (std::uint32_t p = scanned + 10; p < appended; ++p) ASSERT_NO_FATAL_FAILURE(expect_record(*it, p));
  EXPECT_GT(store->stats().blocks_read, blocks_before);
}

// Regression: the tailer's place inside a kept group must be dropped when truncate_after
// removes the group's records; the next record at the same LSN is the new one.
TEST(TailFeed, ATailerInsideAGroupThatTruncateCutGetsTheNewRecords) {
  TempDir dir;
  auto store = open_or_die(dir.path(), tail_options());
  const std::uint64_t first = store->first_lsn();
  Iterator it = tailer_at(*store, first);
  append_round(*store, 0, 0, 100);  // one group
  for (std::uint64_t lsn = first; lsn < first + 50; ++lsn) ASSERT_NO_FATAL_FAILURE(expect_next(it, lsn, 0, first));
  SEGSTORE_ASSERT_OK(store->truncate_after(first + 29));
  append_round(*store, 1, 30, 100);
  for (std::uint64_t lsn = first + 50; lsn < first + 100; ++lsn) ASSERT_NO_FATAL_FAILURE(expect_next(it, lsn, 1, first));
}

// Regression: reset_to drops every kept group; LSNs handed out again are the new records'.
TEST(TailFeed, ATailerAfterResetToGetsTheNewRecords) {
  TempDir dir;
  auto store = open_or_die(dir.path(), tail_options());
  const std::uint64_t first = store->first_lsn();
  Iterator it = tailer_at(*store, first);
  append_round(*store, 0, 0, 100);
  for (std::uint64_t lsn = first; lsn < first + 50; ++lsn) ASSERT_NO_FATAL_FAILURE(expect_next(it, lsn, 0, first));
  SEGSTORE_ASSERT_OK(store->reset_to(first));
  append_round(*store, 1, 0, 100);
  for (std::uint64_t lsn = first + 50; lsn < first + 100; ++lsn) ASSERT_NO_FATAL_FAILURE(expect_next(it, lsn, 1, first));
}

// Regression: records a trim removed are not served from memory; the tailer moves to the first LSN.
TEST(TailFeed, ATrimPastATailerMovesItToTheFirstLsn) {
  TempDir dir;
  auto store = open_or_die(dir.path(), tail_options());
  const std::uint64_t first = store->first_lsn();
  Iterator it = tailer_at(*store, first);
  append_round(*store, 0, 0, 100);
  for (std::uint64_t lsn = first; lsn < first + 10; ++lsn) ASSERT_NO_FATAL_FAILURE(expect_next(it, lsn, 0, first));
  SEGSTORE_ASSERT_OK(store->trim_before(first + 60));
  for (std::uint64_t lsn = first + 60; lsn < first + 100; ++lsn) ASSERT_NO_FATAL_FAILURE(expect_next(it, lsn, 0, first));
}

// A feed holding one group of records [10, 20) of which [10, 15) are durable: the group's
// write completed, so a plain tailer is served all of them, a durable_only one only the
// durable ones (the group's bytes are in memory before a data sync covers them: write-only
// groups), and a record past the durable end is the end of its walk.
// A recycled segment's records are checksummed with its seed: the feed decodes them with the
// seed its group carries, and a group whose seed is not the records' is damage, not records.
TEST(TailFeed, RecordsOfARecycledSegmentDecodeWithTheGroupsSeed) {
  for (const bool right_seed : {true, false}) {
    engine::TailFeed feed;
    feed.open(10, 10, true);
    feed.add_tailer();
    engine::TailGroup group;
    group.buffer.reset(16 * 1024);
    group.file_offset = 8192;
    group.first_lsn = 10;
    group.end_lsn = 14;
    const std::uint32_t seed = format::record_crc_seed(7);
    group.record_seed = right_seed ? seed : format::record_crc_seed(8);
    group.segment = std::make_shared<engine::Segment>();  // named in the error
    group.segment->path = "00000000000000000007.seg";
    for (std::uint64_t lsn = 10; lsn < 14; ++lsn) {
      const std::vector<std::byte> payload = payload_for(lsn, 100);
      format::RecordHeader header;
      header.lsn = lsn;
      group.used += format::encode_record(header, payload, group.buffer.data() + group.used, seed);
    }
    EXPECT_EQ(feed.keep(std::move(group)).size(), 0u);
    feed.advance_durable(14);
    engine::TailCursor cursor;
    RecordView view;
    Status error;
    ASSERT_EQ(feed.read(10, false, cursor, &view, &error), engine::TailLook::record);
    if (right_seed) {
      SEGSTORE_ASSERT_OK(error);
      EXPECT_EQ(view.lsn, 10u);
      EXPECT_TRUE(std::ranges::equal(view.payload, payload_for(10, 100)));
    } else {
      EXPECT_EQ(error.code(), Errc::corruption) << error.to_string();
    }
  }
}

TEST(TailFeed, ADurableOnlyReaderIsServedOnlyDurableRecords) {
  engine::TailFeed feed;
  feed.open(10, 10, true);
  feed.add_tailer();
  engine::TailGroup group;
  group.buffer.reset(16 * 1024);
  group.file_offset = 8192;
  group.first_lsn = 10;
  group.end_lsn = 20;
  for (std::uint64_t lsn = 10; lsn < 20; ++lsn) {
    const std::vector<std::byte> payload = payload_for(lsn, 100);
    format::RecordHeader header;
    header.lsn = lsn;
    header.payload_bytes = static_cast<std::uint32_t>(payload.size());
    group.used += format::encode_record(header, payload, group.buffer.data() + group.used);
  }
  EXPECT_EQ(feed.keep(std::move(group)).size(), 0u) << "a kept group's buffer came back";
  feed.advance_durable(15);
  engine::TailCursor durable_cursor, plain_cursor;
  RecordView view;
  Status error;
  for (std::uint64_t lsn = 10; lsn < 15; ++lsn) {
    ASSERT_EQ(feed.read(lsn, true, durable_cursor, &view, &error), engine::TailLook::record);
    SEGSTORE_ASSERT_OK(error);
    EXPECT_EQ(view.lsn, lsn);
  }
  EXPECT_EQ(feed.read(15, true, durable_cursor, &view, &error), engine::TailLook::end);
  for (std::uint64_t lsn = 12; lsn < 20; ++lsn) {
    ASSERT_EQ(feed.read(lsn, false, plain_cursor, &view, &error), engine::TailLook::record);
    SEGSTORE_ASSERT_OK(error);
    ASSERT_EQ(view.lsn, lsn);
    const std::vector<std::byte> expected = payload_for(lsn, 100);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), view.payload.begin(), view.payload.end()));
  }
  EXPECT_EQ(feed.read(20, false, plain_cursor, &view, &error), engine::TailLook::miss) << "LSN 20 is not kept";
  EXPECT_EQ(feed.read(9, false, plain_cursor, &view, &error), engine::TailLook::miss) << "LSN 9 is below the first";
  feed.end_writes();
  EXPECT_EQ(feed.read(12, false, plain_cursor, &view, &error), engine::TailLook::miss) << "served after writes ended";
  feed.remove_tailer();
}

// A payload that names itself: its first 8 bytes are its seed, the rest follows from it.
std::vector<std::byte> seeded_payload(std::uint64_t seed) {
  std::vector<std::byte> bytes = payload_for(seed, 16 + seed % 500);
  std::memcpy(bytes.data(), &seed, 8);
  return bytes;
}

bool payload_intact(std::span<const std::byte> payload) {
  if (payload.size() < 8) return false;
  std::uint64_t seed;
  std::memcpy(&seed, payload.data(), 8);
  const std::vector<std::byte> expected = seeded_payload(seed);
  return std::equal(expected.begin(), expected.end(), payload.begin(), payload.end());
}

// Sync appenders on several threads and durable_only tailers following them: each tailer
// returns every LSN once, in order, intact, and durable when it returned it.
TEST(TailFeed, TailersFollowingSyncAppendersSeeEveryRecordOnceInOrder) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::sync, 256 * 1024));
  const std::uint64_t first = store->first_lsn();
  constexpr int appenders = 4, tailers = 2;
  constexpr std::uint64_t records_per_appender = 300;
  constexpr std::uint64_t records = appenders * records_per_appender;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(tailers);
  for (int t = 0; t < tailers; ++t) {
    threads.emplace_back([&, t] {
      Result<Iterator> it = store->scan(first, durable_only());
      if (!it.ok()) {
        failures[t] = it.status().to_string();
        return;
      }
      std::uint64_t expected = first;
      // Bounded: every record is there within the appenders' run, each wait is a slice.
      for (int slices = 0; expected < first + records && slices < 6000;) {
        Result<bool> got = it->next_wait(wait_slice);
        if (!got.ok()) {
          failures[t] = got.status().to_string();
          return;
        }
        if (!*got) {
          slices++;
          continue;
        }
        const RecordView &record = it->record();
        if (record.lsn >= store->durable_lsn()) failures[t] = "LSN " + std::to_string(record.lsn) + " not durable";
        if (record.lsn != expected) failures[t] = "LSN " + std::to_string(record.lsn) + " for " + std::to_string(expected);
        if (!payload_intact(record.payload)) failures[t] = "LSN " + std::to_string(record.lsn) + " damaged";
        if (!failures[t].empty()) return;
        expected++;
      }
      if (expected != first + records) failures[t] = "ended at LSN " + std::to_string(expected);
    });
  }
  std::vector<std::thread> writers;
  for (int a = 0; a < appenders; ++a) {
    writers.emplace_back([&, a] {
      for (std::uint64_t i = 0; i < records_per_appender; ++i)
        ASSERT_TRUE(store->append(seeded_payload(a * 1'000'000ull + i)).ok());
    });
  }
  for (std::thread &w : writers) w.join();
  for (std::thread &t : threads) t.join();
  for (int t = 0; t < tailers; ++t) EXPECT_EQ(failures[t], "") << "tailer " << t;
}

// Removal k (k = 1, 2, ...) precedes round k: odd ones are reset_to (every position goes), even
// ones truncate_after (positions from kept_records on go). Whether the record at `position` of
// `round` is gone once `removals` removals returned.
bool removed(std::uint32_t round, std::uint32_t position, std::uint32_t removals, std::uint32_t kept_records) {
  if (removals >= round + 2) return true;  // removal round + 1 or round + 2 is a reset
  if (removals < round + 1) return false;
  return (round + 1) % 2 == 1 || position >= kept_records;
}

// Tailers following the head while truncate_after and reset_to remove records under them and
// new rounds take their LSNs: a record of round r at or past the cut is gone once the next
// round's removal returned, and no next_wait() that began after that may return it.
TEST(TailFeed, TailersRacingTruncateAndResetNeverReturnRemovedRecords) {
  TempDir dir;
  auto store = open_or_die(dir.path(), tail_options());
  const std::uint64_t first = store->first_lsn();
  constexpr std::uint32_t records_per_round = 600;
  constexpr std::uint32_t kept_records = 200;  // truncate_after keeps these; reset_to none
  constexpr std::uint32_t rounds = 16;
  append_round(*store, 0, 0, records_per_round);
  std::atomic<std::uint32_t> removals_done{0};  // records of rounds below this past the cut are gone
  std::atomic<bool> running{true};
  std::atomic<std::uint64_t> records_checked{0};
  std::vector<std::thread> tailers;
  for (int t = 0; t < 2; ++t) {
    tailers.emplace_back([&] {
      std::optional<Result<Iterator>> it;
      while (running.load()) {
        // At the end of the log (a reset moved it below the tailer), or after a read that
        // raced a truncate's rewrite: follow the log again from its start.
        if (!it) it.emplace(store->scan(first, durable_only()));
        ASSERT_TRUE(it->ok()) << it->status().to_string();
        const std::uint32_t gone_below = removals_done.load();
        Result<bool> more = (*it)->next_wait(wait_slice);
        if (!more.ok()) {
          // A read of bytes a truncate is zeroing may fail (any scan's may): never otherwise.
          ASSERT_EQ(more.status().code(), Errc::corruption) << more.status().to_string();
          it.reset();
          continue;
        }
        if (!*more) {
          it.reset();
          continue;
        }
        const RecordView &record = (*it)->record();
        const std::uint32_t round = payload_u32(record.payload, 0);
        const std::uint32_t position = payload_u32(record.payload, 4);
        ASSERT_EQ(position, record.lsn - first) << "LSN " << record.lsn << " names another position";
        ASSERT_FALSE(removed(round, position, gone_below, kept_records))
            << "LSN " << record.lsn << " of round " << round << " returned after removal " << gone_below << " took it";
        records_checked++;
      }
    });
  }
  for (std::uint32_t round = 1; round <= rounds; ++round) {
    // Let the tailers reach into the round's records before they go (bounded: they may lag).
    for (int spins = 0; spins < 2000 && records_checked.load() < round * 100ull; ++spins) std::this_thread::yield();
    if (round % 2 == 1) {
      SEGSTORE_ASSERT_OK(store->reset_to(first));
      removals_done++;
      append_round(*store, round, 0, records_per_round);
    } else {
      SEGSTORE_ASSERT_OK(store->truncate_after(first + kept_records - 1));
      removals_done++;
      append_round(*store, round, kept_records, records_per_round);
    }
  }
  running = false;
  for (std::thread &t : tailers) t.join();
  EXPECT_GT(records_checked.load(), records_per_round);
}

}  // namespace
}  // namespace segstore::testing
