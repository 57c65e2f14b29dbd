// recovery/cut_decision.cc — the rules of the decision table in recovery/cut_decision.h.
#include "recovery/cut_decision.h"

#include <algorithm>

#include "base/assert.h"
#include "format/layout.h"

namespace segstore::recovery {

std::string row_label(Row row) { return std::string("@") + static_cast<char>(row); }

std::string Finding::reason_name() const {
  switch (reason) {
    case CutReason::record_damaged: return format::record_error_name(record_error);
    case CutReason::nonzero_after_zero_header: return "nonzero_after_zero_header";
    case CutReason::nonzero_short_tail: return "nonzero_short_tail";
    case CutReason::batch_incomplete: return "batch_incomplete";
    case CutReason::batch_sequence: return "batch_sequence";
    case CutReason::segment_header_damaged:
      // "segment_" + "header_checksum" reads as segment_header_checksum, "segment_bad_magic".
      return std::string("segment_") + format::segment_header_error_name(header_error);
    case CutReason::segment_unused: return "segment_unused";
    case CutReason::store_id_mismatch: return "store_id_mismatch";
    case CutReason::segment_id_mismatch: return "segment_id_mismatch";
    case CutReason::lsn_gap: return "lsn_gap";
    case CutReason::lsn_overlap: return "lsn_overlap";
  }
  return "unknown";
}

std::string Finding::to_string() const {
  std::string text = reason_name() + " at offset " + std::to_string(offset) + " of " + file;
  if (!detail.empty()) text += "; " + detail;
  return text;
}

Finding finding_of_scan(const log::ScanResult &scan, const std::string &file) {
  // Invariant: only a damaged scan is a finding, and its cut never lies after what was found
  // (it moves back to the batch_first of a batch the damage left open, never forward).
  SEGSTORE_ASSERT(scan.damaged(), "a finding of a scan that ended cleanly in " + file);
  SEGSTORE_ASSERT(scan.cut_offset <= scan.found_offset && scan.cut_lsn <= scan.found_lsn,
                  file + ": cut at offset " + std::to_string(scan.cut_offset) + " after the damage at " +
                      std::to_string(scan.found_offset));
  Finding finding;
  finding.file = file;
  finding.offset = scan.found_offset;
  switch (scan.stop) {
    case log::ScanStop::clean_end:  // not a finding; callers ask only for damaged scans
    case log::ScanStop::bad_record:
      finding.reason = CutReason::record_damaged;
      finding.record_error = scan.record_error;
      break;
    case log::ScanStop::nonzero_after_zero_header:
      finding.reason = CutReason::nonzero_after_zero_header;
      break;
    case log::ScanStop::nonzero_short_tail: finding.reason = CutReason::nonzero_short_tail; break;
    case log::ScanStop::batch_incomplete: finding.reason = CutReason::batch_incomplete; break;
    case log::ScanStop::batch_sequence: finding.reason = CutReason::batch_sequence; break;
  }
  if (scan.cut_offset != scan.found_offset)
    finding.detail = "cut moved back to offset " + std::to_string(scan.cut_offset) +
                     ", the first record of the unfinished batch";
  return finding;
}

std::optional<std::string> index_distrust(const IndexProbe &probe, const SegmentIdentity &seg,
                                          const std::uint64_t *next_base) {
  if (!probe.present) return "missing";
  if (probe.error != format::IndexError::none) return format::index_error_name(probe.error);
  const format::IndexHeader &h = probe.header;
  if (h.segment_id != seg.id) return "segment_id " + std::to_string(h.segment_id) + " != " + std::to_string(seg.id);
  if (h.base_lsn != seg.base_lsn)
    return "base_lsn " + std::to_string(h.base_lsn) + " != " + std::to_string(seg.base_lsn);
  if (h.store_id != seg.store_id) return "store_id " + std::to_string(h.store_id) + " is another store's";
  // end_offset bounds every read the engine makes through this snapshot: it must lie inside
  // the data area of the file as it is now (a shrunk file makes the snapshot a lie).
  if (h.end_offset < format::segment_data_offset_bytes || h.end_offset > seg.limit ||
      h.end_offset % format::record_alignment_bytes != 0)
    return "end_offset " + std::to_string(h.end_offset) + " outside the segment's " +
           std::to_string(seg.limit) + " bytes";
  // Every record takes at least a header's bytes: more records than that is nonsense.
  if (h.record_count > (h.end_offset - format::segment_data_offset_bytes) / format::record_header_bytes)
    return "record_count " + std::to_string(h.record_count) + " does not fit end_offset " +
           std::to_string(h.end_offset);
  if (next_base != nullptr && h.base_lsn + h.record_count != *next_base)
    return "base_lsn + record_count = " + std::to_string(h.base_lsn + h.record_count) +
           " but the next segment starts at LSN " + std::to_string(*next_base);
  // @G/@Q invariant: a snapshot trusted in place of reading its segment describes that segment
  // and bounds every read through it by the segment's bytes.
  SEGSTORE_ASSERT(h.segment_id == seg.id && h.base_lsn == seg.base_lsn && h.end_offset <= seg.limit,
                  "trusted index snapshot of segment " + std::to_string(seg.id) + " ends at " +
                      std::to_string(h.end_offset) + " past its " + std::to_string(seg.limit) + " bytes");
  return std::nullopt;
}

SegmentEnd judge_segment_end(const log::ScanResult &scan, const std::uint64_t *next_base) {
  // @A: records that end cleanly are all kept: the scan's end is its cut.
  if (!scan.damaged()) {
    SEGSTORE_ASSERT(scan.cut_offset == 0 || scan.cut_offset == scan.end_offset, "a clean scan with a cut");
    return SegmentEnd::keep;
  }
  // @H: the successor starts exactly where the valid records stop: whatever the damaged bytes
  // were, they held no LSN of the log (an LSN there would be missing from the successor's
  // base), so the log needs no cut; the bytes are only taken out of the way.
  if (next_base != nullptr && scan.cut_lsn == *next_base) return SegmentEnd::repair_tail;
  // @B/@C/@I/@J: LSNs from cut_lsn on are missing before the next segment (or the log ends).
  SEGSTORE_ASSERT(next_base == nullptr || scan.cut_lsn != *next_base, "a cut where the next segment joins");
  return SegmentEnd::cut;
}

Row cut_row(const log::ScanResult &scan, bool sealed) {
  // @J: the cut moved back to an open batch's first record, or the records end inside a batch
  // (where the batch's first record is what was found).
  if (scan.cut_offset != scan.found_offset || scan.stop == log::ScanStop::batch_incomplete) {
    SEGSTORE_ASSERT(scan.cut_offset < scan.found_offset || scan.stop == log::ScanStop::batch_incomplete,
                    "@J without an open batch");
    return Row::J;
  }
  // @B (the last segment) / @I (a sealed one): the cut is the damaged record itself.
  SEGSTORE_ASSERT(scan.cut_offset == scan.found_offset && scan.cut_lsn == scan.found_lsn,
                  "@B/@I cut away from the damage");
  return sealed ? Row::I : Row::B;
}

Join judge_join(std::uint64_t previous_end_lsn, std::uint64_t next_base_lsn) {
  if (next_base_lsn == previous_end_lsn) return Join::joins;
  return next_base_lsn > previous_end_lsn ? Join::gap : Join::overlap;
}

void LossProof::add(std::uint64_t durable_end, const std::string &evidence) {
  durable_end = std::min(durable_end, limit_);
  if (durable_end <= durable_end_) return;
  durable_end_ = durable_end;
  if (durable_end_ > cut_lsn_) evidence_ = evidence;
  // @C: a proof names the LSNs lost, from the cut to the last one proven durable.
  SEGSTORE_ASSERT(!lost() || (lost_first() <= lost_last() && !evidence_.empty()), "a loss proven without evidence");
}

}  // namespace segstore::recovery
