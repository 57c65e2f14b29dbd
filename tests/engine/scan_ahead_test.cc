// Scans that read ahead (engine/scan_ahead.h) racing appends, truncate_after and trim_before:
// every record a scan returns is one the log held when the scan asked for it, for plain scans
// (sequential windows) and one-stream walks (their candidate runs read several at once) alike,
// and many at once on the store's read ring (also run under ThreadSanitizer: suite
// "concurrency").
#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/scan_ahead.h"
#include "engine/store_fixture.h"
#include "io/aligned_buffer.h"
#include "format/layout.h"
#include "support/read_ahead_recorder.h"

namespace segstore::testing {
namespace {

// Segments of several read-ahead windows (1 MiB each), so that scans keep reads in flight.
constexpr std::uint64_t segment_bytes = 4u << 20;
constexpr std::uint32_t records_per_round = 6000;  // ~5.5 MiB of log: two segments
constexpr std::uint64_t kept_records = 1000;      // truncate_after keeps LSNs below this
// Records go to streams round-robin; ~50 records (~47 KiB, 11 blocks) lie between two of one
// stream, farther apart than a one-stream walk joins into one read: each is a run of its own.
constexpr std::uint32_t stream_count = 50;
constexpr std::uint32_t scanned_stream = 3;

std::uint32_t stream_of(std::uint32_t position) { return position % stream_count; }

// A record's payload names its round (the truncate that preceded it) and its position.
std::vector<std::byte> round_record(std::uint32_t round, std::uint32_t position) {
  return round_payload(round, position, 600 + (position * 37) % 700);
}

Options ahead_options() {
  Options options = small_segments(Durability::none, segment_bytes);
  options.write_group_bytes_max = 256 * 1024;
  return options;
}

// Each round truncates the log to its first kept_records records and appends the rest again,
// tagged with the round. A scanner walks the log (or one stream of it) over and over; a record
// of round r at or past kept_records was removed by truncate r + 1: once that returned, no scan
// started after it may return the record (a read-ahead window read before the truncate holds
// exactly such bytes).
void scans_racing_truncate_return_no_removed_record(std::optional<std::uint32_t> stream) {
  TempDir dir;
  auto store = open_or_die(dir.path(), ahead_options());
  const std::uint64_t first = store->first_lsn();
  for (std::uint32_t p = 0; p < records_per_round; ++p) ASSERT_TRUE(store->append(round_record(0, p), stream_of(p)).ok());
  ASSERT_TRUE(store->sync().ok());

  std::atomic<std::uint32_t> truncates_started{0};
  std::atomic<std::uint32_t> truncates_done{0};  // records of rounds below this past the cut are gone
  std::atomic<bool> running{true};
  std::atomic<std::uint64_t> records_checked{0};
  std::thread scanner([&] {
    while (running.load()) {
      Result<Iterator> it = stream ? store->scan(first, *stream) : store->scan(first);
      ASSERT_TRUE(it.ok()) << it.status().to_string();
      while (true) {
        const std::uint32_t started_before = truncates_started.load();
        const std::uint32_t gone_below = truncates_done.load();
        Result<bool> more = it->next();
        if (!more.ok()) {
          // A scan reading bytes a truncate is zeroing may fail (it always could); never
          // without a truncate running when next() began or started meanwhile.
          ASSERT_EQ(more.status().code(), Errc::corruption) << more.status().to_string();
          const bool truncate_racing = started_before != gone_below || truncates_started.load() != started_before;
          ASSERT_TRUE(truncate_racing) << "scan failed with no truncate racing it: " << more.status().to_string();
          break;
        }
        if (!*more) break;
        const RecordView &record = it->record();
        const std::uint32_t round = payload_u32(record.payload, 0);
        const std::uint32_t position = payload_u32(record.payload, 4);
        ASSERT_EQ(position, record.lsn - first) << "record at LSN " << record.lsn << " names another position";
        ASSERT_EQ(record.stream, stream_of(position));
        if (stream) {
          ASSERT_EQ(record.stream, *stream);
        }
        if (position >= kept_records) {
          ASSERT_GE(round, gone_below) << "LSN " << record.lsn << " of round " << round
                                       << " returned after truncate " << gone_below << " removed it";
        }
        records_checked++;
      }
    }
  });
  for (std::uint32_t round = 1; round <= 12; ++round) {
    truncates_started++;
    ASSERT_TRUE(store->truncate_after(first + kept_records - 1).ok());
    truncates_done++;
    for (std::uint32_t p = kept_records; p < records_per_round; ++p)
      ASSERT_TRUE(store->append(round_record(round, p), stream_of(p)).ok());
    ASSERT_TRUE(store->sync().ok());
  }
  running = false;
  scanner.join();
  const std::uint64_t records_seen_min = stream ? records_per_round / stream_count : records_per_round;
  EXPECT_GT(records_checked.load(), records_seen_min);
}

TEST(ScanAhead, ScansRacingTruncateNeverReturnRemovedRecords) {
  scans_racing_truncate_return_no_removed_record(std::nullopt);
}

TEST(ScanAhead, OneStreamScansRacingTruncateNeverReturnRemovedRecords) {
  scans_racing_truncate_return_no_removed_record(scanned_stream);
}

// A scan moving to the next segment finds that segment's first window read ahead: once every
// window of a sealed segment is in flight, the read-ahead goes on with the next segment's (after
// a clean close too, where a sealed segment's file is opened and its header checked only on its
// first read). Before, each segment's first window was a synchronous read, and the reads ahead
// started after it: the device's queue ran dry at every boundary.
TEST(ScanAhead, AScanReadsTheNextSegmentsFirstWindowAhead) {
  TempDir dir;
  {
    auto store = open_or_die(dir.path(), ahead_options());
    for (std::uint32_t i = 0; i < 16000; ++i) SEGSTORE_ASSERT_OK(store->append(payload_for(i, 900)));
    SEGSTORE_ASSERT_OK(store->close());
  }
  auto recorder = std::make_shared<ReadAheadRecorder>(io::make_posix_env({}));
  Options options = ahead_options();
  options.env = recorder;
  auto store = open_or_die(dir.path(), options);
  const std::uint64_t segments = store->stats().segment_count;
  ASSERT_GE(segments, 3u) << "the log should span several segments";
  Result<Iterator> it = store->scan(store->first_lsn());
  ASSERT_TRUE(it.ok()) << it.status().to_string();
  for (std::uint32_t i = 0; i < 16000; ++i) {
    Result<bool> more = it->next();
    ASSERT_TRUE(more.ok()) << more.status().to_string();
    ASSERT_TRUE(*more) << "scan ended at record " << i;
    const std::vector<std::byte> expected = payload_for(i, 900);
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), it->record().payload.begin(), it->record().payload.end()))
        << "record " << i << " differs";
  }
  Result<bool> end = it->next();
  ASSERT_TRUE(end.ok() && !*end);
  std::set<std::string> first_windows_ahead;
  for (const ReadAheadRecorder::Event &event : recorder->events())
    if (event.submit && event.path.ends_with(".seg") && event.offset == format::segment_data_offset_bytes)
      first_windows_ahead.insert(event.path);
  // Every segment but the first, where the scan starts with a read of its own.
  EXPECT_EQ(first_windows_ahead.size(), segments - 1);
}

