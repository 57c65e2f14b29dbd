// engine/store_impl.h — the Store's state and the threads that move it.
//
// Write path (docs/ENGINE.md "The write path and group commit"): appenders encode records into
// the open write group (an aligned buffer destined for consecutive blocks of the active segment)
// under mu_. A group is cut — padded to a block boundary and submitted to the WriteQueue — when
// it is full, when the segment rolls, or when a record must become durable and no data sync is
// in flight (leader/follower: while one sync runs, the next group gathers; the sync's completion
// cuts it once most of the appenders it released are back, or a short window has passed:
// engine/gather_window.h). Up to inflight_groups_max groups are in flight.
// The threads waiting for durability are in waiters_ (engine/durable_waiters.h), in LSN order:
// one of them, the leader, cuts its group and runs data syncs, and collects its completion
// while it is the only waiter; the others sleep until their records are durable. The reaper
// thread collects completions when nobody or several wait, and cuts the next group when a sync
// completes. While there are no more waiters than slots, a waiter writes the group its record
// is in on its own thread instead, durable, with mu_ released (docs/ENGINE.md "Writing on the
// waiter's thread"). A group submitted with a linked data sync is durable when it completes; a write-only
// group becomes durable when a later explicit data sync of its file runs after its write
// completed. durable_lsn_ is the end of the longest prefix of durable groups.
//
// Lock order: mu_ before any Segment::index_mu.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/histogram.h"
#include "engine/durable_waiters.h"
#include "engine/gather_window.h"
#include "engine/segment.h"
#include "engine/tail_feed.h"
#include "format/layout.h"
#include "format/small_files.h"
#include "io/aligned_buffer.h"
#include "io/env.h"
#include "io/read_ahead.h"
#include "recovery/recover.h"
#include "segstore/store.h"

namespace segstore::engine {

enum class GroupState : std::uint8_t {
  open,      // being filled by appenders
  inflight,  // submitted, write (and sync) not completed
  written,   // write completed, not yet covered by a data sync
  synced,    // covered by a data sync: durable once every earlier group is
  failed,    // its write, or a data sync covering it, failed: its bytes may be missing from the
             // device, so its records are never read from there (fill_window reports write_failure)
};

struct WriteGroup {
  std::uint64_t seq = 0;
  std::shared_ptr<Segment> segment;
  io::AlignedBuffer buffer;
  std::uint64_t file_offset = 0;  // block aligned
  std::size_t used = 0;           // bytes encoded (records, padding, header block)
  std::size_t warmed = 0;         // buffer bytes before this were prefetched for writing
  std::uint64_t first_lsn = 0;    // records [first_lsn, end_lsn)
  std::uint64_t end_lsn = 0;
  GroupState state = GroupState::open;
  bool linked_sync = false;
  std::chrono::steady_clock::time_point submitted_at;  // when cut: a linked sync's latency
  Status write_failure;  // state == failed: what the write or the data sync returned
  // The end of the blocks its write covers (the last one padded or zero-filled).
  std::uint64_t blocks_end() const { return file_offset + format::align_up(used, format::block_size_bytes); }
};

// What truncate_after() removes (engine/truncate.cc).
struct TruncatePlan {
  std::shared_ptr<Segment> seg;                    // holds the cut
  std::vector<std::shared_ptr<Segment>> later;     // removed whole, oldest first
  std::uint64_t cut_lsn = 0;                       // the first LSN removed
  std::uint64_t end_offset = 0;                    // seg's end before the cut
  std::uint64_t cut_offset = 0;                    // where seg's removed bytes start
  std::map<std::uint32_t, std::uint64_t> removed;  // seg's records removed, per stream
  bool seg_emptied() const { return cut_lsn == seg->base_lsn; }
};

// What a tail wait (Store::Impl::wait_for_tail) waits for.
enum class TailTarget : std::uint8_t {
  appended,  // the record exists: next_lsn_ passed it
  durable,   // the record is durable: durable_lsn_ passed it
};

// Whole microseconds from `start` to now (for the latency distributions of Stats).
inline std::uint64_t microseconds_since(std::chrono::steady_clock::time_point start) {
  const auto elapsed = std::chrono::steady_clock::now() - start;
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
}

// A window of a segment's bytes read for decoding.
struct ReadWindow {
  io::AlignedBuffer buffer;
  // The window's bytes begin at buffer[skip] (a read-ahead window keeps head room in front of
  // its read for the tail of the window before it: engine/scan_ahead.h); 0 for fill_window.
  std::size_t skip = 0;
  std::uint64_t start = 0;  // segment offset of buffer[skip] (block aligned)
  std::size_t valid = 0;    // bytes from buffer[skip] that hold segment data
  const std::byte *data() const { return buffer.data() + skip; }
  bool covers(std::uint64_t offset, std::uint64_t bytes) const {
    return offset >= start && offset + bytes <= start + valid;
  }
};

}  // namespace segstore::engine

