// inspect/inspect_files.h — the files of a store directory as the inspection tools see them
// (segstore/inspect.h): which names are segments, index snapshots, application snapshots and
// everything else, META decoded, and each segment's header. Read-only; takes no lock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/segment_header.h"
#include "format/small_files.h"
#include "io/env.h"

namespace segstore::inspect {

struct StoreFiles {
  std::string dir;
  std::string meta_path;
  format::SmallFileError meta_error = format::SmallFileError::none;
  format::MetaFile meta;                      // when meta_error == none
  bool has_clean = false;
  std::map<std::uint64_t, std::string> segments;   // id -> path
  std::map<std::uint64_t, std::string> indexes;    // id -> path
  std::map<std::uint64_t, std::string> snapshots;  // lsn -> path
  std::vector<std::string> snapshot_others;        // other names under snapshots/
  bool has_quarantine = false;
  std::vector<std::string> others;                 // names not part of the format
};

// The env the inspection functions read with: buffered, no write queue.
std::shared_ptr<io::Env> inspection_env();

// Lists `dir` and reads META. Errors: not_found, not_a_directory, not_a_store (no META),
// permission_denied, io_error. A META that fails its checks is not an error: see meta_error.
Result<StoreFiles> list_store_files(io::Env &env, const std::string &dir);

struct SegmentFileHeader {
  std::unique_ptr<io::File> file;   // opened read-only
  std::uint64_t file_bytes = 0;
  format::SegmentHeaderError error = format::SegmentHeaderError::none;
  format::SegmentHeader header;     // when error == none
  // Bytes of the segment that may hold records: min(file size, header segment_bytes).
  std::uint64_t limit() const { return std::min(file_bytes, header.segment_bytes); }
};

// Opens a segment file and decodes block 0. Errors: only I/O.
Result<SegmentFileHeader> read_segment_header(io::Env &env, const std::string &path);

}  // namespace segstore::inspect
