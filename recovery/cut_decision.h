// recovery/cut_decision.h — the recovery decision: from what the pass found (segment headers,
// index snapshots, scan reports) to what is kept, what is cut, what goes to quarantine and
// what is reported. Every rule lives here, as a table and as small pure functions; recover.cc
// gathers the facts and carries the decisions out, segment_scan.h reads, quarantine.h moves.
//
// THE DECISION TABLE (docs/RECOVERY.md has the same table for operators; tests/recovery/
// recover_test.cc has a test named after each row). Segments are walked in id order; the
// first row that cuts ends the walk. "Quarantine" = copied or moved to quarantine/ and synced
// before any segment byte changes. "Closed" = the cut segment gets a fresh index snapshot and
// RecoveredLog::last_segment_closed, so the engine appends into a new segment (unless the
// closed segment holds no record: engine/store_open.cc appends into it).
//
//  row  what the pass found                          kept             quarantined / changed          reported
//  ---  -------------------------------------------  ---------------  -----------------------------  ---------------------
//  @A   last segment: a zero header, then only       every record     nothing                        cut=false
//       zeros to the segment end (or < 32 bytes
//       left, all zero): the clean end
//  @B   last segment: a bad record (any RecordError  records before   bytes from the cut offset to   cut, cut_file/offset/
//       but zero_header; or a zero header followed   the bad one      the last non-zero byte ->      lsn/reason;
//       by non-zero bytes) and nothing proves that                    <stamp>-<seg>-<offset>.bin,    acknowledged_data_lost
//       acknowledged records were lost: a torn tail                   then zeroed; segment closed;   = false
//                                                                     every later file moved
//  @C   as @B, and a proof of acknowledged loss:     as @B            as @B                          as @B, acknowledged_
//       a record after the damage (same segment)                                                     data_lost, lost_lsn_
//       passes its header checksum with lsn -                                                        first..last
//       durable_lag > cut_lsn; or an index snapshot
//       of this or a later segment (written only
//       once all its records were durable) covers
//       LSNs past the cut; or the first record of a
//       later segment has lsn - durable_lag > cut_lsn
//  @D   a segment file whose header is damaged       segments before  it and every later file moved  cut at offset 0 of it;
//       (magic, checksum, block size, reserved,      it; the one      whole; previous segment        loss as proven (@C)
//       segment size, shorter than a header), or     before closed    closed
//       whose store_id differs from META's, or
//       whose segment_id differs from its name, or
//       a trailing segment whose block 0 is zero
//       but which holds data after it (its first
//       write lost the header block)
//  @E   consecutive used segments whose LSNs do not  segments before  the later segment (and unused  cut at offset 0 of the
//       join (base_lsn != previous end: a missing    the gap          files before it) and every     first file moved,
//       segment, a gap, or an overlap); or unused                     later file moved               cut_lsn = previous end
//       files before the first used segment, which                                                   (META's first_lsn)
//       starts above META's first_lsn (the first
//       segments' writes were lost)
//  @F   an unused (all-zero block 0) segment between every record     the unused file moved; no cut  note
//       used ones whose LSNs join across it: it
//       holds no record of the log
//  @G   the index snapshot of a sealed segment is    every record     the segment is scanned and     note (why the snapshot
//       missing, damaged, or disagrees (ids,                          its .idx rewritten atomically  was not trusted)
//       base + count != next base, end_offset)
//  @H   damage after the last record of a sealed     every record     bytes from the damage to the   note; cut=false
//       segment whose successor starts exactly at                     last non-zero byte ->
//       the LSN where the scan stopped (a damaged                     quarantine, zeroed; its .idx
//       final padding, stray bytes in the zeros):                     rewritten; later segments
//       no LSN can be missing                                         untouched
//  @I   damage inside a sealed segment with LSNs     records before   as @B                          as @B/@C (its index
//       missing before the next segment's base                        (every later segment moved)    snapshot usually proves
//                                                                                                    the loss)
//  @J   the records end (cleanly or at damage)       records before   from the batch_first on, as    as @B/@C/@I, reason
//       inside an atomic batch (batch_last absent)   the batch        @B/@C/@I                       batch_incomplete or
//                                                                                                    the damage's
//  @K   entirely zero segments after the last used   first reused     the others removed (also any   note
//       one (preallocated, never activated; read     (RecoveredLog::  of invalid size: unfinished
//       whole to check, unless CLEAN is valid)       unused)          preallocation)
//  @L   segment ids below META's min_segment_id      -                removed with their .idx        note
//       (a trim or reset was interrupted)
//  @M   the first used segment starts above META's   -                nothing                        Errc::corruption
//       first_lsn and no file precedes it: the head
//       of the log is missing (deleted)
//  @N   an I/O error (open, read, write, sync), or   -                nothing more                   that error (io_error,
//       a segment header of an unsupported format                                                    permission_denied,
//       version                                                                                      no_space, unsupported_
//                                                                                                    version); never a cut
//  @O   strict_recovery, and a row that would        -                nothing                        Errc::recovery_required
//       quarantine (B C D E F H I J P) or a new @T                                                               naming file, offset,
//                                                                                                    LSN and reason
//  @P   an application snapshot with lsn >= the new  -                moved to quarantine            note
//       next_lsn (it includes records the log lost)
//  @T   the scan ends (cleanly or at a cut) below    every record     META records the lost range    acknowledged_data_lost,
//       what CLEAN's next_lsn, the last kept         found            first (before any other        lost_lsn_first..last,
//       segment's .idx or META's first_lsn says the                   change); the engine refuses    loss_evidence
//       log reached: acknowledged records are gone                    writes (data_loss) until
//       (a zeroed block, a truncated file)                            accept_data_loss clears it
//  @Q   which segments are read: sealed ones through their .idx header only (unless @G); the
//       last one from its .idx end_offset (from block 1 if no .idx matches, or if the records
//       from its last index entry do not end exactly at its end_offset: a tail zeroed after the
//       snapshot was written); with a valid CLEAN marker the last one's .idx is trusted too;
//       verify_on_open trusts no .idx at all
//  @R   leftover *.tmp removed; .idx without a segment removed; other unknown files noted, kept
//  @S   the kept log ends below META's first_lsn (a cut below the trim point, e.g. bit rot; or
//       a trim past the durable end by an older version, then a crash): META rewritten (atomically, last step of
//       apply) with first_lsn = the new end, so that the records appended next stay in the log
//       at the next open; note. With no segment kept the log restarts at META's first_lsn.
//
// A cut that leaves its segment without a record moves that whole file instead of copying and
// zeroing it (a segment without records would give two segments the same base LSN).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "format/index_snapshot.h"
#include "format/record.h"
#include "format/segment_header.h"
#include "log/segment_scan.h"

