// segstore/inspect.h — looking inside a store directory without opening it: for tools (the
// `segstore` CLI's stat, verify and dump) and for operators' scripts.
//
// Every function here only reads. None takes the store's LOCK, so they work on a store that
// another process has open; they then see the files as they are at that moment (a record being
// appended may be missing or, rarely, reported as a torn tail that the writer is about to
// complete). Nothing is repaired: recovery (Store::open, segstore::recover) does that.
// LogReader reads records the same way, and can tail a store another process appends to.
//
// Thread-safety: the functions are reentrant; the callbacks run on the calling thread. A
// LogReader belongs to one thread at a time.
// Errors: a Status for what stops the inspection itself (no such directory, no permission, an
// I/O error); damage found in the store is a result (problems), never an error.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "segstore/export.h"
#include "segstore/status.h"
#include "segstore/store.h"

namespace segstore::inspect {

enum class SegmentState : std::uint8_t {
  sealed,     // a segment followed by a newer one: its bytes never change
  active,     // the newest segment with a header: appends go here
  unused,     // preallocated, never activated (block 0 all zero)
  deleting,   // id below META's min_segment_id: a trim or reset is removing it
  unreadable, // the header fails its checks (see SegmentInfo::problem)
};
SEGSTORE_API const char *segment_state_name(SegmentState state) noexcept;

struct SegmentInfo {
  std::uint64_t id = 0;
  std::string file;                  // path of the .seg file
  SegmentState state = SegmentState::unused;
  std::uint64_t base_lsn = 0;
  std::uint64_t records = 0;         // records (not padding) in the segment
  std::uint64_t end_offset = 0;      // first byte after the last record or padding
  std::uint64_t segment_bytes = 0;   // size in the header (what the file was preallocated to)
  std::uint64_t file_bytes = 0;      // size of the file now
  std::uint64_t created_unix_ms = 0;
  bool has_index = false;            // a .idx file is beside it
  bool index_used = false;           // records/streams came from a valid .idx (else a scan)
  std::map<std::uint32_t, std::uint64_t> records_per_stream;
  std::string problem;               // why the header or records could not be read; "" if none
  std::uint64_t end_lsn() const { return base_lsn + records; }
};

struct SnapshotInfo {
  std::uint64_t lsn = 0;
  std::string file;
  std::uint64_t state_bytes = 0;
  std::string problem;  // "" when the file passes its checks
};

struct FileInfo {
  std::string name;     // relative to the store directory
  std::uint64_t bytes = 0;
};

struct StoreDescription {
  std::string dir;
  std::uint64_t store_id = 0;
  std::uint64_t first_lsn = 0;       // oldest record present (META's trim point or the first segment)
  std::uint64_t next_lsn = 0;        // the LSN after the last record on disk
  std::uint64_t min_segment_id = 0;  // from META
  bool clean_shutdown = false;       // a valid CLEAN marker is present
  // A process holds the store's LOCK (read from /proc/locks; never by taking the lock).
  bool in_use = false;
  std::int64_t lock_holder_pid = 0;  // when in_use and known
  std::vector<SegmentInfo> segments; // ascending by id
  // Records of each stream in the segments (a trimmed prefix of the first segment included).
  std::map<std::uint32_t, std::uint64_t> records_per_stream;
  std::vector<SnapshotInfo> snapshots;   // ascending by LSN
  std::vector<FileInfo> quarantine;      // files under quarantine/
  std::vector<std::string> other_files;  // names that are not part of the format
  // Bytes of the files (apparent sizes) and what the file system allocated for the directory.
  std::uint64_t segment_file_bytes = 0;
  std::uint64_t index_file_bytes = 0;
  std::uint64_t snapshot_file_bytes = 0;
  std::uint64_t quarantine_file_bytes = 0;
  std::uint64_t total_file_bytes = 0;
  std::uint64_t allocated_bytes = 0;
  std::uint64_t log_bytes = 0;  // sum of end_offset over the segments with records
};

// Reads META, CLEAN and the segment headers, and for each segment its .idx (when valid) or its
// records (when not, and always for the active segment). Errors: not_found (no directory),
// not_a_directory, not_a_store (no META), permission_denied, io_error; a META that fails its
// checks is corruption (nothing else can be trusted without it).
SEGSTORE_API Result<StoreDescription> describe_store(const std::string &dir);

// --- verify ----------------------------------------------------------------------------------

enum class ProblemKind : std::uint8_t {
  meta,                // META fails its checks
  clean_marker,        // CLEAN fails its checks or disagrees with the segments
  segment_header,      // a segment header fails its checks
  segment_identity,    // header's segment_id or store_id disagrees with the name or META
  segment_size,        // the file is not as long as its header says (truncated or grown)
  record,              // a record fails its checks (detail: the format's reason)
  nonzero_after_end,   // non-zero bytes after the clean end of a segment's records
  batch,               // an atomic batch is unfinished or malformed
  lsn_sequence,        // a segment does not start where the previous one ends
  index_snapshot,      // a .idx fails its checks
  index_mismatch,      // a .idx disagrees with its segment's records
  snapshot,            // an application snapshot fails its checks
  unreadable,          // the file could not be read (I/O error, permission)
};
SEGSTORE_API const char *problem_kind_name(ProblemKind kind) noexcept;

struct Problem {
  ProblemKind kind = ProblemKind::record;
  std::string file;                 // path
  std::uint64_t offset = 0;         // byte offset in `file` where the check failed
  std::optional<std::uint64_t> lsn; // the LSN expected or found there, when known
  std::string reason;               // the failed check's name (e.g. "payload_checksum")
  std::string detail;               // what was found versus expected, in words
};

struct VerifyProgress {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;  // every segment and snapshot file
  std::string file;               // being read now
};

struct VerifyReport {
  std::uint64_t segments_checked = 0;
  std::uint64_t records_checked = 0;
  std::uint64_t index_snapshots_checked = 0;
  std::uint64_t snapshots_checked = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t first_lsn = 0, next_lsn = 0;
  std::vector<Problem> problems;  // empty: every check passed
  std::vector<std::string> notes; // things that are allowed but worth saying (a missing .idx)
  bool ok() const { return problems.empty(); }
};

// Reads every segment and application snapshot and checks every checksum, the LSN sequence
// within and across segments, the zeros after the last record, atomic batches, and every index
// snapshot against its segment (entries and stream bitmaps recomputed from the records must
// equal the .idx). `progress` (may be empty) is called after each read window. Errors as
// describe_store; damage is reported in the problems.
SEGSTORE_API Result<VerifyReport> verify_store(
    const std::string &dir, const std::function<void(const VerifyProgress &)> &progress = {});

// --- dump ------------------------------------------------------------------------------------

struct DumpEntry {
  std::uint64_t offset = 0;       // of the record header in the segment file
  bool header_ok = false;         // the header passed its checksum and field checks
  std::uint64_t lsn = 0;          // the fields below are meaningful when header_ok
  std::uint32_t stream = 0;
  std::uint8_t type = 0;          // on-disk record type (docs/FORMAT.md)
  std::uint32_t payload_bytes = 0;
  std::uint64_t disk_bytes = 0;   // header + payload + alignment gap
  std::uint32_t durable_lag = 0;
  bool payload_ok = false;        // payload checksum and alignment gap are good
  bool lsn_expected = false;      // lsn is the one expected next
  std::string error;              // "" or the format's reason ("payload_checksum", ...)
};
SEGSTORE_API const char *record_type_name(std::uint8_t type) noexcept;

struct DumpEnd {
  std::uint64_t offset = 0;   // where the walk stopped
  std::string reason;         // "clean_end", "end_of_segment", or the reason the header failed
  std::uint64_t records = 0;  // records (not padding) walked
  std::uint64_t next_lsn = 0; // the LSN after the last record walked
};

struct SegmentHeaderInfo {
  std::uint64_t id = 0;
  std::string file;
  std::uint64_t base_lsn = 0;
  std::uint64_t segment_bytes = 0;
  std::uint64_t file_bytes = 0;
  std::uint64_t store_id = 0;
  std::uint64_t created_unix_ms = 0;
};

// Walks segment `segment_id` of `dir` from `from_offset` (0: the first record; otherwise a
// multiple of 8 at or after 4096, normally an offset an earlier dump printed) and calls
// `on_record` for each record or padding header, in order, until the clean end, the end of the
// segment, a header that fails its checks (its length cannot be trusted, so nothing after it can
// be located), or `on_record` returning false. A record whose header is good but whose payload
// or LSN is not is reported and walked over. `on_header` (may be empty) is called first.
// Errors: not_found (no such segment), invalid_argument (bad offset), corruption (a header
// that cannot be read: nothing to walk), io errors.
SEGSTORE_API Result<DumpEnd> dump_segment(
    const std::string &dir, std::uint64_t segment_id, std::uint64_t from_offset,
    const std::function<bool(const DumpEntry &)> &on_record,
    const std::function<void(const SegmentHeaderInfo &)> &on_header = {});

// --- reading records without opening the store ----------------------------------------------

// Reads the records of a store directory straight from its segment files, in LSN order from
// `from_lsn` (or the oldest record present, if later), optionally of one stream. A batch is
// delivered only once its batch_last is on disk. Records below META's trim point are skipped.
//
// Unlike Store::scan this needs no open Store, so it reads while another process has the store
// open and appends to it: at the end of what is on disk next() returns false, and a later call
// returns what was written since (next_wait polls for it). It sees records once they are
// written, which may be before they are durable; truncate_after by the writer can replace
// records it already returned. It changes nothing and runs no recovery: damage in the last
// segment is the end for now (see tail_damage()); damage before a later segment is an error.
class SEGSTORE_API LogReader {
 public:
  static Result<LogReader> open(const std::string &dir, std::uint64_t from_lsn,
                                std::optional<std::uint32_t> stream = std::nullopt);
  LogReader(LogReader &&) noexcept;
  LogReader &operator=(LogReader &&) noexcept;
  ~LogReader();

  // true: record() holds the next record; false: nothing more on disk now. Errors: corruption
  // (file, offset and reason in the message), I/O errors.
  Result<bool> next();
  // Like next(), but at the end polls the files until a record appears or `timeout` passes.
  Result<bool> next_wait(std::chrono::milliseconds timeout);
  const RecordView &record() const;  // valid until the next call
  // The LSN after the last record walked (of any stream): where reading continues.
  std::uint64_t next_lsn() const;
  // Segment bytes read so far (for progress reports).
  std::uint64_t bytes_read() const;
  // When the last next() returned false because the last segment's records end in damage
  // rather than in never-written space: where and why. A writer completing a record can cause
  // this for a moment; a store that is not open has a torn tail that recovery would cut.
  std::optional<Problem> tail_damage() const;

  class SEGSTORE_LOCAL Impl;
  explicit LogReader(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace segstore::inspect