namespace segstore {

// The first multiple of `every` above `next_lsn`: when the next application snapshot is due.
// Saturates instead of wrapping near the LSN limit (a wrapped value would make every append
// call on_snapshot_due).
inline std::uint64_t snapshot_due_after(std::uint64_t next_lsn, std::uint64_t every) {
  if (every == 0) return 0;
  const std::uint64_t steps = next_lsn / every + 1;
  return steps > UINT64_MAX / every ? UINT64_MAX : steps * every;
}

class Store::Impl : public std::enable_shared_from_this<Store::Impl> {
 public:
  using Segment = engine::Segment;
  using WriteGroup = engine::WriteGroup;
  using GroupState = engine::GroupState;
  using ReadWindow = engine::ReadWindow;

 public:
  Impl(std::string dir, Options options, std::shared_ptr<io::Env> env);
  ~Impl();

  // --- open / close (store_open.cc) ---
  Status open();
  Status close();

  // --- append path (append.cc) ---
  Result<std::uint64_t> append_records(std::span<const BatchEntry> records, Durability durability);
  // append_records, its latency recorded in append_latency_us_ (every public append goes here).
  // Timed: every call that waits for the device (Durability::sync), where the I/O dominates, and
  // one call in append_timing_every of the others (the first included), whose own cost is so
  // small that two clock reads and a histogram update per call were a tenth of it.
  static constexpr std::uint32_t append_timing_every = 16;
  Result<std::uint64_t> append_timed(std::span<const BatchEntry> records, Durability durability) {
    if (durability != Durability::sync && !nowait_append_sampled()) return append_records(records, durability);
    const auto start = std::chrono::steady_clock::now();
    Result<std::uint64_t> appended = append_records(records, durability);
    append_latency_us_.record(engine::microseconds_since(start));
    return appended;
  }
  // Whether this call that does not wait for the device is the sampled one. A relaxed load and
  // store, no read-modify-write: concurrent callers may count one call twice, which only moves
  // the sample, and the single-threaded case (the one that is counted exactly) costs no locked
  // instruction.
  bool nowait_append_sampled() {
    const std::uint32_t calls = nowait_append_calls_.load(std::memory_order_relaxed);
    nowait_append_calls_.store(calls + 1, std::memory_order_relaxed);
    return calls % append_timing_every == 0;
  }
  Status make_durable(std::uint64_t lsn);  // returns once durable_lsn_ > lsn
  Status sync_all();

  // --- reads (read.cc) ---
  Result<Record> read(std::uint64_t lsn);
  // One attempt of read(lsn) in `seg`, whose records end at `end_offset` (segment_for's).
  Result<Record> read_once(std::uint64_t lsn, const std::shared_ptr<Segment> &seg, std::uint64_t end_offset);
  // Fills `window` with segment bytes from `offset`: as much of [offset, offset + wanted) as the
  // segment holds (rounded out to blocks, ending early where the file ends), and at least
  // [offset, offset + needed), else corruption naming where the file ends. From memory for
  // groups not yet written.
  Status fill_window(const std::shared_ptr<Segment> &seg, std::uint64_t offset, std::uint64_t needed,
                     std::uint64_t wanted, ReadWindow &window);
  Status fill_window(const std::shared_ptr<Segment> &seg, std::uint64_t offset, std::uint64_t bytes,
                     ReadWindow &window) {
    return fill_window(seg, offset, bytes, bytes, window);
  }
  // Copies into `window` (from window.start to *end) the blocks of `seg` that groups not yet
  // written hold; returns which blocks it filled. A failed group's bytes are on neither side:
  // *end is lowered to its first block, and if that falls below needed_end the read fails with
  // the group's write failure (never corruption: the records were not damaged, never written).
  Result<std::vector<bool>> copy_unwritten_blocks(const std::shared_ptr<Segment> &seg, ReadWindow &window,
                                                  std::uint64_t needed_end, std::uint64_t *end);
  // `damage` (bytes at `offset` of `seg` that do not decode), unless a data sync failing while
  // they were read dropped them: then the failure of the group that held them (read.cc).
  Status damage_or_dropped_write(const Segment &seg, std::uint64_t offset, Status damage);
  // A segment whose records all lie below first_lsn_ (trimmed): a read of it that failed may
  // have met its file recycled (Options::recycled_segments_max) and is not damage.
  bool segment_trimmed(const Segment &seg);
  // The segment holding `lsn` (lsn in [first_lsn, next_lsn)), or lsn_out_of_range; with its
  // end offset and the log generation, read under the same lock, where asked for.
  Result<std::shared_ptr<Segment>> segment_for(std::uint64_t lsn, std::uint64_t *end_offset = nullptr,
                                               std::uint64_t *generation = nullptr);
  // The next segment after `seg` (by base LSN), or nullptr.
  std::shared_ptr<Segment> segment_after(const Segment &seg);
  Status check_lsn_readable(std::uint64_t lsn) const;  // caller holds mu_
  Status ensure_index(Segment &seg);  // loads a lazily-loaded index; takes index_mu

