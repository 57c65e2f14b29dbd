// tests/engine/recycle_test.cc — segment recycling (Options::recycled_segments_max): the files
// trim frees come back as later segments, every record reads back before and after a reopen and
// after a crash, and no record of a file's earlier life is ever read as one of this life's.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/gate.h"
#include "engine/store_fixture.h"
#include "format/layout.h"
#include "format/record.h"
#include "format/segment_header.h"
#include "format/small_files.h"
#include "format/store_dir.h"
#include "recovery/store_builder.h"
#include "support/forwarding_env.h"

namespace segstore::testing {
namespace {

namespace fs = std::filesystem;
using recovery::testing::Bytes;
using recovery::testing::read_file;
using recovery::testing::write_file;

constexpr std::size_t payload_bytes = 300;

Options recycling_options() {
  Options options = small_segments(Durability::none);
  options.recycled_segments_max = 4;
  return options;
}

std::vector<std::string> names_with_suffix(const std::string &dir, const std::string &suffix) {
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().ends_with(suffix)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The header in block 0 of a segment file; flags 0 and base 0 for a preallocated one (all zero).
format::SegmentHeader header_of(const std::string &path) {
  const Bytes bytes = read_file(path);
  format::SegmentHeader header;
  const format::SegmentHeaderError error =
      format::decode_segment_header(std::span<const std::byte>(bytes.data(), format::block_size_bytes), &header);
  EXPECT_TRUE(error == format::SegmentHeaderError::none || error == format::SegmentHeaderError::unused) << path;
  return header;
}

std::size_t recycled_segments(const std::string &dir) {
  std::size_t n = 0;
  for (const std::string &name : names_with_suffix(dir, format::segment_suffix))
    if (header_of(dir + "/" + name).recycled()) n++;
  return n;
}

// Appends records n in [from, to) (payload_for(n)), LSN == n (the store starts at LSN 0).
void append_range(Store &store, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t n = from; n < to; ++n) {
    Result<std::uint64_t> lsn = store.append(payload_for(n, payload_bytes));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    ASSERT_EQ(*lsn, n);
  }
}

void expect_records(Store &store, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t n = from; n < to; ++n) {
    Result<Record> record = store.read(n);
    ASSERT_TRUE(record.ok()) << "LSN " << n << ": " << record.status().to_string();
    ASSERT_EQ(record->payload, payload_for(n, payload_bytes)) << "LSN " << n;
  }
}

void fill_trim_and_recycle(Store &store, const std::string &dir, std::uint64_t *end);

TEST(RecycledSegments, TrimmedFilesBecomeLaterSegmentsAndEveryRecordReadsBack) {
  TempDir dir;
  std::uint64_t end = 0;
  {
    auto store = open_or_die(dir.path(), recycling_options());
    ASSERT_NO_FATAL_FAILURE(fill_trim_and_recycle(*store, dir.path(), &end));
    EXPECT_GE(recycled_segments(dir.path()), 1u) << "no segment was made from a free file";
    EXPECT_GE(store->stats().segments_recycled, 1u);
    EXPECT_LE(store->stats().free_files, 4u);  // recycled_segments_max
    ASSERT_NO_FATAL_FAILURE(expect_records(*store, store->first_lsn(), end));
    EXPECT_LE(names_with_suffix(dir.path(), format::free_suffix).size(), 4u);
    SEGSTORE_ASSERT_OK(store->close());
  }
  auto store = open_or_die(dir.path(), recycling_options());
  EXPECT_FALSE(store->recovery_report().cut);
  ASSERT_NO_FATAL_FAILURE(expect_records(*store, store->first_lsn(), end));
  // Appends go on, into recycled segments too, and read back.
  ASSERT_NO_FATAL_FAILURE(append_range(*store, end, end + 800));
  ASSERT_NO_FATAL_FAILURE(expect_records(*store, store->first_lsn(), end + 800));
}

TEST(RecycledSegments, WithoutRecyclingFreedFilesAreDeleted) {
  TempDir dir;
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  ASSERT_NO_FATAL_FAILURE(append_range(*store, 0, 1200));
  SEGSTORE_ASSERT_OK(store->sync());
  SEGSTORE_ASSERT_OK(store->trim_before(1000));
  EXPECT_TRUE(names_with_suffix(dir.path(), format::free_suffix).empty());
  EXPECT_EQ(recycled_segments(dir.path()), 0u);
  EXPECT_EQ(store->stats().segments_recycled, 0u);
}

// Free files left by a store that recycled are deleted at an open that does not recycle.
TEST(RecycledSegments, AnOpenWithoutRecyclingDeletesTheFreeFiles) {
  TempDir dir;
  {
    auto store = open_or_die(dir.path(), recycling_options());
    ASSERT_NO_FATAL_FAILURE(append_range(*store, 0, 1200));
    SEGSTORE_ASSERT_OK(store->sync());
    SEGSTORE_ASSERT_OK(store->trim_before(1000));
    SEGSTORE_ASSERT_OK(store->close());
  }
  ASSERT_FALSE(names_with_suffix(dir.path(), format::free_suffix).empty());
  auto store = open_or_die(dir.path(), small_segments(Durability::none));
  EXPECT_TRUE(names_with_suffix(dir.path(), format::free_suffix).empty());
  ASSERT_NO_FATAL_FAILURE(expect_records(*store, store->first_lsn(), 1200));
}

// The real Env, recording which segments got an index snapshot written (the ids of the .idx
// files opened for writing), and holding the first such write, once armed, at the gate; and the
// first rename of a segment into a free file at the other gate, once that is armed.
class IndexWriteEnv final : public ForwardingEnv {
 public:
  IndexWriteEnv(std::shared_ptr<io::Env> base, Gate *gate, Gate *free_gate = nullptr)
      : ForwardingEnv(std::move(base)), gate_(gate), free_gate_(free_gate) {}

