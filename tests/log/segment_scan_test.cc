// tests/log/segment_scan_test.cc — the scanner alone: records larger than its read window,
// lengths it must not believe, the tail survey that finds proof of acknowledged records, and the
// same scan with its windows read ahead (damage, errors and early exits as without).
#include "log/segment_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "format/layout.h"
#include "io/read_ahead.h"
#include "log/window_reads.h"
#include "recovery/recovery_fixture.h"
#include "recovery/test_env.h"

namespace segstore::recovery::testing {
namespace {

class SegmentScanTest : public RecoveryTest {
 protected:
  std::unique_ptr<io::File> open(const std::string &file) {
    io::OpenFlags flags;
    flags.direct = true;
    Result<std::unique_ptr<io::File>> f = env_->open_file(file, flags);
    EXPECT_TRUE(f.ok()) << f.status().to_string();
    return std::move(*f);
  }
};

TEST_F(SegmentScanTest, RecordSpanningReadWindowsIsRead) {
  // 2.5 MiB records cross the 1 MiB window and each other's windows.
  StoreBuilder b(dir(), 8ull << 20);
  b.append(100);
  b.append((5u << 20) / 2, 1);
  b.append((5u << 20) / 2, 2);
  b.append(100);
  b.flush();
  b.write();
  auto file = open(b.segment_path(1));
  log::SegmentIndex index;
  log::ScanRequest request;
  request.file = file.get();
  request.limit = b.segment_bytes();
  request.index = &index;
  Result<log::ScanResult> scan = log::scan_segment(request);
  ASSERT_TRUE(scan.ok()) << scan.status().to_string();
  EXPECT_EQ(scan->stop, log::ScanStop::clean_end);
  EXPECT_EQ(scan->records, 4u);
  EXPECT_EQ(scan->next_lsn, 4u);
  EXPECT_EQ(scan->end_offset, b.segment(1).end_offset);
  EXPECT_EQ(index.entries(), b.segment(1).index.entries());
  EXPECT_EQ(scan->bytes_read, b.segment_bytes() - format::segment_data_offset_bytes)
      << "every byte read once, though records straddle windows";
}

TEST_F(SegmentScanTest, LengthBeyondTheSegmentIsDamageNotARead) {
  StoreBuilder b(dir());
  b.append(100);
  b.append(100);
  b.flush();
  b.write();
  // A checksummed header claiming the largest payload: past the segment's end.
  patch_record_header(b.segment_path(1), b.record(1).offset, 16, u32_bytes(format::record_payload_max_bytes));
  auto file = open(b.segment_path(1));
  log::ScanRequest request;
  request.file = file.get();
  request.limit = b.segment_bytes();
  Result<log::ScanResult> scan = log::scan_segment(request);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->stop, log::ScanStop::bad_record);
  EXPECT_EQ(scan->record_error, format::RecordError::length_past_end);
  EXPECT_EQ(scan->cut_offset, b.record(1).offset);
  EXPECT_EQ(scan->records, 1u);
  EXPECT_LE(scan->bytes_read, b.segment_bytes());
}

TEST_F(SegmentScanTest, ScanFromAnOffsetContinuesTheLsns) {
  StoreBuilder b(dir(), test_segment_bytes, 1000);
  for (int i = 0; i < 10; ++i) b.append(300);
  b.flush();
  const Extent from = b.record(1005);
  b.write();
  auto file = open(b.segment_path(1));
  log::ScanRequest request;
  request.file = file.get();
  request.limit = b.segment_bytes();
  request.base_lsn = 1000;
  request.start_offset = from.offset;
  request.start_lsn = 1005;
  Result<log::ScanResult> scan = log::scan_segment(request);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->stop, log::ScanStop::clean_end);
  EXPECT_EQ(scan->records, 5u);
  EXPECT_EQ(scan->next_lsn, 1010u);
  // Started at the wrong LSN, the first record is out of order.
  request.start_lsn = 1004;
  scan = log::scan_segment(request);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->record_error, format::RecordError::lsn_out_of_order);
  EXPECT_EQ(scan->cut_offset, from.offset);
}