  // --- read-ahead of scans (scan_ahead.cc; added by the read-path work) ---
  // What a read-ahead of `seg` may read now: bytes below readable_end are on the file for good
  // (below its end, no group of it open, in flight or failed) as of log generation `generation`.
  struct ReadAheadBound {
    std::uint64_t generation = 0;
    std::uint64_t end_offset = 0;    // the segment's records end here
    std::uint64_t readable_end = 0;  // <= end_offset
    bool rewrite_running = false;    // truncate_after is zeroing bytes: read nothing ahead
  };
  ReadAheadBound read_ahead_bound(const Segment &seg) const;
  // The store's read-ahead (made on first use), or nullptr when the env has none.
  io::ReadAhead *read_ahead();
  // The read-ahead of scans and one-stream walks: the env's io_uring one where it has one (no
  // thread hand-off per read; *on_ring set true), else read_ahead() (*on_ring false).
  io::ReadAhead *scan_read_ahead(bool *on_ring);

  // --- maintenance (maintenance.cc) ---
  Status truncate_after(std::uint64_t lsn);
  Status trim_before(std::uint64_t lsn);
  Status reset_to(std::uint64_t lsn);
  // reset_to for a caller that holds snapshot_mu_ (install_snapshot).
  Status reset_to_holding_snapshots(std::uint64_t lsn);

  // --- application snapshots (snapshots.cc) ---
  Status write_snapshot(std::uint64_t lsn, std::span<const std::byte> state);
  Result<Snapshot> latest_snapshot();
  // Writes snapshots/<lsn>.snap atomically; no check of lsn. Caller holds snapshot_mu_.
  Status write_snapshot_file(std::uint64_t lsn, std::span<const std::byte> state);
  // Removes all but the newest snapshots_kept snapshots. Caller holds snapshot_mu_.
  Status prune_snapshots();
  // --- installed snapshots (install_snapshot.cc) ---
  Status install_snapshot(std::uint64_t lsn, std::span<const std::byte> state);
  // --- application metadata (app_metadata.cc) ---
  Status write_metadata(std::span<const std::byte> bytes);
  Result<std::vector<std::byte>> read_metadata();
  Result<std::vector<std::byte>> read_metadata_file();
  // Moves the snapshots at or past `end_lsn` to quarantine/, durably (as recovery's @P does):
  // truncate_after/reset_to (`what`) just removed the records they describe. Caller holds
  // snapshot_mu_ and not mu_.
  Status quarantine_snapshots_from(std::uint64_t end_lsn, const std::string &what);

  Stats stats() const;

  // --- tail waits (tail_wait.cc) ---
  // Waits until the record `lsn` exists (TailTarget::appended) or is durable, then returns ok.
  // Returns early, as soon as it is known, when the wait cannot succeed or is given up: the
  // store was closed (store_closed) or failed (read_only), `*cancel` was set (cancelled; the
  // request is cleared), or `deadline` passed (timed_out). `cancel` may be null.
  Status wait_for_tail(std::uint64_t lsn, engine::TailTarget target, std::chrono::steady_clock::time_point deadline,
                       std::atomic<bool> *cancel) const;
  // wait_for_tail for TailTarget::durable: sleeps on the tail feed, not on mu_.
  Status wait_for_durable_tail(std::uint64_t lsn, std::chrono::steady_clock::time_point deadline,
                               std::atomic<bool> *cancel) const;
  // Wakes every tail wait so it looks at its cancel flag (IteratorCanceller::cancel()).
  void wake_tail_waiters() const;

  std::uint64_t first_lsn() const;
  std::uint64_t next_lsn() const;
  std::uint64_t durable_lsn() const;