namespace segstore::recovery {

// Row labels of the table above (what tests and notes refer to).
enum class Row : char {
  A = 'A', B = 'B', C = 'C', D = 'D', E = 'E', F = 'F', G = 'G', H = 'H', I = 'I', J = 'J',
  K = 'K', L = 'L', M = 'M', N = 'N', O = 'O', P = 'P', Q = 'Q', R = 'R', S = 'S',
};
// "@B".
std::string row_label(Row row);

// Why the log is cut (or a tail repaired): the reason enum of "(where, how many bytes, why)".
enum class CutReason : std::uint8_t {
  record_damaged,             // a record fails its checks (detail: RecordError)
  nonzero_after_zero_header,  // a zero header followed by non-zero bytes
  nonzero_short_tail,         // fewer than a header's bytes left, not zero
  batch_incomplete,           // the records end inside an atomic batch
  batch_sequence,             // batch record types out of order
  segment_header_damaged,     // block 0 fails its checks (detail: SegmentHeaderError)
  segment_unused,             // an all-zero header between used segments, LSNs not joining
  store_id_mismatch,          // the segment belongs to another store
  segment_id_mismatch,        // the header's segment_id is not the file name's
  lsn_gap,                    // the segment starts above the previous segment's end
  lsn_overlap,                // the segment starts below the previous segment's end
};

// One place where the log stops being trustworthy.
struct Finding {
  CutReason reason = CutReason::record_damaged;
  format::RecordError record_error = format::RecordError::none;
  format::SegmentHeaderError header_error = format::SegmentHeaderError::none;
  std::string file;         // segment file name
  std::uint64_t offset = 0; // where the check failed
  std::string detail;       // optional, e.g. "00000000000000000003.seg starts at LSN 250"