TEST_F(SegmentScanTest, SurveyFindsTheLastNonZeroByteAndDurableProofs) {
  StoreBuilder b(dir());
  for (int i = 0; i < 19; ++i) {
    b.append(150);
    if (i % 4 == 3) b.flush();
  }
  b.append(150);  // no flush after it: nothing after record 19
  b.write();
  const Extent victim = b.record(5);
  flip_byte(b.segment_path(1), victim.offset);
  auto file = open(b.segment_path(1));
  Result<log::TailSurvey> survey = log::survey_tail(*file, victim.offset, b.segment_bytes(), 0);
  ASSERT_TRUE(survey.ok());
  const Bytes bytes = read_file(b.segment_path(1));
  std::uint64_t last_nonzero = 0;
  for (std::uint64_t i = 0; i < bytes.size(); ++i)
    if (bytes[i] != std::byte{0}) last_nonzero = i;
  EXPECT_EQ(survey->nonzero_end, last_nonzero + 1);
  EXPECT_LE(survey->nonzero_end, b.record(19).end());
  EXPECT_GT(survey->nonzero_end, b.record(19).offset + 32);
  EXPECT_EQ(survey->headers_found, 14u) << "records 6..19 (the damaged header does not count)";
  EXPECT_EQ(survey->lsn_max_seen, 19u);
  std::uint64_t durable_end = 0;
  for (std::uint64_t lsn = 6; lsn < 20; ++lsn) durable_end = std::max(durable_end, lsn - b.record(lsn).durable_lag);
  EXPECT_EQ(survey->durable_end_max, durable_end);
  EXPECT_EQ(durable_end, 20u - 4u + 0u) << "record 16 followed the flush after record 15";
}

// The worker-thread read-ahead, keeping the reads submitted and not yet waited for: a read left
// in flight when a scan returns would write into a buffer its owner may free.
class TrackedReadAhead final : public io::ReadAhead {
 public:
  void submit(io::AheadRead &read) override {
    pending_.insert(&read);
    submitted_.emplace_back(read.file, read.offset);
    base_->submit(read);
  }
  // Reads submitted of `file` at `offset` so far.
  std::size_t submitted(const io::File *file, std::uint64_t offset) const {
    return static_cast<std::size_t>(std::count(submitted_.begin(), submitted_.end(), std::make_pair(file, offset)));
  }
  void wait(io::AheadRead &read) override {
    base_->wait(read);
    pending_.erase(&read);
  }
  std::size_t pending() const { return pending_.size(); }

 private:
  std::unique_ptr<io::ReadAhead> base_ = io::make_thread_read_ahead(log::window_reads_thread_depth);
  std::set<io::AheadRead *> pending_;
  std::vector<std::pair<const io::File *, std::uint64_t>> submitted_;
};

// A segment of `records` records of `record_bytes` (100 KiB: about 10 per 1 MiB window),
// written to dir.
StoreBuilder write_big_segment(const std::string &dir, int records, std::size_t record_bytes = 100u << 10) {
  StoreBuilder b(dir, 8ull << 20);
  for (int i = 0; i < records; ++i) b.append(record_bytes, static_cast<std::uint32_t>(i % 3));
  b.flush();
  b.write();
  return b;
}

Result<log::ScanResult> scan_whole(io::File &file, std::uint64_t limit, log::WindowReads *ahead) {
  log::ScanRequest request;
  request.file = &file;
  request.limit = limit;
  request.ahead = ahead;
  return log::scan_segment(request);
}