  const std::string dir_;
  const Options options_;
  std::shared_ptr<io::Env> env_;
  RecoveryReport recovery_report_;
  std::atomic<std::uint64_t> blocks_read_{0};
  std::atomic<std::uint64_t> read_requests_{0};  // the reads that brought blocks_read_

 private:
  // append.cc
  Status check_writable_locked() const;  // store_closed, read_only (failed) or ok
  // caller_waits: the appender waits for durability after this (a sync append).
  Status ensure_room_locked(std::unique_lock<std::mutex> &lock, std::uint64_t disk_bytes, bool caller_waits);
  Status roll_locked(std::unique_lock<std::mutex> &lock);
  Status retire_empty_active_locked(std::unique_lock<std::mutex> &lock);
  Status activate_segment_locked(std::unique_lock<std::mutex> &lock);
  WriteGroup &new_group_locked(std::uint64_t file_offset, std::uint64_t min_bytes);
  Status cut_group_locked(WriteGroup &group, bool linked_sync);
  // cut_group_locked's two halves around the submission: the group padded and marked in flight
  // (the request that writes it), then the counts of a write on its way.
  io::WriteGroup begin_group_write_locked(WriteGroup &group, bool linked_sync);
  void count_group_write_locked(const io::WriteGroup &request);
  // The waiter of `waiter_lsn` writes its open group itself, durable, with mu_ released.
  bool inline_write_due_locked(const WriteGroup &open) const;
  void cut_for_own_wait_locked(std::unique_lock<std::mutex> &lock, WriteGroup &open, std::uint64_t waiter_lsn);
  void write_group_inline_locked(std::unique_lock<std::mutex> &lock, WriteGroup &group, std::uint64_t waiter_lsn);
  // A group's write (and sync) finished: its new state, the store failed if it did.
  GroupState complete_group_locked(const io::GroupCompletion &completion);
  // Groups whose completion comes from queue_ (the others are written by their waiters).
  std::size_t queue_inflight_locked() const { return inflight_ - inline_writes_; }
  bool full_group_syncs_locked(const WriteGroup &group, bool caller_waits) const;
  void pad_group_locked(WriteGroup &group);
  // The waiter of `waiter_lsn` syncs the files of the write-only groups up to group `seq`.
  Status fsync_through_locked(std::unique_lock<std::mutex> &lock, std::uint64_t seq, std::uint64_t waiter_lsn);
  // Returns once durable_lsn_ > lsn (or the wait must end), with the lock held.
  Status make_durable_locked(std::unique_lock<std::mutex> &lock, std::uint64_t lsn) {
    return await_durable_locked(lock, lsn, true);
  }
  // make_durable_locked for the append path: with relock false it may return with the lock
  // released (a waiter released as durable returns without taking mu_ again).
  Status await_durable_locked(std::unique_lock<std::mutex> &lock, std::uint64_t lsn, bool relock);
  // The waiter's wait is over: *result says how. Caller holds mu_.
  bool wait_over_locked(const engine::DurableWaiter &waiter, Status *result) const;
  // The leader's next step for `lsn`: cut, data sync or reap. False: nothing it can do now
  // (the reaper thread is collecting completions and wakes the leader when done).
  bool lead_once_locked(std::unique_lock<std::mutex> &lock, std::uint64_t lsn);
  // A waiter's record is in the open group: should it be cut now (durability wanted)?
  bool sync_cut_due_locked(const WriteGroup &open) const;
  // A sync completion released `released` waiters: opens the gather window (gather_) when the
  // device is free for the next group's sync and the store is not closing or failed.
  void open_gather_window_locked(std::size_t released);
  // A sync completed: cuts the open group if a waiter needs it and sync_cut_due_locked says so
  // (leader/follower: the next group is cut when the device is free), provided the thread that
  // cuts waits for it: the thread waiting for `cutter_lsn`, or the reaper thread
  // (reaper_thread_lsn).
  void cut_for_waiters_locked(std::uint64_t cutter_lsn);
  // Who collects write completions: a lone durable waiter itself (one thread hand-off less per
  // synced append), except while it runs a data sync (fsync_running_: only a waiter runs one),
  // when it is not reaping and the groups submitted behind its own would hold their slots
  // until the sync returned (a seal's sync stalled streaming appends for its whole duration);
  // otherwise, with no waiter or several, the reaper thread.
  // The same while it writes its group itself (inline_writes_).
  bool reaper_collects_locked() const { return waiters_.size() != 1 || fsync_running_ || inline_writes_ != 0; }
  static constexpr std::uint64_t reaper_thread_lsn = UINT64_MAX;
  // Takes the waiters whose records durable_lsn_ now covers off the list (woken through
  // `batch`), cuts the next group for the others, and wakes whoever waits on progress_cv_.
  void after_progress_locked(engine::WakeBatch &batch, std::uint64_t cutter_lsn);
  // Delivers `batch` with mu_ released (the woken threads do not run into the held mutex).
  void deliver_unlocked(std::unique_lock<std::mutex> &lock, engine::WakeBatch &batch);
  // Wakes every durable waiter to look again (failure, close). Caller holds mu_.
  void wake_all_waiters_locked();
  // truncate_after/reset_to removed every record from `lsn` on: its waiters return truncated.
  void remove_waiters_from_locked(std::uint64_t lsn, const std::string &removed_by);
  // Waits on progress_cv_ (until pred(), or one wake-up): counted, so that the write path
  // notifies progress_cv_ only when somebody waits on it.
  template <class Pred>
  void wait_progress_locked(std::unique_lock<std::mutex> &lock, Pred pred) const {
    ++progress_waiters_;
    progress_cv_.wait(lock, pred);
    --progress_waiters_;
  }
  void wait_progress_once_locked(std::unique_lock<std::mutex> &lock) const {
    ++progress_waiters_;
    progress_cv_.wait(lock);
    --progress_waiters_;
  }
  void notify_progress_locked() const {
    if (progress_waiters_ != 0) progress_cv_.notify_all();
    // Tail waits for durability sleep on the tail feed; the ones an advance satisfies are woken
    // by deliver_unlocked, with mu_ released (durable_lsn_ advances only where after_progress_locked
    // and then deliver_unlocked follow; truncate and reset publish their ends themselves).
    // The feed ignores an end it already has (a call without an advance costs one atomic load).
    if (tail_feed_.advance_durable(durable_lsn_)) tail_wake_due_ = true;
  }
  // A group's write completed: its buffer goes to the tail feed while readers tail (they decode
  // the newest records from it), else back to the spare buffers. Caller holds mu_.
  void keep_or_recycle_buffer_locked(WriteGroup &group) {
    if (tail_feed_.keeping() && group.state != GroupState::failed) {
      engine::TailGroup kept;
      kept.segment = group.segment;
      kept.record_seed = group.segment->record_seed;
      kept.buffer = std::move(group.buffer);
      kept.file_offset = group.file_offset;
      // A segment's first group begins with the segment header's block.
      kept.records_offset = group.file_offset == 0 ? format::segment_data_offset_bytes : 0;
      kept.used = group.used;
      kept.first_lsn = group.first_lsn;
      kept.end_lsn = group.end_lsn;
      group.buffer = tail_feed_.keep(std::move(kept));
    }
    recycle_buffer_locked(group);
  }
  // Waits until no truncate_after is changing segment files outside mu_.
  void wait_for_log_rewrite_locked(std::unique_lock<std::mutex> &lock);
  bool writeonly_pending_before_locked(const WriteGroup &group) const;
  void advance_durable_locked();
  void fail_locked(const Status &cause);
  WriteGroup *open_group_locked();
  WriteGroup *group_of_lsn_locked(std::uint64_t lsn);
  void reaper_loop();
  // Collects at least one completion (blocking without mu_) and applies it; caller holds the
  // lock and checked that nobody else reaps.
  // reaper_lsn: the LSN its caller waits for (reaper_thread_lsn for the reaper thread).
  // Returns whether a write-only group completed (a data sync may be due).
  bool reap_once_locked(std::unique_lock<std::mutex> &lock, std::uint64_t reaper_lsn);
  void ticker_loop();
  io::AlignedBuffer take_buffer_locked(std::size_t bytes);
  void recycle_buffer_locked(WriteGroup &group);
  void drain_locked(std::unique_lock<std::mutex> &lock);  // waits until no group is in flight
  // Waits until no group is in flight and no data sync or seal runs: with appends held off
  // (or discarded, by reset_to), nothing but the caller touches the segment files.
  void quiesce_locked(std::unique_lock<std::mutex> &lock);

