// tests/inspect/verify_agrees_with_recover_test.cc — `verify` and `recover` judge a damaged log
// the same way: for every damage helper of tests/recovery/damage.h, the first problem verify
// reports about the log (a record, a batch, the bytes after the end, a segment header, a
// segment's identity, the LSN chain) names the file, the offset and the reason that recovery's
// cut names. Verify runs first (it changes nothing), then recovery on the same bytes, with
// verify_on_open so that recovery reads every segment as verify does.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "format/segment_header.h"
#include "recovery/recovery_fixture.h"
#include "segstore/inspect.h"

namespace segstore::recovery::testing {
namespace {

// The problems verify reports that recovery would cut the log for (not an index snapshot, an
// application snapshot, CLEAN or a file's size, which recovery repairs or notes without a cut).
bool is_log_problem(inspect::ProblemKind kind) {
  switch (kind) {
    case inspect::ProblemKind::segment_header:
    case inspect::ProblemKind::segment_identity:
    case inspect::ProblemKind::record:
    case inspect::ProblemKind::nonzero_after_end:
    case inspect::ProblemKind::batch:
    case inspect::ProblemKind::lsn_sequence: return true;
    default: return false;
  }
}

std::string file_name(const std::string &path) { return path.substr(path.find_last_of('/') + 1); }

struct Damage {
  const char *name;
  int segments;  // of the store make_store builds
  std::function<void(const StoreBuilder &)> inflict;
};

class VerifyAgreesWithRecover : public RecoveryTest, public ::testing::WithParamInterface<Damage> {};

TEST_P(VerifyAgreesWithRecover, FirstProblemIsWhereRecoveryCuts) {
  const Damage &damage = GetParam();
  StoreBuilder b = make_store(dir(), damage.segments);
  b.write();
  damage.inflict(b);

  Result<inspect::VerifyReport> verified = inspect::verify_store(dir());
  ASSERT_TRUE(verified.ok()) << verified.status().to_string();
  std::optional<inspect::Problem> first;
  for (const inspect::Problem &p : verified->problems)
    if (is_log_problem(p.kind)) {
      first = p;
      break;
    }

  Options options;
  options.verify_on_open = true;
  RecoveryRun run = recover(b.meta(), options);
  ASSERT_TRUE(run.log.ok()) << run.log.status().to_string();
  const RecoveryReport &r = run.report;

  ASSERT_TRUE(first.has_value()) << "verify found nothing; recovery: " << r.to_string();
  ASSERT_TRUE(r.cut) << "verify reports " << first->reason << " at offset " << first->offset << " of "
                     << first->file << ", recovery cut nothing";
  EXPECT_EQ(file_name(first->file), r.cut_file);
  // cut_reason is recovery's finding: "<reason> at offset <where found> of <file>[; detail]".
  const std::string finding = first->reason + " at offset " + std::to_string(first->offset) + " of " + r.cut_file;
  EXPECT_EQ(r.cut_reason.rfind(finding, 0), 0u) << "verify: " << finding << "\nrecovery: " << r.cut_reason;
}

std::uint64_t offset_of(const StoreBuilder &b, std::uint64_t lsn) { return b.record(lsn).offset; }

// The first record of the last segment's final batch (make_store ends each segment with a batch
// of 4 and one full record).
std::uint64_t last_batch_first(const StoreBuilder &b) { return b.next_lsn() - 5; }

const Damage damages[] = {
    {"FlippedPayloadByteInLastSegment", 3,
     [](const StoreBuilder &b) { flip_byte(b.segment_path(3), offset_of(b, b.next_lsn() - 2) + 40); }},
    {"FlippedPayloadByteInSealedSegment", 3,
     [](const StoreBuilder &b) { flip_byte(b.segment_path(1), offset_of(b, 7) + 40); }},
    {"GarbageOverARecordHeader", 3,
     [](const StoreBuilder &b) { write_garbage(b.segment_path(3), offset_of(b, b.next_lsn() - 1) + 3, 20, 1); }},
    {"ZeroedHeaderBeforeData", 1,
     [](const StoreBuilder &b) {
       const std::uint64_t at = offset_of(b, last_batch_first(b));
       zero_range(b.segment_path(1), at, at + format::record_header_bytes);
     }},
    {"GarbageAfterTheEnd", 2,
     [](const StoreBuilder &b) { write_garbage(b.segment_path(2), b.segment(2).end_offset + 4096, 8, 2); }},
    {"UnfinishedBatch", 2,
     [](const StoreBuilder &b) {
       // The batch's last record and everything after it never landed.
       zero_range(b.segment_path(2), offset_of(b, last_batch_first(b) + 3), b.segment_bytes());
     }},
    {"DamageInsideABatch", 2,
     [](const StoreBuilder &b) { flip_byte(b.segment_path(2), offset_of(b, last_batch_first(b) + 2) + 50); }},
    {"ShrunkSegmentMidRecord", 2,
     [](const StoreBuilder &b) { shrink_file(b.segment_path(2), offset_of(b, b.next_lsn() - 3) + 40); }},
    {"BatchRecordWithoutItsFirst", 2,
     [](const StoreBuilder &b) {
       // The batch_first becomes a full record (checksum fixed): the middle then has no first.
       patch_record_header(b.segment_path(2), offset_of(b, last_batch_first(b)), 24, u8_bytes(1));
     }},
    {"RecordWithAnotherLsn", 2,
     [](const StoreBuilder &b) {
       const std::uint64_t lsn = b.next_lsn() - 1;
       patch_record_header(b.segment_path(2), offset_of(b, lsn), 8, u64_bytes(lsn + 5));
     }},
    {"DamagedSegmentHeader", 3, [](const StoreBuilder &b) { flip_byte(b.segment_path(2), 20); }},
    {"RenamedSegment", 3,
     [](const StoreBuilder &b) {
       remove_file(b.index_path(3));
       rename_segment(b, 3, 7);
     }},
    {"DuplicatedSegment", 3, [](const StoreBuilder &b) { duplicate_segment(b, 2, 4); }},
    {"MissingMiddleSegment", 4,
     [](const StoreBuilder &b) {
       remove_file(b.segment_path(2));
       remove_file(b.index_path(2));
     }},
};

INSTANTIATE_TEST_SUITE_P(EveryDamage, VerifyAgreesWithRecover, ::testing::ValuesIn(damages),
                         [](const ::testing::TestParamInfo<Damage> &info) { return std::string(info.param.name); });

// A damaged index snapshot is no damage of the log: recovery rebuilds it without a cut, and
// verify's problem is about the snapshot only.
TEST_F(RecoveryTest, DamagedIndexSnapshotIsNoLogProblemForEither) {
  StoreBuilder b = make_store(dir(), 3);
  b.write();
  corrupt_idx(b, 1, format::index_header_bytes + 3);
  Result<inspect::VerifyReport> verified = inspect::verify_store(dir());
  ASSERT_TRUE(verified.ok()) << verified.status().to_string();
  ASSERT_FALSE(verified->problems.empty()) << "verify reads every snapshot";
  for (const inspect::Problem &p : verified->problems)
    EXPECT_FALSE(is_log_problem(p.kind)) << p.reason << " at offset " << p.offset << " of " << p.file;
  Options options;
  options.verify_on_open = true;
  RecoveryRun run = recover(b.meta(), options);
  ASSERT_TRUE(run.log.ok()) << run.log.status().to_string();
  EXPECT_FALSE(run.report.cut) << run.report.to_string();
}

}  // namespace
}  // namespace segstore::recovery::testing