TEST_F(SegmentScanTest, ReadAheadScanFindsWhatTheSynchronousScanFinds) {
  StoreBuilder b = write_big_segment(dir(), 60);
  auto file = open(b.segment_path(1));
  TrackedReadAhead reads;
  log::WindowReads ahead(reads, log::read_window_bytes);
  Result<log::ScanResult> synchronous = scan_whole(*file, b.segment_bytes(), nullptr);
  Result<log::ScanResult> read_ahead = scan_whole(*file, b.segment_bytes(), &ahead);
  ASSERT_TRUE(synchronous.ok() && read_ahead.ok());
  EXPECT_EQ(read_ahead->stop, log::ScanStop::clean_end);
  EXPECT_EQ(read_ahead->records, 60u);
  EXPECT_EQ(read_ahead->end_offset, synchronous->end_offset);
  EXPECT_EQ(read_ahead->bytes_read, synchronous->bytes_read) << "every byte read once, as without";
  EXPECT_GE(ahead.windows_submitted(), 8u) << "the 8 MiB segment was read through the windows";
  // Records of 100 KiB straddle each window's end by less than the head room: every window
  // after the first whole one is handed over without a copy.
  EXPECT_GE(ahead.windows_taken(), 6u) << "windows served without a copy";
  EXPECT_EQ(reads.pending(), 0u);
}

// Records that straddle a window's end by more than the head room in front of the next window
// are read through the copying path: the scan finds the same records, bytes and end.
TEST_F(SegmentScanTest, ReadAheadScanOfRecordsLargerThanTheHeadRoomFindsWhatTheSynchronousScanFinds) {
  const std::size_t record_bytes = 3 * log::window_head_bytes / 2;
  StoreBuilder b = write_big_segment(dir(), 35, record_bytes);
  auto file = open(b.segment_path(1));
  TrackedReadAhead reads;
  log::WindowReads ahead(reads, log::read_window_bytes);
  Result<log::ScanResult> synchronous = scan_whole(*file, b.segment_bytes(), nullptr);
  Result<log::ScanResult> read_ahead = scan_whole(*file, b.segment_bytes(), &ahead);
  ASSERT_TRUE(synchronous.ok() && read_ahead.ok());
  EXPECT_EQ(read_ahead->stop, log::ScanStop::clean_end);
  EXPECT_EQ(read_ahead->records, 35u);
  EXPECT_EQ(read_ahead->end_offset, synchronous->end_offset);
  EXPECT_EQ(read_ahead->bytes_read, synchronous->bytes_read);
  EXPECT_EQ(reads.pending(), 0u);
}

// The same scan on an io_uring read-ahead (the real env's choice where it has io_uring): the
// same records and end, its windows handed over without a copy, damage found where it lies.
TEST_F(SegmentScanTest, RingReadAheadScanFindsWhatTheSynchronousScanFinds) {
  StoreBuilder b = write_big_segment(dir(), 60);
  const Extent victim = b.record(45);
  flip_byte(b.segment_path(1), victim.offset + 1000);
  auto file = open(b.segment_path(1));
  std::unique_ptr<io::ReadAhead> ring = io::make_uring_read_ahead(log::window_reads_ring_depth);
  if (ring == nullptr) GTEST_SKIP() << "no io_uring here";
  Result<log::ScanResult> synchronous = scan_whole(*file, b.segment_bytes(), nullptr);
  std::optional<Result<log::ScanResult>> read_ahead;
  std::uint64_t taken = 0;
  {
    log::WindowReads ahead(*ring, log::read_window_bytes, log::window_reads_ring_depth);
    read_ahead.emplace(scan_whole(*file, b.segment_bytes(), &ahead));
    taken = ahead.windows_taken();
  }
  ASSERT_TRUE(synchronous.ok() && read_ahead->ok()) << read_ahead->status().to_string();
  EXPECT_EQ((*read_ahead)->stop, log::ScanStop::bad_record);
  EXPECT_EQ((*read_ahead)->found_offset, victim.offset);
  EXPECT_EQ((*read_ahead)->records, 45u);
  EXPECT_EQ((*read_ahead)->end_offset, synchronous->end_offset);
  // Windows handed over whole hold up to a window past where the synchronous reads stopped.
  EXPECT_GE((*read_ahead)->bytes_read, synchronous->bytes_read);
  EXPECT_LE((*read_ahead)->bytes_read, synchronous->bytes_read + log::read_window_bytes);
  EXPECT_GE(taken, 3u) << "windows served without a copy";
}

