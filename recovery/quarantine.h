// recovery/quarantine.h — taking cut bytes out of the log without destroying them.
//
// Everything recovery cuts is first copied or moved into <store>/quarantine/ and made durable
// there (file data synced, directories synced) before any segment byte changes; only then is
// the cut range of the segment zeroed. Layout (docs/RECOVERY.md "Quarantine"):
//
//   quarantine/<stamp>-<segment file>-<offset>.bin   bytes [offset, last non-zero byte] of a
//                                                    segment whose tail was cut
//   quarantine/<stamp>-<segment file>                a whole segment file, moved by rename
//   quarantine/<stamp>-snapshot-<snapshot file>      an application snapshot past the log's end
//   quarantine/<stamp>-report.txt                    what was put here, and why
//
// <stamp> is the UTC time of the recovery, "20261123T104921Z"; a name already taken gets
// "-1", "-2", ... appended. Nothing in quarantine/ is ever read by segstore again.
//
// Thread-safety: none (recovery runs alone, with the store's directory locked).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

#include "io/env.h"

namespace segstore::recovery {

// "20261123T104921Z" for `when`.
std::string utc_stamp(std::time_t when);

class Quarantine {
 public:
  Quarantine(io::Env &env, std::string store_dir, std::string stamp);

  const std::string &dir() const { return dir_; }
  std::uint64_t bytes() const { return bytes_; }  // bytes put into quarantine so far

  // Creates quarantine/ if missing and makes its entry durable.
  Status prepare();
  // Copies [from, to) of `source` into "<stamp>-<source_name>-<from>.bin" (written under a
  // temporary name, synced, renamed). Returns the file name.
  Result<std::string> copy_range(io::File &source, const std::string &source_name,
                                 std::uint64_t from, std::uint64_t to);
  // Moves the file at `path` into "<stamp>-<prefix><name>" by rename. `file_bytes` is added
  // to bytes(). Returns the new name.
  Result<std::string> move_in(const std::string &path, const std::string &prefix,
                              const std::string &name, std::uint64_t file_bytes);
  // Writes "<stamp>-report.txt" (synced).
  Result<std::string> write_report(const std::string &text);
  // fsync of quarantine/: makes the copies and renames into it durable.
  Status sync();

 private:
  // `wanted` if free, else wanted with "-1", "-2", ... before the extension.
  Result<std::string> free_name(const std::string &stem, const std::string &extension);

  io::Env &env_;
  std::string store_dir_;
  std::string dir_;
  std::string stamp_;
  std::uint64_t bytes_ = 0;
};

// Zeroes bytes [from, to) of a segment file (to rounded up to the block size, but the file
// never grows): the block that holds `from` is rewritten with its bytes before `from`
// unchanged and zeros after, the blocks after it are overwritten with zeros; then the file is
// synced. Why rewriting that block is
// safe: its prefix bytes are written back identical, so on a device whose sectors are atomic
// a torn rewrite can only leave old or new bytes in the range being zeroed, never change a
// kept record. Errors: I/O errors as they come.
Status zero_segment_range(io::File &file, std::uint64_t from, std::uint64_t to);

}  // namespace segstore::recovery
