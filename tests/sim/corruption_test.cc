// tests/sim/corruption_test.cc — damage real store files on a real file system and check what
// recovery does, as docs/RECOVERY.md says: the valid prefix is kept with its payloads, the cut
// bytes are in quarantine/, the report says where and why, and a second open changes nothing.
// Then a full disk: a small loop-mounted ext4 when this machine allows it (root, loop devices),
// and always the same story on the simulated disk with a capacity.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "format/layout.h"
#include "format/record.h"
#include "testing/sim_env.h"
#include "segstore/store.h"
#include "support/temp_dir.h"

namespace segstore {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t segment_bytes = 16 * 1024;

std::vector<std::byte> payload_of(std::uint64_t lsn) {
  std::vector<std::byte> bytes(200 + (lsn * 37) % 800);
  std::uint64_t x = lsn + 1;
  for (auto &b : bytes) {
    x = testing::splitmix64(x);
    b = static_cast<std::byte>(x);
  }
  return bytes;
}

std::vector<std::byte> read_file(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

void write_file(const fs::path &path, const std::vector<std::byte> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

struct RecordAt {
  std::uint64_t offset;
  std::uint64_t lsn;
  std::uint64_t disk_bytes;
};

// The records of a segment file, walked from its first record (padding skipped).
std::vector<RecordAt> records_of(const fs::path &segment) {
  const std::vector<std::byte> bytes = read_file(segment);
  std::vector<RecordAt> out;
  std::uint64_t at = format::segment_data_offset_bytes;
  while (at + format::record_header_bytes <= bytes.size()) {
    const format::DecodeOutcome got = format::decode_record(std::span<const std::byte>(bytes).subspan(at));
    if (got.error != format::RecordError::none) break;
    if (got.record.header.type != format::RecordType::padding) out.push_back({at, got.record.header.lsn, got.record.disk_bytes});
    at += got.record.disk_bytes;
  }
  return out;
}

class Corruption : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("SEGSTORE_QUIET", "1", 0);
    dir_ = tmp_.sub("store");
    Options o = options();
    Result<std::unique_ptr<Store>> store = Store::open(dir_, o);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (std::uint64_t lsn = 0; lsn < records_; ++lsn) ASSERT_TRUE((*store)->append(payload_of(lsn)).ok());
    ASSERT_TRUE((*store)->close().ok());
    // As after a crash: no clean-shutdown marker (recovery runs) and no index snapshot of the
    // active segment (the engine removes it when it reopens a segment to append to it).
    fs::remove(fs::path(dir_) / "CLEAN");
    fs::remove(fs::path(segments().back()).replace_extension(".idx"));
  }
  Options options(bool verify = false) {
    Options o;
    o.segment_bytes = segment_bytes;
    o.durability = Durability::sync;
    o.verify_on_open = verify;
    return o;
  }
  std::vector<fs::path> segments() const {
    std::vector<fs::path> out;
    for (const auto &e : fs::directory_iterator(dir_))
      if (e.path().extension() == ".seg") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    // Only segments holding records: a trailing preallocated one has none.
    while (!out.empty() && records_of(out.back()).empty()) out.pop_back();
    return out;
  }
  std::vector<fs::path> quarantined() const {
    std::vector<fs::path> out;
    const fs::path q = fs::path(dir_) / "quarantine";
    if (fs::exists(q))
      for (const auto &e : fs::directory_iterator(q)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
  // Damage, named after what it does.
  void flip_byte(const fs::path &file, std::uint64_t offset) {
    std::vector<std::byte> bytes = read_file(file);
    bytes.at(offset) ^= std::byte{0x10};
    write_file(file, bytes);
  }
  void zero_block(const fs::path &file, std::uint64_t offset) {
    std::vector<std::byte> bytes = read_file(file);
    const std::uint64_t start = format::align_down(offset, format::block_size_bytes);
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(start),
              bytes.begin() + static_cast<std::ptrdiff_t>(start + format::block_size_bytes), std::byte{0});
    write_file(file, bytes);
  }
  void shrink_file(const fs::path &file, std::uint64_t bytes) { fs::resize_file(file, bytes); }

  // Opens (recovery runs) and checks the log is exactly LSNs [0, keep) with their payloads.
  std::unique_ptr<Store> open_expecting(std::uint64_t keep, bool verify = false) {
    Result<std::unique_ptr<Store>> store = Store::open(dir_, options(verify));
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    if (!store.ok()) return nullptr;
    EXPECT_EQ((*store)->first_lsn(), 0u);
    EXPECT_EQ((*store)->next_lsn(), keep) << (*store)->recovery_report().to_string();
    for (std::uint64_t lsn = 0; lsn < std::min(keep, (*store)->next_lsn()); ++lsn) {
      Result<Record> rec = (*store)->read(lsn);
      EXPECT_TRUE(rec.ok() && rec->payload == payload_of(lsn))
          << "LSN " << lsn << ": " << (rec.ok() ? "other bytes" : rec.status().to_string()) << "; "
          << (*store)->recovery_report().to_string();
    }
    return std::move(*store);
  }
  // A second open finds nothing more to do.
  void reopen_changes_nothing(std::uint64_t keep) {
    const std::size_t quarantined_before = quarantined().size();
    fs::remove(fs::path(dir_) / "CLEAN");
    std::unique_ptr<Store> again = open_expecting(keep, true);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->recovery_report().cut) << again->recovery_report().to_string();
    EXPECT_EQ(quarantined().size(), quarantined_before);
  }
  // The quarantine holds a .bin with exactly `expected` (the bytes cut from a segment).
  void expect_quarantined_bin(const std::vector<std::byte> &expected) {
    bool found = false;
    for (const fs::path &p : quarantined())
      if (p.extension() == ".bin" && read_file(p) == expected) found = true;
    EXPECT_TRUE(found) << "no .bin in quarantine/ holds the " << expected.size() << " bytes cut";
  }

  testing::TempDir tmp_;
  std::string dir_;
  const std::uint64_t records_ = 60;
};

// Bytes from `offset` to the last non-zero byte of a file: what a tail cut quarantines.
std::vector<std::byte> tail_from(const std::vector<std::byte> &bytes, std::uint64_t offset) {
  std::uint64_t end = bytes.size();
  while (end > offset && bytes[end - 1] == std::byte{0}) --end;
  return std::vector<std::byte>(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.begin() + static_cast<std::ptrdiff_t>(end));
}

TEST_F(Corruption, FlippedBitInLastRecordIsCutAndQuarantined) {
  const fs::path last = segments().back();
  const RecordAt victim = records_of(last).back();
  flip_byte(last, victim.offset + format::record_header_bytes + 3);  // in the payload
  const std::vector<std::byte> cut = tail_from(read_file(last), victim.offset);
  {
    std::unique_ptr<Store> store = open_expecting(victim.lsn);
    ASSERT_TRUE(store);
    const RecoveryReport &r = store->recovery_report();
    EXPECT_TRUE(r.cut);
    EXPECT_EQ(r.cut_file, last.filename().string());
    EXPECT_EQ(r.cut_offset, victim.offset);
    EXPECT_EQ(r.cut_lsn, victim.lsn);
    EXPECT_NE(r.cut_reason.find("payload_checksum"), std::string::npos) << r.cut_reason;
    EXPECT_FALSE(r.acknowledged_data_lost) << "nothing after the damage proves it was acknowledged";
    EXPECT_GE(r.bytes_quarantined, cut.size());
  }
  expect_quarantined_bin(cut);
  reopen_changes_nothing(victim.lsn);
}

// Recovery keeps the shortened segment's records (bounded by the file size); reading them must
// not fail because a read window reaches past the end of the file (engine/read.cc, fill_window).
TEST_F(Corruption, ShrunkActiveSegmentKeepsTheRecordsBeforeTheEnd) {
  const fs::path last = segments().back();
  const RecordAt victim = records_of(last).back();
  shrink_file(last, victim.offset + format::record_header_bytes + 8);  // the last record runs past the end
  {
    std::unique_ptr<Store> store = open_expecting(victim.lsn);
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->recovery_report().cut);
    EXPECT_EQ(store->recovery_report().cut_lsn, victim.lsn);
    EXPECT_FALSE(store->recovery_report().cut_reason.empty());
    // The log continues: the next append gets the next LSN and survives the next open.
    Result<std::uint64_t> lsn = store->append(payload_of(victim.lsn));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    EXPECT_EQ(*lsn, victim.lsn);
  }
  reopen_changes_nothing(victim.lsn + 1);
}

