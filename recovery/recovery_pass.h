// recovery/recovery_pass.h — the recovery pass's state: the facts it gathered and the plan it
// made. Internal to recovery/ (recover.h is the interface); split from recover.cc so that the
// look/plan phases (recover.cc) and the apply phase (recover_apply.cc) each fit a file.
//
// The pass runs in three phases, so that strict mode and I/O errors leave the directory as it
// was:
//   1. look  — list the directory, read every segment's block 0, the index snapshot headers
//              and, where needed, the segments' records (read only);
//   2. plan  — the decisions of recovery/cut_decision.h (what is kept, cut, quarantined);
//   3. apply — removals, quarantine (synced), new index snapshots, zeroing, directory syncs,
//              in the order that keeps every intermediate state recoverable.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "log/segment_index.h"
#include "format/small_files.h"
#include "io/env.h"
#include "recovery/cut_decision.h"
#include "recovery/recover.h"
#include "recovery/segment_files.h"
#include "log/segment_scan.h"
#include "log/window_reads.h"
#include "io/read_ahead.h"
#include "segstore/store.h"

namespace segstore::recovery {

inline constexpr std::size_t index_none = static_cast<std::size_t>(-1);

// A segment that stays in the log.
struct KeptSegment {
  SegmentFile *file = nullptr;
  std::uint64_t record_count = 0;
  std::uint64_t end_offset = 0;
  bool lazy = false;        // trusted through its index snapshot header; nothing else read
  log::SegmentIndex index;  // when !lazy
  bool write_index = false; // it is (or becomes) sealed and was read: (re)write its .idx
  bool stale_index = false; // the last segment grew past its .idx: remove it (unless rewritten)
  // The last segment is recycled and its records end before bytes that are not zero (a previous
  // life's, or a write of this life that never completed): [end_offset, limit) is zeroed before
  // the engine appends there, so no stale record of this life can follow the next ones.
  bool zero_stale_tail = false;
};

// Bytes cut out of a segment: the tail of a cut (@B/@C/@I/@J) or a repair (@H).
struct TailPiece {
  SegmentFile *file = nullptr;
  std::uint64_t from = 0;
  log::TailSurvey survey;  // survey.nonzero_end: one past the last byte taken
  Finding finding;
  std::uint64_t lsn_first = 0;
  std::size_t kept_index = index_none;  // the KeptSegment whose .idx is rewritten before zeroing
  std::string quarantine_name;
};

struct MovedFile {
  std::string path;
  std::string name;
  std::uint64_t bytes = 0;
  std::string why;
  std::string lsn_text;  // "LSN 200.." when the header said so
  std::string quarantine_name;
  std::shared_ptr<io::File> *handle = nullptr;  // a segment: closed before the rename; nullptr: a snapshot
};

struct CutPlan {
  Row row = Row::B;
  Finding finding;
  std::string file;  // the first file or segment cut
  std::uint64_t offset = 0;
  std::uint64_t lsn = 0;
};

class RecoveryPass {
 public:
  RecoveryPass(io::Env &env, const std::string &dir, const format::MetaFile &meta,
               bool clean_marker_valid, std::uint64_t clean_next_lsn, const Options &options,
               RecoveryReport *report)
      : env_(env), dir_(dir), meta_(meta), clean_marker_valid_(clean_marker_valid),
        clean_next_lsn_(clean_marker_valid ? clean_next_lsn : 0), options_(options), report_(*report) {}

  Result<RecoveredLog> run();

