// Tests of the io_uring round logic (io/uring_round.h): every kind of cqe->res, fed by hand,
// since a real kernel rarely produces short writes, -EAGAIN or cancelled links on demand.
#include <gtest/gtest.h>

#include <cerrno>

#include "io/uring_round.h"
#include "io_test_util.h"

namespace segstore::io {
namespace {

using testing::text;

const std::string path = "/store/00000001.seg";

GroupProgress group(std::uint64_t bytes, bool sync) {
  GroupProgress progress;
  progress.offset = 8192;
  progress.bytes_total = bytes;
  progress.sync_wanted = sync;
  return progress;
}

TEST(UringRound, CompleteWriteAndSyncFinishTheGroupSynced) {
  GroupProgress progress = group(16384, true);
  RoundRequest round = plan_round(progress);
  EXPECT_EQ(round.write_bytes, 16384u);
  EXPECT_TRUE(round.sync);
  apply_round(progress, round, 16384, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.error.ok());
  EXPECT_TRUE(progress.synced);
}

TEST(UringRound, WriteWithoutSyncFinishesUnsynced) {
  GroupProgress progress = group(4096, false);
  RoundRequest round = plan_round(progress);
  EXPECT_FALSE(round.sync);
  apply_round(progress, round, 4096, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_FALSE(progress.synced);
}

TEST(UringRound, ShortWriteWithCancelledSyncWritesTheRestThenSyncs) {
  GroupProgress progress = group(16384, true);
  apply_round(progress, plan_round(progress), 4096, -ECANCELED, path);
  EXPECT_FALSE(group_finished(progress));
  EXPECT_EQ(progress.bytes_done, 4096u);
  RoundRequest rest = plan_round(progress);
  EXPECT_EQ(rest.write_bytes, 12288u);
  EXPECT_TRUE(rest.sync);
  apply_round(progress, rest, 12288, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.synced);
  EXPECT_TRUE(progress.error.ok());
}

TEST(UringRound, SyncThatRanBeforeTheRestWasWrittenDoesNotCount) {
  GroupProgress progress = group(16384, true);
  apply_round(progress, plan_round(progress), 8192, 0, path);
  EXPECT_FALSE(progress.synced);
  EXPECT_FALSE(group_finished(progress));
  RoundRequest rest = plan_round(progress);
  EXPECT_EQ(rest.write_bytes, 8192u);
  EXPECT_TRUE(rest.sync);
}

TEST(UringRound, EagainOnWriteIsRetriedWithoutProgress) {
  GroupProgress progress = group(8192, true);
  apply_round(progress, plan_round(progress), -EAGAIN, -ECANCELED, path);
  EXPECT_FALSE(group_finished(progress));
  EXPECT_EQ(progress.bytes_done, 0u);
  RoundRequest again = plan_round(progress);
  EXPECT_EQ(again.write_bytes, 8192u);
  EXPECT_TRUE(again.sync);
  apply_round(progress, again, 8192, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.synced);
}

TEST(UringRound, EagainForeverGivesUpWithAnError) {
  GroupProgress progress = group(8192, false);
  for (unsigned i = 0; i <= round_retries_max && !group_finished(progress); ++i) {
    apply_round(progress, plan_round(progress), -EAGAIN, 0, path);
  }
  ASSERT_TRUE(group_finished(progress));
  EXPECT_EQ(progress.error.code(), Errc::io_error);
  EXPECT_NE(progress.error.message().find("retries"), std::string::npos);
}

TEST(UringRound, WriteErrorWithCancelledSyncReportsTheWriteError) {
  GroupProgress progress = group(8192, true);
  apply_round(progress, plan_round(progress), 4096, -ECANCELED, path);  // short first
  apply_round(progress, plan_round(progress), -ENOSPC, -ECANCELED, path);
  ASSERT_TRUE(group_finished(progress));
  EXPECT_FALSE(progress.synced);
  EXPECT_EQ(progress.error.code(), Errc::no_space);
  EXPECT_EQ(progress.error.message(), "write " + path +
                                          " at offset 12288: No space left on device (errno 28)");
}

TEST(UringRound, SyncErrorEndsTheGroupAndIsNotRetried) {
  GroupProgress progress = group(4096, true);
  apply_round(progress, plan_round(progress), 4096, -EIO, path);
  ASSERT_TRUE(group_finished(progress));
  EXPECT_FALSE(progress.synced);
  EXPECT_EQ(progress.error.code(), Errc::io_error);
  EXPECT_NE(progress.error.message().find("fdatasync"), std::string::npos);
  EXPECT_EQ(plan_round(progress).write_bytes, 0u);
  EXPECT_FALSE(plan_round(progress).sync);
}

TEST(UringRound, InterruptedSyncAfterCompleteWriteIsRetriedAlone) {
  GroupProgress progress = group(4096, true);
  apply_round(progress, plan_round(progress), 4096, -EINTR, path);
  EXPECT_FALSE(group_finished(progress));
  RoundRequest sync_only = plan_round(progress);
  EXPECT_EQ(sync_only.write_bytes, 0u);
  EXPECT_TRUE(sync_only.sync);
  apply_round(progress, sync_only, 0, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.synced);
}

TEST(UringRound, ZeroByteWriteIsAnErrorNotALoop) {
  GroupProgress progress = group(4096, true);
  apply_round(progress, plan_round(progress), 0, -ECANCELED, path);
  ASSERT_TRUE(group_finished(progress));
  EXPECT_EQ(progress.error.code(), Errc::io_error) << text(progress.error);
  EXPECT_NE(progress.error.message().find("wrote 0 of 4096"), std::string::npos);
}

TEST(UringRound, EmptyGroupWithSyncIsOneSyncOnlyRound) {
  GroupProgress progress = group(0, true);
  RoundRequest round = plan_round(progress);
  EXPECT_EQ(round.write_bytes, 0u);
  EXPECT_TRUE(round.sync);
  apply_round(progress, round, 0, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.synced);
}

TEST(UringRound, GroupLargerThanAChunkSyncsOnlyWithItsLastChunk) {
  GroupProgress progress = group(2ull * write_chunk_max_bytes + 4096, true);
  RoundRequest first = plan_round(progress);
  EXPECT_EQ(first.write_bytes, write_chunk_max_bytes);
  EXPECT_FALSE(first.sync);
  apply_round(progress, first, static_cast<int>(first.write_bytes), 0, path);
  RoundRequest second = plan_round(progress);
  EXPECT_EQ(second.write_bytes, write_chunk_max_bytes);
  EXPECT_FALSE(second.sync);
  apply_round(progress, second, static_cast<int>(second.write_bytes), 0, path);
  RoundRequest last = plan_round(progress);
  EXPECT_EQ(last.write_bytes, 4096u);
  EXPECT_TRUE(last.sync);
  apply_round(progress, last, 4096, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.synced);
}

GroupProgress dsync_group(std::uint64_t bytes) {
  GroupProgress progress = group(bytes, true);
  progress.dsync = true;
  return progress;
}

TEST(UringRoundDsync, GroupIsOneDsyncWriteAndSyncedWhenItCompletes) {
  GroupProgress progress = dsync_group(16384);
  RoundRequest round = plan_round(progress);
  EXPECT_EQ(round.write_bytes, 16384u);
  EXPECT_TRUE(round.dsync);
  EXPECT_FALSE(round.sync) << "no separate sync request";
  apply_round(progress, round, 16384, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.error.ok());
  EXPECT_TRUE(progress.synced);
  EXPECT_FALSE(progress.dsync_refused);
}

TEST(UringRoundDsync, ShortWriteIsContinuedWithDsyncAndSyncedOnlyAtTheEnd) {
  GroupProgress progress = dsync_group(16384);
  apply_round(progress, plan_round(progress), 4096, 0, path);
  EXPECT_FALSE(group_finished(progress));
  EXPECT_FALSE(progress.synced) << "a part is durable, the group is not";
  RoundRequest rest = plan_round(progress);
  EXPECT_EQ(rest.write_bytes, 12288u);
  EXPECT_TRUE(rest.dsync) << "the rest carries RWF_DSYNC too";
  EXPECT_FALSE(rest.sync);
  apply_round(progress, rest, 12288, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.synced);
}

TEST(UringRoundDsync, ErrorOnTheRestOfAShortWriteLeavesTheGroupUnsynced) {
  GroupProgress progress = dsync_group(16384);
  apply_round(progress, plan_round(progress), 8192, 0, path);
  apply_round(progress, plan_round(progress), -EIO, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_FALSE(progress.synced);
  EXPECT_EQ(progress.error.code(), Errc::io_error) << text(progress.error);
  EXPECT_NE(progress.error.message().find("at offset " + std::to_string(8192 + 8192)), std::string::npos)
      << progress.error.message();
}

// EOPNOTSUPP and EINVAL both mean "no RWF_DSYNC here": the group is written again the linked way.
void expect_refusal_goes_linked(int refusal) {
  GroupProgress progress = dsync_group(16384);
  apply_round(progress, plan_round(progress), refusal, 0, path);
  EXPECT_FALSE(group_finished(progress));
  EXPECT_TRUE(progress.error.ok()) << text(progress.error);
  EXPECT_TRUE(progress.dsync_refused);
  EXPECT_FALSE(progress.dsync);
  EXPECT_EQ(progress.retries, 0u) << "a refusal is not a transient retry";
  RoundRequest linked = plan_round(progress);
  EXPECT_EQ(linked.write_bytes, 16384u);
  EXPECT_FALSE(linked.dsync);
  EXPECT_TRUE(linked.sync);
  apply_round(progress, linked, 16384, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.synced);
}

TEST(UringRoundDsync, EopnotsuppGoesLinked) { expect_refusal_goes_linked(-EOPNOTSUPP); }
TEST(UringRoundDsync, EinvalGoesLinked) { expect_refusal_goes_linked(-EINVAL); }

// Parts written with RWF_DSYNC before the refusal are durable; the linked sync after the rest
// covers the whole file anyway.
TEST(UringRoundDsync, RefusalAfterAShortDsyncWriteLinksTheSyncAfterTheRest) {
  GroupProgress progress = dsync_group(16384);
  apply_round(progress, plan_round(progress), 4096, 0, path);
  apply_round(progress, plan_round(progress), -EOPNOTSUPP, 0, path);
  RoundRequest linked = plan_round(progress);
  EXPECT_EQ(linked.write_bytes, 12288u);
  EXPECT_TRUE(linked.sync);
  apply_round(progress, linked, 4096, -ECANCELED, path);
  EXPECT_FALSE(progress.synced);
  RoundRequest last = plan_round(progress);
  EXPECT_EQ(last.write_bytes, 8192u);
  EXPECT_TRUE(last.sync);
  EXPECT_FALSE(last.dsync);
  apply_round(progress, last, 8192, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.synced);
}

// Without a linked request there is no CQE for it: a dsync write's EINVAL is the flag's only in
// a dsync round; in a plain write it is the write's error.
TEST(UringRoundDsync, EinvalOnAPlainWriteIsAnError) {
  GroupProgress progress = group(4096, true);
  apply_round(progress, plan_round(progress), -EINVAL, -ECANCELED, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_EQ(progress.error.code(), Errc::io_error) << text(progress.error);
  EXPECT_NE(progress.error.message().find("(errno 22)"), std::string::npos) << progress.error.message();
}

TEST(UringRoundDsync, EmptyGroupStillSyncsWithADataSync) {
  GroupProgress progress = dsync_group(0);
  RoundRequest round = plan_round(progress);
  EXPECT_EQ(round.write_bytes, 0u);
  EXPECT_TRUE(round.sync);
  EXPECT_FALSE(round.dsync);
}

TEST(UringRoundDeathTest, WriteLongerThanRequestedIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  GroupProgress progress = group(4096, false);
  EXPECT_DEATH(apply_round(progress, plan_round(progress), 8192, 0, path),
               "invariant broken.*completed with res 8192");
}

// io_uring starts a linked sync from the task that submitted the write; when that thread has
// exited, the kernel fails the sync with -EFAULT (or cancels it) without running it. Nothing was
// dropped, so the sync alone is asked again, bounded like -EAGAIN.
void expect_sync_not_run_is_retried(int res) {
  GroupProgress progress = group(4096, true);
  apply_round(progress, plan_round(progress), 4096, res, path);
  EXPECT_FALSE(group_finished(progress));
  EXPECT_TRUE(progress.error.ok()) << text(progress.error);
  EXPECT_EQ(progress.retries, 1u);
  RoundRequest again = plan_round(progress);
  EXPECT_EQ(again.write_bytes, 0u);
  EXPECT_TRUE(again.sync);
  apply_round(progress, again, 0, 0, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_TRUE(progress.synced);
}

TEST(UringRound, SyncFailedWithEfaultAfterCompleteWriteIsRetriedAlone) { expect_sync_not_run_is_retried(-EFAULT); }
TEST(UringRound, SyncCancelledAfterCompleteWriteIsRetriedAlone) { expect_sync_not_run_is_retried(-ECANCELED); }

TEST(UringRound, WriteNotRunBecauseItsSubmitterExitedIsRetried) {
  for (int res : {-EFAULT, -ECANCELED}) {
    GroupProgress progress = group(8192, true);
    apply_round(progress, plan_round(progress), res, -ECANCELED, path);
    EXPECT_FALSE(group_finished(progress));
    EXPECT_TRUE(progress.error.ok()) << text(progress.error);
    EXPECT_EQ(progress.bytes_done, 0u);
    RoundRequest again = plan_round(progress);
    EXPECT_EQ(again.write_bytes, 8192u);
    EXPECT_TRUE(again.sync);
    apply_round(progress, again, 8192, 0, path);
    EXPECT_TRUE(group_finished(progress));
    EXPECT_TRUE(progress.synced);
  }
}

TEST(UringRound, SyncThatNeverRunsGivesUpWithAnError) {
  GroupProgress progress = group(4096, true);
  apply_round(progress, plan_round(progress), 4096, -EFAULT, path);
  for (unsigned i = 0; i < round_retries_max && !group_finished(progress); ++i)
    apply_round(progress, plan_round(progress), 0, -EFAULT, path);
  EXPECT_TRUE(group_finished(progress));
  EXPECT_FALSE(progress.synced);
  EXPECT_EQ(progress.error.code(), Errc::io_error) << text(progress.error);
}

TEST(UringRoundDeathTest, PositiveSyncResultIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  GroupProgress progress = group(4096, true);
  EXPECT_DEATH(apply_round(progress, plan_round(progress), 4096, 5, path),
               "invariant broken.*completed with res 5");
}

}  // namespace
}  // namespace segstore::io