  Status rename(const std::string &from, const std::string &to) override {
    if (free_gate_ != nullptr && from.ends_with(format::segment_suffix) && to.ends_with(format::free_suffix))
      free_gate_->pass();
    return base().rename(from, to);
  }

  Result<std::unique_ptr<io::File>> open_file(const std::string &path, io::OpenFlags flags) override {
    const std::string name = fs::path(path).filename().string();
    if (flags.write && name.find(format::index_suffix) != std::string::npos) {
      {
        std::lock_guard lock(mu_);
        indexed_.insert(std::stoull(name));  // "<20-digit id>.idx..."
      }
      gate_->pass();
    }
    return base().open_file(path, flags);
  }
  std::set<std::uint64_t> indexed() {
    std::lock_guard lock(mu_);
    return indexed_;
  }

 private:
  Gate *gate_;
  Gate *free_gate_;
  std::mutex mu_;
  std::set<std::uint64_t> indexed_;
};

std::set<std::uint64_t> segment_ids(const std::string &dir) {
  std::set<std::uint64_t> ids;
  for (const std::string &name : names_with_suffix(dir, format::segment_suffix)) ids.insert(std::stoull(name));
  return ids;
}

Options retention_options(std::shared_ptr<io::Env> env) {
  Options options = recycling_options();
  options.recycled_segments_max = 8;
  options.retain_segments_max = 2;
  options.env = std::move(env);
  return options;
}

// The first seal holds in its index write at `gate` (two segments: retention keeps both, so the
// first is sealed) while the appender fills seven more: they all wait for their seals behind it.
void fill_behind_a_held_seal(Store &store, Gate &gate, std::uint64_t *end) {
  gate.arm();
  while (store.stats().segment_count < 2) {  // 50 records are less than a segment: one roll at most
    ASSERT_NO_FATAL_FAILURE(append_range(store, *end, *end + 50));
    *end += 50;
  }
  ASSERT_TRUE(gate.wait_until_holding(std::chrono::seconds(20))) << "the first segment was not sealed";
  while (store.stats().segment_count < 9) {
    ASSERT_NO_FATAL_FAILURE(append_range(store, *end, *end + 50));
    *end += 50;
  }
}

struct ReleaseAtExit {
  Gate &gate;
  ~ReleaseAtExit() { gate.release(); }  // before the store's close, on every way out
};

// Segments that retention takes while they still wait for their seal are removed without an
// index snapshot, and their files go to the recycling pool. Before, each was sealed first (an
// index written and synced, then removed with it); a stream that filled segments faster than
// that left the seals behind, retention with them, and new segments were made from new files
// while the pool stood empty (W1 at 64 KiB over recycled segments: 11 of its 32 segments made
// from freed files).
TEST(RecycledSegments, RetentionTakesSegmentsWaitingForTheirSealWithoutIndexingThem) {
  TempDir dir;
  Gate gate;
  auto env = std::make_shared<IndexWriteEnv>(io::make_posix_env({}), &gate);
  Options options = retention_options(env);
  auto store = open_or_die(dir.path(), options);
  ReleaseAtExit release_at_exit{gate};
  std::uint64_t end = 0;
  ASSERT_NO_FATAL_FAILURE(fill_behind_a_held_seal(*store, gate, &end));
  const std::uint64_t held_id = *env->indexed().begin();
  gate.release();
  SEGSTORE_ASSERT_OK(store->sync());
  SEGSTORE_ASSERT_OK(store->close());

  // Only the held segment and those kept got an index; retention took the others unindexed.
  const std::set<std::uint64_t> kept = segment_ids(dir.path());
  for (std::uint64_t id : env->indexed())
    EXPECT_TRUE(id == held_id || kept.count(id) == 1) << "segment " << id << " was indexed, then removed";
  EXPECT_LE(kept.size(), 3u);  // two retained, and the spare
  const std::size_t free_files = names_with_suffix(dir.path(), format::free_suffix).size();
  EXPECT_GE(free_files, 5u) << "the removed segments' files should wait in the pool";
  EXPECT_LE(free_files, 8u);

  // Every retained record reads back after a reopen, and the next segments come from the pool.
  options.env.reset();
  store = open_or_die(dir.path(), options);
  EXPECT_FALSE(store->recovery_report().cut) << store->recovery_report().to_string();
  ASSERT_EQ(store->next_lsn(), end);
  ASSERT_GT(store->first_lsn(), 0u);
  ASSERT_NO_FATAL_FAILURE(expect_records(*store, store->first_lsn(), end));
  const std::uint64_t recycled_before = store->stats().segments_recycled;
  ASSERT_NO_FATAL_FAILURE(append_range(*store, end, end + 600));
  EXPECT_GT(store->stats().segments_recycled, recycled_before);
  SEGSTORE_ASSERT_OK(store->close());  // retention runs beside the appends: read after it stopped
  store = open_or_die(dir.path(), options);
  ASSERT_EQ(store->next_lsn(), end + 600);
  ASSERT_NO_FATAL_FAILURE(expect_records(*store, store->first_lsn(), end + 600));
}

// A copy of the directory's files taken while the store is open is what a crash leaves (no
// CLEAN). A temporary file the store removes meanwhile is not copied.
void copy_store(const std::string &from, const std::string &to) {
  fs::create_directories(to);
  for (const auto &entry : fs::directory_iterator(from)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name == "LOCK" || name.ends_with(".tmp")) continue;
    std::error_code vanished;
    fs::copy_file(entry.path(), fs::path(to) / name, vanished);
  }
}

