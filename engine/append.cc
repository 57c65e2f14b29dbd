// engine/append.cc — the write path: encoding into write groups, cutting and submitting them,
// collecting completions, and advancing durable_lsn_.
#include <sys/prctl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "base/assert.h"
#include "base/try.h"
#include "format/store_dir.h"
#include "engine/store_impl.h"
#include "format/crc32c.h"
#include "format/record.h"
#include "format/segment_header.h"
#include "io/event_log.h"

namespace segstore {

using namespace engine;

namespace {

format::RecordType batch_type(std::size_t index, std::size_t count) {
  if (count == 1) return format::RecordType::full;
  if (index == 0) return format::RecordType::batch_first;
  if (index + 1 == count) return format::RecordType::batch_last;
  return format::RecordType::batch_middle;
}

std::uint64_t unix_ms_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Room a group keeps free after its last record for the padding that closes it: up to the
// block boundary, plus a whole block when fewer than a header's bytes would remain.
constexpr std::uint64_t padding_reserve_bytes =
    format::block_size_bytes + format::record_header_bytes;

// How far ahead of the last record a group's buffer is prefetched for writing. The buffers
// cycle through the device (inflight_groups_max of them and the open one: 5 MiB by default,
// more than a core's cache), so the lines a record is copied into are cold; each store to a
// cold line waits for the line to be read first, and the copy's stores then hold up the next
// locked instruction (the mutex release after the records were encoded: 14-25 % of a 1 KiB
// append's CPU in profiles). Asked for a few records ahead, the lines arrive while the
// appender does other work. 4 KiB: four 1 KiB records, a block. Where groups hold one record
// (sync appends from one thread) most of it is never written: 64 prefetches per append,
// nothing beside a device sync.
constexpr std::size_t group_warm_ahead_bytes = 4096;
constexpr std::size_t cache_line_bytes = 64;

// Prefetches (for writing) the lines of the group's buffer up to group_warm_ahead_bytes past
// its last record that were not prefetched yet. Only a hint to the CPU: it changes no byte.
// For writing means owned, not shared (the device's reads of the buffer's previous group may
// have left its lines shared): PREFETCHW on x86-64 (AMD since the first, Intel since
// Broadwell; earlier Intel cores execute it as a no-op). The target attribute must be on the
// function that holds the loop: GCC drops a write prefetch inlined into code built without it.
#if defined(__x86_64__)
__attribute__((target("prfchw")))
#endif
void warm_group_buffer(WriteGroup &group) {
  const std::size_t end = std::min(group.used + group_warm_ahead_bytes, group.buffer.size());
  std::size_t line = std::max(group.warmed, group.used & ~(cache_line_bytes - 1));
  for (; line < end; line += cache_line_bytes) __builtin_prefetch(group.buffer.data() + line, 1, 3);
  group.warmed = std::max(group.warmed, line);
}

// The LSN limit (format/layout.h): next_lsn never passes next_lsn_max, so no LSN wraps. A full
// log refuses appends with its own code: nothing else is wrong with the store, and reset_to or
// a new store are the way on.
Status check_lsn_room(const std::string &dir, std::uint64_t next_lsn, std::size_t records) {
  if (records <= format::next_lsn_max - next_lsn) return Status();
  return Status(Errc::log_full, "store " + dir + " is full: next LSN " + std::to_string(next_lsn) + " + " +
                                    std::to_string(records) + " records passes the LSN limit " +
                                    std::to_string(format::next_lsn_max));
}

}  // namespace

Status Store::Impl::check_writable_locked() const {
  if (closed_) return Status(Errc::store_closed, "store " + dir_ + " is closed");
  // Checked before closing_: close()'s own final sync may be what failed, and close() must
  // report it as the failure it is (its records are not durable), not as its own closing.
  if (failed_)
    return Status(Errc::read_only, "store " + dir_ +
                                       " is read-only until reopened after a failed write or "
                                       "sync: " + failed_->to_string());
  if (closing_) return Status(Errc::store_closed, "store " + dir_ + " is closing");
  // No LSN that was handed out is handed out again without an operator's decision: the next
  // append would take the first lost LSN.
  if (lost_lsn_end_ != 0)
    return Status(Errc::data_loss, "store " + dir_ + " lost acknowledged records LSN " + std::to_string(lost_lsn_first_) +
                                       ".." + std::to_string(lost_lsn_end_ - 1) +
                                       "; writes are refused until the loss is accepted (reopen with "
                                       "accept_data_loss, or segstore recover --accept-loss)");
  return Status();
}

// The public header promises the format's limit to every user of the library (and the CLI
// caps its input with it): the two must never drift apart.
static_assert(segstore::record_payload_max_bytes == format::record_payload_max_bytes,
              "segstore/store.h and format/layout.h disagree on the largest record");

Result<std::uint64_t> Store::Impl::append_records(std::span<const BatchEntry> records,
                                                  Durability durability) {
  if (records.empty()) return Status(Errc::invalid_argument, "append_batch of zero records");
  const std::uint64_t payload_max = format::payload_max_for_segment(options_.segment_bytes);
  const std::uint64_t segment_room = options_.segment_bytes - format::segment_data_offset_bytes;
  std::uint64_t disk_bytes = 0;
  // Payload checksums do not depend on the LSN: compute them before taking the lock.
  // Checksums of small batches (a single append above all) live on the stack.
  constexpr std::size_t inline_crcs_max = 16;
  std::array<std::uint32_t, inline_crcs_max> inline_crcs;
  std::vector<std::uint32_t> heap_crcs;
  if (records.size() > inline_crcs_max) heap_crcs.resize(records.size());
  std::uint32_t *crcs = records.size() > inline_crcs_max ? heap_crcs.data() : inline_crcs.data();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto &payload = records[i].payload;
    if (payload.size() > payload_max)
      return Status(Errc::record_too_large,
                    "record of " + std::to_string(payload.size()) + " bytes exceeds the maximum of " +
                        std::to_string(payload_max) + " bytes for segments of " +
                        std::to_string(options_.segment_bytes) + " bytes");
    crcs[i] = format::crc32c(payload);
    disk_bytes += format::record_disk_bytes(payload.size());
  }
  if (disk_bytes > segment_room)
    return Status(Errc::record_too_large, "batch of " + std::to_string(records.size()) +
                                              " records needs " + std::to_string(disk_bytes) +
                                              " bytes, more than one segment holds (" +
                                              std::to_string(segment_room) + ")");

