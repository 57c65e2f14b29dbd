// inspect/inspect_files.cc — see inspect_files.h.
#include "inspect/inspect_files.h"

#include <algorithm>
#include <vector>

#include "format/store_dir.h"
#include "format/layout.h"
#include "io/aligned_buffer.h"

namespace segstore::inspect {

namespace {
// META is 64 bytes; anything much larger is not a META and is not read whole.
constexpr std::uint64_t meta_read_max_bytes = format::small_file_read_max_bytes;
}  // namespace

std::shared_ptr<io::Env> inspection_env() {
  io::EnvOptions options;
  options.backend = io::EnvOptions::Backend::thread;  // reads only: no io_uring ring needed
  // Segment files are read as the writer writes them (O_DIRECT where the file system allows):
  // see inspect_walk.h on buffered reads racing direct writes.
  options.direct = true;
  return io::make_posix_env(options);
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
    std::optional<std::uint64_t> id = format::parse_numbered_name(name, format::segment_suffix);
    std::optional<std::uint64_t> idx = format::parse_numbered_name(name, format::index_suffix);
    if ((id && *id > format::segment_id_max) || (idx && *idx > format::segment_id_max)) {
      files.others.push_back(name);  // an id the writer never makes: not part of the format
    } else if (id) {
      files.segments[*id] = format::join_path(dir, name);
    } else if (idx) {
      files.indexes[*idx] = format::join_path(dir, name);
    } else if (name == format::clean_file_name) {
      files.has_clean = true;
    } else if (name == format::quarantine_dir_name) {
      files.has_quarantine = true;
    } else if (name != format::meta_file_name && name != format::lock_file_name && name != format::events_file_name &&
               name != format::snapshots_dir_name && name != format::truncate_file_name) {
      files.others.push_back(name);
    }
  }

  const std::string snapshots_dir = format::join_path(dir, format::snapshots_dir_name);
  Result<io::FileKind> snapshots_kind = env.file_kind(snapshots_dir);
  if (!snapshots_kind.ok()) return snapshots_kind.status();
  if (*snapshots_kind == io::FileKind::directory) {
    Result<std::vector<std::string>> snaps = env.list_dir(snapshots_dir);
    if (!snaps.ok()) return snaps.status();
    for (const std::string &name : *snaps) {
      if (auto lsn = format::parse_numbered_name(name, format::snapshot_suffix)) {
        files.snapshots[*lsn] = format::join_path(snapshots_dir, name);
      } else {
        files.snapshot_others.push_back(name);
      }
    }
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

Result<SegmentFileHeader> read_segment_header(io::Env &env, const std::string &path) {
  SegmentFileHeader out;
  io::OpenFlags flags;
  flags.direct = true;  // read-only: write and create stay false
  Result<std::unique_ptr<io::File>> file = env.open_file(path, flags);
  if (!file.ok()) return file.status();
  out.file = std::move(*file);
  Result<std::uint64_t> size = out.file->size();
  if (!size.ok()) return size.status();
  out.file_bytes = *size;
  // The whole of block 0, so that a preallocated (all-zero) block tells `unused` from damage.
  io::AlignedBuffer block(format::block_size_bytes);
  Result<std::size_t> got = out.file->read_at(0, block.span());
  if (!got.ok()) return got.status();
  out.error = format::decode_segment_header(std::span<const std::byte>(block.data(), *got), &out.header);
  return out;
}

}  // namespace segstore::inspect