// A scan through many read-ahead windows returns every record once, in order and intact,
// including records that straddle two windows, records larger than the head room in front of
// a window (read the ordinary way) and records larger than a window.
TEST(ScanAhead, ScanOfManyWindowsReturnsEveryRecordIntact) {
  TempDir dir;
  auto store = open_or_die(dir.path(), ahead_options());
  const std::uint64_t first = store->first_lsn();
  std::vector<std::size_t> sizes;
  for (std::uint32_t i = 0; i < 9000; ++i) {
    std::size_t size = 100 + (i * 7919) % 1500;
    if (i % 1000 == 500) size = 200 * 1024;   // past the head room
    if (i % 3000 == 1500) size = 1300 * 1024;  // past a window
    sizes.push_back(size);
    ASSERT_TRUE(store->append(payload_for(i, size)).ok());
  }
  ASSERT_TRUE(store->sync().ok());
  // Read back while appends continue: the active segment's in-flight groups are read from memory.
  std::thread appender([&] {
    for (std::uint32_t i = 0; i < 2000; ++i) ASSERT_TRUE(store->append(payload_for(100000 + i, 300)).ok());
  });
  Result<Iterator> it = store->scan(first);
  ASSERT_TRUE(it.ok()) << it.status().to_string();
  for (std::uint32_t i = 0; i < sizes.size(); ++i) {
    Result<bool> more = it->next();
    ASSERT_TRUE(more.ok()) << more.status().to_string();
    ASSERT_TRUE(*more) << "scan ended at record " << i;
    ASSERT_EQ(it->record().lsn, first + i);
    const std::vector<std::byte> expected = payload_for(i, sizes[i]);
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), it->record().payload.begin(), it->record().payload.end()))
        << "record " << i << " of " << sizes[i] << " bytes differs";
  }
  appender.join();
}