  std::unique_lock lock(mu_);
  // Before making room, so that a full log does not start a segment; again after, because
  // ensure_room_locked may wait (unlocked) while other appends take LSNs.
  SEGSTORE_TRY(check_writable_locked());
  SEGSTORE_TRY(check_lsn_room(dir_, next_lsn_, records.size()));
  SEGSTORE_TRY(ensure_room_locked(lock, disk_bytes, durability == Durability::sync));
  SEGSTORE_TRY(check_lsn_room(dir_, next_lsn_, records.size()));
  WriteGroup &group = *open_group_locked();
  Segment &seg = *group.segment;
  const std::uint64_t first_lsn = next_lsn_;
  {
    std::lock_guard index_lock(seg.index_mu);
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto &payload = records[i].payload;
      // Invariant: check_lsn_room left an LSN for every record of the batch (no wrap).
      SEGSTORE_ASSERT(next_lsn_ < format::next_lsn_max, "LSN limit reached inside a batch");
      format::RecordHeader header;
      header.payload_crc = crcs[i];
      header.lsn = next_lsn_;
      header.payload_bytes = static_cast<std::uint32_t>(payload.size());
      header.stream = records[i].stream;
      header.type = batch_type(i, records.size());
      header.durable_lag =
          static_cast<std::uint32_t>(std::min<std::uint64_t>(next_lsn_ - durable_lsn_, UINT32_MAX));
      const std::uint64_t offset = group.file_offset + group.used;
      const std::uint64_t bytes =
          format::encode_record_with_crc(header, payload, group.buffer.data() + group.used, seg.record_seed);
      seg.index.add_record(next_lsn_ - seg.base_lsn, static_cast<std::uint32_t>(offset), header.stream);
      group.used += bytes;
      seg.end_offset = offset + bytes;
      seg.record_count++;
      next_lsn_++;
    }
  }
  group.end_lsn = next_lsn_;
  warm_group_buffer(group);
  appends_ += records.size();
  if (appended_waiters_ != 0) appended_cv_.notify_all();

  const std::uint64_t last_lsn = next_lsn_ - 1;
  bool snapshot_due = false;
  if (options_.snapshot_every_records != 0 && options_.on_snapshot_due && next_lsn_ >= next_snapshot_due_) {
    snapshot_due = true;
    next_snapshot_due_ = snapshot_due_after(next_lsn_, options_.snapshot_every_records);
  }
  Status durable;
  if (durability == Durability::sync) durable = await_durable_locked(lock, last_lsn, /*relock=*/false);
  if (lock.owns_lock()) lock.unlock();
  if (!durable.ok()) return durable;
  if (snapshot_due) options_.on_snapshot_due(last_lsn);
  return first_lsn;
}

Status Store::Impl::ensure_room_locked(std::unique_lock<std::mutex> &lock, std::uint64_t disk_bytes,
                                       bool caller_waits) {
  while (true) {
    SEGSTORE_TRY(check_writable_locked());
    if (log_rewrite_running_) {  // truncate_after decides where the next record goes
      wait_for_log_rewrite_locked(lock);
      continue;
    }
    if (!active_) {
      SEGSTORE_TRY(activate_segment_locked(lock));
      continue;
    }
    Segment &seg = *active_;
    WriteGroup *group = open_group_locked();
    const bool fits_segment = seg.end_offset + disk_bytes <= seg.segment_bytes;
    if (!fits_segment && seg.record_count == 0) {
      SEGSTORE_TRY(retire_empty_active_locked(lock));
      continue;
    }
    if (fits_segment && group != nullptr &&
        group->used + disk_bytes + padding_reserve_bytes <= group->buffer.size())
      return Status();
    if (group != nullptr) {
      // The open group must be submitted first; wait for a free slot.
      if (inflight_ >= options_.inflight_groups_max) {
        wait_progress_once_locked(lock);
        continue;
      }
      SEGSTORE_TRY(cut_group_locked(*group, full_group_syncs_locked(*group, caller_waits)));
      // The leader collects its completion; with nobody waiting (or the lone waiter in a data
      // sync), the reaper thread does.
      if (waiters_.empty() || fsync_running_) reaper_cv_.notify_one();
      notify_progress_locked();
      continue;
    }
    if (!fits_segment) {
      SEGSTORE_TRY(roll_locked(lock));
      continue;
    }
    new_group_locked(seg.end_offset, disk_bytes + padding_reserve_bytes);
    return Status();
  }
}