  // maintenance.cc
  void maintenance_loop();
  // A segment waits to be sealed and no truncate_after is rewriting the files.
  bool seal_possible_locked() const { return !to_seal_.empty() && !log_rewrite_running_; }
  Result<std::shared_ptr<Segment>> create_segment_file(std::uint64_t id, bool zero_fill);
  // Makes segment `id` from the freed file at free_path (Options::recycled_segments_max): its
  // block 0 becomes a recycled spare's header, then it is renamed. Errors leave no file behind.
  Result<std::shared_ptr<Segment>> recycle_segment_file(std::uint64_t id, const std::string &free_path);
  Status write_spare_header(io::File &file, std::uint64_t id, std::uint64_t segment_bytes);
  // Keeps a freed segment's file for recycling when there is room and nothing else holds it.
  bool keep_as_free_file(const std::shared_ptr<Segment> &seg);
  // At open: the free files recovery listed join the pool, up to recycled_segments_max.
  Status adopt_free_files(const std::vector<std::string> &paths);
  Result<std::shared_ptr<Segment>> create_next_segment_locked(std::unique_lock<std::mutex> &lock);
  bool zero_fill_wanted_locked() const;  // Options::prealloc, decided per segment
  // The maintenance thread should create the spare segment now (Options::preallocate_next_segment).
  bool spare_due_locked() const {
    return options_.preallocate_next_segment && prealloc_wanted_ && !preallocated_ && !prealloc_running_ && !failed_;
  }
  // Creates the spare (mu_ released meanwhile); a failure is logged, the next roll creates one.
  void make_spare_locked(std::unique_lock<std::mutex> &lock);
  Status seal_segment(const std::shared_ptr<Segment> &seg);
  Status write_index_snapshot(const std::shared_ptr<Segment> &seg);
  void apply_retention();
  bool retention_removes_locked(const Segment &seg, std::uint64_t count, std::uint64_t now) const;
  bool retention_due_locked() const;
  bool retention_takes_locked(const std::shared_ptr<Segment> &seg) const;
  bool seal_refills_pool_locked() const;
  void check_headers_for_age_retention(std::uint64_t now_unix_ms);
  Status trim_segments(std::uint64_t lsn, bool by_retention);
  Status remove_segment_files(const std::shared_ptr<Segment> &seg);
  Status remove_index_file(const Segment &seg);
  // by_reset: the segments below min_segment_id are a reset's (format::MetaFile::discarded_by_reset).
  Status write_meta(std::uint64_t first_lsn, std::uint64_t min_segment_id, bool by_reset);
  // Turns the store read-only after a failed write_meta (it may be on disk): the reopen decides.
  Status fail_meta_write_locked(const std::string &what, const char *change, const Status &meta);

