// log/segment_file.h — opening one segment file and reading its block 0: the one header opener
// of the code base. Recovery (recovery/segment_files.h) judges the result against META; the
// inspection tools (segstore/inspect.h) describe it. Neither reads a header any other way.
//
// Thread-safety: none needed (a value returned to one caller). Errors: only I/O; a header that
// fails its checks is a value (SegmentFileHeader::error), never an error.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "format/segment_header.h"
#include "io/env.h"

namespace segstore::log {

struct SegmentFileHeader {
  std::unique_ptr<io::File> file;  // opened with the caller's flags
  std::uint64_t file_bytes = 0;
  // Every byte read of block 0 is zero (nothing read counts as zero): a preallocated segment
  // never activated, or one still being created. decode_segment_header says `unused` or
  // `too_short` then; the callers that must tell an empty block 0 from a damaged one ask this.
  bool block0_all_zero = false;
  format::SegmentHeaderError error = format::SegmentHeaderError::none;
  format::SegmentHeader header;  // when error == none
  // Bytes of the segment that may hold records: min(file size, header segment_bytes).
  std::uint64_t limit() const { return std::min(file_bytes, header.segment_bytes); }
};

// Opens `path` with `flags` and decodes its block 0 (one block_size_bytes read: the whole
// block, so that an all-zero block 0 is told from damage).
Result<SegmentFileHeader> open_segment_file(io::Env &env, const std::string &path, const io::OpenFlags &flags);

// The flags a segment is opened with to check it (recovery, and the engine's check of a sealed
// segment at first use): read-write (truncate_after may rewrite a block) and from the device,
// whatever the store's direct_io: after a failed fdatasync earlier in this boot the page cache
// may show records the device never got (Linux marks such pages clean); a check keeps only what
// it read from the device (docs/RECOVERY.md "A failed fsync is never retried").
inline io::OpenFlags checking_open_flags() {
  io::OpenFlags flags;
  flags.write = true;
  flags.direct = true;
  flags.bypass_cache = true;
  return flags;
}

}  // namespace segstore::log