// A block of acknowledged records zeroed in the middle of the active segment: the records after
// it prove the loss (their durable_lag), so the report says acknowledged data was lost.
TEST_F(Corruption, ZeroedBlockInsideActiveSegmentIsReportedAsAcknowledgedLoss) {
  const fs::path last = segments().back();
  const std::vector<RecordAt> records = records_of(last);
  ASSERT_GE(records.size(), 3u);
  const RecordAt victim = records[1];
  const std::vector<std::byte> before = read_file(last);
  zero_block(last, victim.offset + victim.disk_bytes - 1);  // the block holding the victim's end
  // The cut starts at the first record the zeroed block touches.
  RecordAt first_hit = victim;
  for (const RecordAt &r : records)
    if (r.offset + r.disk_bytes > format::align_down(victim.offset + victim.disk_bytes - 1, format::block_size_bytes)) {
      first_hit = r;
      break;
    }
  {
    std::unique_ptr<Store> store = open_expecting(first_hit.lsn);
    ASSERT_TRUE(store);
    const RecoveryReport &r = store->recovery_report();
    EXPECT_TRUE(r.cut);
    EXPECT_EQ(r.cut_lsn, first_hit.lsn);
    EXPECT_TRUE(r.acknowledged_data_lost) << r.to_string();
    EXPECT_EQ(r.lost_lsn_first, first_hit.lsn);
    // Proven by the records after the hole: each says every LSN below it was durable.
    EXPECT_EQ(r.lost_lsn_last, records.back().lsn - 1) << r.to_string();
  }
  EXPECT_FALSE(quarantined().empty());
  reopen_changes_nothing(first_hit.lsn);
  (void)before;
}

