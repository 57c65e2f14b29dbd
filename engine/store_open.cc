// engine/store_open.cc — opening a store directory (validation, lock, META, recovery) and
// closing it (flush, seal, clean-shutdown marker).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>

#include "base/assert.h"
#include "base/log.h"
#include "base/try.h"
#include "format/store_dir.h"
#include "engine/store_impl.h"
#include "format/small_files.h"
#include "recovery/recover.h"
#include "io/event_log.h"

namespace segstore {

using namespace engine;

Store::Impl::Impl(std::string dir, Options options, std::shared_ptr<io::Env> env)
    : dir_(std::move(dir)), options_(std::move(options)), env_(std::move(env)) {}

Store::Impl::~Impl() { (void)close(); }

namespace {

constexpr const char *waiter_writes_env_var = "SEGSTORE_WAITER_WRITES";
std::atomic<bool> bad_waiter_writes_var_logged{false};

// Whether a durable waiter writes its group on its own thread (docs/ENGINE.md "Writing on the
// waiter's thread"): on unless SEGSTORE_WAITER_WRITES=0, which sends every group through the
// write queue as before (to compare the two, or to work around a kernel that handles the
// synchronous RWF_DSYNC write badly).
bool waiter_writes_from_env(const Logger &logger) {
  const char *value = std::getenv(waiter_writes_env_var);
  if (value == nullptr || value[0] == '\0') return true;
  const std::string setting = value;
  if (setting == "0") return false;
  if (setting == "1") return true;
  if (!bad_waiter_writes_var_logged.exchange(true))
    base::log(logger, LogLevel::warning,
              std::string("ignoring ") + waiter_writes_env_var + "=" + setting + " (expected 0 or 1)");
  return true;
}

Status check_options(const Options &options) {
  const std::uint64_t bytes = options.segment_bytes;
  if (bytes % format::block_size_bytes != 0 || bytes < format::segment_size_min_bytes ||
      bytes > format::segment_size_max_bytes)
    return Status(Errc::invalid_argument,
                  "segment_bytes " + std::to_string(bytes) + " must be a multiple of " +
                      std::to_string(format::block_size_bytes) + " between " +
                      std::to_string(format::segment_size_min_bytes) + " and " +
                      std::to_string(format::segment_size_max_bytes));
  if ((options.file_mode & ~0777u) != 0)
    return Status(Errc::invalid_argument, "file_mode must hold permission bits only (at most 0777)");
  if (options.inflight_groups_max == 0 || options.inflight_groups_max > 256)
    return Status(Errc::invalid_argument, "inflight_groups_max must be 1..256");
  if (options.write_group_bytes_max < 2 * format::block_size_bytes ||
      options.write_group_bytes_max > (64u << 20))
    return Status(Errc::invalid_argument, "write_group_bytes_max must be 8 KiB..64 MiB");
  if (options.durability == Durability::interval && options.flush_interval_ms == 0)
    return Status(Errc::invalid_argument, "flush_interval_ms must be > 0 in interval mode");
  return Status();
}

std::uint64_t random_store_id() {
  std::random_device device;
  std::uint64_t id = 0;
  while (id == 0) id = (std::uint64_t{device()} << 32) ^ device();
  return id;
}

}  // namespace

// Makes the store directory if it is missing (and allowed to). Its entry in the parent is made
// durable when the store is created in it (open_directory).
Status Store::Impl::make_store_directory() {
  Result<io::FileKind> kind = env_->file_kind(dir_);
  if (!kind.ok()) return kind.status();
  if (*kind == io::FileKind::directory) return Status();
  if (*kind != io::FileKind::missing)
    return Status(Errc::not_a_directory, "store path " + dir_ + " exists but is not a directory");
  if (!options_.create_if_missing)
    return Status(Errc::not_found, "store directory " + dir_ + " does not exist");
  return env_->make_dir(dir_);
}

// META is missing. Before META exists, a store's creation writes only LOCK, META.tmp (the
// atomic write of META) and events.log: a directory holding nothing else is empty or a creation
// that a crash interrupted, and becomes a new store. Anything else is not ours: refused.
Status Store::Impl::check_creatable() {
  Result<std::vector<std::string>> names = env_->list_dir(dir_);
  if (!names.ok()) return names.status();
  const std::string meta_temp_name = std::string(format::meta_file_name) + format::temp_suffix;
  for (const std::string &name : *names) {
    if (name == format::lock_file_name || name == format::events_file_name) continue;
    if (name == meta_temp_name) {
      SEGSTORE_TRY(check_unfinished_meta(format::join_path(dir_, name)));
      continue;
    }
    return Status(Errc::not_a_store, "directory " + dir_ + " is not a segstore store: it holds '" + name +
                                         "' but no " + format::meta_file_name + " file");
  }
  return Status();
}

// A META.tmp without META is the trace of a creation interrupted before the rename, provided it
// holds what that write could have left; a foreign file of that name is refused.
Status Store::Impl::check_unfinished_meta(const std::string &path) {
  Result<std::vector<std::byte>> bytes = io::read_whole_file(*env_, path, format::small_file_header_bytes);
  if (!bytes.ok() && bytes.status().code() != Errc::corruption) return bytes.status();
  if (bytes.ok() && format::may_be_unfinished_meta(*bytes)) return Status();
  return Status(Errc::not_a_store, "directory " + dir_ + " is not a segstore store: " + path +
                                       " (at offset 0) is not a META being written, and there is no " +
                                       format::meta_file_name + " file");
}

Status Store::Impl::open_directory() {
  SEGSTORE_TRY(make_store_directory());
  // Opened once, locked, and from then on every file is named through it: the directory locked
  // is the one written, even if its path is swapped for another while the store is open.
  Result<std::shared_ptr<const io::Dir>> root = env_->open_dir(dir_);
  if (!root.ok()) return root.status();
  Result<std::unique_ptr<io::DirLock>> lock = env_->lock_dir(**root);
  if (!lock.ok()) return lock.status();
  lock_ = std::move(*lock);
  env_ = io::bind_env_to_dir(env_, std::move(*root));

  const std::string meta_path = format::join_path(dir_, format::meta_file_name);
  Result<io::FileKind> meta_kind = env_->file_kind(meta_path);
  if (!meta_kind.ok()) return meta_kind.status();
  if (*meta_kind != io::FileKind::missing) return Status();
  SEGSTORE_TRY(check_creatable());
  // The directory's own entry first: made by this open, by an earlier one that failed, or by an
  // operator, it may not be durable yet, and a power cut would take the store with it, every
  // acknowledged record included (docs/RECOVERY.md "Store creation").
  SEGSTORE_TRY(env_->sync_dir(io::parent_dir(dir_)));
  // write_file_atomic overwrites a leftover META.tmp. The store exists once META's rename is
  // durable; a crash before that leaves a directory that check_creatable() accepts again.
  store_id_ = random_store_id();
  format::MetaFile meta{store_id_, 0, 1};
  SEGSTORE_TRY(io::write_file_atomic(*env_, meta_path, format::encode_meta(meta)));
  io::append_event(*env_, dir_, "created store " + std::to_string(store_id_), options_.logger);
  return Status();
}

// A process of this boot may have renamed snapshots into quarantine/ and stopped before either
// directory was synced (truncate_after or reset_to whose quarantine report failed turns the
// store read-only at that point). Reopened without a power cut, recovery lists the directories
// as the page cache holds them: the snapshot already gone, nothing for it to move or sync. Once
// the log grows past that snapshot's LSN again, a power cut losing the rename would bring it
// back as the state of records it never saw (sim seed 2018). So both are synced before any
// append, as the last segment's data is (resume_last_segment).
Status Store::Impl::sync_snapshot_directories() {
  for (const char *name : {format::snapshots_dir_name, format::quarantine_dir_name}) {
    const std::string path = format::join_path(dir_, name);
    Result<io::FileKind> kind = env_->file_kind(path);
    if (!kind.ok()) return kind.status();
    if (*kind == io::FileKind::directory) SEGSTORE_TRY(env_->sync_dir(path));
  }
  return Status();
}

Status Store::Impl::open() {
  SEGSTORE_TRY(check_options(options_));
  SEGSTORE_TRY(open_directory());
  Result<format::MetaFile> meta = read_meta();
  if (!meta.ok()) return meta.status();
  store_id_ = meta->store_id;
  min_segment_id_ = meta->min_segment_id;
  Result<CleanMarker> clean = read_clean_marker();
  if (!clean.ok()) return clean.status();

  Result<recovery::RecoveredLog> log =
      recovery::recover_log(*env_, dir_, *meta, clean->valid, options_, &recovery_report_, clean->next_lsn);
  if (!log.ok()) return log.status();
  SEGSTORE_TRY(sync_snapshot_directories());
  if (clean->present) {
    // The marker describes this open only: appends make it stale, so it goes before any append.
    SEGSTORE_TRY(env_->remove(format::join_path(dir_, format::clean_file_name)));
    SEGSTORE_TRY(env_->sync_dir(dir_));
  }
  adopt_recovered_log(*log);
  SEGSTORE_TRY(adopt_free_files(log->free_files));
  if (!log->segments.empty()) SEGSTORE_TRY(resume_last_segment(log->last_segment_closed));
  Result<std::unique_ptr<io::WriteQueue>> queue = env_->make_write_queue(options_.inflight_groups_max);
  if (!queue.ok()) return queue.status();
  queue_ = std::move(*queue);
  inline_writes_enabled_ = waiter_writes_from_env(options_.logger);
  {
    std::lock_guard lock(mu_);  // no other thread yet; taken for the rule that guards the ends
    tail_feed_.open(first_lsn_, durable_lsn_, check_writable_locked().ok());
  }
  SEGSTORE_TRY(start_threads());
  if (log->truncate_cut_lsn != 0) return finish_interrupted_truncate(log->truncate_cut_lsn);
  return Status();
}

// META, decoded; a META that fails its checks refuses the open (nothing is guessed about a
// store whose identity is unreadable).
Result<format::MetaFile> Store::Impl::read_meta() {
  const std::string meta_path = format::join_path(dir_, format::meta_file_name);
  Result<std::vector<std::byte>> meta_bytes = io::read_whole_file(*env_, meta_path, format::small_file_read_max_bytes);
  if (!meta_bytes.ok()) return meta_bytes.status();
  format::MetaFile meta;
  if (auto err = format::decode_meta(*meta_bytes, &meta); err != format::SmallFileError::none)
    return Status(err == format::SmallFileError::unsupported_version ? Errc::unsupported_version
                                                                      : Errc::corruption,
                  meta_path + " (" + std::to_string(meta_bytes->size()) + " bytes at offset 0): " +
                      format::small_file_error_name(err));
  return meta;
}

// CLEAN, when present: valid only when it decodes and names this store. An unreadable or
// foreign marker is not an error: recovery then checks the log as after a crash.
Result<Store::Impl::CleanMarker> Store::Impl::read_clean_marker() {
  const std::string clean_path = format::join_path(dir_, format::clean_file_name);
  CleanMarker clean;
  Result<io::FileKind> clean_kind = env_->file_kind(clean_path);
  if (!clean_kind.ok()) return clean_kind.status();
  clean.present = *clean_kind == io::FileKind::regular;
  if (!clean.present) return clean;
  Result<std::vector<std::byte>> bytes = io::read_whole_file(*env_, clean_path, format::small_file_read_max_bytes);
  format::CleanFile marker;
  clean.valid = bytes.ok() && format::decode_clean(*bytes, &marker) == format::SmallFileError::none &&
                marker.store_id == store_id_;
  if (clean.valid) clean.next_lsn = marker.next_lsn;
  return clean;
}

// Takes recovery's plain values into the store's state: the segments, the LSN bounds, the
// loss not yet accepted, the preallocated segment.
void Store::Impl::adopt_recovered_log(recovery::RecoveredLog &log) {
  next_segment_id_ = std::max(log.next_segment_id, min_segment_id_);
  next_lsn_ = log.next_lsn;
  lost_lsn_first_ = log.lost_lsn_first;
  lost_lsn_end_ = log.lost_lsn_end;
  for (recovery::RecoveredSegment &recovered : log.segments) {
    std::shared_ptr<Segment> seg = segment_of(std::move(recovered));
    segments_[seg->base_lsn] = std::move(seg);
  }
  // Recovery lowers META's first LSN to the log's end when the log ends below it (@S): an open
  // that started the log above records it then accepted would drop them without a cut.
  SEGSTORE_ASSERT(segments_.empty() || log.first_lsn <= next_lsn_,
                  "META's first LSN " + std::to_string(log.first_lsn) + " lies above the recovered log's end " +
                      std::to_string(next_lsn_));
  first_lsn_ = segments_.empty() ? next_lsn_ : std::max(log.first_lsn, segments_.begin()->first);
  if (segments_.empty() && log.first_lsn > next_lsn_) next_lsn_ = first_lsn_ = log.first_lsn;
  durable_lsn_ = next_lsn_;
  next_snapshot_due_ = snapshot_due_after(next_lsn_, options_.snapshot_every_records);
  if (log.unused && log.unused->id >= min_segment_id_) preallocated_ = segment_of(std::move(*log.unused));
}

// The last recovered segment either takes the appends again (active) or stays sealed.
Status Store::Impl::resume_last_segment(bool last_segment_closed) {
  std::shared_ptr<Segment> last = segments_.rbegin()->second;
  // Appends continue in the last segment only where a new write group can start on a block
  // boundary; otherwise the last segment stays sealed and the next append starts a new one.
  // A closed segment without records (recovery cut at the start of the next file) also takes
  // the appends: it is header and zeros, and a new segment would start at the same LSN, the
  // key segments_ holds it under, so memory would forget the file while the disk keeps it;
  // a later truncate_after or trim would leave it behind, and its header would then contradict
  // the log recovery reads (sim seed 7536252105372163043).
  const bool reusable = !last_segment_closed || last->record_count == 0;
  if (reusable && last->end_offset % format::block_size_bytes == 0) {
    SEGSTORE_TRY(ensure_index(*last));
    // Whatever recovery read is on the device only if it was synced: sync it before it counts
    // as durable (a crash of the process alone leaves data in the page cache).
    SEGSTORE_TRY(last->file->sync_data());
    // A stale index snapshot of a segment that grows again must never be trusted later.
    SEGSTORE_TRY(remove_index_file(*last));
    SEGSTORE_TRY(env_->sync_dir(dir_));
    last->sealed = false;
    active_ = last;
    return Status();
  }
  if (last->record_count == 0) {
    // The segment before it (if any) becomes the last one, closed: it had a successor.
    SEGSTORE_TRY(retire_empty_last_segment(last));
    return segments_.empty() ? Status() : resume_last_segment(/*last_segment_closed=*/true);
  }
  // A segment recovery left unopened (sealed before a clean close, vouched for by its index
  // snapshot) is the last one when a cut took every segment after it: nothing of it was read,
  // and the close synced it. It is opened at its first read, as any such segment.
  if (last->file) SEGSTORE_TRY(last->file->sync_data());
  last->sealed = true;
  Result<io::FileKind> idx_kind = env_->file_kind(last->index_path);
  if (idx_kind.ok() && *idx_kind != io::FileKind::regular) to_seal_.push_back(last);
  return Status();
}

// A last segment without records that cannot take appends (its end is off a block: a padding
// record a hostile disk put there) would keep the next LSN as its key in segments_, where the
// first append's new segment must go. It holds nothing, so its file goes before any append; a
// crash before the directory sync brings back only the same empty file.
Status Store::Impl::retire_empty_last_segment(const std::shared_ptr<Segment> &last) {
  segments_.erase(last->base_lsn);
  last->file.reset();
  SEGSTORE_TRY(remove_index_file(*last));
  SEGSTORE_TRY(env_->remove(last->path));
  SEGSTORE_TRY(env_->sync_dir(dir_));
  io::append_event(*env_, dir_,
                   "removed " + last->path + " (no records, end offset " + std::to_string(last->end_offset) +
                       " not on a block): the next append starts a new segment at LSN " +
                       std::to_string(last->base_lsn),
                   options_.logger);
  return Status();
}

Status Store::Impl::start_threads() {
  reaper_ = std::thread([this] { reaper_loop(); });
  maintenance_ = std::thread([this] { maintenance_loop(); });
  if (options_.durability == Durability::interval) ticker_ = std::thread([this] { ticker_loop(); });
  std::lock_guard lock(mu_);
  prealloc_wanted_ = preallocated_ == nullptr;
  maintenance_cv_.notify_all();
  return Status();
}

Status Store::Impl::close() {
  std::unique_lock lock(mu_);
  if (closed_ || closing_) return Status();
  // From here no append takes an LSN: every record appended before is made durable below, and
  // CLEAN's next LSN names only durable records (an append racing close() used to take an LSN
  // after the final sync was cut, and the next open reported it as lost).
  closing_ = true;
  tail_feed_.end_writes();  // tail waits end as check_writable_locked says: store_closed
  Status flushed;
  if (!failed_ && queue_ && next_lsn_ > durable_lsn_) flushed = make_durable_locked(lock, next_lsn_ - 1);
  if (queue_) drain_locked(lock);
  closed_ = true;
  stopping_ = true;
  wake_all_waiters_locked();  // every record is durable by now, unless a sync failed
  progress_cv_.notify_all();
  reaper_cv_.notify_all();
  maintenance_cv_.notify_all();
  ticker_cv_.notify_all();
  appended_cv_.notify_all();
  lock.unlock();
  if (reaper_.joinable()) reaper_.join();
  if (ticker_.joinable()) ticker_.join();
  if (maintenance_.joinable()) maintenance_.join();
  lock.lock();

  Status marker;
  if (!failed_ && flushed.ok() && queue_) {
    std::shared_ptr<Segment> active = active_;
    const std::uint64_t next = next_lsn_;
    lock.unlock();
    format::CleanFile clean{store_id_, next, 0, 0};
    if (active && active->record_count > 0) {
      marker = write_index_snapshot(active);
      clean.active_segment_id = active->id;
      clean.active_end_offset = static_cast<std::uint32_t>(active->end_offset);
    }
    if (marker.ok())
      marker = io::write_file_atomic(*env_, format::join_path(dir_, format::clean_file_name), format::encode_clean(clean));
    lock.lock();
  }
  queue_.reset();
  lock_.reset();
  if (!flushed.ok()) return flushed;
  if (failed_) return Status(Errc::read_only, "store " + dir_ + " closed read-only: " + failed_->to_string());
  return marker;
}

}  // namespace segstore
