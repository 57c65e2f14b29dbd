// recovery/recover.cc — the recovery pass (recovery/recover.h, docs/RECOVERY.md): its look and
// plan phases, and run(). The apply phase is in recover_apply.cc; the pass's state in
// recovery_pass.h.
#include "recovery/recover.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <span>

#include "base/assert.h"
#include "base/log.h"
#include "base/try.h"
#include "format/store_dir.h"
#include "format/index_snapshot.h"
#include "format/layout.h"
#include "format/record.h"
#include "format/segment_header.h"
#include "io/aligned_buffer.h"
#include "log/store_files.h"
#include "recovery/recovery_pass.h"
#include "io/event_log.h"

namespace segstore::recovery {
namespace {

using format::join_path;
using format::numbered_name;

using format::snapshot_suffix;

bool ends_with(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Invariant of every cut or repair inside a segment (@B/@C/@H/@I/@J): the offset lies among
// the segment's record bytes and on a record boundary, so the bytes before it are whole
// records and zeroing from it never touches the header block or reads past the file.
void assert_record_boundary(const SegmentFile &seg, std::uint64_t offset, const char *row) {
  SEGSTORE_ASSERT(offset >= format::segment_data_offset_bytes && offset <= seg.limit &&
                      offset % format::record_alignment_bytes == 0,
                  std::string(row) + " in " + seg.name + " at offset " + std::to_string(offset) +
                      ": not a record boundary inside its " + std::to_string(seg.limit) + " bytes");
}

// Invariant of every segment kept after a scan (@A/@H, and the prefix a cut keeps): its records
// end on a record boundary inside the file, and they are the LSNs [base, end_lsn) exactly, so
// the next segment or the engine's next append continues at end_lsn.
void assert_kept_prefix(const SegmentFile &seg, const KeptSegment &kept, std::uint64_t end_lsn, const char *row) {
  assert_record_boundary(seg, kept.end_offset, row);
  SEGSTORE_ASSERT(seg.header.base_lsn + kept.record_count == end_lsn,
                  std::string(row) + " keeps " + std::to_string(kept.record_count) + " records of " + seg.name +
                      " from LSN " + std::to_string(seg.header.base_lsn) + ", which do not end at LSN " +
                      std::to_string(end_lsn));
}

// Invariant of bytes taken to quarantine from a cut or repair (@B/@C/@H/@I/@J): they start at
// the cut and end inside the file.
void assert_survey_in_file(const SegmentFile &seg, std::uint64_t from, const log::TailSurvey &survey) {
  SEGSTORE_ASSERT(survey.nonzero_end >= from && survey.nonzero_end <= seg.limit,
                  "bytes taken from " + seg.name + " end at " + std::to_string(survey.nonzero_end) +
                      ", outside [" + std::to_string(from) + ", " + std::to_string(seg.limit) + "]");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// look

Status RecoveryPass::list_directory() {
  Result<std::vector<std::string>> names = env_.list_dir(dir_);
  if (!names.ok()) return names.status();
  std::vector<std::uint64_t> segment_ids;
  std::vector<std::uint64_t> below_min_ids;
  for (const std::string &name : *names) {
    const log::StoreName classified = log::classify_store_name(name);
    switch (classified.kind) {
      case log::StoreNameKind::id_out_of_range:
        // Not a file the writer made, and counting it would make the next id wrap.
        note("@R " + name + " left alone: its id lies above the largest segment id " +
             std::to_string(format::segment_id_max) + " (not a file segstore made)");
        break;
      case log::StoreNameKind::segment:
        max_id_seen_ = std::max(max_id_seen_, classified.id);
        (classified.id >= meta_.min_segment_id ? segment_ids : below_min_ids).push_back(classified.id);
        break;
      case log::StoreNameKind::index:
        max_id_seen_ = std::max(max_id_seen_, classified.id);
        if (classified.id >= meta_.min_segment_id) {
          index_ids_.push_back(classified.id);
          break;
        }
        removals_.push_back(format::join_path(dir_, name));
        removal_notes_.push_back("@L removed " + name + ": below META's min_segment_id");
        break;
      case log::StoreNameKind::free: {
        // Holds no record of the log; its id is one no new segment may take (store_dir.h).
        max_id_seen_ = std::max(max_id_seen_, classified.id);
        const std::string path = format::join_path(dir_, name);
        Result<io::FileKind> kind = env_.file_kind(path);
        if (!kind.ok()) return kind.status();
        // Only a regular file is ever reused (never a link, a FIFO or a directory).
        if (*kind == io::FileKind::regular)
          free_files_.push_back(path);
        else
          note("@R " + name + " left alone: not a regular file");
        break;
      }
      case log::StoreNameKind::temp:
        removals_.push_back(format::join_path(dir_, name));
        removal_notes_.push_back("@R removed leftover temporary file " + name);
        break;
      case log::StoreNameKind::truncate:
        SEGSTORE_TRY(read_truncate_intent());
        break;
      case log::StoreNameKind::unknown:
        note("@R unknown file " + name + " left alone");
        break;
      case log::StoreNameKind::meta:
      case log::StoreNameKind::lock:
      case log::StoreNameKind::clean:
      case log::StoreNameKind::events:
      case log::StoreNameKind::app_meta:
      case log::StoreNameKind::snapshots_dir:
      case log::StoreNameKind::quarantine_dir:
        break;
    }
  }
  std::sort(segment_ids.begin(), segment_ids.end());
  for (std::uint64_t idx : index_ids_) {
    if (std::binary_search(segment_ids.begin(), segment_ids.end(), idx)) continue;
    const std::string name = format::numbered_name(idx, format::index_suffix);
    removals_.push_back(format::join_path(dir_, name));
    removal_notes_.push_back("@R removed " + name + ": its segment does not exist");
  }
  std::sort(below_min_ids.begin(), below_min_ids.end());
  // Segments below min_segment_id are judged against the first segment's real header, and an
  // interrupted truncate_after against real records: both are crash leftovers, opened in full.
  const bool may_defer = clean_marker_valid_ && !options_.verify_on_open && below_min_ids.empty() && truncate_cut_ == 0;
  SEGSTORE_TRY(open_segments(segment_ids, may_defer));
  report_.segments_checked = files_.size();
  SEGSTORE_TRY(judge_below_min(below_min_ids));
  return check_unused_tail();
}

// @U: a TRUNCATE file is the intent of a truncate_after that a crash interrupted: the records
// from its cut LSN on were being removed, so none of them proves how far the log reached (the
// cut block's rewrite may have torn, leaving records after a hole), and the engine finishes the
// cut at open. One that does not decode, or names another store, is noted and not used: it is
// written atomically, so it is not an interrupted write of segstore's.
Status RecoveryPass::read_truncate_intent() {
  const std::string path = format::join_path(dir_, format::truncate_file_name);
  Result<std::vector<std::byte>> bytes = io::read_whole_file(env_, path, format::small_file_read_max_bytes);
  if (!bytes.ok()) return bytes.status();
  format::TruncateFile intent;
  const format::SmallFileError error = format::decode_truncate(*bytes, &intent);
  if (error != format::SmallFileError::none || intent.store_id != meta_.store_id) {
    note(std::string("@U ") + format::truncate_file_name + " ignored: " +
         (error != format::SmallFileError::none ? format::small_file_error_name(error) : "another store's id"));
    return Status();
  }
  truncate_cut_ = intent.cut_lsn;
  note(std::string("@U ") + format::truncate_file_name + ": a truncate_after removing LSN " +
       std::to_string(intent.cut_lsn) + " and later was interrupted: those records prove no loss; the open finishes it");
  return Status();
}

// @L: segments below META's min_segment_id are what an interrupted trim or reset left to delete.
// One field's word is not enough to delete records, though (a damaged or forged META naming an
// id above every segment would take the whole log): a segment is removed only when its records
// provably all lie below META's first LSN — the next segment (by id) starts at or below it, as
// after a trim, which deletes whole segments below its point — or when it holds no record
// (block 0 all zero). Any other is moved to quarantine with the reason, and its records count as
// evidence of how far the log reached (prove_tail_loss).
// After a reset (META's reset flag) no such judgement applies: a reset may restart the log below
// LSNs the old segments hold, and it discarded them all, so they are removed as they are.
Status RecoveryPass::judge_below_min(const std::vector<std::uint64_t> &ids) {
  if (meta_.discarded_by_reset) {
    for (std::uint64_t id : ids) {
      const std::string name = format::numbered_name(id, format::segment_suffix);
      removals_.push_back(format::join_path(dir_, name));
      removal_notes_.push_back("@L removed " + name + ": its id is below META's min_segment_id " +
                               std::to_string(meta_.min_segment_id) + " (a reset was interrupted)");
    }
    return Status();
  }
  below_min_.reserve(ids.size());
  for (std::uint64_t id : ids) {
    Result<SegmentFile> seg = open_segment_file(env_, dir_, id, meta_.store_id);
    if (!seg.ok()) return seg.status();
    below_min_.push_back(std::move(*seg));
  }
  for (std::size_t i = 0; i < below_min_.size(); ++i) {
    SegmentFile &seg = below_min_[i];
    const SegmentFile *next = i + 1 < below_min_.size() ? &below_min_[i + 1] : (files_.empty() ? nullptr : &files_[0]);
    const bool ends_below_first = seg.header_decoded && next != nullptr && next->state == FileState::used &&
                                  next->header.base_lsn <= meta_.first_lsn;
    Result<std::uint64_t> nonzero = log::find_nonzero(*seg.file, 0, seg.file_bytes, &report_.bytes_scanned);
    if (!nonzero.ok()) return nonzero.status();
    const bool holds_nothing = *nonzero == seg.file_bytes;
    if (ends_below_first || holds_nothing) {
      // @L removes a segment on two grounds only: its records all lie below META's first LSN
      // (the next segment starts at or below it), or it holds no byte.
      SEGSTORE_ASSERT(seg.id < meta_.min_segment_id && (holds_nothing || next->header.base_lsn <= meta_.first_lsn),
                      "@L would remove " + seg.name + " without proof that it holds nothing of the log");
      seg.file.reset();
      removals_.push_back(seg.path);
      removal_notes_.push_back("@L removed " + seg.name + ": its id is below META's min_segment_id " +
                               std::to_string(meta_.min_segment_id) + " (a trim or reset was interrupted)");
      continue;
    }
    std::string why = "@L " + seg.name + " has an id below META's min_segment_id " +
                      std::to_string(meta_.min_segment_id) + " but ";
    why += seg.header_decoded ? "may hold records at or past META's first LSN " + std::to_string(meta_.first_lsn) +
                                    " (nothing shows it ends below it): not deleted on META's word"
                              : "holds data (" + seg.bad.to_string() + "): not deleted on META's word";
    moved_.push_back({seg.path, seg.name, seg.file_bytes, why,
                      seg.header_decoded ? "LSN " + std::to_string(seg.header.base_lsn) + ".." : "", "", &seg.file});
  }
  return Status();
}

// A segment is reused (@K) only if it is entirely zero. Block 0 zero with data after it is a
// segment whose first write lost its header block while later blocks landed (or whose header
// block was zeroed): reactivated at the same base LSN, its old records would continue the new
// log. It is damage (@D), cut away like a bad header. After a clean close no segment can be in
// that state (every activated segment's header was durable), so the check is skipped then.
Status RecoveryPass::check_unused_tail() {
  if (clean_marker_valid_ && !options_.verify_on_open) return Status();
  for (std::size_t i = files_.size(); i-- > 0 && files_[i].state == FileState::unused;) {
    SegmentFile &f = files_[i];
    if (f.spare) continue;  // a previous life's bytes follow its header: never reused as zeros
    Result<std::uint64_t> nonzero = log::find_nonzero(*f.file, 0, f.file_bytes, &report_.bytes_scanned);
    if (!nonzero.ok()) return nonzero.status();
    if (*nonzero == f.file_bytes) continue;
    f.state = FileState::bad;
    f.bad.reason = CutReason::segment_header_damaged;
    f.bad.header_error = format::SegmentHeaderError::unused;
    f.bad.detail = "block 0 is all zero but the file holds data at offset " + std::to_string(*nonzero);
  }
  return Status();
}

Status RecoveryPass::open_segment(std::uint64_t id) {
  Result<SegmentFile> seg = open_segment_file(env_, dir_, id, meta_.store_id);
  if (!seg.ok()) return seg.status();
  files_.push_back(std::move(*seg));
  return Status();
}

// Opens the files left deferred: a damaged or unused file among the segments makes this open
// one that may cut, quarantine or prove a loss, and those decisions read real headers only.
Status RecoveryPass::open_deferred(std::span<SegmentFile> files) {
  for (SegmentFile &f : files) {
    if (!f.deferred) continue;
    Result<SegmentFile> seg = open_segment_file(env_, dir_, f.id, meta_.store_id);
    if (!seg.ok()) return seg.status();
    f = std::move(*seg);
  }
  return Status();
}

// Opens the segment files (ascending ids) into files_. After a clean close (a valid CLEAN,
// without verify_on_open) only the newest files are opened: from the last id down through the
// first one whose header is used (the log's last segment; the ones after it are preallocated).
// Each older segment is left unopened (deferred) when its index snapshot's header vouches for it
// and its records end exactly where the next segment begins: the engine checks its block 0 at
// first use (docs/RECOVERY.md "Open after a clean close"). Anything unexpected (a damaged or
// unused file in the middle, a snapshot that does not join) turns deferral off for the older
// files: they are opened as after a crash, so every cut and proof sees real headers.
Status RecoveryPass::open_segments(const std::vector<std::uint64_t> &ids, bool may_defer) {
  files_.reserve(ids.size());
  if (!may_defer) {
    for (std::uint64_t id : ids) SEGSTORE_TRY(open_segment(id));
    return Status();
  }
  std::vector<SegmentFile> newest_first;
  newest_first.reserve(ids.size());
  enum class Phase { trailing, deferring, opening_all } phase = Phase::trailing;
  std::uint64_t next_base = 0;  // deferring: the base LSN of the segment after this one
  // The .idx names the listing found (index_ids_, in listing order): a segment without one is
  // never deferred, and no file_kind lookup is spent on it.
  std::vector<std::uint64_t> listed_indexes = index_ids_;
  std::sort(listed_indexes.begin(), listed_indexes.end());
  // Their headers, read together up front: one at a time, a store of thousands of sealed
  // segments spent four system calls per snapshot. A head not read here (nullopt) is read by
  // defer_segment_file itself, which meets the error.
  std::vector<std::string> index_names;
  index_names.reserve(listed_indexes.size());
  for (std::uint64_t id : listed_indexes) index_names.push_back(format::numbered_name(id, format::index_suffix));
  const std::vector<std::optional<std::vector<std::byte>>> index_heads =
      env_.read_heads(dir_, index_names, format::index_header_bytes);
  for (std::size_t i = ids.size(); i-- > 0;) {
    const auto listed = std::lower_bound(listed_indexes.begin(), listed_indexes.end(), ids[i]);
    if (phase == Phase::deferring && listed != listed_indexes.end() && *listed == ids[i]) {
      const std::optional<std::vector<std::byte>> &head = index_heads[listed - listed_indexes.begin()];
      Result<std::optional<SegmentFile>> deferred =
          defer_segment_file(env_, dir_, ids[i], meta_.store_id, next_base, head ? &*head : nullptr);
      if (!deferred.ok()) return deferred.status();
      if (deferred->has_value()) {
        next_base = (*deferred)->header.base_lsn;
        newest_first.push_back(std::move(**deferred));
        continue;
      }
    }
    Result<SegmentFile> seg = open_segment_file(env_, dir_, ids[i], meta_.store_id);
    if (!seg.ok()) return seg.status();
    if (seg->state == FileState::used && phase != Phase::opening_all) {
      phase = Phase::deferring;
      next_base = seg->header.base_lsn;
    } else if (seg->state == FileState::bad || (seg->state == FileState::unused && phase == Phase::deferring)) {
      phase = Phase::opening_all;
      SEGSTORE_TRY(open_deferred(newest_first));
    }
    newest_first.push_back(std::move(*seg));
  }
  for (std::size_t i = newest_first.size(); i-- > 0;) files_.push_back(std::move(newest_first[i]));
  return Status();
}

// Loads the whole index snapshot of the last segment, so its scan can start at end_offset.
Result<bool> RecoveryPass::load_index(const SegmentFile &seg, KeptSegment &kept) {
  Result<std::optional<LoadedIndex>> loaded = load_last_index(env_, seg, meta_.store_id);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->has_value()) return false;
  LoadedIndex &index = **loaded;
  report_.bytes_scanned += index.bytes_read;
  kept.index = std::move(index.index);
  kept.record_count = index.record_count;
  kept.end_offset = index.end_offset;
  return true;
}

// ---------------------------------------------------------------------------------------------
// plan

Status RecoveryPass::walk_segments() {
  const std::size_t n = files_.size();
  std::size_t first_bad = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (files_[i].state != FileState::unused) last_nonunused_ = i;
    if (files_[i].state == FileState::bad && first_bad == n) first_bad = i;
  }
  std::vector<std::size_t> chain;  // used segments before the first bad file
  for (std::size_t i = 0; i < first_bad; ++i)
    if (files_[i].state == FileState::used) chain.push_back(i);

  std::size_t previous = index_none;  // files_ index of the last kept segment
  std::uint64_t previous_end = 0;
  for (std::size_t k = 0; k < chain.size(); ++k) {
    SegmentFile &seg = files_[chain[k]];
    const std::size_t between_first = previous == index_none ? 0 : previous + 1;
    if (k == 0 && seg.header.base_lsn > meta_.first_lsn && chain[0] != 0) {
      // @E: the first segments' writes were lost (they read as never activated) while a later
      // segment's landed: the log keeps nothing past the hole.
      Finding finding;
      finding.reason = CutReason::lsn_gap;
      finding.file = seg.name;
      finding.detail = seg.name + " starts at LSN " + std::to_string(seg.header.base_lsn) + ", META's first LSN is " +
                       std::to_string(meta_.first_lsn) + " (an unused segment lies before it)";
      return plan_cut_at_file(0, chain[0], finding);
    }
    if (k == 0 && seg.header.base_lsn > meta_.first_lsn) {
      return Status(Errc::corruption,
                    "the log's first segment " + seg.path + " starts at LSN " + std::to_string(seg.header.base_lsn) +
                        " but META's first LSN is " + std::to_string(meta_.first_lsn) +
                        ": the segments holding the LSNs between are missing (@M; nothing was changed)");
    }
    if (k != 0) {
      const Join join = judge_join(previous_end, seg.header.base_lsn);
      if (join != Join::joins) {
        Finding finding;
        finding.reason = join == Join::gap ? CutReason::lsn_gap : CutReason::lsn_overlap;
        finding.file = seg.name;
        finding.detail = seg.name + " starts at LSN " + std::to_string(seg.header.base_lsn) + ", " +
                         files_[previous].name + " ends at LSN " + std::to_string(previous_end);
        if (chain[k] != between_first) finding.detail += " (an unused segment lies between them)";
        return plan_cut_at_file(between_first, chain[k], finding);
      }
    }
    // @F: unused files between joining segments hold no record of the log.
    for (std::size_t u = between_first; u < chain[k]; ++u) {
      // @F moves only files that hold no record: a used or damaged one here would be skipped.
      SEGSTORE_ASSERT(files_[u].state == FileState::unused, "@F would move " + files_[u].name + ", which is not unused");
      moved_.push_back({files_[u].path, files_[u].name, files_[u].file_bytes,
                        "@F unused segment between used ones (no record of the log)", "", "", &files_[u].file});
    }
    const std::uint64_t *next_base = k + 1 < chain.size() ? &files_[chain[k + 1]].header.base_lsn : nullptr;
    const bool cut_follows = k + 1 == chain.size() && first_bad != n;
    // Under verify_on_open every segment is scanned front to back: the next one's first windows
    // are read while this one's last are decoded (the device's queue does not drain between).
    if (options_.verify_on_open && k + 1 < chain.size()) follow_with(files_[chain[k + 1]]);
    bool stop = false;
    SEGSTORE_TRY(read_segment(seg, next_base, cut_follows, &stop));
    if (stop) return Status();
    previous = chain[k];
    previous_end = seg.header.base_lsn + kept_.back().record_count;
  }
  if (first_bad != n) {
    const std::size_t first_after = previous == index_none ? 0 : previous + 1;
    return plan_cut_at_file(first_after, first_bad, files_[first_bad].bad);
  }
  return Status();
}

// Decides how much of `seg` to read (@Q, @G), reads it, and judges its end (@A, @H, cuts).
Status RecoveryPass::read_segment(SegmentFile &seg, const std::uint64_t *next_base, bool cut_follows,
                                  bool *stop) {
  const bool sealed = next_base != nullptr;
  KeptSegment kept;
  kept.file = &seg;
  std::string distrust;
  Result<bool> trusted = trust_index_header(seg, next_base, cut_follows, kept, &distrust);
  if (!trusted.ok()) return trusted.status();
  if (*trusted) {
    kept_.push_back(std::move(kept));
    return Status();
  }
  Result<log::ScanResult> scanned = scan_records(seg, sealed, kept);
  if (!scanned.ok()) return scanned.status();
  kept.write_index = sealed || cut_follows;
  if (sealed && !distrust.empty())
    note("@G index snapshot of " + seg.name + " not trusted (" + distrust + "): segment scanned");
  return judge_scanned_end(seg, *scanned, next_base, std::move(kept), stop);
}

// @Q (the last segment after a clean close) and sealed segments: the index snapshot's header
// alone is trusted when it matches the segment, and nothing else of it is read (kept lazy).
// False, with why in *distrust, when the segment must be scanned.
Result<bool> RecoveryPass::trust_index_header(const SegmentFile &seg, const std::uint64_t *next_base,
                                              bool cut_follows, KeptSegment &kept, std::string *distrust) {
  const bool sealed = next_base != nullptr;
  // A deferred segment (never opened) was checked against this same rule with the same next
  // base when it was deferred (open_segments): every file around it is a used segment.
  SEGSTORE_ASSERT(!seg.deferred || (sealed && !options_.verify_on_open),
                  "deferred segment " + seg.name + " reached the walk unsealed or under verify_on_open");
  if (options_.verify_on_open || !(sealed || (clean_marker_valid_ && !cut_follows))) return false;
  Result<IndexProbe> probe = seg.deferred ? Result<IndexProbe>(seg.deferred_probe) : probe_index(env_, seg.index_path);
  if (!probe.ok()) return probe.status();
  std::optional<std::string> why = index_distrust(*probe, identity_of(seg), next_base);
  SEGSTORE_ASSERT(!seg.deferred || !why, "deferred segment " + seg.name + " no longer trusted: " + why.value_or(""));
  if (!why) {
    kept.lazy = true;
    kept.record_count = probe->header.record_count;
    kept.end_offset = probe->header.end_offset;
    return true;
  }
  *distrust = *why;
  if (!sealed) note("@Q CLEAN marker valid but the index snapshot of " + seg.name + " is not (" + *why + "): segment scanned");
  return false;
}

// The windows read ahead for the records scan, or nullptr when the env reads only synchronously.
// One set for the whole pass: its buffers serve every segment scanned.
log::WindowReads *RecoveryPass::window_reads() {
  if (!read_ahead_made_) {
    read_ahead_made_ = true;
    // The env's io_uring first (one SQE and one CQE per window, no thread hand-off), else its
    // worker threads.
    std::size_t depth = log::window_reads_thread_depth;
    read_ahead_ = env_.make_ring_read_ahead(static_cast<unsigned>(log::window_reads_ring_depth));
    if (read_ahead_ != nullptr) depth = log::window_reads_ring_depth;
    else read_ahead_ = env_.make_read_ahead(static_cast<unsigned>(depth));
    if (read_ahead_ != nullptr)
      window_reads_ = std::make_unique<log::WindowReads>(*read_ahead_, log::read_window_bytes, depth);
  }
  return window_reads_.get();
}

// Names `next` as the stream the window reads go on with after the current segment's (from its
// first record to its limit, as scan_records reads it).
void RecoveryPass::follow_with(const SegmentFile &next) {
  log::WindowReads *reads = window_reads();
  if (reads == nullptr || next.file == nullptr) return;
  reads->follow_with(*next.file, format::align_up(next.limit, format::block_size_bytes),
                     format::segment_data_offset_bytes);
}

// Scans the segment's records into kept: the last segment from its index snapshot's end when
// the snapshot still describes it (load_last_index), every other from its first record.
Result<log::ScanResult> RecoveryPass::scan_records(SegmentFile &seg, bool sealed, KeptSegment &kept) {
  log::ScanRequest request;
  request.file = seg.file.get();
  request.limit = seg.limit;
  request.base_lsn = seg.header.base_lsn;
  request.start_lsn = seg.header.base_lsn;
  request.record_seed = seg.record_seed();
  request.recycled = seg.header.recycled();
  std::uint64_t records_before = 0;
  if (!sealed && !options_.verify_on_open) {
    Result<bool> loaded = load_index(seg, kept);
    if (!loaded.ok()) return loaded.status();
    if (*loaded) {
      request.start_offset = kept.end_offset;
      request.start_lsn = seg.header.base_lsn + kept.record_count;
      records_before = kept.record_count;
    }
  }
  request.index = &kept.index;
  request.ahead = window_reads();
  Result<log::ScanResult> scanned = log::scan_segment(request);
  if (!scanned.ok()) return scanned.status();
  const log::ScanResult &scan = *scanned;
  report_.segments_scanned++;
  report_.records_recovered += scan.records;
  report_.bytes_scanned += scan.bytes_read;
  kept.record_count = records_before + scan.records;
  kept.end_offset = scan.end_offset;
  // Records after the snapshot's end: it no longer describes the segment. The engine either
  // appends to the segment (and would remove it) or seals it (and would keep a stale one).
  kept.stale_index = records_before != 0 && scan.records != 0;
  return scanned;
}

// What the scan's end means (recovery/cut_decision.h judge_segment_end): kept whole (@A), its
// tail after the last record repaired (@H), or the log cut inside it.
Status RecoveryPass::judge_scanned_end(SegmentFile &seg, const log::ScanResult &scan, const std::uint64_t *next_base,
                                       KeptSegment kept, bool *stop) {
  switch (judge_segment_end(scan, next_base)) {
    case SegmentEnd::keep:
      assert_kept_prefix(seg, kept, scan.next_lsn, "@A");
      // @A of a recycled segment: a sealed one's stale bytes stay (nothing is appended there).
      if (scan.stale_after_end && next_base == nullptr) {
        kept.zero_stale_tail = true;
        note("@A " + seg.name + " (recycled): its records end at offset " + std::to_string(scan.end_offset) +
             "; the bytes after them hold no record of this life and are zeroed before appends continue");
      }
      kept_.push_back(std::move(kept));
      return Status();
    case SegmentEnd::repair_tail:
      return plan_tail_repair(seg, scan, *next_base, std::move(kept));
    case SegmentEnd::cut:
      *stop = true;
      return plan_cut_inside(seg, scan, next_base != nullptr, std::move(kept));
  }
  return Status();
}

// @H: bytes after a sealed segment's last record that are not a record; the next segment starts
// where this one's records end, so no record is lost: they go to quarantine and are zeroed.
Status RecoveryPass::plan_tail_repair(SegmentFile &seg, const log::ScanResult &scan, std::uint64_t next_base,
                                      KeptSegment kept) {
  Result<log::TailSurvey> survey = log::survey_tail(*seg.file, scan.cut_offset, seg.limit, seg.header.base_lsn,
                                                           seg.record_seed(), seg.header.recycled());
  if (!survey.ok()) return survey.status();
  // @H: no record is lost only because the successor starts exactly where the records stop.
  SEGSTORE_ASSERT(scan.cut_lsn == next_base, "@H repair of " + seg.name + " at LSN " + std::to_string(scan.cut_lsn) +
                                                 " but the next segment starts at LSN " + std::to_string(next_base));
  assert_record_boundary(seg, scan.cut_offset, "@H");
  assert_survey_in_file(seg, scan.cut_offset, *survey);
  assert_kept_prefix(seg, kept, next_base, "@H");
  TailPiece piece{&seg, scan.cut_offset, *survey, finding_of_scan(scan, seg.name), scan.cut_lsn, kept_.size(), ""};
  note("@H " + piece.finding.to_string() + ": after the segment's last record (the next segment starts at LSN " +
       std::to_string(next_base) + "); " + std::to_string(survey->nonzero_end - scan.cut_offset) +
       " bytes moved to quarantine and zeroed, no record lost");
  pieces_.push_back(std::move(piece));
  kept.write_index = true;
  kept_.push_back(std::move(kept));
  return Status();
}

Status RecoveryPass::plan_cut_inside(SegmentFile &seg, const log::ScanResult &scan, bool sealed, KeptSegment kept) {
  Result<log::TailSurvey> survey = log::survey_tail(*seg.file, scan.cut_offset, seg.limit, seg.header.base_lsn,
                                                           seg.record_seed(), seg.header.recycled());
  if (!survey.ok()) return survey.status();
  CutPlan cut;
  cut.row = cut_row(scan, sealed);
  cut.finding = finding_of_scan(scan, seg.name);
  cut.file = seg.name;
  cut.offset = scan.cut_offset;
  cut.lsn = scan.cut_lsn;
  // @B/@C/@I/@J: the cut lies on a record boundary inside the file, the kept prefix ends at the
  // offset and the LSN the cut names, and the bytes taken start at the cut.
  const std::string row = row_label(cut.row);
  assert_record_boundary(seg, cut.offset, row.c_str());
  SEGSTORE_ASSERT(kept.end_offset == cut.offset, row + " in " + seg.name + ": the kept records end at " +
                                                     std::to_string(kept.end_offset) + ", the cut is at " +
                                                     std::to_string(cut.offset));
  assert_kept_prefix(seg, kept, cut.lsn, row.c_str());
  assert_survey_in_file(seg, cut.offset, *survey);
  cut_ = cut;
  const std::size_t index = static_cast<std::size_t>(&seg - files_.data());
  if (kept.record_count == 0) {
    // Nothing of it stays: move the whole file (a segment without records would share its
    // base LSN with the next segment the engine starts).
    moved_.push_back({seg.path, seg.name, seg.file_bytes, "the cut left it without a record",
                      "LSN " + std::to_string(scan.cut_lsn) + "..", "", &seg.file});
  } else {
    pieces_.push_back({&seg, scan.cut_offset, *survey, cut.finding, scan.cut_lsn, kept_.size(), ""});
    kept.write_index = true;
    kept_.push_back(std::move(kept));
  }
  SEGSTORE_TRY(move_later_files(index + 1, "after the cut in " + seg.name));
  return prove_loss(index + 1, &seg, &*survey);
}

Status RecoveryPass::plan_cut_at_file(std::size_t first_index, std::size_t bad_index, const Finding &finding) {
  CutPlan cut;
  const bool file_damaged = finding.reason == CutReason::segment_header_damaged ||
                            finding.reason == CutReason::store_id_mismatch ||
                            finding.reason == CutReason::segment_id_mismatch;
  cut.row = file_damaged ? Row::D : Row::E;
  cut.finding = finding;
  cut.file = files_[first_index].name;
  cut.offset = 0;
  cut.lsn = kept_.empty() ? meta_.first_lsn : kept_.back().file->header.base_lsn + kept_.back().record_count;
  // @D/@E: the cut is at offset 0 of the first file after the last kept segment, and the file
  // that caused it lies at or after that one.
  SEGSTORE_ASSERT(first_index <= bad_index && bad_index < files_.size(),
                  row_label(cut.row) + " cut from file " + std::to_string(first_index) + " for file " +
                      std::to_string(bad_index) + " of " + std::to_string(files_.size()));
  cut_ = cut;
  if (!kept_.empty()) kept_.back().write_index = true;  // closed: sealed from now on
  SEGSTORE_TRY(move_later_files(first_index, "from the cut at " + finding.file + " on"));
  // A damaged header may be a torn first write of the segment: its records (checked by their
  // own checksums) can still prove what the writer knew was durable.
  std::optional<log::TailSurvey> survey;
  const SegmentFile &bad = files_[bad_index];
  if (finding.reason == CutReason::segment_header_damaged && bad.file_bytes > format::segment_data_offset_bytes) {
    const std::uint64_t limit = std::min<std::uint64_t>(bad.file_bytes, format::segment_size_max_bytes);
    Result<log::TailSurvey> got = log::survey_tail(*bad.file, format::segment_data_offset_bytes, limit, cut.lsn,
                                                   bad.header_decoded ? bad.record_seed() : 0,
                                                   bad.header_decoded && bad.header.recycled());
    if (!got.ok()) return got.status();
    survey = *got;
  }
  return prove_loss(first_index, nullptr, survey ? &*survey : nullptr);
}

Status RecoveryPass::move_later_files(std::size_t first_index, const std::string &why) {
  // After a clean close the files from the cut on may have been left unopened: the move and the
  // proof of loss that follows it read their real headers and sizes.
  SEGSTORE_TRY(open_deferred(std::span<SegmentFile>(files_).subspan(first_index)));
  // Trailing unused segments are not part of any log: they stay for reuse (@K).
  const std::size_t end = last_nonunused_ == index_none ? 0 : last_nonunused_ + 1;
  // A moved file is not also kept: every kept segment lies before the first file moved (kept_
  // ascends with files_).
  SEGSTORE_ASSERT(first_index >= end || kept_.empty() || kept_.back().file < &files_[first_index],
                  "kept segment " + (kept_.empty() ? std::string() : kept_.back().file->name) +
                      " would also be moved from file " + std::to_string(first_index) + " on");
  for (std::size_t i = first_index; i < end; ++i) {
    SegmentFile &f = files_[i];
    std::string lsn_text;
    if (f.header_decoded) lsn_text = "LSN " + std::to_string(f.header.base_lsn) + "..";
    std::string reason = why;
    if (f.state == FileState::bad) reason += "; " + f.bad.to_string();
    moved_.push_back({f.path, f.name, f.file_bytes, reason, lsn_text, "", &f.file});
  }
  return Status();
}

// The end (base_lsn + record_count) of what `f`'s index snapshot covers, if the snapshot is whole
// and is `f`'s own (its id, this store, its base LSN when the segment header says one): the
// engine writes one only once those records are durable, so every LSN below it was acknowledged.
Result<std::optional<std::uint64_t>> RecoveryPass::index_covers(const SegmentFile &f) {
  Result<IndexProbe> probe = probe_index(env_, f.index_path);
  if (!probe.ok()) return probe.status();
  const format::IndexHeader &h = probe->header;
  if (!probe->present || probe->error != format::IndexError::none || h.segment_id != f.id ||
      h.store_id != meta_.store_id || (f.header_decoded && h.base_lsn != f.header.base_lsn))
    return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(h.base_lsn + h.record_count);
}

// @C: what proves that the cut hit records acknowledged as durable. Sound proofs only:
// a record header's lsn - durable_lag (the writer's durable LSN when it encoded the record),
// and an index snapshot (the engine writes one only after all of the segment's records are
// durable; recovery only after syncing the segment).
Status RecoveryPass::prove_loss(std::size_t first_later_index, const SegmentFile *cut_segment,
                                const log::TailSurvey *survey) {
  LossProof proof(cut_->lsn);
  if (truncate_cut_ != 0) proof.limit_to(truncate_cut_);
  if (survey != nullptr && survey->headers_found != 0)
    proof.add(survey->durable_end_max, "a record after the damage says LSNs below " +
                                           std::to_string(survey->durable_end_max) + " were durable");
  std::vector<const SegmentFile *> witnesses;
  if (cut_segment != nullptr) witnesses.push_back(cut_segment);
  for (std::size_t i = first_later_index; i < files_.size(); ++i) witnesses.push_back(&files_[i]);
  for (const SegmentFile *f : witnesses) {
    Result<std::optional<std::uint64_t>> covered = index_covers(*f);
    if (!covered.ok()) return covered.status();
    if (*covered)
      proof.add(**covered, "the index snapshot of " + f->name + " covers LSNs below " + std::to_string(**covered));
    if (f == cut_segment || f->state != FileState::used || f->limit < 2 * format::block_size_bytes) continue;
    // The first record of a later segment: what the writer knew was durable when it began it.
    io::AlignedBuffer block(format::block_size_bytes);
    Result<std::size_t> got = log::read_blocks(*f->file, format::segment_data_offset_bytes, block, block.size());
    if (!got.ok()) return got.status();
    format::RecordHeader header;
    if (format::decode_record_header(std::span<const std::byte>(block.data(), *got), &header, f->record_seed()) ==
            format::RecordError::none &&
        header.type != format::RecordType::padding && header.lsn == f->header.base_lsn &&
        header.durable_lag <= header.lsn)
      proof.add(header.lsn - header.durable_lag, "the first record of " + f->name + " says LSNs below " +
                                                     std::to_string(header.lsn - header.durable_lag) + " were durable");
  }
  loss_ = proof;
  if (cut_->row == Row::B && proof.lost()) cut_->row = Row::C;
  return Status();
}

void RecoveryPass::plan_unused_tail() {
  const std::size_t first = last_nonunused_ == index_none ? 0 : last_nonunused_ + 1;
  for (std::size_t i = first; i < files_.size(); ++i) {
    SegmentFile &f = files_[i];
    const bool reusable = f.file_bytes % format::block_size_bytes == 0 &&
                          f.file_bytes >= format::segment_size_min_bytes &&
                          f.file_bytes <= format::segment_size_max_bytes;
    // @K: only the trailing files that hold no record are reused or removed.
    SEGSTORE_ASSERT(f.state == FileState::unused, "@K would reuse or remove " + f.name + ", which is not unused");
    if (f.spare) {
      // Its next life gets another id: records a crashed activation left in it never decode.
      spares_freed_.push_back(&f);
      note("@K " + f.name + " is a recycled spare never activated: returned to the free files");
      continue;
    }
    if (unused_ == nullptr && reusable) {
      unused_ = &f;
      continue;
    }
    unused_removed_.push_back(&f);
    note("@K removed " + f.name + (reusable ? ": a second preallocated segment"
                                            : ": an unfinished preallocation (" + std::to_string(f.file_bytes) + " bytes)"));
  }
}

std::uint64_t RecoveryPass::planned_next_lsn() const {
  if (!kept_.empty()) return kept_.back().file->header.base_lsn + kept_.back().record_count;
  if (cut_) return std::max(cut_->lsn, meta_.first_lsn);
  return meta_.first_lsn;
}

// @P: a snapshot at or past the new end includes records the log no longer has.
Status RecoveryPass::plan_snapshots() {
  snapshots_dir_ = format::join_path(dir_, format::snapshots_dir_name);
  Result<io::FileKind> kind = env_.file_kind(snapshots_dir_);
  if (!kind.ok()) return kind.status();
  if (*kind != io::FileKind::directory) return Status();
  Result<std::vector<std::string>> names = env_.list_dir(snapshots_dir_);
  if (!names.ok()) return names.status();
  const std::uint64_t next_lsn = planned_next_lsn();
  for (const std::string &name : *names) {
    const std::string path = format::join_path(snapshots_dir_, name);
    if (ends_with(name, format::temp_suffix)) {
      removals_.push_back(path);
      removal_notes_.push_back("@R removed leftover temporary file snapshots/" + name);
      snapshots_touched_ = true;
      continue;
    }
    // The name decides, as it does for the engine looking for the newest snapshot; the file's
    // own header is checked by whoever reads it.
    std::optional<std::uint64_t> lsn = format::parse_numbered_name(name, snapshot_suffix);
    if (!lsn || *lsn < next_lsn) continue;
    // @P: a snapshot moved holds state past the log's end; every kept record lies below it.
    SEGSTORE_ASSERT(kept_.empty() || kept_.back().file->header.base_lsn + kept_.back().record_count <= *lsn,
                    "@P would move snapshot " + name + " of a kept LSN");
    Result<std::unique_ptr<io::File>> file = env_.open_file(path, io::OpenFlags{});
    if (!file.ok()) return file.status();
    Result<std::uint64_t> size = (*file)->size();
    if (!size.ok()) return size.status();
    moved_.push_back({path, name, *size, "@P snapshot of LSN " + std::to_string(*lsn) +
                                             " is past the log's end (next LSN " + std::to_string(next_lsn) + ")",
                      "", "", nullptr});
    snapshots_touched_ = true;
  }
  return Status();
}

// Acknowledged records missing from the log's end, whether or not the scan cut anything: the
// scan may end cleanly at a block of zeros (a lost or zeroed write, a truncated file) where the
// log went on. Every piece of durable evidence of how far the log reached is checked against
// the end the scan found (docs/RECOVERY.md, "Acknowledged data lost"):
//   - CLEAN's next LSN (written at a clean close, after everything was durable);
//   - the last kept segment's index snapshot (written only once its records were durable);
//   - META's first LSN, when the log now ends below it (a trim made its LSNs durable first).
// An application snapshot past the end is not evidence: truncate_after and reset_to move such
// snapshots to quarantine only after the log change is durable, so a crash in between leaves
// one past a log that was cut on purpose (@P moves it). A cut already proved what it could
// (prove_loss); this adds to the same proof.
Status RecoveryPass::prove_tail_loss() {
  const std::uint64_t end = planned_next_lsn();
  if (!loss_) loss_.emplace(end);
  LossProof &proof = *loss_;
  if (truncate_cut_ != 0) proof.limit_to(truncate_cut_);
  if (clean_next_lsn_ > end)
    proof.add(clean_next_lsn_, "CLEAN (written at the last clean close) says the log reached LSN " +
                                   std::to_string(clean_next_lsn_ - 1));
  for (const SegmentFile &seg : below_min_) {
    if (!seg.file || seg.state != FileState::used) continue;  // removed, or not provably ours
    Result<std::optional<std::uint64_t>> covered = index_covers(seg);
    if (!covered.ok()) return covered.status();
    if (*covered && **covered > end)
      proof.add(**covered, "the index snapshot of " + seg.name + " (set aside: below META's min_segment_id) covers "
                           "LSNs below " + std::to_string(**covered));
  }
  if (!kept_.empty()) {
    const SegmentFile &last = *kept_.back().file;
    Result<std::optional<std::uint64_t>> covered = index_covers(last);
    if (!covered.ok()) return covered.status();
    if (*covered && **covered > end)
      proof.add(**covered, "the index snapshot of " + last.name + " covers LSNs below " + std::to_string(**covered));
    if (meta_.first_lsn > end)
      proof.add(meta_.first_lsn, "META's first LSN is " + std::to_string(meta_.first_lsn) +
                                     " (a trim made every LSN below it durable first)");
  }
  if (cut_ && cut_->row == Row::B && proof.lost()) cut_->row = Row::C;
  plan_loss_record();
  return Status();
}

// What META records about unaccepted loss after this pass: the loss proven now joined to one
// recorded earlier and not yet accepted; nothing once the operator accepts (accept_data_loss).
void RecoveryPass::plan_loss_record() {
  meta_lost_first_ = meta_.lost_lsn_first;
  meta_lost_end_ = meta_.lost_lsn_end;
  if (loss_ && loss_->lost()) {
    const std::uint64_t first = loss_->lost_first(), end = loss_->lost_last() + 1;
    meta_lost_first_ = meta_lost_end_ == 0 ? first : std::min(meta_lost_first_, first);
    meta_lost_end_ = std::max(meta_lost_end_, end);
  }
  if (options_.accept_data_loss) meta_lost_first_ = meta_lost_end_ = 0;
  SEGSTORE_ASSERT(meta_lost_end_ == 0 ? meta_lost_first_ == 0 : meta_lost_first_ < meta_lost_end_,
                  "a recorded loss is a non-empty range: [" + std::to_string(meta_lost_first_) + ", " +
                      std::to_string(meta_lost_end_) + ")");
  meta_loss_changes_ = meta_lost_first_ != meta_.lost_lsn_first || meta_lost_end_ != meta_.lost_lsn_end;
}

Status RecoveryPass::refuse_if_strict() const {
  if (!options_.strict_recovery) return Status();
  if (loss_ && loss_->lost() && !meta_.has_unaccepted_loss())
    return Status(Errc::recovery_required,
                  "acknowledged records LSN " + std::to_string(loss_->lost_first()) + ".." +
                      std::to_string(loss_->lost_last()) + " are missing from " + dir_ + " (" + loss_->evidence() +
                      "); nothing was changed (strict_recovery)");
  if (cut_)
    return Status(Errc::recovery_required,
                  "recovery would cut the log in " + format::join_path(dir_, cut_->file) + " at offset " +
                      std::to_string(cut_->offset) + " (first LSN cut " + std::to_string(cut_->lsn) + "): " +
                      cut_->finding.to_string() + "; nothing was changed (strict_recovery)");
  if (!pieces_.empty())
    return Status(Errc::recovery_required, "recovery would move damaged bytes of " + pieces_.front().file->path +
                                               " to quarantine: " + pieces_.front().finding.to_string() +
                                               "; nothing was changed (strict_recovery)");
  if (!moved_.empty())
    return Status(Errc::recovery_required, "recovery would move " + moved_.front().path + " to quarantine (" +
                                               moved_.front().why + "); nothing was changed (strict_recovery)");
  return Status();
}

// The report's loss: proven by this pass, or recorded by an earlier one and still not accepted
// (so every open and every `segstore recover` says so until an operator decides).
void RecoveryPass::report_loss() {
  const bool proven = loss_ && loss_->lost();
  if (!proven && !meta_.has_unaccepted_loss()) return;
  report_.acknowledged_data_lost = true;
  if (proven) {
    report_.lost_lsn_first = loss_->lost_first();
    report_.lost_lsn_last = loss_->lost_last();
    report_.loss_evidence = loss_->evidence();
  }
  if (meta_.has_unaccepted_loss()) {
    report_.lost_lsn_first = proven ? std::min(report_.lost_lsn_first, meta_.lost_lsn_first) : meta_.lost_lsn_first;
    report_.lost_lsn_last = std::max(report_.lost_lsn_last, meta_.lost_lsn_end - 1);
    if (report_.loss_evidence.empty()) report_.loss_evidence = "recorded in META by an earlier recovery";
  }
  report_.loss_accepted = options_.accept_data_loss;
  if (report_.loss_accepted)
    note("the loss of LSNs " + std::to_string(report_.lost_lsn_first) + ".." + std::to_string(report_.lost_lsn_last) +
         " was accepted (accept_data_loss): writes continue at LSN " + std::to_string(planned_next_lsn()) +
         ", so those LSNs are handed out again");
}

// The line of an interrupted cut is the only account of it once the cut segment is in
// quarantine/ (the next open may find a clean end and nothing to report, and the quarantine
// report may not be written yet), and the power may go before that open: fdatasync events.log.
// Best effort, like the line itself: the open fails with the error that interrupted it anyway.
void RecoveryPass::sync_events_log() {
  const std::string path = join_path(dir_, format::events_file_name);
  io::OpenFlags flags;
  flags.write = true;
  Result<std::unique_ptr<io::File>> file = env_.open_file(path, flags);
  const Status synced = file.ok() ? (*file)->sync_data() : file.status();
  if (!synced.ok())
    base::log(options_.logger, LogLevel::warning, "cannot sync " + path + ": " + synced.to_string());
}

Result<RecoveredLog> RecoveryPass::run() {
  const auto clock_start = std::chrono::steady_clock::now();
  report_ = RecoveryReport{};
  SEGSTORE_TRY(list_directory());
  SEGSTORE_TRY(walk_segments());
  // A walk that stopped early may leave the next segment's windows in flight: none outlives it.
  if (window_reads_) window_reads_->drain();
  plan_unused_tail();
  SEGSTORE_TRY(plan_snapshots());
  SEGSTORE_TRY(prove_tail_loss());
  // @C/@T: a proven loss starts where the kept log ends (at or below the end when nothing is
  // kept): recovery never reports as lost a record it keeps, nor leaves a hole between the two.
  SEGSTORE_ASSERT(!loss_ || !loss_->lost() ||
                      (kept_.empty() ? loss_->lost_first() <= planned_next_lsn()
                                     : loss_->lost_first() == planned_next_lsn()),
                  "loss from LSN " + std::to_string(loss_ ? loss_->lost_first() : 0) + " but the kept log ends at " +
                      std::to_string(planned_next_lsn()));
  SEGSTORE_TRY(refuse_if_strict());
  if (Status applied = apply(); !applied.ok()) {
    // What was decided is on disk in part (quarantine/ may hold the cut bytes already): say so
    // in the store's log of events, as the report of an open that fails is lost otherwise.
    if (cut_) {
      io::append_event(env_, dir_, "recovery interrupted by " + applied.to_string() + " while cutting the log in " +
                                     cut_->file + " at offset " + std::to_string(cut_->offset) + " (first LSN cut " +
                                     std::to_string(cut_->lsn) + "): " + cut_->finding.to_string() +
                                     "; the next open completes it",
                           options_.logger);
      sync_events_log();
    }
    return applied;
  }
  if (cut_) {
    report_.cut = true;
    report_.cut_file = cut_->file;
    report_.cut_offset = cut_->offset;
    report_.cut_lsn = cut_->lsn;
    report_.cut_reason = cut_->finding.to_string();
  }
  report_loss();
  for (const MovedFile &m : moved_)
    if (!cut_ || m.why.rfind("@", 0) == 0) note(m.why + ": " + m.name + " moved to quarantine/" + m.quarantine_name);
  if (!report_file_.empty()) note("quarantine report: quarantine/" + report_file_);
  RecoveredLog log = build_log();
  // `ran` is false only when a valid CLEAN marker let every segment be trusted unread.
  report_.ran = !clean_marker_valid_ || report_.segments_scanned != 0 || report_.cut || report_.acknowledged_data_lost;
  report_.duration_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - clock_start).count());
  if (report_.cut || report_.acknowledged_data_lost)
    base::log(options_.logger, LogLevel::warning, "store " + dir_ + ": " + report_.to_string());
  if (report_.ran || report_.cut) io::append_event(env_, dir_, report_.to_string(), options_.logger);
  return log;
}

Result<RecoveredLog> recover_log(io::Env &env, const std::string &dir, const format::MetaFile &meta,
                                 bool clean_marker_valid, const Options &options,
                                 RecoveryReport *report, std::uint64_t clean_next_lsn) {
  RecoveryReport local;
  RecoveryPass pass(env, dir, meta, clean_marker_valid, clean_next_lsn, options, report != nullptr ? report : &local);
  return pass.run();
}

}  // namespace segstore::recovery