// A sealed segment in the middle removed: the log stops at the gap; every later segment moves
// whole to quarantine (never replayed past a hole) and their index snapshots prove the loss.
TEST_F(Corruption, RemovedMiddleSegmentCutsAtTheGapAndQuarantinesTheRest) {
  const std::vector<fs::path> segs = segments();
  ASSERT_GE(segs.size(), 4u);
  const std::uint64_t keep = records_of(segs[1]).front().lsn;
  std::vector<std::vector<std::byte>> later;
  for (std::size_t i = 2; i < segs.size(); ++i) later.push_back(read_file(segs[i]));
  fs::remove(segs[1]);
  fs::remove(fs::path(segs[1]).replace_extension(".idx"));
  {
    std::unique_ptr<Store> store = open_expecting(keep);
    ASSERT_TRUE(store);
    const RecoveryReport &r = store->recovery_report();
    EXPECT_TRUE(r.cut);
    EXPECT_NE(r.cut_reason.find("lsn_gap"), std::string::npos) << r.cut_reason;
    EXPECT_TRUE(r.acknowledged_data_lost) << r.to_string();
  }
  for (const std::vector<std::byte> &bytes : later) {
    bool found = false;
    for (const fs::path &p : quarantined()) found |= read_file(p) == bytes;
    EXPECT_TRUE(found) << "a later segment is not in quarantine/ byte for byte";
  }
  for (std::size_t i = 2; i < segs.size(); ++i) EXPECT_FALSE(fs::exists(segs[i]));
  reopen_changes_nothing(keep);
}