  // truncate.cc
  Status truncate_claimed(std::unique_lock<std::mutex> &lock, std::uint64_t cut_lsn, const std::string &what);
  // The TRUNCATE file (format/small_files.h): written before truncate_after changes a file,
  // removed (durably) after.
  Status write_truncate_intent(std::uint64_t cut_lsn);
  Status remove_truncate_intent();
  // At open: finishes a truncate_after that a crash interrupted (recovery found its intent).
  Status finish_interrupted_truncate(std::uint64_t cut_lsn);
  engine::TruncatePlan plan_truncate_locked(std::uint64_t cut_lsn) const;
  Status read_truncate_plan(engine::TruncatePlan &plan);
  Status cut_files(const engine::TruncatePlan &plan, std::uint64_t &new_end);
  Result<std::uint64_t> rewrite_cut_block(const std::shared_ptr<Segment> &seg, std::uint64_t from_offset,
                                          std::uint64_t end_offset, std::uint64_t lsn);
  Status quarantine_snapshots_past_end(std::uint64_t end_lsn, const std::string &what);  // or read-only
  void commit_truncate_locked(const engine::TruncatePlan &plan, std::uint64_t new_end, bool files_cut);

  // store_open.cc
  struct CleanMarker {
    bool present = false;    // a regular file named CLEAN exists (removed once recovery ran)
    bool valid = false;      // it decodes and names this store
    std::uint64_t next_lsn = 0;  // when valid
  };
  Result<format::MetaFile> read_meta();
  Result<CleanMarker> read_clean_marker();
  void adopt_recovered_log(recovery::RecoveredLog &log);
  Status resume_last_segment(bool last_segment_closed);
  Status retire_empty_last_segment(const std::shared_ptr<Segment> &last);
  // fsyncs snapshots/ and quarantine/ (those that exist): what recovery listed there is on the
  // device only once synced (engine/store_open.cc).
  Status sync_snapshot_directories();
  Status open_directory();
  Status make_store_directory();
  Status check_creatable();
  Status check_unfinished_meta(const std::string &path);
  Status start_threads();