std::string last_segment(const std::string &dir) {
  const std::vector<std::string> names = names_with_suffix(dir, format::segment_suffix);
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    const format::SegmentHeader header = header_of(dir + "/" + *it);
    if (header.segment_id != 0 && !header.spare()) return dir + "/" + *it;
  }
  return "";
}

// The offsets of a segment's records, walked with its seed from block 1; the last entry is
// where they end.
std::vector<std::uint64_t> record_offsets(const Bytes &file, const format::SegmentHeader &header) {
  std::vector<std::uint64_t> offsets;
  std::uint64_t at = format::segment_data_offset_bytes;
  while (at + format::record_header_bytes <= file.size()) {
    offsets.push_back(at);
    const format::DecodeOutcome got = format::decode_record(std::span<const std::byte>(file).subspan(at), nullptr,
                                                            format::record_crc_seed_of(header));
    if (got.error != format::RecordError::none) break;
    at += got.record.disk_bytes;
  }
  if (offsets.empty() || offsets.back() != at) offsets.push_back(at);
  return offsets;
}

std::uint64_t records_end(const Bytes &file, const format::SegmentHeader &header) {
  return record_offsets(file, header).back();
}

// Fills several segments, trims most of them (their files become free files), then appends
// until the last segment is one made from a free file and holds 40 to 120 records (182 of 300
// bytes fill a 64 KiB segment), so that a previous life's bytes follow its records. Which of the
// new segments come from free files depends on when the maintenance thread sealed the trimmed
// ones, so the appends go on until one does.
void fill_trim_and_recycle(Store &store, const std::string &dir, std::uint64_t *end) {
  append_range(store, 0, 1200);
  SEGSTORE_ASSERT_OK(store.sync());
  // A trim takes only sealed segments: one the maintenance thread has not sealed yet stays, and
  // goes with a later trim. Appending goes on until a trim freed a file.
  std::uint64_t n = 1200;
  SEGSTORE_ASSERT_OK(store.trim_before(1000));
  for (; names_with_suffix(dir, format::free_suffix).empty() && n < 2400; n += 20) {
    append_range(store, n, n + 20);
    SEGSTORE_ASSERT_OK(store.sync());
    SEGSTORE_ASSERT_OK(store.trim_before(1000));
  }
  ASSERT_FALSE(names_with_suffix(dir, format::free_suffix).empty()) << "trim kept no free file";
  for (; n < 4800; n += 20) {
    append_range(store, n, n + 20);
    SEGSTORE_ASSERT_OK(store.sync());
    const std::string last = last_segment(dir);
    const format::SegmentHeader header = header_of(last);
    const std::size_t records = record_offsets(read_file(last), header).size() - 1;
    if (header.recycled() && records >= 40 && records <= 120) break;
    if (n % 400 == 0) SEGSTORE_ASSERT_OK(store.trim_before(n - 200));  // more free files
  }
  ASSERT_LT(n, 4800u) << "no recycled segment became the last one";
  *end = n + 20;
}