// A one-stream walk whose candidate blocks are far apart (each its own read, several in flight)
// returns every record of the stream once, in order and intact, including records longer than
// the run read for them (the cursor reads the rest itself), while appends continue; and it
// reads a fraction of the blocks a plain scan reads.
TEST(ScanAhead, OneStreamScanOfSeparateRunsReturnsEveryRecordIntact) {
  TempDir dir;
  auto store = open_or_die(dir.path(), ahead_options());
  const std::uint64_t first = store->first_lsn();
  std::vector<std::size_t> stream_sizes;
  for (std::uint32_t i = 0; i < 9000; ++i) {
    std::size_t size = 600 + (i * 7919) % 700;
    if (stream_of(i) == scanned_stream && i % 1000 == 3) size = 40 * 1024;  // past its run's end
    if (stream_of(i) == scanned_stream) stream_sizes.push_back(size);
    ASSERT_TRUE(store->append(payload_for(i, size), stream_of(i)).ok());
  }
  ASSERT_TRUE(store->close().ok());
  store = open_or_die(dir.path(), ahead_options());  // nothing in memory: every block is read
  std::thread appender([&] {
    for (std::uint32_t i = 0; i < 2000; ++i) ASSERT_TRUE(store->append(payload_for(100000 + i, 300), 0).ok());
  });
  const std::uint64_t blocks_before = store->stats().blocks_read;
  Result<Iterator> it = store->scan(first, scanned_stream);
  ASSERT_TRUE(it.ok()) << it.status().to_string();
  for (std::uint32_t n = 0; n < stream_sizes.size(); ++n) {
    Result<bool> more = it->next();
    ASSERT_TRUE(more.ok()) << more.status().to_string();
    ASSERT_TRUE(*more) << "scan ended at the stream's record " << n;
    const std::uint32_t position = n * stream_count + scanned_stream;
    ASSERT_EQ(it->record().lsn, first + position);
    const std::vector<std::byte> expected = payload_for(position, stream_sizes[n]);
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), it->record().payload.begin(), it->record().payload.end()))
        << "record " << position << " of " << stream_sizes[n] << " bytes differs";
  }
  const std::uint64_t stream_blocks = store->stats().blocks_read - blocks_before;
  appender.join();
  // 180 records ~11 blocks apart, two or three blocks each (40 KiB for the large ones), out of
  // ~2,200 blocks of log.
  EXPECT_LE(stream_blocks, 3 * stream_sizes.size() + 12 * 9) << "one-stream walk read " << stream_blocks << " blocks";
}

