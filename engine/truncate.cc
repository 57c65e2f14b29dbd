// engine/truncate.cc — truncate_after(): removing every record after an LSN (docs/ENGINE.md
// "Removing records"). Its steps, in the order docs/RECOVERY.md ("Crash-consistency rules")
// gives:
//   1. claim the log: appends, trims, resets and seals wait (log_rewrite_running_); every
//      record is made durable and no write is in flight, so the files are quiet;
//   2. read, changing nothing: where the cut starts, that it does not split an atomic batch
//      (Errc::splits_batch), and how many records of each stream go. A failure here returns
//      the error and leaves the store as it was;
//   3. change the files: later segments removed (newest first), the cut segment's .idx removed
//      and the directory synced, then the block holding the cut rewritten and synced. A crash
//      anywhere leaves a prefix of the old log. A failure from the first change on leaves the
//      store read-only: memory shows the log asked for (the files hold it, or a longer prefix
//      of the old one), and reopening runs recovery on what really is on disk;
//   4. memory follows; threads waiting for a removed LSN return Errc::truncated;
//   5. the application snapshots past the new end go to quarantine (snapshots.cc). A crash
//      before that leaves them to recovery (@P), which moves them for the same reason.
#include <algorithm>
#include <cstring>

#include "base/assert.h"
#include "base/try.h"
#include "format/store_dir.h"
#include "engine/store_impl.h"
#include "format/record.h"
#include "format/small_files.h"
#include "io/env.h"
#include "io/event_log.h"

