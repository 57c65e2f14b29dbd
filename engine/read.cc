// engine/read.cc — point reads, segment windows and the segment cursor.
#include <algorithm>
#include <cstring>

#include "base/assert.h"
#include "base/try.h"
#include "engine/scan_ahead.h"
#include "engine/store_impl.h"
#include "format/index_snapshot.h"
#include "format/record.h"

namespace segstore {

using namespace engine;

Status engine::corruption_at(const Segment &seg, std::uint64_t offset, std::uint64_t bytes, const char *reason) {
  return Status(Errc::corruption, "segment " + seg.path + " at offset " + std::to_string(offset) +
                                      " (" + std::to_string(bytes) + " bytes): " + reason);
}

Status Store::Impl::ensure_index(Segment &seg) {
  std::lock_guard lock(seg.index_mu);
  return load_segment_index_locked(*env_, seg, store_id_, options_.logger);
}

Status Store::Impl::check_lsn_readable(std::uint64_t lsn) const {
  if (closed_) return Status(Errc::store_closed, "store " + dir_ + " is closed");
  if (lsn < first_lsn_ || lsn >= next_lsn_)
    return Status(Errc::lsn_out_of_range,
                  "LSN " + std::to_string(lsn) + " is not in the log (first " +
                      std::to_string(first_lsn_) + ", next " + std::to_string(next_lsn_) + ")");
  return Status();
}

Result<std::shared_ptr<Segment>> Store::Impl::segment_for(std::uint64_t lsn, std::uint64_t *end_offset,
                                                           std::uint64_t *generation) {
  std::lock_guard lock(mu_);
  SEGSTORE_TRY(check_lsn_readable(lsn));
  auto it = segments_.upper_bound(lsn);
  SEGSTORE_ASSERT(it != segments_.begin(), "no segment below readable LSN " + std::to_string(lsn));
  --it;
  SEGSTORE_ASSERT(lsn < it->second->end_lsn(), "LSN " + std::to_string(lsn) + " past its segment");
  if (end_offset) *end_offset = it->second->end_offset;
  if (generation) *generation = log_generation_;
  return it->second;
}

std::shared_ptr<Segment> Store::Impl::segment_after(const Segment &seg) {
  std::lock_guard lock(mu_);
  auto it = segments_.upper_bound(seg.base_lsn);
  return it == segments_.end() ? nullptr : it->second;
}

namespace {
Status failed_write_status(const WriteGroup &g) {
  return Status(Errc::io_error, "segment " + g.segment->path + " at offset " + std::to_string(g.file_offset) + " (" +
                                    std::to_string(g.used) + " bytes, LSNs " + std::to_string(g.first_lsn) + ".." +
                                    std::to_string(g.end_lsn - 1) +
                                    "): not on the device, their write or data sync failed: " + g.write_failure.to_string());
}
}  // namespace

Result<std::vector<bool>> Store::Impl::copy_unwritten_blocks(const std::shared_ptr<Segment> &seg,
                                                             ReadWindow &window, std::uint64_t needed_end,
                                                             std::uint64_t *end) {
  const std::uint64_t start = window.start;
  std::lock_guard lock(mu_);
  // Under the same lock as the copies: a group failing in between would otherwise be read from
  // the file, where its bytes may be missing.
  for (const auto &g : groups_) {
    if (g->segment != seg || g->state != GroupState::failed) continue;
    const std::uint64_t g_end = g->blocks_end();
    if (g_end <= start || g->file_offset >= *end) continue;
    if (std::max(g->file_offset, start) < needed_end) return failed_write_status(*g);
    *end = g->file_offset;  // block aligned, above start
  }
  // Empty (no allocation) when no group's blocks are in memory: the common case of a read of
  // a sealed segment, or of the active one's written part.
  std::vector<bool> from_memory;
  for (const auto &g : groups_) {
    if (g->segment != seg) continue;
    if (g->state != GroupState::open && g->state != GroupState::inflight) continue;
    const std::uint64_t g_start = g->file_offset;
    const std::uint64_t g_end = g->blocks_end();
    const std::uint64_t lo = std::max(g_start, start), hi = std::min(g_end, *end);
    if (lo >= hi) continue;
    if (from_memory.empty()) from_memory.assign((*end - start) / format::block_size_bytes, false);
    std::byte *dst = window.buffer.data() + (lo - start);
    const std::uint64_t used_end = g->file_offset + g->used;
    const std::uint64_t copy_hi = std::min(hi, std::max(lo, used_end));
    if (copy_hi > lo) std::memcpy(dst, g->buffer.data() + (lo - g_start), copy_hi - lo);
    if (hi > copy_hi) std::memset(dst + (copy_hi - lo), 0, hi - copy_hi);
    for (std::uint64_t b = lo; b < hi; b += format::block_size_bytes)
      from_memory[(b - start) / format::block_size_bytes] = true;
  }
  return from_memory;
}

// Linux may drop the pages of writes a failed fsync covered, and a read with O_DIRECT then sees
// the device's older bytes (zeros in a new segment) where a completed write's records were. The
// store marks such groups failed once the sync has returned (fail_locked), and never reads a
// failed group from the file (copy_unwritten_blocks); but a read that began after the drop and
// before that mark finds its bytes gone and would call them damage. Damage is rare, so the
// check is made only then: once no data sync that could still fail over these bytes is running
// (the group holding them is no longer only written, or no sync is in flight at all), a group
// failed by then answers with its failure, as it would have before the read.
Status Store::Impl::damage_or_dropped_write(const Segment &seg, std::uint64_t offset, Status damage) {
  std::unique_lock lock(mu_);
  const auto group_at = [&]() -> const WriteGroup * {
    for (const auto &g : groups_) {
      if (g->segment.get() != &seg) continue;
      const std::uint64_t g_end = g->blocks_end();
      if (offset >= g->file_offset && offset < g_end) return g.get();
    }
    return nullptr;  // durable (or never a group's): no failing sync can drop its bytes
  };
  wait_progress_locked(lock, [&] {
    if (!fsync_running_ && linked_syncs_inflight_ == 0) return true;
    const WriteGroup *g = group_at();
    return g == nullptr || g->state != GroupState::written;
  });
  const WriteGroup *g = group_at();
  if (g != nullptr && g->state == GroupState::failed) return failed_write_status(*g);
  return damage;
}

bool Store::Impl::segment_trimmed(const Segment &seg) {
  std::lock_guard lock(mu_);
  return seg.end_lsn() <= first_lsn_;
}

Status Store::Impl::fill_window(const std::shared_ptr<Segment> &seg, std::uint64_t offset, std::uint64_t needed,
                                std::uint64_t wanted, ReadWindow &window) {
  SEGSTORE_ASSERT(needed != 0 && needed <= wanted,
                  "window of " + std::to_string(wanted) + " bytes must hold the " + std::to_string(needed) + " needed");
  const std::uint64_t start = format::align_down(offset, format::block_size_bytes);
  std::uint64_t end =
      std::min<std::uint64_t>(format::align_up(offset + wanted, format::block_size_bytes), seg->segment_bytes);
  SEGSTORE_ASSERT(start < end, "empty read window at offset " + std::to_string(offset));
  const std::uint64_t length = end - start;
  if (window.buffer.size() < length) window.buffer.reset(length);
  window.skip = 0;
  window.start = start;
  window.valid = 0;

  // Blocks of groups whose write has not completed are copied from memory (under mu_, where
  // appenders write them); every other block is on the file by then, so it is read after.
  Result<std::vector<bool>> unwritten = copy_unwritten_blocks(seg, window, offset + needed, &end);
  if (!unwritten.ok()) return unwritten.status();
  const std::vector<bool> &from_memory = *unwritten;  // empty: every block from the file
  const auto in_memory = [&](std::size_t b) { return !from_memory.empty() && from_memory[b]; };
  std::uint64_t valid_end = end;
  std::size_t block = 0;
  const std::size_t blocks = (end - start) / format::block_size_bytes;
  while (block < blocks) {
    if (in_memory(block)) {
      ++block;
      continue;
    }
    std::size_t run = block;
    while (run < blocks && !in_memory(run)) ++run;
    const std::uint64_t run_offset = start + block * format::block_size_bytes;
    const std::uint64_t run_bytes = (run - block) * format::block_size_bytes;
    Result<std::size_t> got = seg->file->read_at(
        run_offset, std::span<std::byte>(window.buffer.data() + block * format::block_size_bytes, run_bytes));
    if (!got.ok()) return got.status();
    blocks_read_.fetch_add(run - block, std::memory_order_relaxed);
    read_requests_.fetch_add(1, std::memory_order_relaxed);
    if (*got < run_bytes) {
      // The file is shorter than its segment size (recovery keeps the records of such a file):
      // the window ends with the file. Only the bytes needed must be there.
      valid_end = run_offset + *got;
      break;
    }
    block = run;
  }
  if (valid_end < offset + needed)
    return corruption_at(*seg, valid_end, offset + needed - valid_end,
                         "segment file ends before the bytes needed (shorter than its size)");
  window.valid = valid_end - start;
  return Status();
}

engine::SegmentCursor::SegmentCursor(Store::Impl &store, std::shared_ptr<Segment> seg, std::uint64_t offset,
                                     std::uint64_t expected_lsn, std::size_t window_bytes, ScanAhead *ahead)
    : store_(store), seg_(std::move(seg)), offset_(offset), expected_lsn_(expected_lsn),
      window_bytes_(window_bytes), ahead_(ahead) {}

void engine::SegmentCursor::restart(std::shared_ptr<Segment> seg, std::uint64_t offset, std::uint64_t expected_lsn) {
  seg_ = std::move(seg);
  offset_ = offset;
  expected_lsn_ = expected_lsn;
  window_.valid = 0;
  trusted_end_ = 0;
}

void engine::SegmentCursor::release_buffers() {
  if (ahead_) ahead_->release();
  window_.valid = 0;
  trusted_end_ = 0;
  window_.buffer = io::AlignedBuffer();
}

void engine::SegmentCursor::move_to(std::shared_ptr<Segment> seg, std::uint64_t offset, std::uint64_t expected_lsn,
                                    std::size_t window_bytes) {
  seg_ = std::move(seg);
  offset_ = offset;
  expected_lsn_ = expected_lsn;
  window_bytes_ = window_bytes;
  window_.valid = 0;
  trusted_end_ = 0;
}

Status engine::SegmentCursor::refill(std::uint64_t offset, std::uint64_t needed, std::uint64_t wanted,
                                     std::uint64_t end_offset) {
  if (ahead_ == nullptr || !ahead_->take(seg_, offset, needed, window_, &trusted_end_)) {
    SEGSTORE_TRY(store_.fill_window(seg_, offset, needed, wanted, window_));
    trusted_end_ = end_offset;
  }
  // The reads after this window go out now, to be done by the time the cursor reaches them.
  if (ahead_) ahead_->issue(seg_, window_.start + window_.valid);
  return Status();
}

Result<std::optional<RecordView>> engine::SegmentCursor::next(std::uint64_t end_offset) {
  while (true) {
    if (offset_ + format::record_header_bytes > end_offset) return std::optional<RecordView>();
    if (!have(offset_, format::record_header_bytes))
      SEGSTORE_TRY(refill(offset_, format::record_header_bytes, window_bytes_, end_offset));
    const std::byte *at = window_.data() + (offset_ - window_.start);
    const std::size_t available = window_.start + window_.valid - offset_;
    format::RecordHeader header;
    const format::RecordError header_error =
        format::decode_record_header(std::span<const std::byte>(at, available), &header, seg_->record_seed);
    if (header_error != format::RecordError::none)
      return store_.damage_or_dropped_write(
          *seg_, offset_, corruption_at(*seg_, offset_, format::record_header_bytes, format::record_error_name(header_error)));
    const std::uint64_t disk = format::record_disk_bytes(header.payload_bytes);
    if (offset_ + disk > end_offset)
      return store_.damage_or_dropped_write(
          *seg_, offset_, corruption_at(*seg_, offset_, disk, "record runs past the end of the segment's records"));
    if (!have(offset_, disk)) {
      SEGSTORE_TRY(refill(offset_, disk, std::max<std::uint64_t>(window_bytes_, disk), end_offset));
      at = window_.data() + (offset_ - window_.start);
    }
    const format::DecodeOutcome outcome =
        format::decode_record(std::span<const std::byte>(at, disk), &expected_lsn_, seg_->record_seed);
    if (outcome.error != format::RecordError::none)
      return store_.damage_or_dropped_write(*seg_, offset_,
                                            corruption_at(*seg_, offset_, disk, format::record_error_name(outcome.error)));
    offset_ += disk;
    if (outcome.record.header.type == format::RecordType::padding) continue;
    expected_lsn_++;
    RecordView view;
    view.lsn = outcome.record.header.lsn;
    view.stream = outcome.record.header.stream;
    view.type = static_cast<std::uint8_t>(outcome.record.header.type);
    view.payload = outcome.record.payload;
    return std::optional<RecordView>(view);
  }
}

namespace {
// A point read fetches the blocks from its index entry's block through the end of the record,
// when the index bounds it (SegmentIndex::bytes_through): one block for most small records, two
// when the record crosses into the next. Otherwise two blocks: a record of up to ~4 KiB
// starting anywhere in the first block is then read with one I/O.
constexpr std::size_t point_read_window_bytes = 2 * format::block_size_bytes;
// The largest window buffer a thread keeps between point reads.
constexpr std::size_t point_read_buffer_kept_bytes_max = 64u << 10;

std::uint64_t point_read_bytes(std::uint64_t offset, std::uint64_t bytes_through, std::uint64_t end_offset) {
  const std::uint64_t two_blocks = format::align_down(offset, format::block_size_bytes) + point_read_window_bytes - offset;
  const std::uint64_t wanted = bytes_through != 0 ? bytes_through : two_blocks;
  // A racing truncate may have moved end_offset below offset: the cursor then reports it.
  return std::max<std::uint64_t>(format::record_header_bytes, std::min(wanted, end_offset - std::min(end_offset, offset)));
}
}  // namespace

// truncate_after rewrites (zeroes) the bytes of the records it removes while a read may be
// decoding them: a failure seen while the log's generation changed is not damage, and the read
// asks again (now lsn_out_of_range, or the record that took the LSN since).
//
// The common path takes mu_ twice (to find the segment, its end and the generation; to see
// whether any of the record's blocks are still in memory), never across the I/O, and allocates
// only the returned payload: the window's buffer is the calling thread's, kept between reads.
Result<Record> Store::Impl::read(std::uint64_t lsn) {
  while (true) {
    std::uint64_t generation = 0, end_offset = 0;
    Result<std::shared_ptr<Segment>> found = segment_for(lsn, &end_offset, &generation);
    if (!found.ok()) return found.status();
    Result<Record> got = read_once(lsn, *found, end_offset);
    if (got.ok() || got.status().code() != Errc::corruption) return got;
    // Trimmed while it was read: its file may have been recycled since (its new records fail
    // the old seed). Asked again, the LSN is out of range now.
    if (segment_trimmed(**found)) continue;
    std::unique_lock lock(mu_);
    // A rewrite zeroes bytes before it commits: let a running one finish, then compare.
    wait_for_log_rewrite_locked(lock);
    if (log_generation_ == generation) return got;
  }
}

Result<Record> Store::Impl::read_once(std::uint64_t lsn, const std::shared_ptr<Segment> &seg, std::uint64_t end_offset) {
  std::optional<format::IndexEntry> entry;
  std::uint64_t bytes_through = 0;
  {
    // One hold of the index lock: load the index if it is not yet (ensure_index), then look up.
    std::lock_guard lock(seg->index_mu);
    SEGSTORE_TRY(load_segment_index_locked(*env_, *seg, store_id_, options_.logger));
    entry = seg->index.locate(lsn - seg->base_lsn, &bytes_through);
  }
  SEGSTORE_ASSERT(entry.has_value(), "no index entry for LSN " + std::to_string(lsn));
  SegmentCursor cursor(*this, seg, entry->offset, seg->base_lsn + entry->lsn_delta,
                       point_read_bytes(entry->offset, bytes_through, end_offset));
  // The thread's window buffer (a few blocks, grown for a large record) goes to the cursor and
  // comes back when it is done: no aligned allocation per read.
  thread_local io::AlignedBuffer point_read_buffer;
  cursor.lend_buffer(std::move(point_read_buffer));
  struct GiveBack {
    SegmentCursor &cursor;
    ~GiveBack() {
      // A large record's buffer is not kept: a thread would hold it for its lifetime.
      io::AlignedBuffer used = cursor.return_buffer();
      if (used.size() <= point_read_buffer_kept_bytes_max) point_read_buffer = std::move(used);
    }
  } give_back{cursor};
  while (true) {
    Result<std::optional<RecordView>> next = cursor.next(end_offset);
    if (!next.ok()) return next.status();
    if (!next->has_value())
      return corruption_at(*seg, cursor.offset(), 0, "record not found where the index points");
    const RecordView &view = **next;
    if (view.lsn != lsn) continue;
    Record record;
    record.lsn = view.lsn;
    record.stream = view.stream;
    record.type = view.type;
    record.payload.assign(view.payload.begin(), view.payload.end());
    return record;
  }
}

}  // namespace segstore
