// engine/maintenance.cc — work off the append path: preallocating the next segment, sealing
// segments (index snapshot, retention), and the operations that remove records
// (truncate_after, trim_before, reset_to). The order of writes, syncs, renames and unlinks in
// each is the one docs/RECOVERY.md ("Crash-consistency rules") gives and recovery relies on.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "base/assert.h"
#include "base/log.h"
#include "engine/store_dir.h"
#include "engine/store_impl.h"
#include "format/record.h"
#include "format/small_files.h"

namespace segstore {

using namespace engine;

namespace {
// Zero-filling writes this much per I/O.
constexpr std::size_t zero_fill_chunk_bytes = 1u << 20;
// PreallocMode::automatic zero-fills while the average data sync covers less than this.
constexpr std::uint64_t zero_fill_sync_bytes_max = 128u << 10;

std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}
}  // namespace

bool Store::Impl::zero_fill_wanted_locked() const {
  switch (options_.prealloc) {
    case PreallocMode::zero_fill: return true;
    case PreallocMode::fallocate: return false;
    case PreallocMode::automatic: break;
  }
  // Zero-filling writes every byte twice. It pays where a data sync is short enough that the
  // extent conversion it saves (a journal commit, about one 4 KiB sync's time on ext4) is most
  // of its cost; for large syncs, and where syncs are rare, the doubled bandwidth costs more.
  if (flushes_ == 0) return options_.durability == Durability::sync;
  return bytes_written_ / flushes_ < zero_fill_sync_bytes_max;
}

Result<std::shared_ptr<Segment>> Store::Impl::create_segment_file(std::uint64_t id, bool zero_fill) {
  auto seg = std::make_shared<Segment>();
  seg->id = id;
  seg->segment_bytes = options_.segment_bytes;
  seg->path = join_path(dir_, numbered_name(id, segment_suffix));
  seg->index_path = join_path(dir_, numbered_name(id, index_suffix));
  io::OpenFlags flags;
  flags.create = flags.exclusive = flags.write = true;
  flags.direct = options_.direct_io;
  Result<std::unique_ptr<io::File>> file = env_->open_file(seg->path, flags);
  if (!file.ok()) return file.status();
  seg->file = std::move(*file);
  Status prepared;
  if (zero_fill) {
    // Writing zeros makes every block "written" for the file system, so later data syncs of
    // appends need no extent conversion (which halves the durable-append rate on ext4:
    // docs/ENGINE.md "Preallocation").
    io::AlignedBuffer zeros(std::min<std::uint64_t>(zero_fill_chunk_bytes, seg->segment_bytes));
    for (std::uint64_t at = 0; at < seg->segment_bytes && prepared.ok(); at += zeros.size()) {
      const std::uint64_t n = std::min<std::uint64_t>(zeros.size(), seg->segment_bytes - at);
      prepared = seg->file->write_at(at, std::span<const std::byte>(zeros.data(), n));
    }
  } else {
    prepared = seg->file->allocate(seg->segment_bytes);
  }
  if (prepared.ok()) prepared = seg->file->sync_data();
  if (prepared.ok()) prepared = env_->sync_dir(dir_);
  if (!prepared.ok()) {
    seg->file.reset();
    (void)env_->remove(seg->path);  // an unfinished preallocation holds nothing
    return prepared;
  }
  return seg;
}

Status Store::Impl::write_index_snapshot(const std::shared_ptr<Segment> &seg) {
  format::IndexHeader header;
  header.format_version = format::format_version;
  header.segment_id = seg->id;
  header.base_lsn = seg->base_lsn;
  header.store_id = store_id_;
  std::vector<std::byte> bytes;
  {
    std::lock_guard lock(seg->index_mu);
    SEGSTORE_TRY(load_segment_index_locked(*env_, *seg, store_id_));
    {
      std::lock_guard state(mu_);
      header.record_count = seg->record_count;
      header.end_offset = static_cast<std::uint32_t>(seg->end_offset);
    }
    bytes = format::encode_index_snapshot(header, seg->index.to_body());
  }
  return io::write_file_atomic(*env_, seg->index_path, bytes);
}