 private:
  // look
  Status list_directory();
  Status open_segment(std::uint64_t id);
  Status open_segments(const std::vector<std::uint64_t> &ids, bool may_defer);
  Status open_deferred(std::span<SegmentFile> files);
  Status judge_below_min(const std::vector<std::uint64_t> &ids);
  Status read_truncate_intent();
  Status check_unused_tail();
  Result<bool> load_index(const SegmentFile &seg, KeptSegment &kept);
  // plan
  Status walk_segments();
  Status read_segment(SegmentFile &seg, const std::uint64_t *next_base, bool cut_follows,
                      bool *stop);
  Result<bool> trust_index_header(const SegmentFile &seg, const std::uint64_t *next_base, bool cut_follows,
                                  KeptSegment &kept, std::string *distrust);
  Result<log::ScanResult> scan_records(SegmentFile &seg, bool sealed, KeptSegment &kept);
  log::WindowReads *window_reads();
  void follow_with(const SegmentFile &next);
  Status judge_scanned_end(SegmentFile &seg, const log::ScanResult &scan, const std::uint64_t *next_base,
                           KeptSegment kept, bool *stop);
  Status plan_tail_repair(SegmentFile &seg, const log::ScanResult &scan, std::uint64_t next_base, KeptSegment kept);
  Status plan_cut_inside(SegmentFile &seg, const log::ScanResult &scan, bool sealed, KeptSegment kept);
  Status plan_cut_at_file(std::size_t first_index, std::size_t bad_index, const Finding &finding);
  Status move_later_files(std::size_t first_index, const std::string &why);
  Status prove_loss(std::size_t first_later_index, const SegmentFile *cut_segment,
                    const log::TailSurvey *survey);
  void plan_unused_tail();
  Status plan_snapshots();
  Status prove_tail_loss();
  Result<std::optional<std::uint64_t>> index_covers(const SegmentFile &f);
  void plan_loss_record();
  std::uint64_t planned_next_lsn() const;
  Status refuse_if_strict() const;
  void report_loss();
  void sync_events_log();  // an interrupted cut's line, made durable (best effort)
  // apply
  Status apply();
  Status apply_removals();
  Status apply_quarantine();
  Status write_index(KeptSegment &kept);
  Status record_loss_in_meta();
  Status lower_first_lsn();
  std::string quarantine_report_text() const;
  RecoveredLog build_log();
  SegmentIdentity identity_of(const SegmentFile &seg) const { return segment_identity(seg, meta_.store_id); }
  void note(const std::string &text) { report_.notes.push_back(text); }

  io::Env &env_;
  const std::string dir_;
  const format::MetaFile meta_;
  const bool clean_marker_valid_;
  const std::uint64_t clean_next_lsn_;  // 0 without a valid CLEAN
  const Options &options_;
  RecoveryReport &report_;
  const std::time_t started_ = std::time(nullptr);

  // look
  std::vector<SegmentFile> files_;  // ids >= min_segment_id, ascending; never resized after look
  // ids < min_segment_id, ascending; file reset when removed, kept open when set aside (@L)
  std::vector<SegmentFile> below_min_;
  std::vector<std::string> removals_;  // paths removed in apply (temp, below min, orphan .idx)
  std::vector<std::string> removal_notes_;
  std::uint64_t max_id_seen_ = 0;
  std::vector<std::uint64_t> index_ids_;
  std::uint64_t truncate_cut_ = 0;  // an interrupted truncate_after's first LSN removed; 0: none
  // plan
  std::vector<KeptSegment> kept_;
  std::vector<TailPiece> pieces_;
  std::vector<MovedFile> moved_;
  std::vector<SegmentFile *> unused_removed_;
  std::vector<SegmentFile *> spares_freed_;  // trailing recycled spares, renamed to "<id>.free"
  std::vector<std::string> free_files_;      // "<id>.free" paths (listed, and spares_freed_ after apply)
  SegmentFile *unused_ = nullptr;
  std::optional<CutPlan> cut_;
  std::optional<LossProof> loss_;
  // What META says after apply about unaccepted loss (plan_loss_record): [first, end), end 0 = none.
  std::uint64_t meta_lost_first_ = 0;
  std::uint64_t meta_lost_end_ = 0;
  bool meta_loss_changes_ = false;  // the range differs from META's: rewritten in apply
  std::size_t last_nonunused_ = index_none;  // files_ index of the last file that is not unused
  std::string snapshots_dir_;
  bool snapshots_touched_ = false;
  std::string report_file_;
  std::uint64_t first_lsn_ = 0;  // META's first_lsn after apply (lower_first_lsn)
  // The records scan's windows read ahead (window_reads()): made at the first scan, when the
  // env has a read-ahead; null otherwise (the simulated disk: every read stays synchronous).
  // Declared in this order so the windows are waited for before the read-ahead is destroyed.
  std::unique_ptr<io::ReadAhead> read_ahead_;
  std::unique_ptr<log::WindowReads> window_reads_;
  bool read_ahead_made_ = false;
};

}  // namespace segstore::recovery
