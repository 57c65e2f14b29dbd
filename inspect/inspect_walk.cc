// inspect/inspect_walk.cc — see inspect_walk.h.
#include "inspect/inspect_walk.h"

#include "format/layout.h"
#include "log/segment_reader.h"
#include "log/segment_scan.h"
#include "recovery/cut_decision.h"

namespace segstore::inspect {

namespace {

ProblemKind problem_kind_of(log::ScanStop stop) {
  switch (stop) {
    case log::ScanStop::nonzero_after_zero_header: return ProblemKind::nonzero_after_end;
    case log::ScanStop::batch_incomplete:
    case log::ScanStop::batch_sequence: return ProblemKind::batch;
    case log::ScanStop::clean_end:
    case log::ScanStop::bad_record:
    case log::ScanStop::nonzero_short_tail: break;
  }
  return ProblemKind::record;
}

std::string describe_bad_record(const log::RecordAt &at, std::uint64_t expected) {
  using format::RecordError;
  switch (at.error) {
    case RecordError::header_checksum:
      return "the record header's checksum does not match (torn write, bit rot or garbage); its "
             "length cannot be trusted, so nothing after it can be located";
    case RecordError::payload_checksum:
      return "the payload's checksum does not match (record LSN " + std::to_string(at.header.lsn) + ", " +
             std::to_string(at.header.payload_bytes) + " bytes)";
    case RecordError::lsn_out_of_order:
      return "the record carries LSN " + std::to_string(at.header.lsn) + ", expected " + std::to_string(expected);
    case RecordError::length_past_end:
      return "the record (" + std::to_string(at.header.payload_bytes) +
             " bytes of payload) runs past the end of the segment";
    case RecordError::truncated_header:
      return "fewer than " + std::to_string(format::record_header_bytes) +
             " bytes remain before the end of the segment and they are not zero";
    case RecordError::padding_nonzero:
      return "the alignment gap after the payload is not zero";
    case RecordError::lsn_past_limit:
      return "the record carries LSN 2^64 - 1, past the LSN limit (its next LSN would wrap)";
    case RecordError::bad_type:
    case RecordError::reserved_nonzero:
    case RecordError::length_too_large:
      return "the header checksums but is not valid in format version 1";
    case RecordError::none:
    case RecordError::zero_header:
      break;
  }
  return "";
}

// Words for the damage a scan stopped at; a bad record is read again for its header's fields.
Result<std::string> describe_damage(io::File &file, const log::ScanResult &scan, std::uint64_t limit) {
  switch (scan.stop) {
    case log::ScanStop::bad_record: {
      log::SegmentReader reader(file, limit, format::block_size_bytes);
      Result<log::RecordAt> at = reader.read_record(scan.found_offset, &scan.found_lsn);
      if (!at.ok()) return at.status();
      return describe_bad_record(*at, scan.found_lsn);
    }
    case log::ScanStop::nonzero_after_zero_header:
      return "non-zero bytes from offset " + std::to_string(scan.nonzero_offset) +
             " after a zero record header at offset " + std::to_string(scan.found_offset) +
             " (a lost header, or a torn or lost write)";
    case log::ScanStop::nonzero_short_tail:
      return "fewer than " + std::to_string(format::record_header_bytes) +
             " bytes remain before the end of the segment and they are not zero (from offset " +
             std::to_string(scan.nonzero_offset) + ")";
    case log::ScanStop::batch_incomplete:
      return std::string("the records end inside an atomic batch (its batch_last is missing)");
    case log::ScanStop::batch_sequence: return std::string(scan.batch_violation);
    case log::ScanStop::clean_end: break;
  }
  return std::string();
}

}  // namespace

Result<SegmentSummary> walk_segment(io::File &file, const WalkOptions &options) {
  SegmentSummary summary;
  summary.end_offset = format::segment_data_offset_bytes;
  summary.next_lsn = options.base_lsn;
  if (options.limit <= format::segment_data_offset_bytes) return summary;
  log::ScanRequest request;
  request.file = &file;
  request.limit = options.limit;
  request.base_lsn = options.base_lsn;
  request.start_lsn = options.base_lsn;
  request.index = &summary.index;
  request.check_zeros_after_end = options.check_zeros_after_end;
  request.record_seed = options.record_seed;
  request.recycled = options.recycled;
  request.on_read = options.on_read;
  Result<log::ScanResult> scan = log::scan_segment(request);
  if (!scan.ok()) return scan.status();
  summary.records = scan->records;
  summary.end_offset = scan->end_offset;
  summary.next_lsn = scan->next_lsn;
  if (!scan->damaged()) return summary;
  // Recovery's finding for the same scan: the same offset and reason recovery cuts with.
  const recovery::Finding finding = recovery::finding_of_scan(*scan, options.path);
  Result<std::string> words = describe_damage(file, *scan, options.limit);
  if (!words.ok()) return words.status();
  summary.damaged = true;
  summary.kind = problem_kind_of(scan->stop);
  summary.damage_offset = finding.offset;
  summary.damage_lsn = scan->found_lsn;
  summary.reason = finding.reason_name();
  summary.detail = *words + (finding.detail.empty() ? "" : "; " + finding.detail);
  return summary;
}

}  // namespace segstore::inspect