void Store::Impl::maintenance_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    maintenance_cv_.wait(lock, [&] {
      return stopping_ || (prealloc_wanted_ && !preallocated_ && !prealloc_running_ && !failed_) ||
             (!to_seal_.empty() && (failed_ || durable_lsn_ >= to_seal_.front()->end_lsn() || !fsync_running_));
    });
    if (!to_seal_.empty()) {
      std::shared_ptr<Segment> seg = to_seal_.front();
      if (failed_) {
        to_seal_.clear();  // nothing is sealed after a failure; the next open recovers
        continue;
      }
      if (durable_lsn_ < seg->end_lsn()) {
        // In none/interval mode nobody may be waiting for these records: make them durable
        // here so the segment can be sealed.
        (void)make_durable_locked(lock, seg->end_lsn() - 1);
        continue;
      }
      to_seal_.pop_front();
      lock.unlock();
      Status sealed = write_index_snapshot(seg);
      if (!sealed.ok()) base::log_warning("sealing " + seg->path + ": " + sealed.to_string() +
                                          " (recovery will rebuild its index)");
      apply_retention();
      lock.lock();
      continue;
    }
    if (stopping_) return;
    if (prealloc_wanted_ && !preallocated_ && !prealloc_running_ && !failed_) {
      prealloc_wanted_ = false;
      const std::uint64_t id = next_segment_id_++;
      const bool zero_fill = zero_fill_wanted_locked();
      prealloc_running_ = true;
      lock.unlock();
      Result<std::shared_ptr<Segment>> created = create_segment_file(id, zero_fill);
      lock.lock();
      prealloc_running_ = false;
      progress_cv_.notify_all();
      if (!created.ok()) {
        base::log_warning("preallocating segment " + std::to_string(id) + ": " + created.status().to_string());
        continue;  // the next roll creates one on the append path and reports the error there
      }
      if (preallocated_ || (*created)->id < min_segment_id_) {
        lock.unlock();
        (*created)->file.reset();
        (void)env_->remove((*created)->path);
        lock.lock();
        continue;
      }
      preallocated_ = *created;
    }
  }
}

Status Store::Impl::write_meta_locked() {
  format::MetaFile meta{store_id_, first_lsn_, min_segment_id_};
  return io::write_file_atomic(*env_, join_path(dir_, meta_file_name), format::encode_meta(meta));
}

Status Store::Impl::remove_index_file(const Segment &seg) {
  Result<io::FileKind> kind = env_->file_kind(seg.index_path);
  if (!kind.ok()) return kind.status();
  if (*kind == io::FileKind::missing) return Status();
  return env_->remove(seg.index_path);
}

Status Store::Impl::remove_segment_files(const std::shared_ptr<Segment> &seg) {
  SEGSTORE_TRY(remove_index_file(*seg));
  return env_->remove(seg->path);
}

void Store::Impl::apply_retention() {
  const bool any_limit = options_.retain_bytes_max != 0 || options_.retain_segments_max != 0 ||
                         options_.retain_age_ms_max != 0;
  if (!any_limit) return;
  std::uint64_t trim_to = 0;
  {
    std::lock_guard lock(mu_);
    std::uint64_t count = segments_.size();
    std::uint64_t bytes = count * options_.segment_bytes;
    const std::uint64_t now = unix_ms();
    for (const auto &[base, seg] : segments_) {
      if (seg == active_ || !seg->sealed) break;  // the active segment is never removed
      const bool over_count = options_.retain_segments_max != 0 && count > options_.retain_segments_max;
      const bool over_bytes = options_.retain_bytes_max != 0 && bytes > options_.retain_bytes_max;
      const bool too_old = options_.retain_age_ms_max != 0 && seg->created_unix_ms + options_.retain_age_ms_max < now;
      if (!over_count && !over_bytes && !too_old) break;
      trim_to = seg->end_lsn();
      count--;
      bytes -= options_.segment_bytes;
    }
  }
  if (trim_to != 0) {
    Status trimmed = trim_segments(trim_to, /*by_retention=*/true);
    if (!trimmed.ok()) base::log_warning("retention in " + dir_ + ": " + trimmed.to_string());
  }
}

Status Store::Impl::trim_before(std::uint64_t lsn) { return trim_segments(lsn, false); }