TEST_F(SegmentScanTest, DamageInsideAWindowReadAheadIsFoundThereAndTheEarlyExitWaits) {
  StoreBuilder b = write_big_segment(dir(), 60);
  // Record 15 lies in the second window (about 1.5 MiB in), while windows up to the fifth are
  // already in flight when the scan reaches it.
  const Extent victim = b.record(15);
  ASSERT_GT(victim.offset, log::read_window_bytes);
  flip_byte(b.segment_path(1), victim.offset + 1000);
  auto file = open(b.segment_path(1));
  TrackedReadAhead reads;
  log::WindowReads ahead(reads, log::read_window_bytes);
  Result<log::ScanResult> scan = scan_whole(*file, b.segment_bytes(), &ahead);
  ASSERT_TRUE(scan.ok()) << scan.status().to_string();
  EXPECT_EQ(reads.pending(), 0u) << "the scan returned with reads in flight";
  EXPECT_GT(ahead.windows_submitted(), 3u) << "windows after the damage were read ahead";
  EXPECT_EQ(scan->stop, log::ScanStop::bad_record);
  EXPECT_EQ(scan->record_error, format::RecordError::payload_checksum);
  EXPECT_EQ(scan->found_offset, victim.offset);
  EXPECT_EQ(scan->cut_offset, victim.offset);
  EXPECT_EQ(scan->records, 15u);
  // The same windows serve the next segment: nothing of the early exit is left over.
  std::filesystem::create_directory(path("other"));
  StoreBuilder other = write_big_segment(path("other"), 30);
  auto other_file = open(other.segment_path(1));
  Result<log::ScanResult> next = scan_whole(*other_file, other.segment_bytes(), &ahead);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->stop, log::ScanStop::clean_end);
  EXPECT_EQ(next->records, 30u);
  EXPECT_EQ(reads.pending(), 0u);
}

// Recovery under verify_on_open scans segment after segment: the next one's windows are read
// while the current one's last are decoded, and its scan starts on them (its first window is
// read once, ahead), finding what a scan of its own finds.
TEST_F(SegmentScanTest, ReadAheadGoesOnWithTheFollowingSegment) {
  StoreBuilder b = write_big_segment(dir(), 60);
  std::filesystem::create_directory(path("next"));
  StoreBuilder next = write_big_segment(path("next"), 30);
  auto file = open(b.segment_path(1));
  auto next_file = open(next.segment_path(1));
  Result<log::ScanResult> alone = scan_whole(*next_file, next.segment_bytes(), nullptr);
  ASSERT_TRUE(alone.ok());
  TrackedReadAhead reads;
  log::WindowReads ahead(reads, log::read_window_bytes);
  ahead.follow_with(*next_file, next.segment_bytes(), format::segment_data_offset_bytes);
  Result<log::ScanResult> first = scan_whole(*file, b.segment_bytes(), &ahead);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->records, 60u);
  EXPECT_GT(reads.pending(), 0u) << "the next segment's windows are in flight after the first scan";
  EXPECT_EQ(reads.submitted(next_file.get(), format::segment_data_offset_bytes), 1u);
  const std::uint64_t taken_before = ahead.windows_taken();
  Result<log::ScanResult> second = scan_whole(*next_file, next.segment_bytes(), &ahead);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->stop, log::ScanStop::clean_end);
  EXPECT_EQ(second->records, alone->records);
  EXPECT_EQ(second->end_offset, alone->end_offset);
  EXPECT_EQ(second->bytes_read, alone->bytes_read);
  EXPECT_EQ(reads.submitted(next_file.get(), format::segment_data_offset_bytes), 1u) << "its first window read again";
  EXPECT_GT(ahead.windows_taken(), taken_before);
  EXPECT_EQ(reads.pending(), 0u);
}

