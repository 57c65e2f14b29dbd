// engine/segment_open.cc — the first use of a sealed segment that recovery trusted without
// opening it (engine/segment.h check_segment_header_locked; docs/RECOVERY.md "Open after a
// clean close").
//
// After a clean close, recovery knows a sealed segment from its index snapshot's header only:
// the store's id, the segment's id and base LSN, its record count and end. Its block 0 was
// checked when it was written and at the open that sealed it; here it is checked again, at
// first use, with every rule recovery applies to a block 0 it reads, before any record of the
// segment can be returned. A header that fails is an error of each read that needs the
// segment, never a cut: the open is long done, and the records around it are unaffected.
#include <string>

#include "base/assert.h"
#include "engine/segment.h"
#include "format/layout.h"
#include "format/segment_header.h"
#include "log/segment_file.h"

namespace segstore::engine {
namespace {

Status bad_header(const Segment &seg, const std::string &cause) {
  return Status(Errc::corruption, "segment " + seg.path + " at offset 0 (" + std::to_string(format::block_size_bytes) +
                                      " bytes): " + cause + " (its header is checked at first use after a clean close)");
}

// Why block 0 does not describe the segment recovery trusted; empty when it does.
std::string header_mismatch(const Segment &seg, const log::SegmentFileHeader &opened, std::uint64_t store_id) {
  if (opened.block0_all_zero) return "block 0 is all zero (a segment never activated)";
  if (opened.error != format::SegmentHeaderError::none) return format::segment_header_error_name(opened.error);
  const format::SegmentHeader &h = opened.header;
  if (h.store_id != store_id)
    return "store_id " + std::to_string(h.store_id) + " is another store's (META says " + std::to_string(store_id) + ")";
  if (h.segment_id != seg.id) return "its header says segment " + std::to_string(h.segment_id);
  if (h.base_lsn != seg.base_lsn)
    return "its header says base LSN " + std::to_string(h.base_lsn) + ", recovery took " +
           std::to_string(seg.base_lsn) + " from its .idx";
  // The records recovery counted must lie inside the file and inside the header's own size:
  // every read of the segment is bounded by both.
  if (seg.end_offset > opened.limit())
    return "its records end at offset " + std::to_string(seg.end_offset) + " but the file holds " +
           std::to_string(opened.file_bytes) + " bytes of a " + std::to_string(h.segment_bytes) + "-byte segment";
  return std::string();
}

}  // namespace

Status check_segment_header_locked(io::Env &env, Segment &seg, std::uint64_t store_id) {
  if (seg.header_checked.load(std::memory_order_acquire)) return Status();
  Result<log::SegmentFileHeader> opened = log::open_segment_file(env, seg.path, log::checking_open_flags());
  if (!opened.ok()) return opened.status();
  if (const std::string why = header_mismatch(seg, *opened, store_id); !why.empty()) return bad_header(seg, why);
  // Invariant of a checked segment: its records lie inside its file and its header's size.
  SEGSTORE_ASSERT(seg.end_offset <= opened->limit() && seg.end_offset >= format::segment_data_offset_bytes,
                  "segment " + seg.path + " checked with records ending at " + std::to_string(seg.end_offset));
  seg.segment_bytes = opened->header.segment_bytes;
  seg.created_unix_ms = opened->header.created_unix_ms;
  seg.recycled = opened->header.recycled();
  seg.record_seed = format::record_crc_seed_of(opened->header);
  seg.file = std::move(opened->file);
  seg.header_checked.store(true, std::memory_order_release);
  return Status();
}

}  // namespace segstore::engine