// Whether a group cut because it is full goes out durable (one dsync write) or write-only (a
// later data sync covers it). In sync mode durable whenever that is sound and costs no request:
// with dsync writes the group is one write either way, so pipelined async appends (W4) keep
// inflight_groups_max durable writes on the device, as fio's write+fdatasync at that depth, instead
// of waiting writes, then an fdatasync of the appender's own thread during which it queues nothing.
// A *linked* sync only when this thread then waits for durability (its record follows the group,
// so it stays until the group completed): io_uring issues the linked fdatasync on behalf of the
// submitting thread and fails it (EFAULT) once that thread exited, as an async append's thread
// may do at once. A dsync write is the write itself, as a write-only group is.
bool Store::Impl::full_group_syncs_locked(const WriteGroup &group, bool caller_waits) const {
  if (options_.durability != Durability::sync || writeonly_pending_before_locked(group)) return false;
  return caller_waits || queue_->sync_writes() == io::SyncWrites::dsync;
}

bool Store::Impl::writeonly_pending_before_locked(const WriteGroup &group) const {
  for (const auto &g : groups_) {
    if (g.get() == &group) return false;
    if (!g->linked_sync && g->state != GroupState::synced) return true;
  }
  return false;
}

// The active segment holds no record and is too small for the next one: it was made with a
// smaller segment_bytes (a preallocation or a segment left empty by an earlier open, or a
// truncation, under other options). Rolling would start a second segment at the same base LSN,
// which segments_ cannot hold; the empty one is removed instead and a new one of the current
// size takes its place. Nothing is lost: it has no record. A crash in between leaves the log
// ending at the same LSN (an empty segment or none), which recovery reads alike.
Status Store::Impl::retire_empty_active_locked(std::unique_lock<std::mutex> &lock) {
  std::shared_ptr<Segment> empty = active_;
  WriteGroup *open = open_group_locked();
  if (open != nullptr && open->segment == empty) {
    // Invariant: a segment without records has at most its header in its open group.
    SEGSTORE_ASSERT(open->first_lsn == open->end_lsn, "an empty segment's open group holds records");
    recycle_buffer_locked(*open);
    groups_.pop_back();
  }
  drain_locked(lock);  // its header write, if submitted, completes before its file goes
  // Another appender may have retired it (or a truncation begun) while this one waited.
  if (active_ != empty || log_rewrite_running_) return Status();
  active_.reset();
  auto at = segments_.find(empty->base_lsn);
  if (at != segments_.end() && at->second == empty) segments_.erase(at);
  SEGSTORE_TRY(remove_segment_files(empty));
  SEGSTORE_TRY(env_->sync_dir(dir_));
  io::append_event(*env_, dir_, "removed " + empty->path + " (no records, " + std::to_string(empty->segment_bytes) +
                         " bytes): too small for a record of the current segment size " +
                         std::to_string(options_.segment_bytes),
               options_.logger);
  return Status();
}

Status Store::Impl::roll_locked(std::unique_lock<std::mutex> &lock) {
  // Invariant: the old segment's open group was cut before rolling (ensure_room_locked).
  SEGSTORE_ASSERT(open_group_locked() == nullptr, "rolling with an open group");
  std::shared_ptr<Segment> old = std::move(active_);
  old->sealed = true;
  to_seal_.push_back(old);
  maintenance_cv_.notify_all();
  return activate_segment_locked(lock);
}

Status Store::Impl::activate_segment_locked(std::unique_lock<std::mutex> &lock) {
  // Segment ids must rise with LSNs (recovery walks segments in id order): never overtake a
  // preallocation that already took the next id.
  // Nor activate while truncate_after rewrites the files: it expects no open group.
  wait_progress_locked(lock, [&] { return (preallocated_ != nullptr || !prealloc_running_) && !log_rewrite_running_; });
  SEGSTORE_TRY(check_writable_locked());
  if (active_) return Status();  // another appender activated one while we waited
  std::shared_ptr<Segment> seg = std::move(preallocated_);
  if (!seg) {
    // The preallocator did not keep up (or is off): create one on the append path.
    // Creation is serialised with the preallocator (prealloc_running_), so a segment created
    // here can never be overtaken by one with a higher id.
    Result<std::shared_ptr<Segment>> created = create_next_segment_locked(lock);
    if (!created.ok()) return created.status();
    if ((*created)->id < min_segment_id_) {
      // reset_to ran while the file was made (mu_ was released): the id is below the reset's
      // lowest live id, and recovery deletes such a segment with every record it took (sim
      // seed 29, threads mode). Drop it and start again (as make_spare_locked does).
      lock.unlock();
      (*created)->file.reset();
      (void)env_->remove((*created)->path);
      lock.lock();
      return activate_segment_locked(lock);
    }
    if (active_ || log_rewrite_running_) {  // activated meanwhile, or truncating: keep ours for later
      if (!preallocated_) preallocated_ = *created;
      return Status();
    }
    SEGSTORE_TRY(check_writable_locked());
    seg = *created;
  }
  // Invariant: one segment per base LSN. A segment left empty at this LSN would be forgotten by
  // segments_ while its file stays (sim seed 7536252105372163043).
  SEGSTORE_ASSERT(segments_.count(next_lsn_) == 0, "a segment already starts at LSN " + std::to_string(next_lsn_));
  seg->base_lsn = next_lsn_;
  seg->record_count = 0;
  seg->end_offset = format::segment_data_offset_bytes;
  seg->sealed = false;
  seg->created_unix_ms = unix_ms_now();
  {
    std::lock_guard index_lock(seg->index_mu);
    seg->index.clear();
    seg->index_loaded = true;
  }
  active_ = seg;
  segments_[seg->base_lsn] = seg;
  // The header goes to disk with the segment's first records, in the same write: a segment
  // whose header is not durable has no durable records either.
  WriteGroup &group = new_group_locked(0, format::segment_data_offset_bytes + padding_reserve_bytes);
  format::SegmentHeader header;
  header.flags = seg->recycled ? format::segment_flag_recycled : 0;
  header.format_version = format::segment_format_version_for(header.flags);
  header.block_size_bytes = format::block_size_bytes;
  header.segment_id = seg->id;
  header.base_lsn = seg->base_lsn;
  header.segment_bytes = seg->segment_bytes;
  header.created_unix_ms = seg->created_unix_ms;
  header.store_id = store_id_;
  std::memset(group.buffer.data(), 0, format::segment_header_block_bytes);
  format::encode_segment_header(header, group.buffer.data());
  group.used = format::segment_data_offset_bytes;
  prealloc_wanted_ = true;
  maintenance_cv_.notify_all();
  return Status();
}

