// engine/segment_index_load.cc — the lazy load of a segment's index (engine/segment.h): from its
// index snapshot when the whole file passes its checks, otherwise by rescanning the segment.
//
// Recovery trusts a sealed segment through its .idx header alone (80 bytes) and leaves the
// body for the first read of the segment (docs/RECOVERY.md, "Index snapshots"). The body may be
// damaged then, or may have been damaged since: it is derived data, so a body that fails its
// checksum or its structural checks costs a rescan of the segment's records, never a read.
#include <algorithm>

#include "base/assert.h"
#include "base/log.h"
#include "base/try.h"
#include "engine/segment.h"
#include "format/index_snapshot.h"
#include "log/segment_scan.h"

namespace segstore::engine {
namespace {

// The index snapshot at seg.index_path, if the whole file holds together and describes what
// recovery trusted: this segment, its record count and its end. corruption otherwise.
Result<log::SegmentIndex> read_index_snapshot(io::Env &env, const Segment &seg, std::uint64_t store_id) {
  // An index file is bounded by the segment it describes (format/index_snapshot.h), and by
  // the segment's real bytes, not its header's claim: a sparse 1 GiB .idx beside a small
  // segment is refused before anything is allocated.
  Result<std::uint64_t> segment_file_bytes = seg.file->size();
  if (!segment_file_bytes.ok()) return segment_file_bytes.status();
  const std::uint64_t max_bytes =
      format::index_snapshot_max_bytes(std::min(seg.segment_bytes, *segment_file_bytes));
  Result<io::FileKind> kind = env.file_kind(seg.index_path);
  if (!kind.ok()) return kind.status();
  if (*kind != io::FileKind::regular)
    return Status(Errc::not_found, "index snapshot " + seg.index_path + " is missing (removed after open)");
  Result<std::vector<std::byte>> bytes = io::read_whole_file(env, seg.index_path, max_bytes);
  if (!bytes.ok()) return bytes.status();
  format::IndexHeader header;
  format::IndexBody body;
  const format::IndexError err = format::decode_index_snapshot(*bytes, &header, &body);
  if (err != format::IndexError::none)
    return Status(Errc::corruption, "index snapshot " + seg.index_path + " (" + std::to_string(bytes->size()) +
                                        " bytes): " + format::index_error_name(err));
  if (header.segment_id != seg.id || header.base_lsn != seg.base_lsn || header.store_id != store_id)
    return Status(Errc::corruption, "index snapshot " + seg.index_path + " describes another segment than " + seg.path);
  // Recovery counted the segment's records from this header; a file that changed since (or a
  // header rewritten by hand) must not make the index disagree with the segment.
  if (header.record_count != seg.record_count || header.end_offset != seg.end_offset)
    return Status(Errc::corruption, "index snapshot " + seg.index_path + " holds " +
                                        std::to_string(header.record_count) + " records ending at offset " +
                                        std::to_string(header.end_offset) + ", the segment " +
                                        std::to_string(seg.record_count) + " ending at offset " +
                                        std::to_string(seg.end_offset));
  return log::SegmentIndex::from_body(header, body, seg.index_path);
}

// Reads the segment's records from block 1 to end_offset and indexes them. They must be
// exactly the records recovery counted: damage in the segment itself is an error of the read
// that needed the index, reported at the segment offset where the records stop.
Result<log::SegmentIndex> scan_segment_index(const Segment &seg) {
  log::SegmentIndex index;
  log::ScanRequest request;
  request.file = seg.file.get();
  request.limit = seg.end_offset;
  request.base_lsn = seg.base_lsn;
  request.start_lsn = seg.base_lsn;
  request.record_seed = seg.record_seed;  // the records end at end_offset: anything else there is damage
  request.index = &index;
  Result<log::ScanResult> scanned = log::scan_segment(request);
  if (!scanned.ok()) return scanned.status();
  if (scanned->damaged() || scanned->records != seg.record_count || scanned->end_offset != seg.end_offset) {
    const char *why = scanned->stop == log::ScanStop::bad_record ? format::record_error_name(scanned->record_error)
                                                                      : log::scan_stop_name(scanned->stop);
    return Status(Errc::corruption, "segment " + seg.path + " at offset " + std::to_string(scanned->found_offset) +
                                        " (" + std::to_string(seg.end_offset - scanned->end_offset) +
                                        " bytes): " + why + " while rebuilding its index: " +
                                        std::to_string(scanned->records) + " of its " +
                                        std::to_string(seg.record_count) + " records read");
  }
  return index;
}

// Replaces the damaged snapshot, so that the next open or load trusts a good one. Best effort:
// the index in memory is what the reads need, and recovery rescans a segment whose snapshot
// is still bad. No segment sync first: a lazily loaded segment's records were durable before
// its first snapshot was written.
void rewrite_index_snapshot(io::Env &env, const Segment &seg, std::uint64_t store_id, const log::SegmentIndex &index,
                            const Logger &logger) {
  format::IndexHeader header;
  header.format_version = format::format_version;
  header.segment_id = seg.id;
  header.base_lsn = seg.base_lsn;
  header.store_id = store_id;
  header.record_count = seg.record_count;
  header.end_offset = static_cast<std::uint32_t>(seg.end_offset);
  const Status written = io::write_file_atomic(env, seg.index_path, format::encode_index_snapshot(header, index.to_body()));
  if (!written.ok()) base::log(logger, LogLevel::warning, "rewriting " + seg.index_path + ": " + written.to_string());
}

}  // namespace

Status load_segment_index_locked(io::Env &env, Segment &seg, std::uint64_t store_id, const Logger &logger) {
  // Every read of a segment's records loads its index first: the header check goes here.
  SEGSTORE_TRY(check_segment_header_locked(env, seg, store_id));
  if (seg.index_loaded) return Status();
  // Only the records recovery counted exist while the index is not loaded: appends and
  // truncate_after load it first (under index_mu, which the caller holds), so record_count and
  // end_offset cannot change during this load.
  Result<log::SegmentIndex> index = read_index_snapshot(env, seg, store_id);
  if (!index.ok()) {
    // An I/O error is the device's answer, not a damaged snapshot: it goes to the reader.
    const Errc code = index.status().code();
    if (code != Errc::corruption && code != Errc::not_found) return index.status();
    base::log(logger, LogLevel::warning, index.status().to_string() + ": rescanning segment " + seg.path + " to rebuild its index");
    index = scan_segment_index(seg);
    if (!index.ok()) return index.status();
    index->shrink_to_fit();  // the scan grew it: a loaded segment's index no longer grows
    rewrite_index_snapshot(env, seg, store_id, *index, logger);
  }
  seg.index = std::move(*index);
  seg.index_loaded = true;
  return Status();
}

}  // namespace segstore::engine