// A copy of a segment under a new, higher id: its header names another id (segment_id_mismatch);
// it is moved to quarantine, and the log keeps every record.
TEST_F(Corruption, DuplicatedSegmentFileIsQuarantinedAndTheLogKept) {
  const std::vector<fs::path> segs = segments();
  const fs::path copy = fs::path(dir_) / "00000000000000000099.seg";
  fs::copy_file(segs[1], copy);
  {
    std::unique_ptr<Store> store = open_expecting(records_);
    ASSERT_TRUE(store);
    const RecoveryReport &r = store->recovery_report();
    EXPECT_NE(r.cut_reason.find("segment_id_mismatch"), std::string::npos) << r.to_string();
    EXPECT_FALSE(r.acknowledged_data_lost);
  }
  EXPECT_FALSE(fs::exists(copy));
  bool found = false;
  for (const fs::path &p : quarantined()) found |= read_file(p) == read_file(segs[1]);
  EXPECT_TRUE(found);
  reopen_changes_nothing(records_);
}

// Bit rot inside a sealed segment, found by verify_on_open: the log is cut there, the segment's
// index snapshot proves that the records after it had been acknowledged.
TEST_F(Corruption, FlippedBitInSealedSegmentFoundByVerifyOnOpen) {
  const std::vector<fs::path> segs = segments();
  const std::vector<RecordAt> records = records_of(segs[0]);
  ASSERT_GE(records.size(), 3u);
  const RecordAt victim = records[2];
  flip_byte(segs[0], victim.offset + 5);  // in the header (payload_crc field)
  {
    std::unique_ptr<Store> store = open_expecting(victim.lsn, /*verify=*/true);
    ASSERT_TRUE(store);
    const RecoveryReport &r = store->recovery_report();
    EXPECT_TRUE(r.cut);
    EXPECT_EQ(r.cut_offset, victim.offset);
    EXPECT_NE(r.cut_reason.find("header_checksum"), std::string::npos) << r.cut_reason;
    EXPECT_TRUE(r.acknowledged_data_lost) << r.to_string();
  }
  reopen_changes_nothing(victim.lsn);
}

// ---------------------------------------------------------------------------------------------
// A full disk

// A 16 MiB ext4 file system on a loop device, unmounted and removed in every case.
class LoopFileSystem {
 public:
  LoopFileSystem() {
    char image[] = "/tmp/segstore-loop-XXXXXX";
    const int fd = ::mkstemp(image);
    if (fd < 0) return;
    ::close(fd);
    image_ = image;
    mount_ = image_ + ".mnt";
    fs::create_directories(mount_);
    const std::string quiet = " >/dev/null 2>&1";
    if (::geteuid() != 0) return;
    if (std::system(("truncate -s 16M " + image_ + quiet).c_str()) != 0) return;
    if (std::system(("mkfs.ext4 -q -F -m 0 " + image_ + quiet).c_str()) != 0) return;
    mounted_ = std::system(("mount -o loop " + image_ + " " + mount_ + quiet).c_str()) == 0;
  }
  ~LoopFileSystem() {
    if (mounted_) (void)std::system(("umount " + mount_ + " >/dev/null 2>&1").c_str());
    std::error_code ignored;
    fs::remove_all(mount_, ignored);
    if (!image_.empty()) fs::remove(image_, ignored);
  }
  bool mounted() const { return mounted_; }
  const std::string &path() const { return mount_; }

 private:
  std::string image_, mount_;
  bool mounted_ = false;
};