 public:
  // --- state, guarded by mu_ ---
  mutable std::mutex mu_;
  mutable std::condition_variable progress_cv_;  // groups completed, durable advanced, slots freed
  mutable std::condition_variable appended_cv_;  // next_lsn_ advanced (tailing readers)
  std::condition_variable maintenance_cv_;
  std::condition_variable ticker_cv_;
  std::condition_variable reaper_cv_;  // groups in flight and nobody reaping them
  // close() has begun: no record is appended any more (store_closed), so that the records it
  // makes durable are all there are and CLEAN's next LSN is the durable end. Waits, seals and
  // retention go on until closed_.
  bool closing_ = false;
  bool closed_ = false;
  bool stopping_ = false;
  std::optional<Status> failed_;  // a write or sync failed: read-only until reopened
  // Acknowledged records [lost_lsn_first_, lost_lsn_end_) were lost and the loss is recorded in
  // META, not accepted: writes are refused. lost_lsn_end_ == 0: none. Set at open only.
  std::uint64_t lost_lsn_first_ = 0;
  std::uint64_t lost_lsn_end_ = 0;
  // truncate_after is rewriting segment files outside mu_: appends, trims, resets and seals
  // wait until it is done, so files and memory change only under its control.
  bool log_rewrite_running_ = false;
  // Counts truncate_after and reset_to commits: a read that failed while it changed asks again.
  std::uint64_t log_generation_ = 0;
  bool sealing_ = false;  // the maintenance thread is writing an index snapshot outside mu_
  engine::DurableWaiterList waiters_;  // threads in make_durable_locked, in LSN order
  // Threads waiting on progress_cv_ / appended_cv_ (wait_progress_locked, tail waits): the
  // write path notifies only when one exists.
  mutable std::size_t progress_waiters_ = 0;
  mutable std::size_t appended_waiters_ = 0;
  // What the tailing readers see of the head without mu_ (engine/tail_feed.h).
  mutable engine::TailFeed tail_feed_;
  mutable bool tail_wake_due_ = false;  // advance_durable asked for a wake-up: deliver_unlocked sends it

  std::unique_ptr<io::DirLock> lock_;
  std::uint64_t store_id_ = 0;
  std::uint64_t first_lsn_ = 0;
  std::uint64_t next_lsn_ = 0;
  std::uint64_t durable_lsn_ = 0;
  std::uint64_t next_segment_id_ = 1;
  std::uint64_t min_segment_id_ = 1;

  std::map<std::uint64_t, std::shared_ptr<Segment>> segments_;  // by base LSN (non-empty ones)
  std::shared_ptr<Segment> active_;        // receives appends (may be empty of records)
  std::shared_ptr<Segment> preallocated_;  // ready for the next roll
  // Freed segment files ("<id>.free") waiting to be recycled, at most recycled_segments_max.
  // A reader still holding a trimmed segment may read its file after it was recycled: every
  // record it decodes is checked with the old segment's seed, so none of the new life's passes,
  // and the failure is taken for the trim it is (segment_trimmed): a point read asks again and
  // gets lsn_out_of_range, an iterator goes on from first_lsn().
  std::vector<std::string> free_files_;
  std::uint64_t segments_recycled_ = 0;  // Stats::segments_recycled
  bool prealloc_wanted_ = false;
  bool prealloc_running_ = false;  // the maintenance thread is creating the next segment
  std::deque<std::shared_ptr<Segment>> to_seal_;
  std::deque<std::unique_ptr<WriteGroup>> groups_;  // not yet durable, oldest first
  std::uint64_t next_group_seq_ = 1;
  std::size_t inflight_ = 0;
  bool fsync_running_ = false;
  std::size_t linked_syncs_inflight_ = 0;  // groups in flight with a linked data sync
  std::size_t inline_writes_ = 0;          // of inflight_: written by their waiters' threads
  bool inline_writes_enabled_ = true;
  bool inline_dsync_ = true;  // false once RWF_DSYNC was refused: a write and a data sync
  bool reaping_ = false;              // a thread is collecting completions (queue_->reap)
  // After a sync completed, the next group waits for the appenders it released
  // (engine/gather_window.h); the reaper thread cuts it when the window's time has passed.
  engine::GatherWindow gather_;
  std::vector<io::AlignedBuffer> spare_buffers_;
  std::unique_ptr<io::WriteQueue> queue_;

  // counters
  std::uint64_t appends_ = 0;
  std::uint64_t flushes_ = 0;
  std::uint64_t bytes_written_ = 0;
  std::uint64_t records_made_durable_ = 0;
  std::uint64_t next_snapshot_due_ = 0;
  // Distributions (Stats), recorded without mu_ where they can be.
  base::Histogram append_latency_us_;
  std::atomic<std::uint32_t> nowait_append_calls_{0};  // appends that do not wait: append_timed's sample
  base::Histogram sync_latency_us_;
  base::Histogram group_records_;
  base::Histogram group_bytes_;