// A one-stream walk over long runs of its stream (1 MiB each, far apart) keeps its slots'
// buffers within stream_ahead_buffers_max: every slot of the read-ahead is used in turn, and
// each would otherwise keep the longest run it read (64 slots on the ring: ~64 MiB).
TEST(ScanAhead, OneStreamWalkOfLongRunsKeepsItsBuffersBounded) {
  TempDir dir;
  Options options = small_segments(Durability::none, 16u << 20);
  options.write_group_bytes_max = 1u << 20;
  auto store = open_or_die(dir.path(), options);
  const std::uint64_t first = store->first_lsn();
  constexpr std::uint32_t runs = 80, records_per_run = 120;  // 8 KiB records: ~1 MiB per run
  std::vector<std::uint32_t> walked_positions;
  std::uint32_t position = 0;
  for (std::uint32_t run = 0; run < runs; ++run) {
    for (std::uint32_t r = 0; r < records_per_run; ++r, ++position) {
      ASSERT_TRUE(store->append(payload_for(position, 8000), scanned_stream).ok());
      walked_positions.push_back(position);
    }
    ASSERT_TRUE(store->append(payload_for(position++, 64 * 1024), scanned_stream + 1).ok());  // a gap of 16 blocks
  }
  SEGSTORE_ASSERT_OK(store->sync());
  const std::size_t idle = io::AlignedBuffer::mapped_bytes_in_use();
  std::size_t most_held = 0;
  Result<Iterator> it = store->scan(first, scanned_stream);
  SEGSTORE_ASSERT_OK(it.status());
  for (std::uint32_t expected : walked_positions) {
    Result<bool> more = it->next();
    SEGSTORE_ASSERT_OK(more);
    ASSERT_TRUE(*more) << "walk ended before position " << expected;
    ASSERT_EQ(it->record().lsn, first + expected);
    const std::vector<std::byte> payload = payload_for(expected, 8000);
    ASSERT_TRUE(std::equal(payload.begin(), payload.end(), it->record().payload.begin(), it->record().payload.end()));
    most_held = std::max(most_held, io::AlignedBuffer::mapped_bytes_in_use());
  }
  // The slots' bound, the cursor's window (a run) and room for the walk's other buffers.
  EXPECT_LE(most_held - idle, engine::stream_ahead_buffers_max + (4u << 20))
      << "the walk held " << (most_held - idle) << " bytes of mapped buffers (the store alone " << idle << ")";
}

// Many scans at once share the store's read ring (more windows and runs in flight than it holds:
// the rest are read on the callers' threads) while appends continue and trim_before removes
// whole segments under them: every record a scan returns is intact and at a later LSN than the
// one before it (a trimmed segment's reads in flight keep their file open).
TEST(ScanAhead, ManyScansSharingTheReadRingRaceTrimAndReturnIntactRecords) {
  TempDir dir;
  auto store = open_or_die(dir.path(), ahead_options());
  const std::uint64_t first = store->first_lsn();
  const auto size_of = [](std::uint64_t position) { return std::size_t{600} + (position * 37) % 700; };
  const auto append_records = [&](std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
      Result<std::uint64_t> lsn = store->append(payload_for(store->next_lsn() - first, size_of(store->next_lsn() - first)),
                                                stream_of(static_cast<std::uint32_t>(store->next_lsn() - first)));
      ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    }
  };
  append_records(3 * records_per_round);
  ASSERT_TRUE(store->sync().ok());

  constexpr int scanners = 12;  // 6 plain scans of 8 windows and 6 walks of 64 runs: past the ring's 128
  std::atomic<bool> running{true};
  std::atomic<std::uint64_t> records_checked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < scanners; ++t) {
    threads.emplace_back([&, t] {
      while (running.load()) {
        const std::optional<std::uint32_t> stream =
            t % 2 == 0 ? std::nullopt : std::optional<std::uint32_t>(static_cast<std::uint32_t>(t) % stream_count);
        Result<Iterator> it = stream ? store->scan(store->first_lsn(), *stream) : store->scan(store->first_lsn());
        if (!it.ok()) {
          // The first LSN asked for was trimmed meanwhile.
          ASSERT_EQ(it.status().code(), Errc::lsn_out_of_range) << it.status().to_string();
          continue;
        }
        std::uint64_t last_lsn = 0;
        while (true) {
          Result<bool> more = it->next();
          ASSERT_TRUE(more.ok()) << more.status().to_string();
          if (!*more) break;
          const RecordView &record = it->record();
          ASSERT_TRUE(last_lsn == 0 || record.lsn > last_lsn) << "LSN " << record.lsn << " after " << last_lsn;
          last_lsn = record.lsn;
          const std::uint64_t position = record.lsn - first;
          if (stream) {
            ASSERT_EQ(record.stream, *stream);
          }
          const std::vector<std::byte> expected = payload_for(position, size_of(position));
          ASSERT_TRUE(std::equal(expected.begin(), expected.end(), record.payload.begin(), record.payload.end()))
              << "record at LSN " << record.lsn << " differs";
          records_checked++;
        }
      }
    });
  }
  for (int round = 0; round < 4; ++round) {
    append_records(records_per_round / 2);
    ASSERT_TRUE(store->sync().ok());
    ASSERT_TRUE(store->trim_before(store->first_lsn() + records_per_round / 2).ok());
  }
  running = false;
  for (std::thread &t : threads) t.join();
  EXPECT_GT(records_checked.load(), records_per_round);
}

}  // namespace
}  // namespace segstore::testing
