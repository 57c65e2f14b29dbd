// engine/maintenance.cc — work off the append path: preallocating the next segment, sealing
// segments (index snapshot, retention), and the operations that remove whole segments
// (trim_before, reset_to; truncate_after is in truncate.cc). The order of writes, syncs, renames and unlinks in
// each is the one docs/RECOVERY.md ("Crash-consistency rules") gives and recovery relies on.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "base/assert.h"
#include "base/log.h"
#include "base/try.h"
#include "format/store_dir.h"
#include "engine/store_impl.h"
#include "format/record.h"
#include "format/segment_header.h"
#include "format/small_files.h"
#include "io/event_log.h"

namespace segstore {

using namespace engine;

namespace {
// Zero-filling writes this much per I/O.
constexpr std::size_t zero_fill_chunk_bytes = 1u << 20;
// PreallocMode::automatic zero-fills while the average data sync covers less than this.
constexpr std::uint64_t zero_fill_sync_bytes_max = 128u << 10;
// ... once this many data syncs were counted; before, the durability mode decides.
constexpr std::uint64_t zero_fill_decision_syncs_min = 4;

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
  // Until a few syncs were seen their average says little (one early sync() of a streaming
  // store made its second segment zero-filled: 64 MiB written twice, the appender waiting on it):
  // the store's durability mode decides.
  if (flushes_ < zero_fill_decision_syncs_min) return options_.durability == Durability::sync;
  return bytes_written_ / flushes_ < zero_fill_sync_bytes_max;
}

Result<std::shared_ptr<Segment>> Store::Impl::create_segment_file(std::uint64_t id, bool zero_fill) {
  if (id > format::segment_id_max)
    return Status(Errc::log_full, "store " + dir_ + ": the next segment id " + std::to_string(id) +
                                      " lies above the largest segment id " + std::to_string(format::segment_id_max) +
                                      " (META's min_segment_id says so); no segment can be created, the log stays "
                                      "readable");
  auto seg = std::make_shared<Segment>();
  seg->id = id;
  seg->segment_bytes = options_.segment_bytes;
  seg->path = format::join_path(dir_, format::numbered_name(id, format::segment_suffix));
  seg->index_path = format::join_path(dir_, format::numbered_name(id, format::index_suffix));
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
  // The segment is sealed (or close() has stopped every appender): its record count and end no
  // longer change (truncate_after waits while a seal runs), so they are read first, under mu_
  // alone: the lock order is mu_ before index_mu (store_impl.h), never the reverse.
  {
    std::lock_guard state(mu_);
    header.record_count = seg->record_count;
    header.end_offset = static_cast<std::uint32_t>(seg->end_offset);
  }
  std::vector<std::byte> bytes;
  {
    std::lock_guard lock(seg->index_mu);
    SEGSTORE_TRY(load_segment_index_locked(*env_, *seg, store_id_, options_.logger));
    seg->index.shrink_to_fit();  // sealed (or closing): the index no longer grows
    bytes = format::encode_index_snapshot(header, seg->index.to_body());
  }
  return io::write_file_atomic(*env_, seg->index_path, bytes);
}

void Store::Impl::maintenance_loop() {
  std::unique_lock lock(mu_);
  std::shared_ptr<Segment> retention_tried;  // the segment retention was last run for before its seal
  while (true) {
    maintenance_cv_.wait(lock, [&] {
      return stopping_ || spare_due_locked() ||
             (seal_possible_locked() && (failed_ || durable_lsn_ >= to_seal_.front()->end_lsn() || !fsync_running_));
    });
    // The spare before a seal: both fall due when a segment rolls, and the next roll waits for
    // the spare (or creates one on the append path: a fallocate and two syncs with nothing
    // being written, measured 30-165 ms on W1 at 64 KiB), while a seal only delays the index
    // snapshot. Sealing first made W1 create its segments on the append path. The exception:
    // a seal whose retention refills an empty recycling pool (seal_refills_pool_locked).
    if (!stopping_ && spare_due_locked() && !seal_refills_pool_locked()) {
      make_spare_locked(lock);
      continue;
    }
    if (seal_possible_locked()) {
      std::shared_ptr<Segment> seg = to_seal_.front();
      if (failed_) {
        to_seal_.clear();  // nothing is sealed after a failure; the next open recovers
        continue;
      }
      if (durable_lsn_ < seg->end_lsn()) {
        // In none/interval mode nobody may be waiting for these records: make them durable
        // here so the segment can be sealed.
        const Status durable = make_durable_locked(lock, seg->end_lsn() - 1);
        // Once closed_ is set nothing more becomes durable and the wait fails at once (close()
        // made every record durable first, so only a failed sync leaves one behind): the
        // segment stays unsealed and the next open recovers it. Waiting for it again would
        // spin here with mu_ held, and close() would never join this thread.
        if (!durable.ok() && closed_) to_seal_.clear();
        continue;
      }
      if (seg != retention_tried && retention_takes_locked(seg)) {
        // Its index snapshot would go with it: retention first (which removes it unsealed, and
        // any others past the limits). Under a stream that fills a segment faster than a seal
        // and a retention take (an index write and META's, each synced: 0.3-0.4 s on W1 at 64
        // KiB), the seals fell behind, retention with them, and the recycling pool ran dry.
        // Tried once per segment: a trim that fails leaves it to be sealed.
        retention_tried = seg;
        lock.unlock();
        apply_retention();
        lock.lock();
        continue;
      }
      to_seal_.pop_front();
      sealing_ = true;  // truncate_after and reset_to wait: they may remove this segment's .idx
      lock.unlock();
      Status sealed = write_index_snapshot(seg);
      if (!sealed.ok()) base::log(options_.logger, LogLevel::warning, "sealing " + seg->path + ": " + sealed.to_string() +
                                          " (recovery will rebuild its index)");
      lock.lock();
      sealing_ = false;
      progress_cv_.notify_all();
      lock.unlock();
      apply_retention();
      lock.lock();
      continue;
    }
    if (stopping_) return;
  }
}

void Store::Impl::make_spare_locked(std::unique_lock<std::mutex> &lock) {
  prealloc_wanted_ = false;
  Result<std::shared_ptr<Segment>> created = create_next_segment_locked(lock);
  if (!created.ok()) {
    // The next roll creates one on the append path and reports the error there.
    base::log(options_.logger, LogLevel::warning, "preallocating the next segment: " + created.status().to_string());
    return;
  }
  if (preallocated_ || (*created)->id < min_segment_id_) {
    lock.unlock();
    (*created)->file.reset();
    (void)env_->remove((*created)->path);
    lock.lock();
    return;
  }
  preallocated_ = *created;
}

// Creates the segment file with the next id; mu_ is released meanwhile. Creations are
// serialised (prealloc_running_): ids must rise with base LSNs, so a segment created on the
// append path can never be overtaken by a preallocation with a higher id (sim Seed4).
Result<std::shared_ptr<Segment>> Store::Impl::create_next_segment_locked(std::unique_lock<std::mutex> &lock) {
  SEGSTORE_ASSERT(!prealloc_running_, "two segment creations at once");
  const std::uint64_t id = next_segment_id_++;
  const bool zero_fill = zero_fill_wanted_locked();
  std::string free_path;
  if (!free_files_.empty()) {
    free_path = std::move(free_files_.back());
    free_files_.pop_back();
  }
  prealloc_running_ = true;
  lock.unlock();
  Result<std::shared_ptr<Segment>> created =
      free_path.empty() ? create_segment_file(id, zero_fill) : recycle_segment_file(id, free_path);
  const bool recycled = created.ok() && !free_path.empty();
  if (!created.ok() && !free_path.empty()) {
    base::log(options_.logger, LogLevel::warning,
              "recycling " + free_path + ": " + created.status().to_string() + " (a new file is made instead)");
    created = create_segment_file(id, zero_fill);
  }
  lock.lock();
  if (recycled) segments_recycled_++;
  prealloc_running_ = false;
  progress_cv_.notify_all();
  maintenance_cv_.notify_all();
  return created;
}

Status Store::Impl::write_meta(std::uint64_t first_lsn, std::uint64_t min_segment_id, bool by_reset) {
  format::MetaFile meta{store_id_, first_lsn, min_segment_id};
  meta.discarded_by_reset = by_reset;
  // An unaccepted loss stays recorded whatever else changes (writes stay refused).
  meta.lost_lsn_first = lost_lsn_first_;
  meta.lost_lsn_end = lost_lsn_end_;
  return io::write_file_atomic(*env_, format::join_path(dir_, format::meta_file_name), format::encode_meta(meta));
}

// A META write that failed may still be on disk (its rename landed, the directory sync failed):
// memory can follow neither the old META nor the new one, so the store turns read-only and the
// reopen decides. Caller holds mu_.
Status Store::Impl::fail_meta_write_locked(const std::string &what, const char *change, const Status &meta) {
  Status failure(meta.code(), what + " in " + dir_ + ": writing META failed, the " + change +
                                  " may or may not be on disk; read-only until reopened: " + meta.message());
  fail_locked(failure);
  return failure;
}

Status Store::Impl::remove_index_file(const Segment &seg) {
  Result<io::FileKind> kind = env_->file_kind(seg.index_path);
  if (!kind.ok()) return kind.status();
  if (*kind == io::FileKind::missing) return Status();
  return env_->remove(seg.index_path);
}

Status Store::Impl::remove_segment_files(const std::shared_ptr<Segment> &seg) {
  SEGSTORE_TRY(remove_index_file(*seg));
  if (keep_as_free_file(seg)) return Status();
  return env_->remove(seg->path);
}

bool Store::Impl::keep_as_free_file(const std::shared_ptr<Segment> &seg) {
  if (options_.recycled_segments_max == 0) return false;
  const std::string free_path = format::join_path(dir_, format::numbered_name(seg->id, format::free_suffix));
  {
    std::lock_guard lock(mu_);
    if (free_files_.size() >= options_.recycled_segments_max) return false;
  }
  // Open descriptors (a reader's) follow the rename. A crash before the directory sync leaves
  // "<id>.seg" below META's min_segment_id: recovery removes it (@L).
  if (!env_->rename(seg->path, free_path).ok()) return false;
  {
    std::lock_guard lock(mu_);
    if (free_files_.size() < options_.recycled_segments_max) {
      free_files_.push_back(free_path);
      return true;
    }
  }
  // Another removal filled the pool meanwhile: this one goes as any removal does.
  (void)env_->remove(free_path);
  return true;
}

Status Store::Impl::adopt_free_files(const std::vector<std::string> &paths) {
  bool removed = false;
  for (const std::string &path : paths) {
    if (free_files_.size() < options_.recycled_segments_max) {
      free_files_.push_back(path);
      continue;
    }
    SEGSTORE_TRY(env_->remove(path));
    removed = true;
  }
  if (removed) SEGSTORE_TRY(env_->sync_dir(dir_));
  return Status();
}

// The spare's header: recovery returns the file to the free files unless its first write (which
// rewrites block 0 with the base LSN) landed. Its id is new, so no record the file held in an
// earlier life (another seed) ever decodes in it.
Status Store::Impl::write_spare_header(io::File &file, std::uint64_t id, std::uint64_t segment_bytes) {
  format::SegmentHeader header;
  header.flags = format::segment_flag_recycled | format::segment_flag_spare;
  header.format_version = format::segment_format_version_for(header.flags);
  header.block_size_bytes = format::block_size_bytes;
  header.segment_id = id;
  header.segment_bytes = segment_bytes;
  header.created_unix_ms = unix_ms();
  header.store_id = store_id_;
  io::AlignedBuffer block(format::segment_header_block_bytes);
  std::memset(block.data(), 0, block.size());
  format::encode_segment_header(header, block.data());
  return file.write_at(0, std::span<const std::byte>(block.data(), block.size()));
}

Result<std::shared_ptr<Segment>> Store::Impl::recycle_segment_file(std::uint64_t id, const std::string &free_path) {
  auto seg = std::make_shared<Segment>();
  seg->id = id;
  seg->segment_bytes = options_.segment_bytes;
  seg->path = format::join_path(dir_, format::numbered_name(id, format::segment_suffix));
  seg->index_path = format::join_path(dir_, format::numbered_name(id, format::index_suffix));
  seg->recycled = true;
  seg->record_seed = format::record_crc_seed(id);
  io::OpenFlags flags;
  flags.write = true;
  flags.direct = options_.direct_io;
  Result<std::unique_ptr<io::File>> file = env_->open_file(free_path, flags);
  Status prepared = file.status();
  if (prepared.ok()) {
    seg->file = std::move(*file);
    Result<std::uint64_t> size = seg->file->size();
    prepared = size.status();
    if (prepared.ok() && *size != seg->segment_bytes)
      prepared = Status(Errc::corruption, "free segment file " + free_path + " holds " + std::to_string(*size) +
                                              " bytes, not the " + std::to_string(seg->segment_bytes) + " of a segment");
  }
  if (prepared.ok()) prepared = write_spare_header(*seg->file, id, seg->segment_bytes);
  if (prepared.ok()) prepared = seg->file->sync_data();
  if (prepared.ok()) prepared = env_->rename(free_path, seg->path);
  if (prepared.ok()) prepared = env_->sync_dir(dir_);
  if (prepared.ok()) {
    // Opened again under its new name: a file remembers the path it was opened by (reads that
    // open a second descriptor, messages) and must not name the free file any more.
    seg->file.reset();
    Result<std::unique_ptr<io::File>> renamed = env_->open_file(seg->path, flags);
    prepared = renamed.status();
    if (prepared.ok()) seg->file = std::move(*renamed);
  }
  if (!prepared.ok()) {
    seg->file.reset();
    (void)env_->remove(free_path);
    (void)env_->remove(seg->path);
    return prepared;
  }
  return seg;
}

// Age retention needs each candidate's creation time, in its header, which a segment left
// unopened at open (engine/segment.h) has not read yet. The oldest sealed segments are checked
// here, outside mu_ (the lock order is mu_ before index_mu), until one is young enough to end
// the walk. A segment whose header fails stays unchecked, and apply_retention never judges an
// unchecked segment too old: its age is unknown, and retention never deletes on a guess.
void Store::Impl::check_headers_for_age_retention(std::uint64_t now_unix_ms) {
  std::vector<std::shared_ptr<Segment>> oldest;
  {
    std::lock_guard lock(mu_);
    for (const auto &[base, seg] : segments_) {
      if (seg == active_ || !seg->sealed) break;
      if (seg->header_checked.load(std::memory_order_acquire)) {
        if (seg->created_unix_ms + options_.retain_age_ms_max >= now_unix_ms) break;
        continue;
      }
      oldest.push_back(seg);
    }
  }
  for (const std::shared_ptr<Segment> &seg : oldest) {
    std::lock_guard lock(seg->index_mu);
    const Status checked = check_segment_header_locked(*env_, *seg, store_id_);
    if (!checked.ok()) {
      base::log(options_.logger, LogLevel::warning, "retention in " + dir_ + ": " + checked.to_string());
      return;
    }
    if (seg->created_unix_ms + options_.retain_age_ms_max >= now_unix_ms) return;
  }
}

// Whether retention removes `seg`, the oldest of `count` segments left (the active one counted).
bool Store::Impl::retention_removes_locked(const Segment &seg, std::uint64_t count, std::uint64_t now) const {
  const bool over_count = options_.retain_segments_max != 0 && count > options_.retain_segments_max;
  const bool over_bytes = options_.retain_bytes_max != 0 && count * options_.segment_bytes > options_.retain_bytes_max;
  const bool too_old = options_.retain_age_ms_max != 0 && seg.header_checked.load(std::memory_order_acquire) &&
                       seg.created_unix_ms + options_.retain_age_ms_max < now;
  return over_count || over_bytes || too_old;
}

// Whether retention's next pass removes the oldest segment (its first step in apply_retention).
bool Store::Impl::retention_due_locked() const {
  if (segments_.empty()) return false;
  const std::shared_ptr<Segment> &oldest = segments_.begin()->second;
  return oldest != active_ && oldest->sealed && retention_removes_locked(*oldest, segments_.size(), unix_ms());
}

// Whether retention would remove `seg`, the next to be sealed, as soon as it is durable.
bool Store::Impl::retention_takes_locked(const std::shared_ptr<Segment> &seg) const {
  return !segments_.empty() && segments_.begin()->second == seg && retention_due_locked();
}

// The next seal is due before the spare when its retention would give the empty recycling pool
// a file: the spare then costs a header write instead of a new file's zero-fill (64 MiB at this
// disk's fresh-space rate, about 150 ms). With the spare first, a stream that fills a segment
// faster than that left the seals, and so retention, further behind at every roll: W1 at 64
// KiB over recycled segments made 11 of its 32 segments from freed files.
bool Store::Impl::seal_refills_pool_locked() const {
  return options_.recycled_segments_max != 0 && free_files_.empty() && seal_possible_locked() && retention_due_locked();
}

void Store::Impl::apply_retention() {
  const bool any_limit = options_.retain_bytes_max != 0 || options_.retain_segments_max != 0 ||
                         options_.retain_age_ms_max != 0;
  if (!any_limit) return;
  std::uint64_t trim_to = 0;
  const std::uint64_t now = unix_ms();
  if (options_.retain_age_ms_max != 0) check_headers_for_age_retention(now);
  {
    std::lock_guard lock(mu_);
    std::uint64_t count = segments_.size();
    for (const auto &[base, seg] : segments_) {
      if (seg == active_ || !seg->sealed) break;  // the active segment is never removed
      if (!retention_removes_locked(*seg, count, now)) break;
      trim_to = seg->end_lsn();
      count--;
    }
  }
  if (trim_to != 0) {
    Status trimmed = trim_segments(trim_to, /*by_retention=*/true);
    if (!trimmed.ok()) base::log(options_.logger, LogLevel::warning, "retention in " + dir_ + ": " + trimmed.to_string());
  }
}

Status Store::Impl::trim_before(std::uint64_t lsn) { return trim_segments(lsn, false); }

Status Store::Impl::trim_segments(std::uint64_t lsn, bool by_retention) {
  // One trim at a time, and no truncate_after or reset_to until memory follows META below.
  std::lock_guard meta_writer(meta_mu_);
  std::vector<std::shared_ptr<Segment>> victims;
  std::uint64_t new_min_segment_id = 0;
  {
    std::unique_lock lock(mu_);
    while (true) {
      wait_for_log_rewrite_locked(lock);
      // Retention also runs while close() waits for the last seals; a user's trim does not.
      if (!by_retention || failed_) SEGSTORE_TRY(check_writable_locked());
      if (lsn > next_lsn_)
        return Status(Errc::lsn_out_of_range, "trim_before(" + std::to_string(lsn) + ") is past the next LSN " +
                                                  std::to_string(next_lsn_));
      if (lsn <= durable_lsn_) break;
      // META's first_lsn must never lie past the durable end: a crash would take the records
      // below it and leave META hiding the records appended after the reopen (sim Seed76).
      Status durable = make_durable_locked(lock, lsn - 1);
      if (!durable.ok() && durable.code() != Errc::truncated) return durable;
      // The lock was released while waiting: check everything again (a truncate_after may have
      // cut below lsn, which the range check then reports).
    }
    // Segments left behind by an earlier trim (they were still being sealed) go now too.
    lsn = std::max(lsn, first_lsn_);
    // Invariant: META's first_lsn never passes the durable end (see above).
    SEGSTORE_ASSERT(lsn <= durable_lsn_, "trim to LSN " + std::to_string(lsn) + " past the durable end " +
                                             std::to_string(durable_lsn_));
    for (const auto &[base, seg] : segments_) {
      if (seg == active_ || seg->end_lsn() > lsn) break;
      // Only durable, sealed segments go; a segment still waiting to be sealed stays for now,
      // unless retention takes it (from the maintenance thread, the only one that seals): its
      // index snapshot is not written at all then.
      if (!by_retention && std::find(to_seal_.begin(), to_seal_.end(), seg) != to_seal_.end()) break;
      victims.push_back(seg);
    }
    if (lsn == first_lsn_ && victims.empty()) return Status();
    new_min_segment_id = victims.empty() ? min_segment_id_ : victims.back()->id + 1;
  }
  // META first: a crash after it and before the unlinks leaves segments that recovery removes
  // because their id is below min_segment_id. It is written without mu_: its data and directory
  // syncs would hold up every append and read (the soak saw stalls of over a second on a busy
  // disk). Meanwhile memory still shows the old first LSN and every victim is intact, so
  // readers may go on reading below lsn until memory follows; meta_mu_ keeps the other changes
  // of the log's ends out, so what was decided above still holds.
  // A trim runs only on a store whose last reset (if any) finished removing its segments (a
  // failed removal leaves the store read-only), so the reset flag goes.
  Status meta = write_meta(lsn, new_min_segment_id, /*by_reset=*/false);
  if (!meta.ok()) {
    // The new META may be on disk although the write failed (the rename landed, its directory
    // sync failed): memory keeping the old first LSN would let a truncate_after cut below the
    // new one, and the next open would read the records the truncate took as lost (sim). As
    // after a failed reset: read-only until reopened, and the open decides.
    std::lock_guard lock(mu_);
    return fail_meta_write_locked("trim_before(" + std::to_string(lsn) + ")", "trim", meta);
  }
  {
    std::lock_guard lock(mu_);
    first_lsn_ = lsn;
    tail_feed_.trimmed_to(lsn);
    min_segment_id_ = new_min_segment_id;
    for (const auto &seg : victims) {
      segments_.erase(seg->base_lsn);
      std::erase(to_seal_, seg);
    }
  }
  for (const auto &seg : victims) SEGSTORE_TRY(remove_segment_files(seg));
  if (!victims.empty()) SEGSTORE_TRY(env_->sync_dir(dir_));
  return Status();
}

// META first, memory after: the store never runs with LSNs that META does not back. A failure
// to write META leaves the store read-only (the rename may or may not have reached the disk:
// the next open decides), with its LSNs unchanged.
Status Store::Impl::reset_to(std::uint64_t lsn) {
  std::lock_guard snapshots(snapshot_mu_);  // see truncate_after
  return reset_to_holding_snapshots(lsn);
}

Status Store::Impl::reset_to_holding_snapshots(std::uint64_t lsn) {
  const std::string what = "reset_to(" + std::to_string(lsn) + ")";
  std::lock_guard meta_writer(meta_mu_);
  std::vector<std::shared_ptr<Segment>> victims;
  {
    std::unique_lock lock(mu_);
    wait_for_log_rewrite_locked(lock);
    SEGSTORE_TRY(check_writable_locked());
    if (next_lsn_ > durable_lsn_) SEGSTORE_TRY(make_durable_locked(lock, next_lsn_ - 1));
    // No write in flight into a segment about to go, and no index being written for one.
    quiesce_locked(lock);
    SEGSTORE_TRY(check_writable_locked());
    // A new segment id above every existing one: recovery deletes lower ids (META first).
    const std::uint64_t new_min_segment_id = next_segment_id_;
    // The flag tells recovery that the segments below may hold LSNs at or above lsn (a reset
    // backwards) and are still to be removed.
    Status meta = write_meta(lsn, new_min_segment_id, /*by_reset=*/true);
    if (!meta.ok()) return fail_meta_write_locked(what, "reset", meta);
    for (const auto &[base, seg] : segments_) victims.push_back(seg);
    if (active_ && std::find(victims.begin(), victims.end(), active_) == victims.end()) victims.push_back(active_);
    if (preallocated_) victims.push_back(preallocated_);
    min_segment_id_ = new_min_segment_id;
    first_lsn_ = next_lsn_ = durable_lsn_ = lsn;
    log_generation_++;
    tail_feed_.invalidate(first_lsn_, durable_lsn_);  // nothing kept is served again
    segments_.clear();
    groups_.clear();
    to_seal_.clear();
    active_.reset();
    preallocated_.reset();
    remove_waiters_from_locked(0, what);  // every record is gone
    prealloc_wanted_ = true;
    maintenance_cv_.notify_all();
    appended_cv_.notify_all();
  }
  // The reset is durable now. What follows clears what it left behind; after a crash in between
  // recovery does the same (@P: snapshots past the end; @L: segments below min_segment_id).
  SEGSTORE_TRY(quarantine_snapshots_past_end(lsn, what));
  Status cleared;
  for (const auto &seg : victims) {
    cleared = remove_segment_files(seg);
    if (!cleared.ok()) break;
  }
  if (cleared.ok()) cleared = env_->sync_dir(dir_);
  if (!cleared.ok()) {
    Status failure(cleared.code(), what + " in " + dir_ + " is durable, but removing the old segments failed; "
                                          "read-only until reopened (recovery removes them): " + cleared.message());
    std::lock_guard lock(mu_);
    fail_locked(failure);
    return failure;
  }
  io::append_event(*env_, dir_, what, options_.logger);
  return Status();
}

}  // namespace segstore
