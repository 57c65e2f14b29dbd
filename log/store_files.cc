// log/store_files.cc — see log/store_files.h.
#include "log/store_files.h"

#include <algorithm>
#include <optional>

#include "format/store_dir.h"
#include "format/layout.h"

namespace segstore::log {
namespace {

// META is 64 bytes; anything much larger is not a META and is not read whole.
constexpr std::uint64_t meta_read_max_bytes = format::small_file_read_max_bytes;

bool ends_with(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The fixed names of the store directory.
std::optional<StoreNameKind> fixed_name_kind(const std::string &name) {
  if (name == format::meta_file_name) return StoreNameKind::meta;
  if (name == format::lock_file_name) return StoreNameKind::lock;
  if (name == format::clean_file_name) return StoreNameKind::clean;
  if (name == format::truncate_file_name) return StoreNameKind::truncate;
  if (name == format::events_file_name) return StoreNameKind::events;
  if (name == format::app_meta_file_name) return StoreNameKind::app_meta;
  if (name == format::snapshots_dir_name) return StoreNameKind::snapshots_dir;
  if (name == format::quarantine_dir_name) return StoreNameKind::quarantine_dir;
  return std::nullopt;
}

// The names under snapshots/: "<lsn>.snap" files, and anything else kept apart.
void add_snapshot_names(const std::string &snapshots_dir, const std::vector<std::string> &names, StoreFiles &files) {
  for (const std::string &name : names) {
    if (auto lsn = format::parse_numbered_name(name, format::snapshot_suffix)) {
      files.snapshots[*lsn] = format::join_path(snapshots_dir, name);
    } else {
      files.snapshot_others.push_back(name);
    }
  }
}

}  // namespace

StoreName classify_store_name(const std::string &name) {
  const std::optional<std::uint64_t> segment = format::parse_numbered_name(name, format::segment_suffix);
  const std::optional<std::uint64_t> index = format::parse_numbered_name(name, format::index_suffix);
  // Ids above segment_id_max are not files the writer made, and counting one would make the
  // next id wrap.
  if (segment || index) {
    const std::uint64_t id = segment ? *segment : *index;
    if (id > format::segment_id_max) return {StoreNameKind::id_out_of_range, id};
    return {segment ? StoreNameKind::segment : StoreNameKind::index, id};
  }
  if (const std::optional<std::uint64_t> free = format::parse_numbered_name(name, format::free_suffix)) {
    if (*free > format::segment_id_max) return {StoreNameKind::id_out_of_range, *free};
    return {StoreNameKind::free, *free};
  }
  if (ends_with(name, format::temp_suffix)) return {StoreNameKind::temp, 0};
  return {fixed_name_kind(name).value_or(StoreNameKind::unknown), 0};
}

Result<StoreFiles> list_store_files(io::Env &env, const std::string &dir) {
  Result<io::FileKind> kind = env.file_kind(dir);
  if (!kind.ok()) return kind.status();
  if (*kind == io::FileKind::missing)
    return Status(Errc::not_found, "store directory " + dir + " does not exist");
  if (*kind != io::FileKind::directory)
    return Status(Errc::not_a_directory, "store path " + dir + " exists but is not a directory");

  StoreFiles files;
  files.dir = dir;
  files.meta_path = format::join_path(dir, format::meta_file_name);
  Result<std::vector<std::string>> names = env.list_dir(dir);
  if (!names.ok()) return names.status();
  if (std::find(names->begin(), names->end(), format::meta_file_name) == names->end())
    return Status(Errc::not_a_store, "directory " + dir + " is not a segstore store: it has no " +
                                         format::meta_file_name + " file");
  for (const std::string &name : *names) {
    const StoreName classified = classify_store_name(name);
    switch (classified.kind) {
      case StoreNameKind::segment: files.segments[classified.id] = format::join_path(dir, name); break;
      case StoreNameKind::index: files.indexes[classified.id] = format::join_path(dir, name); break;
      case StoreNameKind::free: files.free_files[classified.id] = format::join_path(dir, name); break;
      case StoreNameKind::clean: files.has_clean = true; break;
      case StoreNameKind::quarantine_dir: files.has_quarantine = true; break;
      case StoreNameKind::meta:
      case StoreNameKind::lock:
      case StoreNameKind::events:
      case StoreNameKind::truncate:
      case StoreNameKind::snapshots_dir: break;
      case StoreNameKind::id_out_of_range:
      case StoreNameKind::temp:
      case StoreNameKind::app_meta:
      case StoreNameKind::unknown: files.others.push_back(name); break;
    }
  }

  const std::string snapshots_dir = format::join_path(dir, format::snapshots_dir_name);
  Result<io::FileKind> snapshots_kind = env.file_kind(snapshots_dir);
  if (!snapshots_kind.ok()) return snapshots_kind.status();
  if (*snapshots_kind == io::FileKind::directory) {
    Result<std::vector<std::string>> snaps = env.list_dir(snapshots_dir);
    if (!snaps.ok()) return snaps.status();
    add_snapshot_names(snapshots_dir, *snaps, files);
  }

  Result<std::vector<std::byte>> meta = io::read_whole_file(env, files.meta_path, meta_read_max_bytes);
  if (!meta.ok()) {
    if (meta.status().code() != Errc::corruption) return meta.status();
    files.meta_error = format::SmallFileError::length_mismatch;  // larger than any META
  } else {
    files.meta_error = format::decode_meta(*meta, &files.meta);
  }
  return files;
}

}  // namespace segstore::log