Status Store::Impl::trim_segments(std::uint64_t lsn, bool by_retention) {
  std::vector<std::shared_ptr<Segment>> victims;
  {
    std::lock_guard lock(mu_);
    // Retention also runs while close() waits for the last seals; a user's trim does not.
    if (!by_retention || failed_) SEGSTORE_TRY(check_writable_locked());
    if (lsn > next_lsn_)
      return Status(Errc::lsn_out_of_range, "trim_before(" + std::to_string(lsn) + ") is past the next LSN " +
                                                std::to_string(next_lsn_));
    // Segments left behind by an earlier trim (they were still being sealed) go now too.
    lsn = std::max(lsn, first_lsn_);
    for (const auto &[base, seg] : segments_) {
      if (seg == active_ || seg->end_lsn() > lsn) break;
      // Only durable, sealed segments go; a segment still waiting to be sealed stays for now.
      if (std::find(to_seal_.begin(), to_seal_.end(), seg) != to_seal_.end()) break;
      victims.push_back(seg);
    }
    if (lsn == first_lsn_ && victims.empty()) return Status();
    const std::uint64_t old_first = first_lsn_, old_min = min_segment_id_;
    first_lsn_ = lsn;
    if (!victims.empty()) min_segment_id_ = victims.back()->id + 1;
    // META first: a crash after it and before the unlinks leaves segments that recovery
    // removes because their id is below min_segment_id.
    Status meta = write_meta_locked();
    if (!meta.ok()) {
      first_lsn_ = old_first;
      min_segment_id_ = old_min;
      return meta;
    }
    for (const auto &seg : victims) segments_.erase(seg->base_lsn);
  }
  for (const auto &seg : victims) SEGSTORE_TRY(remove_segment_files(seg));
  if (!victims.empty()) SEGSTORE_TRY(env_->sync_dir(dir_));
  return Status();
}

Status Store::Impl::reset_to(std::uint64_t lsn) {
  std::vector<std::shared_ptr<Segment>> victims;
  {
    std::unique_lock lock(mu_);
    SEGSTORE_TRY(check_writable_locked());
    if (next_lsn_ > durable_lsn_) SEGSTORE_TRY(make_durable_locked(lock, next_lsn_ - 1));
    drain_locked(lock);
    // Wait until the sealing of earlier segments is done: they are being removed anyway, but
    // the maintenance thread must not write an index for a segment that is gone.
    for (const auto &[base, seg] : segments_) victims.push_back(seg);
    if (active_ && std::find(victims.begin(), victims.end(), active_) == victims.end()) victims.push_back(active_);
    if (preallocated_) victims.push_back(preallocated_);
    to_seal_.clear();
    // A new segment id above every existing one: recovery deletes lower ids (META first).
    min_segment_id_ = next_segment_id_;
    first_lsn_ = next_lsn_ = durable_lsn_ = lsn;
    SEGSTORE_TRY(write_meta_locked());
    segments_.clear();
    groups_.clear();
    active_.reset();
    preallocated_.reset();
    prealloc_wanted_ = true;
    maintenance_cv_.notify_all();
    appended_cv_.notify_all();
  }
  for (const auto &seg : victims) SEGSTORE_TRY(remove_segment_files(seg));
  SEGSTORE_TRY(env_->sync_dir(dir_));
  append_event(dir_, "reset_to " + std::to_string(lsn));
  return Status();
}

Status Store::Impl::zero_tail(const std::shared_ptr<Segment> &seg, std::uint64_t from_offset,
                              std::uint64_t lsn, std::map<std::uint32_t, std::uint64_t> &removed) {
  // Count what goes, per stream (the stream counts of the index drop by these).
  std::uint64_t end_offset;
  {
    std::lock_guard lock(mu_);
    end_offset = seg->end_offset;
  }
  SegmentCursor cursor(*this, seg, from_offset, lsn, 1u << 20);
  while (true) {
    Result<std::optional<RecordView>> got = cursor.next(end_offset);
    if (!got.ok()) return got.status();
    if (!got->has_value()) break;
    removed[(*got)->stream]++;
  }
  // Rewrite the block holding the cut with its prefix unchanged, then a padding record to the
  // block boundary (so the next write group starts on a fresh block), and zeros after. The
  // prefix bytes are identical in the old and new block, so a torn rewrite can only damage
  // bytes that are being removed (on a device with atomic sectors).
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
    format::encode_padding(lsn, pad, buffer.data() + (from_offset - block_start));
    new_end = from_offset + pad;
  }
  SEGSTORE_TRY(seg->file->write_at(block_start, std::span<const std::byte>(buffer.data(), zero_end - block_start)));
  SEGSTORE_TRY(seg->file->sync_data());
  std::lock_guard lock(mu_);
  seg->end_offset = new_end;
  return Status();
}

