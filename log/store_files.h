// log/store_files.h — the files of a store directory by name: the one classifier of the names
// docs/FORMAT.md gives the store directory, and a listing of a store directory built on it
// (segments, index snapshots, application snapshots, META decoded). Recovery judges each name
// it lists with classify_store_name; the inspection tools read the listing. Read-only; takes
// no lock.
//
// Thread-safety: none needed (values). Errors: see list_store_files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "format/small_files.h"
#include "io/env.h"

namespace segstore::log {

enum class StoreNameKind : std::uint8_t {
  segment,          // "<id>.seg", id <= segment_id_max
  index,            // "<id>.idx", id <= segment_id_max
  free,             // "<id>.free", id <= segment_id_max: a freed segment file kept for recycling
  id_out_of_range,  // "<id>.seg", "<id>.idx" or "<id>.free" above segment_id_max: never made by the writer
  temp,             // "*.tmp": an atomic write's temporary file
  meta,
  lock,
  clean,
  truncate,         // a truncate_after in progress (its intent)
  events,
  app_meta,
  snapshots_dir,
  quarantine_dir,
  unknown,          // not part of the format
};

struct StoreName {
  StoreNameKind kind = StoreNameKind::unknown;
  std::uint64_t id = 0;  // segment, index, id_out_of_range: the number in the name
};

// What `name` (one entry of the store directory, no path) is in the format.
StoreName classify_store_name(const std::string &name);

struct StoreFiles {
  std::string dir;
  std::string meta_path;
  format::SmallFileError meta_error = format::SmallFileError::none;
  format::MetaFile meta;                      // when meta_error == none
  bool has_clean = false;
  std::map<std::uint64_t, std::string> segments;   // id -> path
  std::map<std::uint64_t, std::string> indexes;    // id -> path
  std::map<std::uint64_t, std::string> free_files; // id -> path (".free": no record of the log)
  std::map<std::uint64_t, std::string> snapshots;  // lsn -> path
  std::vector<std::string> snapshot_others;        // other names under snapshots/
  bool has_quarantine = false;
  // Names the listing does not hold above: ids out of range, temporary files, APPMETA and
  // names not part of the format.
  std::vector<std::string> others;
};

// Lists `dir` and reads META. Errors: not_found, not_a_directory, not_a_store (no META),
// permission_denied, io_error. A META that fails its checks is not an error: see meta_error.
Result<StoreFiles> list_store_files(io::Env &env, const std::string &dir);

}  // namespace segstore::log