void Store::Impl::recycle_buffer_locked(WriteGroup &group) {
  // Once its write completed a group's bytes are read from the file (fill_window), so its
  // buffer can serve the next group; only standard-sized buffers are kept, a few at most.
  const std::size_t standard = format::align_up(options_.write_group_bytes_max, format::block_size_bytes);
  if (group.buffer.size() == standard && spare_buffers_.size() < options_.inflight_groups_max + 2)
    spare_buffers_.push_back(std::move(group.buffer));
  group.buffer = io::AlignedBuffer();
}

io::AlignedBuffer Store::Impl::take_buffer_locked(std::size_t bytes) {
  if (!spare_buffers_.empty() && spare_buffers_.back().size() >= bytes) {
    io::AlignedBuffer buffer = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
    return buffer;
  }
  return io::AlignedBuffer(bytes);
}

WriteGroup &Store::Impl::new_group_locked(std::uint64_t file_offset, std::uint64_t min_bytes) {
  // Invariant: groups start on block boundaries, so no two groups share a block and no write
  // ever covers a block that holds acknowledged records.
  SEGSTORE_ASSERT(file_offset % format::block_size_bytes == 0,
                  "group starts at unaligned offset " + std::to_string(file_offset));
  auto group = std::make_unique<WriteGroup>();
  group->seq = next_group_seq_++;
  group->segment = active_;
  group->buffer = take_buffer_locked(std::max<std::uint64_t>(options_.write_group_bytes_max, min_bytes));
  group->file_offset = file_offset;
  group->first_lsn = group->end_lsn = next_lsn_;
  groups_.push_back(std::move(group));
  return *groups_.back();
}

WriteGroup *Store::Impl::open_group_locked() {
  if (groups_.empty() || groups_.back()->state != GroupState::open) return nullptr;
  return groups_.back().get();
}

WriteGroup *Store::Impl::group_of_lsn_locked(std::uint64_t lsn) {
  for (auto it = groups_.rbegin(); it != groups_.rend(); ++it)
    if ((*it)->first_lsn <= lsn && lsn < (*it)->end_lsn) return it->get();
  return nullptr;
}

void Store::Impl::pad_group_locked(WriteGroup &group) {
  Segment &seg = *group.segment;
  const std::uint64_t pos = group.file_offset + group.used;
  const std::uint64_t block_end = format::align_up(pos, format::block_size_bytes);
  std::uint64_t pad = block_end - pos;
  if (pad == 0) return;
  if (pad < format::record_header_bytes) {
    if (block_end + format::block_size_bytes > seg.segment_bytes) {
      // No room for a padding record before the segment ends: leave zeros. Fewer than a
      // header's bytes at the end of a segment are its clean end; the next record rolls.
      std::memset(group.buffer.data() + group.used, 0, pad);
      return;
    }
    pad += format::block_size_bytes;
  }
  format::encode_padding(next_lsn_, pad, group.buffer.data() + group.used, seg.record_seed);
  group.used += pad;
  seg.end_offset = group.file_offset + group.used;
}

io::WriteGroup Store::Impl::begin_group_write_locked(WriteGroup &group, bool linked_sync) {
  SEGSTORE_ASSERT(group.state == GroupState::open, "cutting a group that is not open");
  SEGSTORE_ASSERT(inflight_ < options_.inflight_groups_max, "no free slot to submit a group");
  pad_group_locked(group);
  const std::uint64_t write_bytes = group.blocks_end() - group.file_offset;
  group.state = GroupState::inflight;
  group.linked_sync = linked_sync;
  if (linked_sync) gather_.close(waiters_.size());
  group.submitted_at = std::chrono::steady_clock::now();
  group_records_.record(group.end_lsn - group.first_lsn);
  group_bytes_.record(write_bytes);
  io::WriteGroup request;
  request.file = group.segment->file.get();
  request.offset = group.file_offset;
  request.data = std::span<const std::byte>(group.buffer.data(), write_bytes);
  request.sync = linked_sync;
  request.token = group.seq;
  return request;
}