// After a crash, the active recycled segment's records end where the previous life's bytes
// begin: that is its clean end (no cut, nothing quarantined), and every record synced before
// the crash reads back.
// A crash after retention wrote META and before it moved the segments it took (sealed or still
// waiting for their seal, so without an index snapshot) into the pool: the reopen removes them
// and keeps every record from META's first LSN on.
TEST(RecycledSegments, ACrashBetweenRetentionsMetaAndItsRemovalsKeepsEveryRecordAbove) {
  TempDir dir;
  const std::string image = dir.path() + "-crash";
  Gate gate, free_gate;
  auto env = std::make_shared<IndexWriteEnv>(io::make_posix_env({}), &gate, &free_gate);
  Options options = retention_options(env);
  auto store = open_or_die(dir.path(), options);
  ReleaseAtExit release_at_exit{gate}, release_free_at_exit{free_gate};
  std::uint64_t end = 0;
  ASSERT_NO_FATAL_FAILURE(fill_behind_a_held_seal(*store, gate, &end));
  SEGSTORE_ASSERT_OK(store->sync());  // every record is acknowledged as durable
  free_gate.arm();
  gate.release();
  ASSERT_TRUE(free_gate.wait_until_holding(std::chrono::seconds(20))) << "retention moved no segment";
  const std::size_t unindexed = segment_ids(dir.path()).size() - names_with_suffix(dir.path(), format::index_suffix).size();
  copy_store(dir.path(), image);
  free_gate.release();
  SEGSTORE_ASSERT_OK(store->close());
  EXPECT_GE(unindexed, 5u) << "the crash should leave segments retention took before their seal";

  options.env.reset();
  auto reopened = open_or_die(image, options);
  EXPECT_FALSE(reopened->recovery_report().cut) << reopened->recovery_report().to_string();
  EXPECT_FALSE(reopened->recovery_report().acknowledged_data_lost);
  ASSERT_EQ(reopened->next_lsn(), end);
  ASSERT_GT(reopened->first_lsn(), 0u);
  EXPECT_LE(segment_ids(image).size(), 3u) << "segments below META's first LSN stayed";
  ASSERT_NO_FATAL_FAILURE(expect_records(*reopened, reopened->first_lsn(), end));
  SEGSTORE_ASSERT_OK(reopened->close());
  fs::remove_all(image);
}

