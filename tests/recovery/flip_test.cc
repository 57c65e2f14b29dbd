// tests/recovery/flip_test.cc — damage at every byte: each byte of the last 8 KiB of the last
// segment's records flipped in turn, and each header field of the first, a middle and the last
// record of a segment. After every one, recovery must keep exactly the records before the
// damaged one (before its batch, for a batch record), quarantine the rest byte for byte, say
// whether acknowledged records were lost exactly when the durable_lag of an intact later record
// proves it, and leave a store that a second recovery does not touch.
#include <filesystem>

#include "recovery_fixture.h"

namespace segstore::recovery::testing {
namespace {

// The extent of the last segment holding `pos`, and where a cut there must land.
struct Expected {
  std::uint64_t cut_offset = 0;
  std::uint64_t cut_lsn = 0;
  bool lost = false;
  std::uint64_t lost_last = 0;
};

Expected expected_cut(const std::vector<Extent> &extents, std::uint64_t pos) {
  std::size_t hit = 0;
  while (!(extents[hit].offset <= pos && pos < extents[hit].end())) ++hit;
  // A batch counts whole or not at all: the cut moves back to its first record.
  std::size_t cut = hit;
  auto in_batch = [](const Extent &e) {
    return e.type == format::RecordType::batch_middle || e.type == format::RecordType::batch_last;
  };
  while (in_batch(extents[cut])) --cut;
  Expected want;
  want.cut_offset = extents[cut].offset;
  want.cut_lsn = extents[cut].lsn;
  // Intact record headers from the cut on prove what the writer knew was durable.
  std::uint64_t durable_end = 0;
  for (std::size_t i = cut; i < extents.size(); ++i) {
    const Extent &e = extents[i];
    const bool header_hit = i == hit && pos < e.offset + format::record_header_bytes;
    if (e.is_padding() || header_hit) continue;
    durable_end = std::max(durable_end, e.lsn - e.durable_lag);
  }
  want.lost = durable_end > want.cut_lsn;
  want.lost_last = durable_end - 1;
  return want;
}

void copy_dir(const std::string &from, const std::string &to) {
  for (const auto &entry : std::filesystem::directory_iterator(to)) std::filesystem::remove_all(entry.path());
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

// A directory in memory (tmpfs) when the machine has one: 8192 rounds of copy, damage and
// recovery on a disk spend most of their time writing back what the copy just wrote.
class MemoryDir {
 public:
  MemoryDir() {
    std::string pattern = std::filesystem::is_directory("/dev/shm") ? "/dev/shm/segstore-recovery-XXXXXX"
                                                                     : "/tmp/segstore-recovery-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  ~MemoryDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

// Under a sanitizer each recovery runs some twenty times slower: the plain build (./dev test)
// flips every byte; a sanitizer build flips every 13th (13 is prime to the 8-byte record
// alignment and the 32-byte header, so every header field and payload position still gets hit)
// to check memory safety on each kind of damage within CI's time.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::uint64_t flip_stride = 13;
#else
constexpr std::uint64_t flip_stride = 1;
#endif

TEST_F(RecoveryTest, EveryByteOfTheLastEightKiBFlippedCutsToTheValidPrefix) {
  MemoryDir memory;
  const std::string pristine = memory.path() + "/pristine";
  dir_override_ = memory.path() + "/store";
  std::filesystem::create_directory(pristine);
  std::filesystem::create_directory(dir());
  // Small segments keep each round fast; the last one holds 6 blocks of records ending in a
  // batch and a flush, so the last 8 KiB cover full records, padding and a batch.
  StoreBuilder b = make_store(pristine, 2, 5 * format::block_size_bytes);
  b.write();
  const BuiltSegment &last = b.last_used();
  const std::vector<Extent> extents = b.extents_of(last.id);
  const std::uint64_t end = last.end_offset;
  ASSERT_GE(end, format::segment_data_offset_bytes + 8192 + format::block_size_bytes);
  const std::string seg_name = StoreBuilder::segment_name(last.id);
  // 8192 recoveries: without device syncs (what is checked here is what recovery decides and
  // writes, not its durability; the other tests run with syncs).
  TestEnv no_sync(env_, /*skip_syncs=*/true);
  for (std::uint64_t pos = end - 8192; pos < end; pos += flip_stride) {
    SCOPED_TRACE("flipped byte at offset " + std::to_string(pos));
    copy_dir(pristine, dir());
    const std::string seg_path = path(seg_name);
    flip_byte(seg_path, pos);
    const Bytes damaged = read_file(seg_path);
    const Expected want = expected_cut(extents, pos);
    RecoveryRun run = recover(b.meta(), {}, false, &no_sync);
    ASSERT_TRUE(run.log.ok()) << run.log.status().to_string();
    const RecoveryReport &r = run.report;
    ASSERT_TRUE(r.cut);
    ASSERT_EQ(r.cut_file, seg_name);
    ASSERT_EQ(r.cut_offset, want.cut_offset);
    ASSERT_EQ(r.cut_lsn, want.cut_lsn);
    ASSERT_EQ(r.acknowledged_data_lost, want.lost) << r.to_string();
    if (want.lost) {
      ASSERT_EQ(r.lost_lsn_last, want.lost_last);
    }
    expect_prefix(*run.log, 0, want.cut_lsn);
    // The quarantined piece is the damaged segment's bytes from the cut to its last non-zero.
    const std::vector<std::string> bins = quarantine_files(dir(), ".bin");
    ASSERT_EQ(bins.size(), 1u);
    const Bytes piece = read_file(path("quarantine/" + bins[0]));
    ASSERT_LE(want.cut_offset + piece.size(), damaged.size());
    ASSERT_TRUE(std::equal(piece.begin(), piece.end(), damaged.begin() + static_cast<std::ptrdiff_t>(want.cut_offset)));
    ASSERT_NE(piece.back(), std::byte{0});
    for (std::uint64_t i = want.cut_offset + piece.size(); i < damaged.size(); ++i)
      ASSERT_EQ(damaged[i], std::byte{0}) << "bytes after the piece must have been zero at " << i;
    expect_second_recovery_changes_nothing(b.meta(), {}, &no_sync);
    if (HasFailure()) break;
  }
}

// Every field of the record header, flipped, in the first, a middle and the last record of the
// last segment: the header checksum catches each, the cut lands on that record.
TEST_F(RecoveryTest, HeaderFieldDamageOfFirstMiddleLastRecordCutsThere) {
  const std::string pristine = dir() + "-pristine";
  std::filesystem::create_directory(pristine);
  StoreBuilder b(pristine);
  for (int i = 0; i < 12; ++i) {
    b.append(100 + 10 * i, static_cast<std::uint32_t>(i % 2));
    if (i % 4 == 3) b.flush();
  }
  b.flush();
  b.write();
  const std::vector<Extent> records = b.records();
  struct Field {
    const char *name;
    std::uint64_t offset;
  };
  const Field fields[] = {{"header_crc", 0}, {"payload_crc", 4}, {"lsn", 8},    {"payload_bytes", 16},
                          {"stream", 20},    {"type", 24},       {"flags", 25}, {"reserved", 26},
                          {"durable_lag", 28}};
  for (std::size_t which : {std::size_t{0}, records.size() / 2, records.size() - 1}) {
    const Extent &victim = records[which];
    for (const Field &field : fields) {
      SCOPED_TRACE(std::string("record ") + std::to_string(which) + " field " + field.name);
      copy_dir(pristine, dir());
      flip_byte(path(StoreBuilder::segment_name(1)), victim.offset + field.offset);
      RecoveryRun run = recover(b.meta());
      ASSERT_TRUE(run.log.ok()) << run.log.status().to_string();
      ASSERT_TRUE(run.report.cut);
      EXPECT_EQ(run.report.cut_offset, victim.offset);
      EXPECT_EQ(run.report.cut_lsn, victim.lsn);
      EXPECT_EQ(run.report.cut_reason, "header_checksum at offset " + std::to_string(victim.offset) + " of " +
                                           StoreBuilder::segment_name(1));
      if (which == 0) {
        EXPECT_TRUE(run.log->segments.empty()) << "nothing of the only segment is left";
        EXPECT_EQ(run.log->next_lsn, 0u);
      } else {
        expect_prefix(*run.log, 0, victim.lsn);
      }
      expect_second_recovery_changes_nothing(b.meta());
    }
  }
  std::filesystem::remove_all(pristine);
}

// Damage a checksum cannot see (the header checksum recomputed after the change): the check
// after it names it.
TEST_F(RecoveryTest, ChecksummedButInvalidHeadersAreNamedByTheirCheck) {
  const std::string pristine = dir() + "-pristine";
  std::filesystem::create_directory(pristine);
  StoreBuilder b(pristine);
  for (int i = 0; i < 10; ++i) b.append(200);
  b.flush();
  b.write();
  const Extent victim = b.record(6);
  struct Case {
    const char *reason;
    std::uint64_t field;
    Bytes value;
  };
  const Case cases[] = {
      {"bad_type", 24, u8_bytes(9)},
      {"reserved_nonzero", 25, u8_bytes(1)},
      {"length_too_large", 16, u32_bytes(format::record_payload_max_bytes + 1)},
      {"length_past_end", 16, u32_bytes(static_cast<std::uint32_t>(b.segment_bytes()))},
      {"payload_checksum", 16, u32_bytes(100)},
      {"lsn_out_of_order", 8, u64_bytes(5)},  // a stale record
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.reason);
    copy_dir(pristine, dir());
    patch_record_header(path(StoreBuilder::segment_name(1)), victim.offset, c.field, c.value);
    RecoveryRun run = recover(b.meta());
    ASSERT_TRUE(run.log.ok()) << run.log.status().to_string();
    ASSERT_TRUE(run.report.cut);
    EXPECT_EQ(run.report.cut_reason, std::string(c.reason) + " at offset " + std::to_string(victim.offset) + " of " +
                                         StoreBuilder::segment_name(1));
    expect_prefix(*run.log, 0, 6);
    expect_second_recovery_changes_nothing(b.meta());
  }
  std::filesystem::remove_all(pristine);
}

TEST_F(RecoveryTest, NonZeroAlignmentGapIsPaddingNonzero) {
  StoreBuilder b(dir());
  for (int i = 0; i < 6; ++i) b.append(13);  // 32 + 13 = 45: a 3-byte gap to 48
  b.flush();
  b.write();
  const Extent victim = b.record(3);
  flip_byte(b.segment_path(1), victim.offset + 46);
  RecoveryRun run = recover(b.meta());
  ASSERT_TRUE(run.log.ok()) << run.log.status().to_string();
  ASSERT_TRUE(run.report.cut);
  EXPECT_EQ(run.report.cut_reason, "padding_nonzero at offset " + std::to_string(victim.offset) + " of " +
                                       StoreBuilder::segment_name(1));
  expect_prefix(*run.log, 0, 3);
  expect_second_recovery_changes_nothing(b.meta());
}

}  // namespace
}  // namespace segstore::recovery::testing