void Store::Impl::count_group_write_locked(const io::WriteGroup &request) {
  inflight_++;
  bytes_written_ += request.data.size();
  if (request.sync) {
    flushes_++;
    linked_syncs_inflight_++;
  }
}

Status Store::Impl::cut_group_locked(WriteGroup &group, bool linked_sync) {
  const io::WriteGroup request = begin_group_write_locked(group, linked_sync);
  Status submitted = queue_->submit(request);
  if (!submitted.ok()) {
    fail_locked(submitted);
    return submitted;
  }
  count_group_write_locked(request);
  return Status();
}

// The waiter of `waiter_lsn` cuts the open group its record is in: written on its own thread
// when inline_write_due_locked, else submitted to the queue (a failure fails the store).
void Store::Impl::cut_for_own_wait_locked(std::unique_lock<std::mutex> &lock, WriteGroup &open, std::uint64_t waiter_lsn) {
  if (inline_write_due_locked(open)) {
    write_group_inline_locked(lock, open, waiter_lsn);
    return;
  }
  (void)cut_group_locked(open, !writeonly_pending_before_locked(open));
}

// However many threads wait (docs/ENGINE.md "Writing on the waiter's thread"): the cutter waits
// for the group anyway, and its own synchronous write beat the queue at 1, 4, 16 and 64
// threads, quiet or beside busy CPUs. Not behind a write-only group: a dsync write covers its
// own bytes only.
bool Store::Impl::inline_write_due_locked(const WriteGroup &open) const {
  return inline_writes_enabled_ && !writeonly_pending_before_locked(open);
}

// The waiter writes the group its record is in on its own thread, durable (docs/ENGINE.md
// "Writing on the waiter's thread"): the thread that waits for it is one the completion must
// wake, and the group's other waiters are woken by it as by the reaper thread.
// A synchronous RWF_DSYNC write completes in the calling task whatever the device: no reaper,
// no io_uring worker, no direct-I/O completion worker between the device and the waiter.
void Store::Impl::write_group_inline_locked(std::unique_lock<std::mutex> &lock, WriteGroup &group, std::uint64_t waiter_lsn) {
  const io::WriteGroup request = begin_group_write_locked(group, true);
  count_group_write_locked(request);
  inline_writes_++;
  const bool try_dsync = inline_dsync_;
  lock.unlock();
  io::GroupCompletion done{request.token, Status(), false};
  Result<bool> durable = try_dsync ? request.file->write_dsync_at(request.offset, request.data) : Result<bool>(false);
  bool refused = false;
  if (!durable.ok()) {
    done.status = durable.status();
  } else if (*durable) {
    done.synced = true;
  } else {
    // The flag was refused (or refused before): a write and a data sync of the file.
    refused = try_dsync;
    done.status = request.file->write_at(request.offset, request.data);
    if (done.status.ok()) done.status = request.file->sync_data();
    done.synced = done.status.ok();
  }
  lock.lock();
  inline_writes_--;
  if (refused) inline_dsync_ = false;
  complete_group_locked(done);
  advance_durable_locked();
  WakeBatch batch;
  after_progress_locked(batch, waiter_lsn);
  // The slot (and the device) this write held is free: a waiter whose open group waited for
  // it looks again and cuts it, as the reaper thread would have after a completion.
  if (WriteGroup *open = open_group_locked(); open != nullptr && !waiters_.empty() &&
                                               waiters_.tail()->lsn >= open->first_lsn && sync_cut_due_locked(*open))
    batch.add(*waiters_.first_from(open->first_lsn), WakeReason::look_again);
  deliver_unlocked(lock, batch);
}

// Waiting for durability (docs/ENGINE.md "Waking the waiters"). The waiter joins waiters_ in LSN
// order. The leader works: it cuts the open group when the device has no sync in flight,
// collects completions, runs the data sync that write-only groups need. The others sleep on
// their own wake word until their records are durable (a release that needs no mutex), they
// are made the leader, or the wait must end.
Status Store::Impl::await_durable_locked(std::unique_lock<std::mutex> &lock, std::uint64_t lsn, bool relock) {
  if (durable_lsn_ > lsn) return Status();
  DurableWaiter waiter;
  waiter.lsn = lsn;
  waiters_.add(waiter);
  while (true) {
    Status result;
    if (wait_over_locked(waiter, &result)) {
      if (waiter.listed) {
        WakeBatch batch;  // a leader that leaves hands the role on
        waiters_.remove(waiter, batch);
        // Completions still due: a lone waiter left reaps them itself, else the reaper thread.
        if (queue_inflight_locked() > 0 && !reaping_ && reaper_collects_locked()) reaper_cv_.notify_one();
        batch.deliver();
      }
      return result;
    }
    if (waiters_.leader() == &waiter) {
      if (lead_once_locked(lock, lsn)) continue;
    } else {
      // A follower whose group is still open: the leader cuts it once the sync in flight
      // completes, unless sync_cut_due_locked wants it cut at once.
      WriteGroup *group = group_of_lsn_locked(lsn);
      if (group != nullptr && group->state == GroupState::open && sync_cut_due_locked(*group)) {
        cut_for_own_wait_locked(lock, *group, lsn);
        continue;
      }
    }
    if (queue_inflight_locked() > 0 && !reaping_ && reaper_collects_locked()) reaper_cv_.notify_one();
    // Set to none under mu_: whatever wakes it from here on changes the word first.
    waiter.wake.store(static_cast<std::uint32_t>(WakeReason::none), std::memory_order_relaxed);
    lock.unlock();
    if (sleep_until_woken(waiter) == WakeReason::durable) {
      // Taken off the list by whoever advanced durable_lsn_ past lsn.
      if (relock) lock.lock();
      return Status();
    }
    lock.lock();
  }
}