TEST(RecycledSegments, ACrashInsideARecycledSegmentKeepsEverySyncedRecord) {
  TempDir dir;
  std::uint64_t end = 0;
  auto store = open_or_die(dir.path(), recycling_options());
  ASSERT_NO_FATAL_FAILURE(fill_trim_and_recycle(*store, dir.path(), &end));
  TempDir crashed;
  const std::string image = crashed.sub("store");
  copy_store(dir.path(), image);
  const std::string active = last_segment(image);
  ASSERT_TRUE(header_of(active).recycled()) << active << " is not recycled: the test needs it to be";
  const Bytes before = read_file(active);
  const std::uint64_t records_end_offset = records_end(before, header_of(active));
  ASSERT_NE(std::find_if(before.begin() + static_cast<std::ptrdiff_t>(records_end_offset), before.end(),
                         [](std::byte b) { return b != std::byte{0}; }),
            before.end())
      << "the recycled segment holds nothing after its records: the test needs a previous life's bytes";

  auto reopened = open_or_die(image, recycling_options());
  const RecoveryReport &report = reopened->recovery_report();
  EXPECT_FALSE(report.cut) << report.cut_reason;
  EXPECT_EQ(report.bytes_quarantined, 0u);
  EXPECT_EQ(reopened->next_lsn(), end);
  ASSERT_NO_FATAL_FAILURE(expect_records(*reopened, reopened->first_lsn(), end));
  // The previous life's bytes after the records were zeroed before appends continue there.
  const Bytes after = read_file(active);
  EXPECT_TRUE(std::all_of(after.begin() + static_cast<std::ptrdiff_t>(records_end_offset), after.end(),
                          [](std::byte b) { return b == std::byte{0}; }));
  ASSERT_NO_FATAL_FAILURE(append_range(*reopened, end, end + 300));
  ASSERT_NO_FATAL_FAILURE(expect_records(*reopened, reopened->first_lsn(), end + 300));
}

// The seed is what keeps an earlier life's record out: one planted right after the records, at
// the LSN expected next and whole in every other check, is not read as a record of this life,
// whether that life was a new file's (unseeded) or another recycled segment's (another id).
TEST(RecycledSegments, ARecordOfAnEarlierLifeAtTheExpectedLsnIsNotRead) {
  TempDir dir;
  std::uint64_t end = 0;
  auto store = open_or_die(dir.path(), recycling_options());
  ASSERT_NO_FATAL_FAILURE(fill_trim_and_recycle(*store, dir.path(), &end));
  for (const bool earlier_life_recycled : {false, true}) {
    SCOPED_TRACE(earlier_life_recycled ? "earlier life: a recycled segment" : "earlier life: a new file");
    TempDir crashed;
    const std::string image = crashed.sub("store");
    copy_store(dir.path(), image);
    const std::string active = last_segment(image);
    const format::SegmentHeader header = header_of(active);
    ASSERT_TRUE(header.recycled());
    Bytes bytes = read_file(active);
    const std::uint64_t at = records_end(bytes, header);
    format::RecordHeader planted;
    planted.lsn = end;
    const std::vector<std::byte> payload = payload_for(999999, payload_bytes);
    ASSERT_LE(at + format::record_disk_bytes(payload.size()), bytes.size());
    format::encode_record(planted, payload, bytes.data() + at,
                          earlier_life_recycled ? format::record_crc_seed(header.segment_id - 1) : 0);
    write_file(active, bytes);

    auto reopened = open_or_die(image, recycling_options());
    EXPECT_FALSE(reopened->recovery_report().cut);
    EXPECT_EQ(reopened->next_lsn(), end) << "a record of an earlier life was read as LSN " << end;
    ASSERT_NO_FATAL_FAILURE(expect_records(*reopened, reopened->first_lsn(), end));
    EXPECT_EQ(reopened->read(end).status().code(), Errc::lsn_out_of_range);
  }
}

