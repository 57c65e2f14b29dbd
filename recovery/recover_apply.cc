// recovery/recover_apply.cc — the apply phase of the recovery pass (recovery/recovery_pass.h):
// removals, quarantine, index snapshots, zeroing, in the order docs/RECOVERY.md
// ("Crash-consistency rules") gives; and the RecoveredLog handed to the engine.
#include <algorithm>
#include <ctime>

#include "base/assert.h"
#include "base/try.h"
#include "format/store_dir.h"
#include "format/index_snapshot.h"
#include "format/layout.h"
#include "recovery/quarantine.h"
#include "recovery/recovery_pass.h"

namespace segstore::recovery {

using format::join_path;
using format::numbered_name;

// ---------------------------------------------------------------------------------------------
// apply

Status RecoveryPass::apply_removals() {
  bool store_dir_changed = false;
  for (SegmentFile *f : unused_removed_) removals_.push_back(f->path);
  for (SegmentFile *f : unused_removed_) f->file.reset();
  for (const std::string &path : removals_) {
    SEGSTORE_TRY(env_.remove(path));
    store_dir_changed = true;
  }
  for (SegmentFile *f : spares_freed_) {
    f->file.reset();
    const std::string free_path = join_path(dir_, numbered_name(f->id, format::free_suffix));
    SEGSTORE_TRY(env_.rename(f->path, free_path));
    free_files_.push_back(free_path);
    store_dir_changed = true;
  }
  for (const std::string &text : removal_notes_) note(text);
  if (store_dir_changed) SEGSTORE_TRY(env_.sync_dir(dir_));
  if (snapshots_touched_ && !removals_.empty()) SEGSTORE_TRY(env_.sync_dir(snapshots_dir_));
  return Status();
}

// Everything cut is durable in quarantine/ before anything in the log changes.
Status RecoveryPass::apply_quarantine() {
  if (pieces_.empty() && moved_.empty()) return Status();
  Quarantine quarantine(env_, dir_, utc_stamp(started_));
  SEGSTORE_TRY(quarantine.prepare());
  for (TailPiece &piece : pieces_) {
    Result<std::string> name =
        quarantine.copy_range(*piece.file->file, piece.file->name, piece.from, piece.survey.nonzero_end);
    if (!name.ok()) return name.status();
    piece.quarantine_name = *name;
  }
  for (MovedFile &m : moved_) {
    if (m.handle != nullptr) m.handle->reset();
    Result<std::string> name = quarantine.move_in(m.path, m.handle == nullptr ? "snapshot-" : "", m.name, m.bytes);
    if (!name.ok()) return name.status();
    m.quarantine_name = *name;
  }
  report_.bytes_quarantined = quarantine.bytes();
  report_.quarantine_dir = quarantine.dir();
  Result<std::string> report_name = quarantine.write_report(quarantine_report_text());
  if (!report_name.ok()) return report_name.status();
  report_file_ = *report_name;
  SEGSTORE_TRY(quarantine.sync());
  SEGSTORE_TRY(env_.sync_dir(dir_));
  if (snapshots_touched_) SEGSTORE_TRY(env_.sync_dir(snapshots_dir_));
  return Status();
}

// Writes kept.file's .idx from what the scan found, unless the file already holds those bytes.
// The segment is synced first: an index snapshot promises that its records are durable.
Status RecoveryPass::write_index(KeptSegment &kept) {
  SegmentFile &seg = *kept.file;
  format::IndexHeader header;
  header.format_version = format::format_version;
  header.segment_id = seg.id;
  header.base_lsn = seg.header.base_lsn;
  header.store_id = meta_.store_id;
  header.record_count = kept.record_count;
  header.end_offset = static_cast<std::uint32_t>(kept.end_offset);
  const std::vector<std::byte> bytes = format::encode_index_snapshot(header, kept.index.to_body());
  Result<io::FileKind> kind = env_.file_kind(seg.index_path);
  if (!kind.ok()) return kind.status();
  if (*kind == io::FileKind::regular) {
    Result<std::unique_ptr<io::File>> file = env_.open_file(seg.index_path, io::OpenFlags{});
    if (!file.ok()) return file.status();
    Result<std::uint64_t> size = (*file)->size();
    if (!size.ok()) return size.status();
    if (*size == bytes.size()) {
      std::vector<std::byte> existing(bytes.size());
      Result<std::size_t> got = (*file)->read_at(0, existing);
      if (!got.ok()) return got.status();
      if (*got == bytes.size() && existing == bytes) return Status();
    }
  }
  SEGSTORE_TRY(seg.file->sync_data());
  SEGSTORE_TRY(io::write_file_atomic(env_, seg.index_path, bytes));
  note("rewrote index snapshot " + format::numbered_name(seg.id, format::index_suffix) + " (" +
       std::to_string(kept.record_count) + " records, end offset " + std::to_string(kept.end_offset) + ")");
  return Status();
}

// A proven loss is recorded in META before anything else changes: the cut rewrites the cut
// segment's .idx and moves later segments away, and the engine deletes CLEAN after the open, so
// the evidence may be gone by the next open; META keeps the decision (writes refused until an
// operator accepts the loss) across a crash at any later point.
Status RecoveryPass::record_loss_in_meta() {
  if (!meta_loss_changes_ || meta_lost_end_ == 0) return Status();
  format::MetaFile meta = meta_;
  meta.lost_lsn_first = meta_lost_first_;
  meta.lost_lsn_end = meta_lost_end_;
  SEGSTORE_TRY(io::write_file_atomic(env_, format::join_path(dir_, format::meta_file_name), format::encode_meta(meta)));
  // That write went through META.tmp: it removed a leftover META.tmp (@R) first and renamed its
  // own. Removing the leftover again in apply_removals would find nothing and fail the open.
  std::erase(removals_, format::join_path(dir_, std::string(format::meta_file_name) + format::temp_suffix));
  note("recorded in META: acknowledged records LSN " + std::to_string(meta_lost_first_) + ".." +
       std::to_string(meta_lost_end_ - 1) +
       " are lost; writes are refused until the loss is accepted (segstore recover --accept-loss)");
  return Status();
}

Status RecoveryPass::apply() {
  SEGSTORE_TRY(record_loss_in_meta());
  SEGSTORE_TRY(apply_removals());
  SEGSTORE_TRY(apply_quarantine());
  // The cut segments: their new .idx first, then the zeros. In the other order a crash could
  // leave an old snapshot claiming records that are already zeroed; in this one the next
  // recovery scans from the new end_offset, finds the same damage and cuts the same bytes.
  for (TailPiece &piece : pieces_) {
    KeptSegment &kept = kept_[piece.kept_index];
    SEGSTORE_TRY(write_index(kept));
    kept.write_index = false;
    SEGSTORE_TRY(zero_segment_range(*piece.file->file, piece.from, piece.survey.nonzero_end));
  }
  // A recycled last segment's stale tail: zeroed (and synced) before the engine appends after it.
  for (KeptSegment &kept : kept_) {
    if (!kept.zero_stale_tail) continue;
    SEGSTORE_TRY(zero_segment_range(*kept.file->file, kept.end_offset, kept.file->limit));
    SEGSTORE_TRY(kept.file->file->sync_data());
  }
  bool removed_any = false;
  for (KeptSegment &kept : kept_) {
    if (kept.write_index && !kept.lazy) {
      SEGSTORE_TRY(write_index(kept));
    } else if (kept.stale_index) {
      SEGSTORE_TRY(env_.remove(kept.file->index_path));
      note("@Q removed the index snapshot of " + kept.file->name + ": records were appended after it");
      removed_any = true;
    }
  }
  // The moved segments' snapshots describe files that are not in the log any more.
  for (const MovedFile &m : moved_) {
    if (m.handle == nullptr) continue;
    const std::string index_path = format::join_path(dir_, format::numbered_name(*format::parse_numbered_name(m.name, format::segment_suffix),
                                                                 format::index_suffix));
    Result<io::FileKind> kind = env_.file_kind(index_path);
    if (!kind.ok()) return kind.status();
    if (*kind != io::FileKind::regular) continue;
    SEGSTORE_TRY(env_.remove(index_path));
    removed_any = true;
  }
  if (removed_any || !pieces_.empty()) SEGSTORE_TRY(env_.sync_dir(dir_));
  return lower_first_lsn();
}

// @S: the kept log ends below META's first_lsn when a cut (bit rot) or a power cut (a trim past
// the durable end) took records that a trim had kept. The engine then opens with
// first = next = the log's end, and appends from there; left in META, the higher first_lsn
// would make the next open start the log above those appends and drop them without a cut.
// META is rewritten (atomically) before the engine may append. With no segment kept, the
// engine starts at META's first_lsn instead (planned_next_lsn), and nothing is lowered.
// The same write clears a loss the operator accepted (accept_data_loss): last, once the log
// is in its final state, so a crash before it leaves the loss recorded and writes refused.
Status RecoveryPass::lower_first_lsn() {
  first_lsn_ = meta_.first_lsn;
  const std::uint64_t next_lsn = planned_next_lsn();
  const bool lower = !kept_.empty() && next_lsn < meta_.first_lsn;
  const bool accept = meta_loss_changes_ && meta_lost_end_ == 0;
  if (!lower && !accept) return Status();
  format::MetaFile meta = meta_;
  meta.lost_lsn_first = meta_lost_first_;
  meta.lost_lsn_end = meta_lost_end_;
  // @S: the lowered first LSN is the kept log's end, inside what the kept segments hold.
  SEGSTORE_ASSERT(!lower || (next_lsn >= kept_.front().file->header.base_lsn && next_lsn < meta_.first_lsn),
                  "@S would set META's first LSN to " + std::to_string(next_lsn) + " outside the kept log");
  if (lower) meta.first_lsn = next_lsn;
  SEGSTORE_TRY(io::write_file_atomic(env_, format::join_path(dir_, format::meta_file_name), format::encode_meta(meta)));
  if (accept) note("META no longer records a loss: the operator accepted it");
  if (!lower) return Status();
  first_lsn_ = next_lsn;
  note("@S META's first LSN lowered from " + std::to_string(meta_.first_lsn) + " to " + std::to_string(next_lsn) +
       ": the log now ends below the point a trim had kept");
  return Status();
}

std::string RecoveryPass::quarantine_report_text() const {
  std::string text = "segstore recovery quarantine report\n";
  char when[32];
  std::tm tm{};
  gmtime_r(&started_, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  text += std::string("time: ") + when + "\nstore: " + dir_ + "\n";
  if (cut_) {
    text += "cut: " + row_label(cut_->row) + " in " + cut_->file + " at offset " + std::to_string(cut_->offset) +
            ", first LSN cut " + std::to_string(cut_->lsn) + ", reason " + cut_->finding.to_string() + "\n";
    if (loss_ && loss_->lost())
      text += "acknowledged data lost: LSNs " + std::to_string(loss_->lost_first()) + ".." +
              std::to_string(loss_->lost_last()) + " (" + loss_->evidence() + ")\n";
    else
      text += "acknowledged data lost: not proven\n";
  } else {
    text += "cut: none (the log keeps every record)\n";
  }
  for (const TailPiece &p : pieces_) {
    text += p.quarantine_name + ": bytes " + std::to_string(p.from) + ".." + std::to_string(p.survey.nonzero_end) +
            " of " + p.file->name + " (" + std::to_string(p.survey.nonzero_end - p.from) + " bytes), LSN " +
            std::to_string(p.lsn_first) + "..";
    if (p.survey.headers_found != 0) text += std::to_string(p.survey.lsn_max_seen) + " (highest record header seen)";
    text += ", reason " + p.finding.to_string() + "\n";
  }
  for (const MovedFile &m : moved_) {
    text += m.quarantine_name + ": whole file " + m.name + " (" + std::to_string(m.bytes) + " bytes)";
    if (!m.lsn_text.empty()) text += ", " + m.lsn_text;
    text += ", reason " + m.why + "\n";
  }
  return text;
}

RecoveredLog RecoveryPass::build_log() {
  RecoveredLog log;
  log.truncate_cut_lsn = truncate_cut_;
  const bool closed = cut_.has_value() && !kept_.empty();
  for (std::size_t i = 0; i < kept_.size(); ++i) {
    KeptSegment &k = kept_[i];
    RecoveredSegment seg;
    seg.id = k.file->id;
    seg.base_lsn = k.file->header.base_lsn;
    seg.segment_bytes = k.file->header.segment_bytes;
    seg.created_unix_ms = k.file->header.created_unix_ms;
    seg.path = k.file->path;
    seg.file = k.file->file;
    seg.record_count = k.record_count;
    seg.end_offset = k.end_offset;
    seg.sealed = i + 1 < kept_.size() || closed;
    seg.index_path = k.file->index_path;
    seg.index_loaded = !k.lazy;
    seg.header_checked = !k.file->deferred;
    seg.record_seed = k.file->record_seed();
    seg.recycled = k.file->header.recycled();
    // A deferred segment is trusted through its snapshot alone (never read, never rewritten).
    SEGSTORE_ASSERT(!k.file->deferred || (k.lazy && seg.sealed), "deferred segment " + seg.path + " kept unsealed or read");
    if (!k.lazy) seg.index = std::move(k.index);
    log.segments.push_back(std::move(seg));
  }
  if (unused_ != nullptr) {
    RecoveredSegment seg;
    seg.id = unused_->id;
    seg.segment_bytes = unused_->file_bytes;
    seg.path = unused_->path;
    seg.file = unused_->file;
    seg.index_path = unused_->index_path;
    seg.index_loaded = true;  // nothing to load: the segment holds no record
    log.unused = std::move(seg);
  }
  // Invariant (recover.h): LSNs are dense across the kept segments, and the next append
  // continues where the last one ends.
  for (std::size_t i = 1; i < log.segments.size(); ++i)
    SEGSTORE_ASSERT(log.segments[i].base_lsn == log.segments[i - 1].end_lsn() && log.segments[i].id > log.segments[i - 1].id,
                    log.segments[i].path + " starts at LSN " + std::to_string(log.segments[i].base_lsn) + ", " +
                        log.segments[i - 1].path + " ends at LSN " + std::to_string(log.segments[i - 1].end_lsn()));
  log.next_lsn = planned_next_lsn();
  SEGSTORE_ASSERT(log.segments.empty() || log.next_lsn == log.segments.back().end_lsn(),
                  "the next LSN " + std::to_string(log.next_lsn) + " is not where the kept log ends (" +
                      std::to_string(log.segments.empty() ? 0 : log.segments.back().end_lsn()) + ")");
  log.first_lsn = first_lsn_;
  log.next_segment_id = std::max<std::uint64_t>({max_id_seen_ + 1, meta_.min_segment_id, 1});
  log.last_segment_closed = closed;
  log.free_files = free_files_;
  log.lost_lsn_first = meta_lost_first_;
  log.lost_lsn_end = meta_lost_end_;
  return log;
}

}  // namespace segstore::recovery