bool Store::Impl::wait_over_locked(const DurableWaiter &waiter, Status *result) const {
  // Released as durable (taken off the list) while it was awake.
  if (!waiter.listed) return true;
  // Checked before durable_lsn_: after reset_to the new durable_lsn_ may lie above an LSN
  // whose record was removed, never made durable by anyone waiting here.
  if (!waiter.removed_by.empty()) {
    *result = Status(Errc::truncated, "LSN " + std::to_string(waiter.lsn) + " of " + dir_ + " was removed by " +
                                          waiter.removed_by + " while waiting for it to become durable");
    return true;
  }
  if (durable_lsn_ > waiter.lsn) return true;
  // Nothing more becomes durable after a failure, nor after close() (which made durable what
  // was appended before it; a record appended during it may be left behind).
  if (failed_ || closed_) {
    *result = check_writable_locked();
    return true;
  }
  return false;
}

bool Store::Impl::lead_once_locked(std::unique_lock<std::mutex> &lock, std::uint64_t lsn) {
  // Invariant: a record that is neither durable nor removed is in a write group.
  WriteGroup *group = group_of_lsn_locked(lsn);
  SEGSTORE_ASSERT(group != nullptr, "LSN " + std::to_string(lsn) + " is neither durable nor in a group");
  if (group->state == GroupState::open) {
    if (sync_cut_due_locked(*group)) {
      cut_for_own_wait_locked(lock, *group, lsn);
      return true;
    }
  } else if (!fsync_running_) {
    // Submitted. When every group up to it has been written and some were write-only, an
    // explicit data sync of their files makes them durable; otherwise a linked sync will.
    bool all_written = true;
    bool needs_sync = false;
    for (const auto &g : groups_) {
      if (g->state == GroupState::open || g->state == GroupState::inflight) all_written = false;
      if (g->state == GroupState::written) needs_sync = true;
      if (g.get() == group) break;
    }
    if (all_written && needs_sync) {
      (void)fsync_through_locked(lock, group->seq, lsn);  // a failure fails the store
      return true;
    }
  }
  // A lone waiter collects its completion itself: the completion wakes the thread that waits
  // for it (W2: one thread hand-off less per synced append). With more waiters the reaper
  // thread does: woken by a completion, it cuts the next group at once, where a leader whose
  // own records just became durable could not (cut_for_waiters_locked) and would have to wake
  // another waiter first.
  if (queue_inflight_locked() > 0 && !reaping_ && waiters_.size() == 1) {
    reap_once_locked(lock, lsn);
    return true;
  }
  return false;  // the reaper thread collects completions and wakes the leader when it must act
}

bool Store::Impl::sync_cut_due_locked(const WriteGroup &open) const {
  if (inflight_ >= options_.inflight_groups_max) return false;
  if (fsync_running_) return false;
  // Leader/follower: while a sync is in flight the group gathers more records; the sync's
  // completion cuts it (cut_for_waiters_locked). With no more waiters than slots, each may
  // have its own sync in flight instead: a group cannot gather much, and the device overlaps
  // the syncs (docs/ENGINE.md "Waking the waiters": measured on W3).
  (void)open;
  // After a sync's completion, the group waits for the appenders it released (gather window).
  if (gather_.is_open() && gather_.holds(std::chrono::steady_clock::now(), waiters_.size())) return false;
  return linked_syncs_inflight_ == 0 || waiters_.size() <= options_.inflight_groups_max;
}

void Store::Impl::open_gather_window_locked(std::size_t released) {
  if (linked_syncs_inflight_ != 0 || inflight_ >= options_.inflight_groups_max) return;
  if (closing_ || closed_ || failed_) return;
  // A lone appender (W2) goes no further: no clock read on its path.
  if (waiters_.size() + released <= options_.inflight_groups_max) return;
  if (gather_.open(std::chrono::steady_clock::now(), released, waiters_.size(), options_.inflight_groups_max))
    reaper_cv_.notify_one();  // it cuts the group when the window's time has passed
}

void Store::Impl::cut_for_waiters_locked(std::uint64_t cutter_lsn) {
  WriteGroup *open = open_group_locked();
  // Only a group some waiter needs: a waiter's LSN is at or past its first record.
  if (open == nullptr || waiters_.empty() || waiters_.tail()->lsn < open->first_lsn) return;
  // Only a thread that waits for the group's completion submits a linked sync: io_uring issues
  // the sync on behalf of the submitting thread once the write completed, and fails it (EFAULT)
  // if that thread has exited meanwhile. The reaper thread lives until close() drained the
  // queue; a waiter stays until its own record, hence every group up to it, is durable.
  // Otherwise the new leader (the head, woken by release_durable) cuts its own group.
  if (cutter_lsn < open->first_lsn) return;
  if (failed_ || closed_ || !sync_cut_due_locked(*open)) return;
  (void)cut_group_locked(*open, !writeonly_pending_before_locked(*open));  // a failure fails the store
}

void Store::Impl::after_progress_locked(WakeBatch &batch, std::uint64_t cutter_lsn) {
  const std::size_t released = waiters_.release_durable(durable_lsn_, batch);
  open_gather_window_locked(released);
  cut_for_waiters_locked(cutter_lsn);
  // Whoever collects the completions next: a lone waiter, else the reaper thread.
  if (queue_inflight_locked() > 0 && reaper_collects_locked() && !reaping_) reaper_cv_.notify_one();
  notify_progress_locked();
}