// A follower whose windows were not read yet when its scan starts (the scan before it stopped
// early at damage), or that is dropped by drain() (a walk that stopped), changes nothing but
// the reads: scans find what they find alone and leave nothing in flight.
TEST_F(SegmentScanTest, AFollowerNotReadAheadOrDroppedChangesNothing) {
  StoreBuilder b = write_big_segment(dir(), 60);
  flip_byte(b.segment_path(1), b.record(15).offset + 1000);  // the first scan stops early
  std::filesystem::create_directory(path("next"));
  StoreBuilder next = write_big_segment(path("next"), 30);
  std::filesystem::create_directory(path("other"));
  StoreBuilder other = write_big_segment(path("other"), 20);
  auto file = open(b.segment_path(1));
  auto next_file = open(next.segment_path(1));
  auto other_file = open(other.segment_path(1));
  TrackedReadAhead reads;
  log::WindowReads ahead(reads, log::read_window_bytes);
  ahead.follow_with(*next_file, next.segment_bytes(), format::segment_data_offset_bytes);
  Result<log::ScanResult> damaged = scan_whole(*file, b.segment_bytes(), &ahead);
  ASSERT_TRUE(damaged.ok());
  EXPECT_EQ(damaged->stop, log::ScanStop::bad_record);
  EXPECT_EQ(damaged->records, 15u);
  EXPECT_EQ(reads.submitted(next_file.get(), format::segment_data_offset_bytes), 0u) << "stopped before reaching it";
  Result<log::ScanResult> unread = scan_whole(*next_file, next.segment_bytes(), &ahead);
  ASSERT_TRUE(unread.ok());
  EXPECT_EQ(unread->stop, log::ScanStop::clean_end);
  EXPECT_EQ(unread->records, 30u);
  EXPECT_EQ(reads.pending(), 0u);
  // Named again, read ahead in full behind another scan, then dropped.
  ahead.follow_with(*next_file, next.segment_bytes(), format::segment_data_offset_bytes);
  Result<log::ScanResult> elsewhere = scan_whole(*other_file, other.segment_bytes(), &ahead);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(elsewhere->records, 20u);
  EXPECT_EQ(reads.submitted(next_file.get(), format::segment_data_offset_bytes), 2u);
  EXPECT_GT(reads.pending(), 0u);
  ahead.drain();
  EXPECT_EQ(reads.pending(), 0u);
  Result<log::ScanResult> after = scan_whole(*next_file, next.segment_bytes(), &ahead);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->records, 30u);
  EXPECT_EQ(reads.pending(), 0u);
}

TEST_F(SegmentScanTest, ReadErrorAheadIsReportedAsTheSynchronousRead) {
  StoreBuilder b = write_big_segment(dir(), 60);
  TestEnv env(env_);
  env.fail_reads(b.segment_path(1), 3ull << 20, Status(Errc::io_error, "injected EIO"));
  Result<std::unique_ptr<io::File>> file = env.open_file(b.segment_path(1), io::OpenFlags{});
  ASSERT_TRUE(file.ok());
  TrackedReadAhead reads;
  log::WindowReads ahead(reads, log::read_window_bytes);
  Result<log::ScanResult> synchronous = scan_whole(**file, b.segment_bytes(), nullptr);
  Result<log::ScanResult> read_ahead = scan_whole(**file, b.segment_bytes(), &ahead);
  ASSERT_FALSE(synchronous.ok());
  ASSERT_FALSE(read_ahead.ok());
  EXPECT_EQ(read_ahead.status().to_string(), synchronous.status().to_string());
  EXPECT_EQ(reads.pending(), 0u);
}

TEST_F(SegmentScanTest, FileShorterThanItsLimitIsReportedAsWithoutReadAhead) {
  StoreBuilder b = write_big_segment(dir(), 60);
  // The file ends mid-window, inside records: the limit promised more.
  shrink_file(b.segment_path(1), (5ull << 20) / 2);
  auto file = open(b.segment_path(1));
  TrackedReadAhead reads;
  log::WindowReads ahead(reads, log::read_window_bytes);
  Result<log::ScanResult> synchronous = scan_whole(*file, b.segment_bytes(), nullptr);
  Result<log::ScanResult> read_ahead = scan_whole(*file, b.segment_bytes(), &ahead);
  ASSERT_FALSE(synchronous.ok());
  ASSERT_FALSE(read_ahead.ok());
  EXPECT_EQ(read_ahead.status().code(), Errc::io_error);
  EXPECT_EQ(read_ahead.status().to_string(), synchronous.status().to_string());
  EXPECT_EQ(reads.pending(), 0u);
}

}  // namespace
}  // namespace segstore::recovery::testing