// Appends until ENOSPC on a real (loop-mounted) file system: the append fails with no_space,
// every acknowledged record stays readable, and after space is freed the store reopens and
// accepts appends again.
TEST(DiskFull, LoopMountedExt4AppendsUntilEnospc) {
  ::setenv("SEGSTORE_QUIET", "1", 0);
  LoopFileSystem loop;
  if (!loop.mounted()) GTEST_SKIP() << "no loop mount here (needs root and loop devices); DiskFull.SimulatedEnospc runs instead";
  const std::string dir = loop.path() + "/store", filler = loop.path() + "/filler";
  Options o;
  o.segment_bytes = 256 * 1024;
  {
    // Most of the space taken by another file.
    std::ofstream out(filler, std::ios::binary);
    std::vector<char> mib(1 << 20, 'f');
    for (int i = 0; i < 12; ++i) out.write(mib.data(), static_cast<std::streamsize>(mib.size()));
  }
  std::uint64_t acked = 0;
  Status full;
  {
    Result<std::unique_ptr<Store>> store = Store::open(dir, o);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (std::uint64_t lsn = 0; lsn < 100000; ++lsn) {
      Result<std::uint64_t> got = (*store)->append(payload_of(lsn));
      if (!got.ok()) {
        full = got.status();
        break;
      }
      acked = lsn + 1;
    }
    EXPECT_EQ(full.code(), Errc::no_space) << full.to_string();
    ASSERT_GT(acked, 100u);
    for (std::uint64_t lsn = 0; lsn < acked; ++lsn) {
      Result<Record> rec = (*store)->read(lsn);
      ASSERT_TRUE(rec.ok() && rec->payload == payload_of(lsn)) << "LSN " << lsn << " after ENOSPC";
    }
    (void)(*store)->close();
  }
  fs::remove(filler);
  Result<std::unique_ptr<Store>> store = Store::open(dir, o);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_GE((*store)->next_lsn(), acked);
  for (std::uint64_t lsn = 0; lsn < acked; ++lsn) {
    Result<Record> rec = (*store)->read(lsn);
    ASSERT_TRUE(rec.ok() && rec->payload == payload_of(lsn)) << "LSN " << lsn << " after reopening";
  }
  for (int i = 0; i < 50; ++i) ASSERT_TRUE((*store)->append(payload_of(i)).ok());
  std::printf("loop-mounted ext4: %llu records acknowledged before ENOSPC (%s)\n",
              static_cast<unsigned long long>(acked), full.to_string().c_str());
}

// The same story on the simulated disk with a capacity (runs everywhere).
TEST(DiskFull, SimulatedEnospcAppendsUntilFull) {
  ::setenv("SEGSTORE_QUIET", "1", 0);
  testing::TempDir host;
  std::shared_ptr<testing::SimDisk> disk = testing::SimDisk::make(7, host.path());
  const std::string dir = host.sub("store");
  fs::create_directories(dir);
  {
    std::shared_ptr<io::Env> env = disk->env();
    io::OpenFlags flags;
    flags.create = flags.write = true;
    Result<std::unique_ptr<io::File>> filler = env->open_file(host.sub("filler"), flags);
    ASSERT_TRUE(filler.ok());
    ASSERT_TRUE((*filler)->write_at(0, std::vector<std::byte>(3 << 20)).ok());
  }
  disk->set_capacity(4 << 20);
  Options o;
  o.segment_bytes = 256 * 1024;
  o.env = disk->env();
  std::uint64_t acked = 0;
  Status full;
  {
    Result<std::unique_ptr<Store>> store = Store::open(dir, o);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (std::uint64_t lsn = 0; lsn < 100000; ++lsn) {
      Result<std::uint64_t> got = (*store)->append(payload_of(lsn));
      if (!got.ok()) {
        full = got.status();
        break;
      }
      acked = lsn + 1;
    }
    EXPECT_EQ(full.code(), Errc::no_space) << full.to_string();
    ASSERT_GT(acked, 100u);
    for (std::uint64_t lsn = 0; lsn < acked; ++lsn) {
      Result<Record> rec = (*store)->read(lsn);
      ASSERT_TRUE(rec.ok() && rec->payload == payload_of(lsn)) << "LSN " << lsn << " after ENOSPC";
    }
    (void)(*store)->close();
  }
  ASSERT_TRUE(disk->env()->remove(host.sub("filler")).ok());
  o.env = disk->env();
  Result<std::unique_ptr<Store>> store = Store::open(dir, o);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  for (std::uint64_t lsn = 0; lsn < acked; ++lsn) {
    Result<Record> rec = (*store)->read(lsn);
    ASSERT_TRUE(rec.ok() && rec->payload == payload_of(lsn)) << "LSN " << lsn << " after reopening";
  }
  for (int i = 0; i < 50; ++i) ASSERT_TRUE((*store)->append(payload_of(i)).ok());
}

}  // namespace
}  // namespace segstore