void Store::Impl::deliver_unlocked(std::unique_lock<std::mutex> &lock, WakeBatch &batch) {
  // The tail waits a durable advance satisfied are woken here too, with mu_ released.
  const bool wake_tailers = std::exchange(tail_wake_due_, false);
  if (batch.empty() && !wake_tailers) return;
  lock.unlock();
  batch.deliver();
  if (wake_tailers) tail_feed_.wake_durable_waiters();
  lock.lock();
}

void Store::Impl::wake_all_waiters_locked() {
  WakeBatch batch;
  waiters_.wake_all(batch);
  batch.deliver();
}

void Store::Impl::remove_waiters_from_locked(std::uint64_t lsn, const std::string &removed_by) {
  WakeBatch batch;
  waiters_.mark_removed_from(lsn, removed_by, batch);
  batch.deliver();
  notify_progress_locked();
}

Status Store::Impl::fsync_through_locked(std::unique_lock<std::mutex> &lock, std::uint64_t seq, std::uint64_t waiter_lsn) {
  std::vector<std::shared_ptr<Segment>> files;
  std::vector<WriteGroup *> covered;
  for (const auto &g : groups_) {
    if (g->seq > seq) break;
    SEGSTORE_ASSERT(g->state == GroupState::written || g->state == GroupState::synced,
                    "data sync before all writes completed");
    if (g->state != GroupState::written) continue;
    covered.push_back(g.get());
    if (std::find(files.begin(), files.end(), g->segment) == files.end()) files.push_back(g->segment);
  }
  fsync_running_ = true;
  // The waiter leaves the completion queue for the sync's duration: the reaper thread collects
  // what completes meanwhile, so the groups behind it keep their slots moving (reaper_collects_locked).
  if (queue_inflight_locked() > 0 && !reaping_) reaper_cv_.notify_one();
  lock.unlock();
  const auto sync_start = std::chrono::steady_clock::now();
  Status synced;
  for (const auto &seg : files) {
    synced = seg->file->sync_data();
    if (!synced.ok()) break;
  }
  sync_latency_us_.record(microseconds_since(sync_start));
  lock.lock();
  fsync_running_ = false;
  if (!synced.ok()) {
    // Never retried: after a failed fsync Linux may have dropped the dirty pages, and a second
    // fsync would report success for data that is gone (docs/RECOVERY.md). fail_locked marks the
    // groups it covered failed, with every other one not durable: their pages may be gone.
    fail_locked(synced);
    progress_cv_.notify_all();
    return check_writable_locked();
  }
  flushes_ += files.size();
  // Groups are only ever removed from the front, by advance_durable_locked under mu_, and
  // written groups are not removed before they are synced: the pointers are still valid.
  for (WriteGroup *g : covered) g->state = GroupState::synced;
  advance_durable_locked();
  WakeBatch batch;
  after_progress_locked(batch, waiter_lsn);
  deliver_unlocked(lock, batch);
  return Status();
}

void Store::Impl::advance_durable_locked() {
  if (failed_) return;  // nothing past a failed write or sync can be trusted
  bool advanced = false;
  while (!groups_.empty() && groups_.front()->state == GroupState::synced) {
    const WriteGroup &g = *groups_.front();
    records_made_durable_ += g.end_lsn - g.first_lsn;
    durable_lsn_ = std::max(durable_lsn_, g.end_lsn);
    groups_.pop_front();
    advanced = true;
  }
  // The maintenance thread waits for durability only to seal a segment.
  if (advanced && !to_seal_.empty()) maintenance_cv_.notify_all();
}

void Store::Impl::fail_locked(const Status &cause) {
  // Nothing that was not durable before the failure is read from the files afterwards: a failed
  // fsync or dsync write may drop pages of other writes of the file than its own (Linux reports
  // a writeback error once per file), so a group whose write completed but is not durable may
  // read back as zeros, and its records would be reported as corruption instead of the failure.
  // They are read from nowhere: fill_window answers with the failure (io_error).
  for (const auto &g : groups_) {
    if (g->state != GroupState::written && g->state != GroupState::synced) continue;
    g->state = GroupState::failed;
    g->write_failure = cause;
  }
  if (!failed_) {
    failed_ = cause;
    io::append_event(*env_, dir_, "store turned read-only: " + cause.to_string(), options_.logger);
    // Every wait ends with the failure now: nothing more will be appended or become durable.
    appended_cv_.notify_all();
    progress_cv_.notify_all();
    tail_feed_.end_writes();
    wake_all_waiters_locked();
  }
}

bool Store::Impl::reap_once_locked(std::unique_lock<std::mutex> &lock, std::uint64_t reaper_lsn) {
  // Invariant: one thread at a time reaps (WriteQueue::reap reads the completion ring alone).
  SEGSTORE_ASSERT(!reaping_, "two threads reaping at once");
  reaping_ = true;
  std::vector<io::GroupCompletion> done;
  lock.unlock();
  Status reaped = queue_->reap(&done, true);
  lock.lock();
  reaping_ = false;
  if (!reaped.ok()) fail_locked(reaped);
  bool wrote_only = false;
  for (const io::GroupCompletion &c : done)
    if (complete_group_locked(c) == GroupState::written) wrote_only = true;
  advance_durable_locked();
  WakeBatch batch;
  after_progress_locked(batch, reaper_lsn);
  deliver_unlocked(lock, batch);
  return wrote_only;
}