Status Store::Impl::truncate_after(std::uint64_t lsn) {
  std::unique_lock lock(mu_);
  SEGSTORE_TRY(check_writable_locked());
  const std::uint64_t cut_lsn = lsn + 1;  // first LSN removed
  if (cut_lsn < first_lsn_ || lsn >= next_lsn_)
    return Status(Errc::lsn_out_of_range, "truncate_after(" + std::to_string(lsn) + "): keep range must end in [" +
                                              std::to_string(first_lsn_) + " - 1, " +
                                              std::to_string(next_lsn_) + " - 1]");
  if (cut_lsn == next_lsn_) return Status();
  SEGSTORE_TRY(make_durable_locked(lock, next_lsn_ - 1));
  drain_locked(lock);
  // All records are durable and no group is open or in flight: the files are quiet.
  SEGSTORE_ASSERT(groups_.empty(), "groups left after drain");
  auto it = segments_.upper_bound(cut_lsn);
  --it;
  std::shared_ptr<Segment> seg = it->second;
  std::vector<std::shared_ptr<Segment>> later;
  for (auto next = std::next(it); next != segments_.end(); ++next) later.push_back(next->second);
  if (active_ && active_ != seg && std::find(later.begin(), later.end(), active_) == later.end() &&
      active_->base_lsn >= cut_lsn)
    later.push_back(active_);
  to_seal_.erase(std::remove_if(to_seal_.begin(), to_seal_.end(),
                                [&](const auto &s) { return s->base_lsn >= seg->base_lsn; }),
                 to_seal_.end());
  lock.unlock();

  // Later segments go first (newest first), then the cut segment's tail: a crash in between
  // leaves a log that is a prefix of the one before the call.
  std::map<std::uint32_t, std::uint64_t> removed;
  for (auto s = later.rbegin(); s != later.rend(); ++s) SEGSTORE_TRY(remove_segment_files(*s));
  if (!later.empty()) SEGSTORE_TRY(env_->sync_dir(dir_));
  SEGSTORE_TRY(ensure_index(*seg));
  std::optional<format::IndexEntry> entry;
  {
    std::lock_guard index_lock(seg->index_mu);
    entry = seg->index.locate(cut_lsn - seg->base_lsn);
  }
  SEGSTORE_ASSERT(entry.has_value(), "no index entry for the cut LSN");
  // Walk from the index entry to the cut record's offset.
  std::uint64_t cut_offset = entry->offset;
  {
    std::uint64_t end_offset;
    {
      std::lock_guard state(mu_);
      end_offset = seg->end_offset;
    }
    SegmentCursor cursor(*this, seg, entry->offset, seg->base_lsn + entry->lsn_delta, 1u << 16);
    while (cursor.expected_lsn() < cut_lsn) {
      Result<std::optional<RecordView>> got = cursor.next(end_offset);
      if (!got.ok()) return got.status();
      SEGSTORE_ASSERT(got->has_value(), "segment ended before the cut LSN");
    }
    cut_offset = cursor.offset();
  }
  const bool seg_emptied = cut_lsn == seg->base_lsn;
  if (seg_emptied) {
    SEGSTORE_TRY(remove_segment_files(seg));
    SEGSTORE_TRY(env_->sync_dir(dir_));
  } else {
    SEGSTORE_TRY(zero_tail(seg, cut_offset, cut_lsn, removed));
    SEGSTORE_TRY(remove_index_file(*seg));  // the segment grows again: no stale index
    SEGSTORE_TRY(env_->sync_dir(dir_));
  }

  lock.lock();
  for (const auto &s : later) segments_.erase(s->base_lsn);
  if (seg_emptied) {
    segments_.erase(seg->base_lsn);
    active_.reset();
  } else {
    std::lock_guard index_lock(seg->index_mu);
    seg->index.truncate(cut_lsn - seg->base_lsn, removed);
    seg->record_count = cut_lsn - seg->base_lsn;
    seg->sealed = false;
    // Appends continue in this segment only from a block boundary (zero_tail padded it).
    if (seg->end_offset % format::block_size_bytes == 0) {
      active_ = seg;
    } else {
      seg->sealed = true;
      active_.reset();
      to_seal_.push_back(seg);
      maintenance_cv_.notify_all();
    }
  }
  next_lsn_ = durable_lsn_ = cut_lsn;
  if (first_lsn_ > next_lsn_) first_lsn_ = next_lsn_;
  appended_cv_.notify_all();
  append_event(dir_, "truncate_after " + std::to_string(lsn));
  return Status();
}

}  // namespace segstore
