// tests/recovery/store_open_test.cc — recovery end to end, through segstore::Store::open on
// directories the engine itself wrote: the image a crashed process leaves, then damaged.
#include <filesystem>
#include <map>

#include "format/layout.h"
#include "io/env.h"
#include "recovery_fixture.h"
#include "segstore/store.h"
#include "support/read_ahead_recorder.h"

namespace segstore::recovery::testing {
namespace {

Options small_store_options() {
  Options options;
  options.segment_bytes = 64 * 1024;
  options.durability = Durability::sync;
  options.write_group_bytes_max = 64 * 1024;
  return options;
}

std::span<const std::byte> as_span(const Bytes &b) { return std::span<const std::byte>(b.data(), b.size()); }

// Copies a directory the engine is still working in (its maintenance thread may be renaming a
// .tmp or creating a segment meanwhile): a file that vanishes between listing and copying is
// simply not in the image, as it would not be in a crash at that moment.
void copy_live_dir(const std::string &from, const std::string &to) {
  std::filesystem::create_directories(to);
  std::error_code error;
  for (const auto &entry : std::filesystem::directory_iterator(from, error)) {
    const std::filesystem::path target = std::filesystem::path(to) / entry.path().filename();
    std::error_code ignored;
    if (entry.is_directory(ignored)) {
      copy_live_dir(entry.path().string(), target.string());
    } else {
      std::filesystem::copy_file(entry.path(), target, std::filesystem::copy_options::overwrite_existing, ignored);
    }
  }
}

class StoreOpenTest : public RecoveryTest {
 protected:
  // Appends `count` records (every 7th an atomic batch of 3) through the engine and, while it
  // is still open, copies its directory: what a crash of the process leaves on disk (every
  // acknowledged record was synced). Returns the next LSN.
  std::uint64_t write_and_copy(const std::string &copy, std::uint64_t count) {
    const std::string original = dir() + "-engine";
    Result<std::unique_ptr<Store>> store = Store::open(original, small_store_options());
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    if (!store.ok()) return 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t lsn = (*store)->next_lsn();
      if (i % 7 == 6) {
        const Bytes a = payload_of(lsn, 90), bb = payload_of(lsn + 1, 91), c = payload_of(lsn + 2, 92);
        const BatchEntry batch[] = {{1, as_span(a)}, {1, as_span(bb)}, {1, as_span(c)}};
        EXPECT_TRUE((*store)->append_batch(batch).ok());
      } else {
        const Bytes p = payload_of(lsn, 200 + i % 300);
        EXPECT_TRUE((*store)->append(as_span(p), static_cast<std::uint32_t>(i % 3)).ok());
      }
    }
    const std::uint64_t next = (*store)->next_lsn();
    copy_live_dir(original, copy);
    EXPECT_TRUE((*store)->close().ok());
    std::filesystem::remove_all(original);
    return next;
  }

  void expect_readable(Store &store, std::uint64_t first, std::uint64_t next) {
    ASSERT_EQ(store.next_lsn(), next);
    for (std::uint64_t lsn = first; lsn < next; ++lsn) {
      Result<Record> r = store.read(lsn);
      ASSERT_TRUE(r.ok()) << lsn << ": " << r.status().to_string();
      const Bytes want = payload_of(lsn, r->payload.size());
      ASSERT_TRUE(r->payload == want) << "payload of " << lsn;
    }
  }

