// engine/snapshots.cc — application snapshots: the application's state as of an LSN, stored
// atomically beside the log (docs/ENGINE.md "Application snapshots").
#include <algorithm>
#include <ctime>

#include "base/try.h"
#include "log/snapshot_file.h"
#include "format/store_dir.h"
#include "engine/store_impl.h"
#include "format/small_files.h"
#include "recovery/quarantine.h"
#include "io/event_log.h"

namespace segstore {

using namespace engine;

namespace {
Status check_state_size(std::span<const std::byte> state) {
  if (state.size() + format::small_file_header_bytes > format::snapshot_file_max_bytes)
    return Status(Errc::invalid_argument, "snapshot state of " + std::to_string(state.size()) + " bytes is too large");
  return Status();
}
}  // namespace

Status Store::Impl::write_snapshot(std::uint64_t lsn, std::span<const std::byte> state) {
  SEGSTORE_TRY(check_state_size(state));
  // Held from the check of lsn to the pruning: truncate_after and reset_to move the snapshots
  // past the new end of the log under it, so none can be written behind their back.
  std::lock_guard writer(snapshot_mu_);
  {
    std::unique_lock lock(mu_);
    SEGSTORE_TRY(check_writable_locked());
    if (lsn < first_lsn_ || lsn >= next_lsn_)
      return Status(Errc::lsn_out_of_range, "write_snapshot(" + std::to_string(lsn) + "): not an LSN of the log (first " +
                                                std::to_string(first_lsn_) + ", next " + std::to_string(next_lsn_) + ")");
    // A snapshot must never describe records that a crash could take away.
    SEGSTORE_TRY(make_durable_locked(lock, lsn));
  }
  SEGSTORE_TRY(write_snapshot_file(lsn, state));
  return prune_snapshots();
}

Status Store::Impl::write_snapshot_file(std::uint64_t lsn, std::span<const std::byte> state) {
  const std::string snapshots = format::join_path(dir_, format::snapshots_dir_name);
  Result<io::FileKind> kind = env_->file_kind(snapshots);
  if (!kind.ok()) return kind.status();
  if (*kind == io::FileKind::missing) {
    SEGSTORE_TRY(env_->make_dir(snapshots));
    SEGSTORE_TRY(env_->sync_dir(dir_));
  }
  format::SnapshotHeader header{store_id_, lsn, state.size()};
  return io::write_file_atomic(*env_, format::join_path(snapshots, format::numbered_name(lsn, format::snapshot_suffix)),
                               format::encode_snapshot(header, state));
}

// The order makes the reset the commit point:
//   1. the records from lsn on (if any) are cut, durably (truncate_after): a crash from here on
//      leaves at worst a prefix of the old log that ends below lsn;
//   2. snapshots/<lsn>.snap is written: it lies past the end of the log, so reads ignore it and
//      recovery moves it to quarantine (@P) if a crash comes before step 3;
//   3. reset_to(lsn + 1) writes META (the commit) and removes the segments: now the snapshot is
//      below next_lsn and is the newest one;
//   4. older snapshots are pruned only now, so a crash before the commit keeps the old newest.
Status Store::Impl::install_snapshot(std::uint64_t lsn, std::span<const std::byte> state) {
  SEGSTORE_TRY(check_state_size(state));
  const std::string what = "install_snapshot(" + std::to_string(lsn) + ")";
  if (lsn == UINT64_MAX) return Status(Errc::invalid_argument, what + ": no LSN would be left after it");
  std::uint64_t cut_lsn = 0;
  bool cut_needed = false;
  {
    std::lock_guard lock(mu_);
    SEGSTORE_TRY(check_writable_locked());
    if (lsn + 1 < first_lsn_)
      return Status(Errc::lsn_out_of_range, what + ": older than the log, which starts at " + std::to_string(first_lsn_));
    cut_lsn = std::max(lsn, first_lsn_);
    cut_needed = cut_lsn < next_lsn_;
  }
  if (cut_needed) SEGSTORE_TRY(truncate_after(cut_lsn - 1));  // wraps to first_lsn - 1 at LSN 0
  std::lock_guard writer(snapshot_mu_);
  {
    std::lock_guard lock(mu_);
    if (next_lsn_ > lsn)
      return Status(Errc::busy, what + ": records at or past LSN " + std::to_string(lsn) +
                                    " were appended while it ran");
  }
  SEGSTORE_TRY(write_snapshot_file(lsn, state));
  SEGSTORE_TRY(reset_to_holding_snapshots(lsn + 1));
  io::append_event(*env_, dir_, what, options_.logger);
  return prune_snapshots();
}

Status Store::Impl::prune_snapshots() {
  const std::string snapshots = format::join_path(dir_, format::snapshots_dir_name);
  // Keep the newest snapshots_kept; older ones go.
  Result<std::vector<std::string>> names = env_->list_dir(snapshots);
  if (!names.ok()) return names.status();
  std::vector<std::uint64_t> lsns;
  for (const std::string &name : *names)
    if (auto n = format::parse_numbered_name(name, format::snapshot_suffix)) lsns.push_back(*n);
  std::sort(lsns.rbegin(), lsns.rend());
  const std::size_t keep = std::max<std::uint32_t>(options_.snapshots_kept, 1);
  bool removed = false;
  for (std::size_t i = keep; i < lsns.size(); ++i) {
    SEGSTORE_TRY(env_->remove(format::join_path(snapshots, format::numbered_name(lsns[i], format::snapshot_suffix))));
    removed = true;
  }
  if (removed) SEGSTORE_TRY(env_->sync_dir(snapshots));
  return Status();
}

Status Store::Impl::quarantine_snapshots_from(std::uint64_t end_lsn, const std::string &what) {
  const std::string snapshots = format::join_path(dir_, format::snapshots_dir_name);
  Result<io::FileKind> kind = env_->file_kind(snapshots);
  if (!kind.ok()) return kind.status();
  if (*kind != io::FileKind::directory) return Status();
  Result<std::vector<std::string>> names = env_->list_dir(snapshots);
  if (!names.ok()) return names.status();
  std::vector<std::uint64_t> past_end;
  for (const std::string &name : *names)
    if (auto n = format::parse_numbered_name(name, format::snapshot_suffix); n && *n >= end_lsn) past_end.push_back(*n);
  if (past_end.empty()) return Status();
  std::sort(past_end.begin(), past_end.end());
  recovery::Quarantine quarantine(*env_, dir_, recovery::utc_stamp(std::time(nullptr)));
  SEGSTORE_TRY(quarantine.prepare());
  std::string report = "segstore quarantine report\nstore: " + dir_ + "\n" + what +
                       ": snapshots past the new end of the log (next LSN " + std::to_string(end_lsn) + ")\n";
  for (std::uint64_t lsn : past_end) {
    const std::string name = format::numbered_name(lsn, format::snapshot_suffix);
    const std::string path = format::join_path(snapshots, name);
    Result<std::unique_ptr<io::File>> file = env_->open_file(path, io::OpenFlags{});
    if (!file.ok()) return file.status();
    Result<std::uint64_t> size = (*file)->size();
    if (!size.ok()) return size.status();
    file->reset();
    Result<std::string> moved = quarantine.move_in(path, "snapshot-", name, *size);
    if (!moved.ok()) return moved.status();
    report += *moved + ": snapshots/" + name + " (" + std::to_string(*size) + " bytes), snapshot of LSN " +
              std::to_string(lsn) + "\n";
  }
  Result<std::string> written = quarantine.write_report(report);
  if (!written.ok()) return written.status();
  // A rename between two directories is durable once both are synced.
  SEGSTORE_TRY(quarantine.sync());
  return env_->sync_dir(snapshots);
}

Result<Snapshot> Store::Impl::latest_snapshot() {
  std::uint64_t next;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status(Errc::store_closed, "store " + dir_ + " is closed");
    next = next_lsn_;
  }
  const std::string snapshots = format::join_path(dir_, format::snapshots_dir_name);
  Result<io::FileKind> kind = env_->file_kind(snapshots);
  if (!kind.ok()) return kind.status();
  if (*kind != io::FileKind::directory) return Status(Errc::not_found, "no snapshot in " + dir_);
  Result<std::vector<std::string>> names = env_->list_dir(snapshots);
  if (!names.ok()) return names.status();
  std::vector<std::uint64_t> lsns;
  for (const std::string &name : *names)
    if (auto n = format::parse_numbered_name(name, format::snapshot_suffix)) lsns.push_back(*n);
  std::sort(lsns.rbegin(), lsns.rend());
  for (std::uint64_t lsn : lsns) {
    if (lsn >= next) continue;  // describes records the log does not hold
    const std::string path = format::join_path(snapshots, format::numbered_name(lsn, format::snapshot_suffix));
    // Checked first with a bounded buffer: only a snapshot that passes every check (its size
    // then matches its checksummed header) is read into memory, so a huge or sparse file under
    // a snapshot's name is skipped as damaged, never allocated.
    Result<log::SnapshotFileCheck> check = log::check_snapshot_file(*env_, path);
    if (!check.ok() && check.status().code() == Errc::not_a_regular_file) continue;  // verify reports it
    if (!check.ok()) return check.status();
    if (check->error != format::SmallFileError::none) continue;
    Result<std::vector<std::byte>> bytes = io::read_whole_file(*env_, path, format::snapshot_file_max_bytes);
    if (!bytes.ok()) return bytes.status();
    format::SnapshotHeader header;
    std::span<const std::byte> state;
    if (format::decode_snapshot(*bytes, &header, &state) != format::SmallFileError::none ||
        header.lsn != lsn || header.store_id != store_id_)
      continue;  // damaged: an older one may still serve (recovery quarantines damaged ones)
    return Snapshot{lsn, std::vector<std::byte>(state.begin(), state.end())};
  }
  return Status(Errc::not_found, "no valid snapshot in " + snapshots);
}

}  // namespace segstore