  // Serialises snapshot writers (write + prune) with truncate_after/reset_to, which move the
  // snapshots past the log's new end. Lock order: snapshot_mu_ before mu_.
  std::mutex snapshot_mu_;
  // Held by trims (trim_before, retention), reset_to and truncate_after for their whole run: a
  // trim writes META without mu_ (its device syncs must not hold up appends and reads), so no
  // other change of the log's ends may come between its decision and its update of memory.
  // Lock order: snapshot_mu_, then meta_mu_, then mu_.
  std::mutex meta_mu_;
  // Serialises write_metadata calls; holds the sequence number of the last one (0: none yet).
  std::mutex app_meta_mu_;
  std::uint64_t app_meta_sequence_ = 0;

  std::thread reaper_;
  std::thread ticker_;
  std::thread maintenance_;

  // The read-ahead shared by the store's scans (read_ahead()). Declared last, destroyed first:
  // no iterator, and so no read of it, outlives the Impl.
  std::mutex read_ahead_mu_;
  bool read_ahead_made_ = false;  // read_ahead_ was asked of the env (it may have none)
  std::unique_ptr<io::ReadAhead> read_ahead_;
  bool ring_read_ahead_made_ = false;  // ring_read_ahead_ was asked of the env
  std::unique_ptr<io::ReadAhead> ring_read_ahead_;
};

}  // namespace segstore

namespace segstore::engine {

class ScanAhead;

// Reads and decodes records of one segment sequentially (used by read, scans, truncate).
class SegmentCursor {
 public:
  SegmentCursor(Store::Impl &store, std::shared_ptr<Segment> seg, std::uint64_t offset,
                std::uint64_t expected_lsn, std::size_t window_bytes, ScanAhead *ahead = nullptr);
  // Starts again at `offset` of `seg`, keeping the window's buffer (a scan moving to the next
  // segment allocates nothing) and the reads ahead in flight: a scan moving to the next segment
  // finds that segment's first windows read (ScanAhead::take uses the oldest only when it serves
  // the new position, of the same segment and log generation, and drops them all otherwise).
  void restart(std::shared_ptr<Segment> seg, std::uint64_t offset, std::uint64_t expected_lsn);
  // Waits for the reads ahead in flight, forgets them and frees the buffers of the reads ahead
  // and of the window (the walk stops reading the device for a while: a tailer served from the
  // store's memory). The next read allocates again.
  void release_buffers();
  // Starts again at `offset` of `seg` with windows of `window_bytes`, keeping the window's
  // buffer and the reads ahead in flight (a one-stream walk moving to its next run of blocks,
  // which its read-ahead is already reading).
  void move_to(std::shared_ptr<Segment> seg, std::uint64_t offset, std::uint64_t expected_lsn,
               std::size_t window_bytes);
  // A buffer for the window to use (a point read lends its thread's), and taking it back.
  void lend_buffer(io::AlignedBuffer &&buffer) { window_.buffer = std::move(buffer); }
  io::AlignedBuffer return_buffer() {
    window_.valid = 0;
    return std::move(window_.buffer);
  }
  // Decodes the next record or padding at the cursor; padding is skipped. nullopt with ok
  // status at `end_offset` (the segment's known end).
  Result<std::optional<RecordView>> next(std::uint64_t end_offset);
  std::uint64_t offset() const { return offset_; }
  std::uint64_t expected_lsn() const { return expected_lsn_; }
  const std::shared_ptr<Segment> &segment() const { return seg_; }

 private:
  Store::Impl &store_;
  std::shared_ptr<Segment> seg_;
  std::uint64_t offset_;
  std::uint64_t expected_lsn_;
  std::size_t window_bytes_;
  ScanAhead *ahead_;  // windows read ahead (scans), or nullptr: each window is read when needed
  ReadWindow window_;
  // The window's bytes are trusted only below the segment end known when it was filled: past
  // it, records appended later may be missing from it (a tailing reader comes back for them).
  std::uint64_t trusted_end_ = 0;
  bool have(std::uint64_t offset, std::uint64_t bytes) const {
    return window_.covers(offset, bytes) && offset + bytes <= trusted_end_;
  }
  // Makes [offset, offset + needed) the window's, from the read-ahead when it holds them.
  Status refill(std::uint64_t offset, std::uint64_t needed, std::uint64_t wanted, std::uint64_t end_offset);
};

Status corruption_at(const Segment &seg, std::uint64_t offset, std::uint64_t bytes,
                     const char *reason);

}  // namespace segstore::engine