// Damage of this life inside a recycled segment is still damage: a record of this life after
// a destroyed one proves the records did not end there.
TEST(RecycledSegments, DamageBeforeARecordOfThisLifeIsStillCut) {
  TempDir dir;
  std::uint64_t end = 0;
  auto store = open_or_die(dir.path(), recycling_options());
  ASSERT_NO_FATAL_FAILURE(fill_trim_and_recycle(*store, dir.path(), &end));
  TempDir crashed;
  const std::string image = crashed.sub("store");
  copy_store(dir.path(), image);
  const std::string active = last_segment(image);
  ASSERT_TRUE(header_of(active).recycled());
  const Bytes bytes = read_file(active);
  const std::vector<std::uint64_t> offsets = record_offsets(bytes, header_of(active));
  ASSERT_GE(offsets.size(), 20u);
  // A record in the middle loses its header; records of this life follow it.
  const std::uint64_t damaged = offsets[offsets.size() / 2];
  flip_byte(active, damaged + 1);

  auto reopened = open_or_die(image, recycling_options());
  const RecoveryReport &report = reopened->recovery_report();
  EXPECT_TRUE(report.cut);
  EXPECT_EQ(report.cut_offset, damaged);
  EXPECT_GT(report.bytes_quarantined, 0u);
  // Bounded by this life's records, not the file's end (a previous life's bytes follow them).
  EXPECT_LE(report.bytes_quarantined, format::align_up(offsets.back(), format::block_size_bytes) - damaged);
  EXPECT_EQ(reopened->next_lsn(), report.cut_lsn);
  ASSERT_NO_FATAL_FAILURE(expect_records(*reopened, reopened->first_lsn(), report.cut_lsn));
}

// A crash after a spare was prepared from a free file and before its first write: recovery
// returns it to the free files (its next life gets a new id) and the log is as it was.
TEST(RecycledSegments, ASpareNeverActivatedGoesBackToTheFreeFiles) {
  TempDir dir;
  std::uint64_t end = 0;
  {
    auto store = open_or_die(dir.path(), recycling_options());
    ASSERT_NO_FATAL_FAILURE(fill_trim_and_recycle(*store, dir.path(), &end));
    SEGSTORE_ASSERT_OK(store->close());
  }
  // The spare as the maintenance thread leaves it: a freed file (a previous life's bytes) whose
  // block 0 was rewritten with a spare header of the next id, renamed to that id. No CLEAN: the
  // open recovers as after a crash.
  std::uint64_t max_id = 0;
  for (const auto &suffix : {format::segment_suffix, format::free_suffix})
    for (const std::string &name : names_with_suffix(dir.path(), suffix))
      max_id = std::max<std::uint64_t>(max_id, std::stoull(name.substr(0, 20)));
  const std::uint64_t spare_id = max_id + 1;
  const Bytes meta_bytes = read_file(dir.sub(format::meta_file_name));
  format::MetaFile meta;
  ASSERT_EQ(format::decode_meta(meta_bytes, &meta), format::SmallFileError::none);
  Bytes spare = payload_for(424242, recycling_options().segment_bytes);
  format::SegmentHeader header;
  header.flags = format::segment_flag_recycled | format::segment_flag_spare;
  header.format_version = format::segment_format_version_for(header.flags);
  header.block_size_bytes = format::block_size_bytes;
  header.segment_id = spare_id;
  header.segment_bytes = spare.size();
  header.store_id = meta.store_id;
  std::fill(spare.begin(), spare.begin() + format::block_size_bytes, std::byte{0});
  format::encode_segment_header(header, spare.data());
  const std::string spare_name = format::numbered_name(spare_id, format::segment_suffix);
  write_file(dir.sub(spare_name), spare);
  fs::remove(dir.sub(format::clean_file_name));

  Options roomy = recycling_options();
  roomy.recycled_segments_max = 64;       // every free file stays in the pool
  roomy.preallocate_next_segment = false;  // and none is made a spare before the checks below
  auto store = open_or_die(dir.path(), roomy);
  EXPECT_FALSE(store->recovery_report().cut);
  EXPECT_EQ(store->recovery_report().bytes_quarantined, 0u);
  EXPECT_FALSE(fs::exists(dir.sub(spare_name)));
  EXPECT_TRUE(fs::exists(dir.sub(format::numbered_name(spare_id, format::free_suffix))))
      << "the spare was not returned to the free files";
  EXPECT_EQ(store->next_lsn(), end);
  ASSERT_NO_FATAL_FAILURE(expect_records(*store, store->first_lsn(), end));
  ASSERT_NO_FATAL_FAILURE(append_range(*store, end, end + 400));
  ASSERT_NO_FATAL_FAILURE(expect_records(*store, store->first_lsn(), end + 400));
  // No segment took the spare's id or a lower one since.
  for (const std::string &name : names_with_suffix(dir.path(), format::segment_suffix))
    if (std::stoull(name.substr(0, 20)) > max_id) {
      EXPECT_GT(std::stoull(name.substr(0, 20)), spare_id) << name;
    }
}

}  // namespace
}  // namespace segstore::testing