namespace segstore {

using namespace engine;

namespace {
// Read windows of the walk to the cut record.
constexpr std::size_t truncate_window_bytes = 1u << 16;

// A cut before a batch's second or later record would keep the batch's head without its
// batch_last record: an unfinished batch, which the next recovery cuts whole (@J) — records
// truncate_after promised to keep. Atomic means all or nothing, so such a cut is refused.
bool splits_batch(std::uint8_t type) {
  return type == static_cast<std::uint8_t>(format::RecordType::batch_middle) ||
         type == static_cast<std::uint8_t>(format::RecordType::batch_last);
}
}  // namespace

Status Store::Impl::truncate_after(std::uint64_t lsn) {
  // Outermost: no snapshot is written while the end of the log moves (step 5).
  std::lock_guard snapshots(snapshot_mu_);
  std::lock_guard meta_writer(meta_mu_);  // no trim between its META write and its memory update
  std::unique_lock lock(mu_);
  wait_for_log_rewrite_locked(lock);  // one rewrite at a time
  SEGSTORE_TRY(check_writable_locked());
  const std::uint64_t cut_lsn = lsn + 1;  // first LSN removed
  if (cut_lsn < first_lsn_ || lsn >= next_lsn_)
    return Status(Errc::lsn_out_of_range, "truncate_after(" + std::to_string(lsn) + "): keep range must end in [" +
                                              std::to_string(first_lsn_) + " - 1, " +
                                              std::to_string(next_lsn_) + " - 1]");
  if (cut_lsn == next_lsn_) return Status();
  log_rewrite_running_ = true;
  const std::string what = "truncate_after(" + std::to_string(lsn) + ")";
  Status done = truncate_claimed(lock, cut_lsn, what);
  log_rewrite_running_ = false;
  progress_cv_.notify_all();
  maintenance_cv_.notify_all();
  lock.unlock();
  if (!done.ok()) return done;
  io::append_event(*env_, dir_, what, options_.logger);
  return quarantine_snapshots_past_end(cut_lsn, what);
}

// Step 5 of truncate_after and of reset_to: the snapshots past the new end describe records
// that are gone; once the log grows past them again they would be returned as its state.
Status Store::Impl::quarantine_snapshots_past_end(std::uint64_t end_lsn, const std::string &what) {
  Status moved = quarantine_snapshots_from(end_lsn, what);
  if (moved.ok()) return Status();
  Status failure(moved.code(), what + " in " + dir_ + " is done, but moving the snapshots past the new end to "
                                      "quarantine failed; read-only until reopened (recovery moves them): " +
                                      moved.message());
  std::lock_guard lock(mu_);
  fail_locked(failure);
  return failure;
}

Status Store::Impl::truncate_claimed(std::unique_lock<std::mutex> &lock, std::uint64_t cut_lsn,
                                     const std::string &what) {
  // Appenders wait (log_rewrite_running_), so next_lsn_ stays put while this waits.
  SEGSTORE_TRY(make_durable_locked(lock, next_lsn_ - 1));
  quiesce_locked(lock);  // a seal must not write a stale .idx either
  // Invariant: every record is durable and no group is open or in flight: the files are quiet.
  SEGSTORE_ASSERT(groups_.empty() && inflight_ == 0, "groups left after drain");
  TruncatePlan plan = plan_truncate_locked(cut_lsn);
  lock.unlock();
  Status read = read_truncate_plan(plan);
  if (!read.ok()) {
    lock.lock();
    return read;  // nothing changed
  }
  std::uint64_t new_end = plan.cut_offset;
  // The intent first: until it is removed again, a crash leaves records past the cut that were
  // being removed (a torn rewrite of the cut block can leave some after a hole), and recovery
  // must not read them as acknowledged records lost (@U). A failure to write it may still have
  // put it on disk, so it fails the truncate like a failure in the cut itself (read-only; the
  // next open finishes the cut if the intent landed).
  Status cut = write_truncate_intent(cut_lsn);
  if (cut.ok()) cut = cut_files(plan, new_end);
  if (cut.ok()) cut = remove_truncate_intent();
  lock.lock();
  commit_truncate_locked(plan, new_end, cut.ok());
  remove_waiters_from_locked(cut_lsn, what);
  if (cut.ok()) return Status();
  Status failure(cut.code(), what + " in " + dir_ + " failed after it began changing the files, which hold a prefix "
                                    "of the old log; read-only until reopened (recovery finds the end): " +
                                    cut.message());
  fail_locked(failure);
  return failure;
}

Status Store::Impl::write_truncate_intent(std::uint64_t cut_lsn) {
  const format::TruncateFile intent{store_id_, cut_lsn};
  return io::write_file_atomic(*env_, format::join_path(dir_, format::truncate_file_name),
                               format::encode_truncate(intent));
}

Status Store::Impl::remove_truncate_intent() {
  SEGSTORE_TRY(env_->remove(format::join_path(dir_, format::truncate_file_name)));
  return env_->sync_dir(dir_);
}

// At open, after recovery: a truncate_after that a crash interrupted (recovery reported its
// TRUNCATE file) is finished, so the records it was removing never come back; then the file
// goes. A store refusing writes over a recorded loss keeps the file until the loss is accepted.
Status Store::Impl::finish_interrupted_truncate(std::uint64_t cut_lsn) {
  std::uint64_t next = 0;
  std::uint64_t first = 0;
  {
    std::lock_guard lock(mu_);
    if (failed_ || lost_lsn_end_ != 0) return Status();
    next = next_lsn_;
    first = first_lsn_;
  }
  // An intent names lsn + 1 of a truncate_after(lsn), so it is never 0 (recovery reads 0 as
  // none): max(cut_lsn, first) - 1 does not wrap. truncate_after(first - 1) keeps nothing.
  SEGSTORE_ASSERT(cut_lsn != 0, "a truncate intent at LSN 0");
  if (cut_lsn < next) return truncate_after(std::max(cut_lsn, first) - 1);
  return remove_truncate_intent();
}

TruncatePlan Store::Impl::plan_truncate_locked(std::uint64_t cut_lsn) const {
  TruncatePlan plan;
  plan.cut_lsn = cut_lsn;
  auto it = segments_.upper_bound(cut_lsn);
  SEGSTORE_ASSERT(it != segments_.begin(), "no segment holds LSN " + std::to_string(cut_lsn));
  --it;
  plan.seg = it->second;
  plan.end_offset = plan.seg->end_offset;
  for (auto next = std::next(it); next != segments_.end(); ++next) plan.later.push_back(next->second);
  // An activated segment without records yet is not in segments_ under a base of its own.
  if (active_ && active_ != plan.seg && active_->base_lsn >= cut_lsn &&
      std::find(plan.later.begin(), plan.later.end(), active_) == plan.later.end())
    plan.later.push_back(active_);
  return plan;
}

// Step 2: reads only. Finds the cut record's offset and counts the removed records per stream
// (the index's stream counts drop by these).
Status Store::Impl::read_truncate_plan(TruncatePlan &plan) {
  Segment &seg = *plan.seg;
  if (plan.seg_emptied()) return Status();  // the whole file goes: nothing to find in it
  SEGSTORE_TRY(ensure_index(seg));
  std::optional<format::IndexEntry> entry;
  {
    std::lock_guard index_lock(seg.index_mu);
    entry = seg.index.locate(plan.cut_lsn - seg.base_lsn);
  }
  SEGSTORE_ASSERT(entry.has_value(), "no index entry for LSN " + std::to_string(plan.cut_lsn));
  SegmentCursor cursor(*this, plan.seg, entry->offset, seg.base_lsn + entry->lsn_delta, truncate_window_bytes);
  while (cursor.expected_lsn() < plan.cut_lsn) {
    Result<std::optional<RecordView>> got = cursor.next(plan.end_offset);
    if (!got.ok()) return got.status();
    SEGSTORE_ASSERT(got->has_value(), seg.path + " ended before LSN " + std::to_string(plan.cut_lsn));
  }
  plan.cut_offset = cursor.offset();
  while (true) {
    Result<std::optional<RecordView>> got = cursor.next(plan.end_offset);
    if (!got.ok()) return got.status();
    if (!got->has_value()) break;
    if ((*got)->lsn == plan.cut_lsn && splits_batch((*got)->type))
      return Status(Errc::splits_batch, "truncate_after(" + std::to_string(plan.cut_lsn - 1) + ") in " + dir_ +
                                            ": LSN " + std::to_string(plan.cut_lsn) + " at offset " +
                                            std::to_string(plan.cut_offset) + " of " + seg.path +
                                            " continues an atomic batch; cut before the batch or after its end");
    plan.removed[(*got)->stream]++;
  }
  return Status();
}

// Step 3: later segments first (newest first), then the cut segment: a crash in between leaves
// a prefix of the log as it was before the call. The directory is synced after each removal: a
// file system may persist unsynced directory operations in any order, and a newer segment that
// survives an older one's removal would leave a gap whose far side (its .idx) reads as
// acknowledged records lost (the crash simulation found it). Truncation is rare; one directory
// sync per removed segment is its price.
Status Store::Impl::cut_files(const TruncatePlan &plan, std::uint64_t &new_end) {
  for (auto s = plan.later.rbegin(); s != plan.later.rend(); ++s) {
    SEGSTORE_TRY(remove_segment_files(*s));
    SEGSTORE_TRY(env_->sync_dir(dir_));
  }
  if (plan.seg_emptied()) {
    SEGSTORE_TRY(remove_segment_files(plan.seg));
    return env_->sync_dir(dir_);
  }
  // The .idx goes, durably, before any byte of the segment changes: a crash in the middle of
  // the rewrite must not leave an index snapshot that claims records already zeroed.
  SEGSTORE_TRY(remove_index_file(*plan.seg));
  SEGSTORE_TRY(env_->sync_dir(dir_));
  Result<std::uint64_t> end = rewrite_cut_block(plan.seg, plan.cut_offset, plan.end_offset, plan.cut_lsn);
  if (!end.ok()) return end.status();
  new_end = *end;
  return Status();
}

// Rewrites the block holding `from_offset` with its prefix unchanged, then a padding record to
// the block boundary (so the next write group starts on a fresh block), and zeros up to
// `end_offset`; then syncs. Returns the segment's new end. The prefix bytes are identical in
// the old and new block, so a torn rewrite can only damage bytes that are being removed (on a
// device with atomic sectors).
Result<std::uint64_t> Store::Impl::rewrite_cut_block(const std::shared_ptr<Segment> &seg, std::uint64_t from_offset,
                                                     std::uint64_t end_offset, std::uint64_t lsn) {
  const std::uint64_t block_start = format::align_down(from_offset, format::block_size_bytes);
  const std::uint64_t zero_end = format::align_up(end_offset, format::block_size_bytes);
  io::AlignedBuffer buffer(std::max<std::uint64_t>(zero_end - block_start, format::block_size_bytes));
  ReadWindow head;
  SEGSTORE_TRY(fill_window(seg, block_start, format::block_size_bytes, head));
  std::memcpy(buffer.data(), head.buffer.data(), from_offset - block_start);
  std::uint64_t new_end = from_offset;
  std::uint64_t pad = format::align_up(from_offset, format::block_size_bytes) - from_offset;
  if (pad != 0 && pad < format::record_header_bytes) pad += format::block_size_bytes;
  if (pad != 0 && from_offset + pad <= seg->segment_bytes && from_offset + pad - block_start <= buffer.size()) {
    format::encode_padding(lsn, pad, buffer.data() + (from_offset - block_start), seg->record_seed);
    new_end = from_offset + pad;
  }
  SEGSTORE_TRY(seg->file->write_at(block_start, std::span<const std::byte>(buffer.data(), zero_end - block_start)));
  SEGSTORE_TRY(seg->file->sync_data());
  return new_end;
}

// Step 4. With files_cut false the files hold a prefix of the old log at least as long as the
// new one; the store is about to turn read-only, so the cut segment takes no appends.
void Store::Impl::commit_truncate_locked(const TruncatePlan &plan, std::uint64_t new_end, bool files_cut) {
  const std::shared_ptr<Segment> &seg = plan.seg;
  for (const auto &s : plan.later) segments_.erase(s->base_lsn);
  to_seal_.erase(std::remove_if(to_seal_.begin(), to_seal_.end(),
                                [&](const auto &s) { return s->base_lsn >= seg->base_lsn; }),
                 to_seal_.end());
  active_.reset();
  if (plan.seg_emptied()) {
    segments_.erase(seg->base_lsn);
  } else {
    {
      std::lock_guard index_lock(seg->index_mu);
      seg->index.truncate(plan.cut_lsn - seg->base_lsn, plan.removed);
    }
    seg->record_count = plan.cut_lsn - seg->base_lsn;
    seg->end_offset = new_end;
    // Appends continue in this segment only from a block boundary (the rewrite padded it).
    if (files_cut && new_end % format::block_size_bytes == 0) {
      seg->sealed = false;
      active_ = seg;
    } else {
      seg->sealed = true;
      if (files_cut) to_seal_.push_back(seg);
    }
  }
  next_lsn_ = durable_lsn_ = plan.cut_lsn;
  log_generation_++;
  // Tailing readers decode nothing kept from before the cut again (engine/tail_feed.h).
  tail_feed_.invalidate(first_lsn_, durable_lsn_);
  // Invariant: the cut was checked to lie in [first_lsn_, next_lsn_).
  SEGSTORE_ASSERT(first_lsn_ <= next_lsn_, "truncate below first_lsn " + std::to_string(first_lsn_));
  maintenance_cv_.notify_all();
  appended_cv_.notify_all();
}

}  // namespace segstore