  // "header_checksum", "segment_bad_magic", "lsn_gap", ...
  std::string reason_name() const;
  // "<reason> at offset <offset> of <file>[; <detail>]"
  std::string to_string() const;
};

// The finding a damaged scan reports.
Finding finding_of_scan(const log::ScanResult &scan, const std::string &file);

// ---- @G / @Q: may the index snapshot stand in for reading the segment? ----

struct IndexProbe {
  bool present = false;
  format::IndexError error = format::IndexError::none;  // of decode_index_header
  format::IndexHeader header;
};

struct SegmentIdentity {
  std::uint64_t id = 0;        // from the file name
  std::uint64_t base_lsn = 0;  // from the header
  std::uint64_t store_id = 0;  // META's
  std::uint64_t limit = 0;     // bytes that may hold records: min(file size, segment_bytes)
};

// nullopt when the snapshot's header may be trusted for the segment; else why not (for the
// note). `next_base` is the next used segment's base LSN for a sealed segment (its record
// count must reach it exactly), nullptr for the last segment.
std::optional<std::string> index_distrust(const IndexProbe &probe, const SegmentIdentity &seg,
                                          const std::uint64_t *next_base);

// ---- the end of a segment's records ----

enum class SegmentEnd : std::uint8_t {
  keep,         // @A (or a sealed segment read to its clean end)
  repair_tail,  // @H: damage past the last LSN of a sealed segment; no cut
  cut,          // @B/@C/@I/@J
};
// `next_base`: the next used segment's base LSN, nullptr when this is the last one.
SegmentEnd judge_segment_end(const log::ScanResult &scan, const std::uint64_t *next_base);
// The row a cut inside a segment gets (before the proof of loss turns @B into @C).
Row cut_row(const log::ScanResult &scan, bool sealed);

// ---- between consecutive used segments ----

enum class Join : std::uint8_t { joins, gap, overlap };
Join judge_join(std::uint64_t previous_end_lsn, std::uint64_t next_base_lsn);

// ---- acknowledged data lost ----

// Collects proofs that LSNs were durable (acknowledged) when written; each proof is an LSN
// below which every record was durable.
class LossProof {
 public:
  explicit LossProof(std::uint64_t cut_lsn) : cut_lsn_(cut_lsn) {}
  // Every LSN below `durable_end` was durable (a record's lsn - durable_lag; an index
  // snapshot's base_lsn + record_count).
  void add(std::uint64_t durable_end, const std::string &evidence);
  // An interrupted truncate_after was removing every LSN from `cut_lsn` on (the TRUNCATE file):
  // no proof reaches past it, since those records were meant to go.
  void limit_to(std::uint64_t truncate_cut_lsn) { limit_ = truncate_cut_lsn; }
  bool lost() const { return durable_end_ > cut_lsn_; }
  std::uint64_t lost_first() const { return cut_lsn_; }
  std::uint64_t lost_last() const { return durable_end_ - 1; }  // when lost()
  const std::string &evidence() const { return evidence_; }

 private:
  std::uint64_t cut_lsn_;
  std::uint64_t durable_end_ = 0;
  std::uint64_t limit_ = UINT64_MAX;
  std::string evidence_;
};

}  // namespace segstore::recovery
