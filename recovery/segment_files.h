// recovery/segment_files.h — what recovery learns about a segment file without reading its
// records: the header in its block 0, and the index snapshot (".idx") beside it.
//
// Thread-safety: none needed (recovery runs alone). Errors: I/O errors as they come, and
// unsupported_version for a segment header of a newer format; damage is never an error here,
// it is a state (SegmentFile::bad) or a reason not to trust a snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "log/segment_index.h"
#include "format/segment_header.h"
#include "io/env.h"
#include "recovery/cut_decision.h"

namespace segstore::recovery {

enum class FileState : std::uint8_t {
  used,    // a valid header of this store, named as its file
  unused,  // block 0 all zero: preallocated, never activated (or still being created); or a
           // recycled spare (SegmentFile::spare): prepared from a freed file, never activated
  bad,     // see SegmentFile::bad
};

// One "<id>.seg" of the store directory as its block 0 describes it.
struct SegmentFile {
  std::uint64_t id = 0;
  std::string name;
  std::string path;
  std::string index_path;
  std::shared_ptr<io::File> file;  // open read-write, O_DIRECT where the file system allows
  std::uint64_t file_bytes = 0;
  FileState state = FileState::bad;
  format::SegmentHeader header;  // when header_decoded
  bool header_decoded = false;
  std::uint64_t limit = 0;  // bytes that may hold records: min(file size, header segment_bytes)
  Finding bad;              // state == bad: why (offset 0 of the file)
  // state == unused: its header is a recycled spare's (format/segment_header.h flag `spare`):
  // the bytes after block 0 are a previous life's, not zeros, and it holds no record.
  bool spare = false;
  std::uint32_t record_seed() const { return format::record_crc_seed_of(header); }
  // Not opened by recovery: a sealed segment after a clean close whose index snapshot header
  // vouches for it (defer_segment_file). `file` is null, file_bytes unknown (0), and `header`
  // holds only what the snapshot says (segment id, store id, base LSN); limit is the snapshot's
  // end_offset. The engine opens the file and checks its block 0 before its first record is
  // read (engine/segment.h check_segment_header_locked; docs/RECOVERY.md "Open after a clean
  // close").
  bool deferred = false;
  IndexProbe deferred_probe;  // when deferred: the snapshot header recovery trusted
};

// Opens <dir>/<id>.seg read-write, bypassing the page cache, through log/'s header opener
// (log/segment_file.h: one read of block 0), and judges the header against META.
Result<SegmentFile> open_segment_file(io::Env &env, const std::string &dir, std::uint64_t id,
                                      std::uint64_t store_id);

// A sealed segment `id` left unopened (SegmentFile::deferred) when the directory listing named
// its .idx (the caller checks) and that index snapshot's header
// decodes, names this store and segment, and its records end exactly at `next_base_lsn` (the
// next segment's base LSN): nullopt when anything of that fails (the caller opens it instead).
// Reads only the snapshot's header, or takes `index_head`, its first bytes read already
// (io::Env::read_heads, many snapshots at once).
Result<std::optional<SegmentFile>> defer_segment_file(io::Env &env, const std::string &dir, std::uint64_t id,
                                                      std::uint64_t store_id, std::uint64_t next_base_lsn,
                                                      const std::vector<std::byte> *index_head = nullptr);

SegmentIdentity segment_identity(const SegmentFile &seg, std::uint64_t store_id);

// Reads only the snapshot's 80-byte header: enough to trust a sealed segment without reading it.
Result<IndexProbe> probe_index(io::Env &env, const std::string &path);

struct LoadedIndex {
  log::SegmentIndex index;
  std::uint64_t record_count = 0;
  std::uint64_t end_offset = 0;
  std::uint64_t bytes_read = 0;  // segment bytes read to check it
};

// Loads the whole snapshot of the last segment, so that its scan can start at end_offset.
// nullopt when it is absent, damaged, does not hold together, or no longer matches the
// segment's bytes (the records from its last index entry must end exactly at its end_offset).
Result<std::optional<LoadedIndex>> load_last_index(io::Env &env, const SegmentFile &seg,
                                                   std::uint64_t store_id);

}  // namespace segstore::recovery