GroupState Store::Impl::complete_group_locked(const io::GroupCompletion &c) {
  WriteGroup *group = nullptr;
  for (const auto &g : groups_)
    if (g->seq == c.token) group = g.get();
  SEGSTORE_ASSERT(group != nullptr && group->state == GroupState::inflight,
                  "completion for unknown group " + std::to_string(c.token));
  inflight_--;
  if (group->linked_sync) linked_syncs_inflight_--;
  // A group completing after the store failed is not trusted either (fail_locked).
  if (!c.status.ok() || failed_) {
    if (!c.status.ok()) fail_locked(c.status);
    // Never marked synced (durable_lsn_ stops before it), and never read from the file: its
    // bytes may not be there (seed 7483: reads of its records saw zeros, "corruption").
    group->state = GroupState::failed;
    group->write_failure = c.status.ok() ? *failed_ : c.status;
    return group->state;
  }
  group->state = (group->linked_sync && c.synced) ? GroupState::synced : GroupState::written;
  if (group->state == GroupState::synced) {
    const std::uint64_t took_us = microseconds_since(group->submitted_at);
    sync_latency_us_.record(took_us);
    gather_.note_sync(took_us);
  }
  keep_or_recycle_buffer_locked(*group);
  return group->state;
}

void Store::Impl::reaper_loop() {
  // The gather window's end is a timed wait of this thread: without this, Linux lets a
  // timer fire up to 50 us late, a third of a short window.
  (void)::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  std::unique_lock lock(mu_);
  while (true) {
    // A lone waiter collects its own completions; this thread when there is none, or several.
    const auto must_reap = [&] {
      return !reaping_ && ((queue_inflight_locked() > 0 && reaper_collects_locked()) || (stopping_ && inflight_ == 0));
    };
    if (gather_.is_open()) {
      if (!reaper_cv_.wait_until(lock, gather_.until(), must_reap)) {
        // The window's time passed with its group not cut (or a later window opened meanwhile:
        // wait for that one's end).
        if (std::chrono::steady_clock::now() < gather_.until()) continue;
        gather_.close(waiters_.size());
        cut_for_waiters_locked(reaper_thread_lsn);
        // The leader went to sleep while the window held its group; alone, it collects the
        // completion itself (reaper_collects_locked), so it must look again.
        if (DurableWaiter *leader = waiters_.leader(); leader != nullptr && !fsync_running_) {
          WakeBatch batch;
          batch.add(*leader, WakeReason::look_again);
          deliver_unlocked(lock, batch);
        }
        continue;
      }
    } else {
      // A window opened meanwhile (by a leader's data sync) is timed from the branch above.
      reaper_cv_.wait(lock, [&] { return must_reap() || gather_.is_open(); });
      if (!must_reap()) continue;
    }
    if (inflight_ == 0) return;  // stopping, nothing left in flight
    const bool wrote_only = reap_once_locked(lock, reaper_thread_lsn);
    // The leader sleeps while this thread reaps. It must act when the device went idle (nothing
    // in flight: its group is open, or needs a data sync), when a write-only group completed
    // (a data sync may be due), or when it is alone again (it reaps itself). A leader inside a
    // data sync is not asleep: it looks again once the sync returned.
    DurableWaiter *leader = waiters_.leader();
    if (leader != nullptr && !fsync_running_ && (inflight_ == 0 || wrote_only || waiters_.size() == 1)) {
      WakeBatch batch;
      batch.add(*leader, WakeReason::look_again);
      deliver_unlocked(lock, batch);
    }
  }
}

void Store::Impl::ticker_loop() {
  const auto interval = std::chrono::milliseconds(options_.flush_interval_ms);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    ticker_cv_.wait_for(lock, interval, [&] { return stopping_; });
    if (stopping_) break;
    if (!failed_ && next_lsn_ > durable_lsn_) (void)make_durable_locked(lock, next_lsn_ - 1);
  }
}

void Store::Impl::wait_for_log_rewrite_locked(std::unique_lock<std::mutex> &lock) {
  wait_progress_locked(lock, [&] { return !log_rewrite_running_; });
}

void Store::Impl::quiesce_locked(std::unique_lock<std::mutex> &lock) {
  wait_progress_locked(lock, [&] { return inflight_ == 0 && !fsync_running_ && !sealing_; });
}

void Store::Impl::drain_locked(std::unique_lock<std::mutex> &lock) {
  wait_progress_locked(lock, [&] { return inflight_ == 0 && !fsync_running_; });
}

Status Store::Impl::make_durable(std::uint64_t lsn) {
  std::unique_lock lock(mu_);
  if (closed_) return check_writable_locked();
  if (lsn >= next_lsn_)
    return Status(Errc::lsn_out_of_range, "wait_durable(" + std::to_string(lsn) +
                                              "): no such record (next LSN is " +
                                              std::to_string(next_lsn_) + ")");
  return make_durable_locked(lock, lsn);
}

Status Store::Impl::sync_all() {
  std::unique_lock lock(mu_);
  SEGSTORE_TRY(check_writable_locked());
  if (next_lsn_ == durable_lsn_) return Status();
  return make_durable_locked(lock, next_lsn_ - 1);
}

}  // namespace segstore