  // The last record the engine wrote in the copy: (segment path, offset, lsn).
  struct Located {
    std::string path;
    std::uint64_t offset = 0;
    std::uint64_t lsn = 0;
  };
  Located last_full_record(const std::string &store_dir) {
    Located found;
    std::vector<std::string> segs;
    for (const auto &e : std::filesystem::directory_iterator(store_dir))
      if (e.path().extension() == ".seg") segs.push_back(e.path().string());
    std::sort(segs.begin(), segs.end());
    for (const std::string &seg : segs) {
      const Bytes bytes = read_file(seg);
      format::SegmentHeader h;
      if (format::decode_segment_header(bytes, &h) != format::SegmentHeaderError::none) continue;
      std::uint64_t pos = format::segment_data_offset_bytes, lsn = h.base_lsn;
      while (pos + 32 <= bytes.size()) {
        const format::DecodeOutcome out = format::decode_record(std::span<const std::byte>(bytes).subspan(pos), &lsn);
        if (out.error != format::RecordError::none) break;
        if (out.record.header.type == format::RecordType::full) found = {seg, pos, lsn};
        if (out.record.header.type != format::RecordType::padding) ++lsn;
        pos += out.record.disk_bytes;
      }
    }
    return found;
  }
};

TEST_F(StoreOpenTest, CrashImageRecoversEveryAcknowledgedRecord) {
  const std::string copy = dir() + "/store";
  const std::uint64_t next = write_and_copy(copy, 400);
  ASSERT_GT(next, 400u);
  Result<std::unique_ptr<Store>> store = Store::open(copy, small_store_options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  const RecoveryReport &r = (*store)->recovery_report();
  EXPECT_TRUE(r.ran);
  EXPECT_FALSE(r.cut) << r.to_string();
  expect_readable(**store, 0, next);
  // Appends continue densely after recovery.
  const Bytes p = payload_of(next, 50);
  Result<std::uint64_t> lsn = (*store)->append(as_span(p));
  ASSERT_TRUE(lsn.ok());
  EXPECT_EQ(*lsn, next);
  ASSERT_TRUE((*store)->close().ok());
}

TEST_F(StoreOpenTest, DamagedTailIsCutThenTheStoreGoesOn) {
  const std::string copy = dir() + "/store";
  const std::uint64_t next = write_and_copy(copy, 300);
  const Located victim = last_full_record(copy);
  ASSERT_FALSE(victim.path.empty());
  flip_byte(victim.path, victim.offset + 40);
  Result<std::unique_ptr<Store>> store = Store::open(copy, small_store_options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  const RecoveryReport &r = (*store)->recovery_report();
  ASSERT_TRUE(r.cut) << r.to_string();
  EXPECT_EQ(r.cut_lsn, victim.lsn);
  EXPECT_EQ(r.cut_offset, victim.offset);
  EXPECT_TRUE(r.cut_reason.find("payload_checksum") == 0) << r.cut_reason;
  EXPECT_GT(r.bytes_quarantined, 0u);
  expect_readable(**store, 0, victim.lsn);
  EXPECT_LE(victim.lsn, next);
  // New records take the cut LSNs; a reopen finds them and cuts nothing more.
  for (int i = 0; i < 20; ++i) {
    const Bytes p = payload_of((*store)->next_lsn(), 120);
    ASSERT_TRUE((*store)->append(as_span(p)).ok());
  }
  const std::uint64_t after = (*store)->next_lsn();
  ASSERT_TRUE((*store)->close().ok());
  store = Store::open(copy, small_store_options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_FALSE((*store)->recovery_report().cut);
  expect_readable(**store, 0, after);
  // The report reached events.log.
  const Bytes events = read_file(copy + "/events.log");
  EXPECT_NE(std::string(reinterpret_cast<const char *>(events.data()), events.size()).find("log cut in"),
            std::string::npos);
}

TEST_F(StoreOpenTest, StrictRecoveryRefusesToOpenADamagedStore) {
  const std::string copy = dir() + "/store";
  write_and_copy(copy, 100);
  const Located victim = last_full_record(copy);
  ASSERT_FALSE(victim.path.empty());
  flip_byte(victim.path, victim.offset + 3);
  Options options = small_store_options();
  options.strict_recovery = true;
  Result<std::unique_ptr<Store>> store = Store::open(copy, options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Errc::recovery_required) << store.status().to_string();
  EXPECT_FALSE(std::filesystem::exists(copy + "/quarantine"));
  // The offline tool (segstore::recover) does the cut when asked without strict mode.
  Result<RecoveryReport> report = segstore::recover(copy, small_store_options());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->cut);
  EXPECT_EQ(report->cut_lsn, victim.lsn);
}

TEST_F(StoreOpenTest, CleanCloseSkipsTheScan) {
  const std::string store_dir = dir() + "/store";
  {
    Result<std::unique_ptr<Store>> store = Store::open(store_dir, small_store_options());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (int i = 0; i < 200; ++i) {
      const Bytes p = payload_of(i, 300);
      ASSERT_TRUE((*store)->append(as_span(p)).ok());
    }
    ASSERT_TRUE((*store)->close().ok());
  }
  Result<std::unique_ptr<Store>> store = Store::open(store_dir, small_store_options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_FALSE((*store)->recovery_report().ran) << (*store)->recovery_report().to_string();
  expect_readable(**store, 0, 200);
}

// After a clean close, damage at the first record of the last segment (its snapshot gone, so it
// is scanned) cuts all of it: the segment before, which recovery left unopened, becomes the last
// one. The open synced the last segment's file, and a segment never opened has none (a fuzzed
// store crashed the open on a null file).
TEST_F(StoreOpenTest, CutOfTheWholeLastSegmentAfterACleanCloseLeavesAnUnopenedOneLast) {
  const std::string store_dir = dir() + "/store";
  constexpr int records = 600;  // several segments of 64 KiB
  {
    Result<std::unique_ptr<Store>> store = Store::open(store_dir, small_store_options());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (int i = 0; i < records; ++i) {
      const Bytes p = payload_of(i, 300);
      ASSERT_TRUE((*store)->append(as_span(p)).ok());
    }
    ASSERT_TRUE((*store)->close().ok());
  }
  // The last segment with records is the newest with an index snapshot (close writes its own).
  std::uint64_t last = 0;
  for (const auto &entry : std::filesystem::directory_iterator(store_dir))
    if (auto id = format::parse_numbered_name(entry.path().filename().string(), format::index_suffix))
      last = std::max(last, *id);
  ASSERT_GE(last, 3u) << "the store should span several segments";
  const std::string seg_path = format::join_path(store_dir, format::numbered_name(last, format::segment_suffix));
  std::filesystem::remove(format::join_path(store_dir, format::numbered_name(last, format::index_suffix)));
  flip_byte(seg_path, format::segment_data_offset_bytes + 8);  // the first record's LSN: its header checksum fails
  Result<std::unique_ptr<Store>> store = Store::open(store_dir, small_store_options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  const RecoveryReport &report = (*store)->recovery_report();
  ASSERT_TRUE(report.cut) << report.to_string();
  EXPECT_EQ(report.cut_file, format::numbered_name(last, format::segment_suffix));
  EXPECT_EQ(report.cut_offset, format::segment_data_offset_bytes);
  EXPECT_EQ((*store)->next_lsn(), report.cut_lsn);
  expect_readable(**store, 0, report.cut_lsn);
}

// A last segment without records whose end is not on a block boundary (its header, then a
// padding record of 32 bytes: a disk may hold anything) cannot take appends, since a write group
// starts on a block. It used to stay in the segment map under the next LSN, and the first
// append's new segment, keyed by the same LSN, broke an invariant and aborted the host (found by
// fuzzing segment_scan). The open now removes the empty file; the appends go to a new segment.
TEST_F(StoreOpenTest, AnEmptyLastSegmentEndingOffABlockMakesWayForTheFirstAppend) {
  StoreBuilder b(dir());
  for (int i = 0; i < 6; ++i) b.append(100 + i * 10);
  b.roll();
  b.write(/*index_sealed=*/false);
  const std::uint64_t next = b.next_lsn();
  const std::uint64_t empty_id = b.last_used().id;
  ASSERT_EQ(b.last_used().record_count, 0u);
  Bytes empty = read_file(b.segment_path(empty_id));
  format::encode_padding(next, format::record_header_bytes, empty.data() + format::segment_data_offset_bytes);
  write_file(b.segment_path(empty_id), empty);

  Result<std::unique_ptr<Store>> store = Store::open(dir(), small_store_options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  ASSERT_EQ((*store)->next_lsn(), next);
  EXPECT_FALSE(std::filesystem::exists(b.segment_path(empty_id)));
  for (std::uint64_t lsn = next; lsn < next + 3; ++lsn) {
    const Bytes p = payload_of(lsn, 150);
    Result<std::uint64_t> appended = (*store)->append(as_span(p));
    ASSERT_TRUE(appended.ok()) << appended.status().to_string();
    EXPECT_EQ(*appended, lsn);
  }
  ASSERT_TRUE((*store)->close().ok());
  store = Store::open(dir(), small_store_options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_FALSE((*store)->recovery_report().cut) << (*store)->recovery_report().to_string();
  expect_readable(**store, 0, next + 3);
}

// verify_on_open scans every segment front to back: the next segment's first window is read
// ahead while the current one's last windows are still to be waited for, so the device's queue
// does not drain at each segment's end. Before, each segment's reads began after the previous
// segment's had all been waited for.
TEST_F(StoreOpenTest, VerifyOnOpenReadsTheNextSegmentAheadOfTheCurrentOnesEnd) {
  const std::string store_dir = dir() + "/store";
  Options options = small_store_options();
  options.segment_bytes = 4u << 20;  // several 1 MiB windows per segment
  options.durability = Durability::none;
  {
    Result<std::unique_ptr<Store>> store = Store::open(store_dir, options);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (int i = 0; i < 12000; ++i) {
      const Bytes p = payload_of(i, 900);
      ASSERT_TRUE((*store)->append(as_span(p)).ok());
    }
    ASSERT_TRUE((*store)->close().ok());
  }
  auto recorder = std::make_shared<segstore::testing::ReadAheadRecorder>(io::make_posix_env({}));
  options.env = recorder;
  options.verify_on_open = true;
  Result<std::unique_ptr<Store>> store = Store::open(store_dir, options);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  const std::uint64_t segments = (*store)->stats().segment_count;
  ASSERT_GE(segments, 3u);
  // Per segment file: where its first window was submitted, and where its last wait returned.
  std::map<std::string, std::size_t> first_submit, last_wait;
  const std::vector<segstore::testing::ReadAheadRecorder::Event> events = recorder->events();
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!events[i].path.ends_with(".seg")) continue;
    if (events[i].submit && events[i].offset == format::segment_data_offset_bytes)
      first_submit.emplace(events[i].path, i);
    if (!events[i].submit) last_wait[events[i].path] = i;
  }
  ASSERT_EQ(first_submit.size(), segments) << "every segment scanned through the read-ahead";
  std::size_t overlapped = 0;
  std::string previous;
  for (const auto &[path, submitted] : first_submit) {  // file names sort as segment ids
    if (!previous.empty() && submitted < last_wait[previous]) overlapped++;
    previous = path;
  }
  EXPECT_EQ(overlapped, segments - 1);
  expect_readable(**store, 0, 12000);
}

}  // namespace
}  // namespace segstore::recovery::testing
