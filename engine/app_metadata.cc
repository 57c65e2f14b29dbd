// engine/app_metadata.cc — the application's metadata record (Store::write_metadata): one small
// file, APPMETA, beside the log, replaced atomically (docs/ENGINE.md "Application metadata").
//
// Why a file and not a record in the log: the record must survive truncate_after, trim_before
// and reset_to, which rewrite the log, and a reader wants the newest value without a scan.
// Why write_file_atomic suffices: it writes APPMETA.tmp, syncs it, renames it over APPMETA and
// syncs the directory, so a crash leaves the old file or the new one (a leftover .tmp is
// removed by recovery, @R); the checksums catch a file damaged later.
#include "base/try.h"
#include "format/store_dir.h"
#include "engine/store_impl.h"
#include "format/small_files.h"

namespace segstore {

using namespace engine;

Status Store::Impl::write_metadata(std::span<const std::byte> bytes) {
  if (bytes.size() > metadata_bytes_max)
    return Status(Errc::invalid_argument, "metadata of " + std::to_string(bytes.size()) + " bytes is larger than " +
                                              std::to_string(metadata_bytes_max));
  std::lock_guard writer(app_meta_mu_);
  {
    std::lock_guard lock(mu_);
    SEGSTORE_TRY(check_writable_locked());
  }
  if (app_meta_sequence_ == 0) {
    // First write in this open: continue the sequence of the file on disk, if there is one.
    Result<std::vector<std::byte>> old = read_metadata_file();
    if (!old.ok() && old.status().code() != Errc::not_found && old.status().code() != Errc::corruption)
      return old.status();
  }
  format::SnapshotHeader header{store_id_, app_meta_sequence_ + 1, bytes.size()};
  SEGSTORE_TRY(io::write_file_atomic(*env_, format::join_path(dir_, format::app_meta_file_name), format::encode_app_meta(header, bytes)));
  app_meta_sequence_++;
  return Status();
}

Result<std::vector<std::byte>> Store::Impl::read_metadata() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status(Errc::store_closed, "store " + dir_ + " is closed");
  }
  std::lock_guard reader(app_meta_mu_);
  return read_metadata_file();
}

// Caller holds app_meta_mu_. Updates app_meta_sequence_ from the file's header.
Result<std::vector<std::byte>> Store::Impl::read_metadata_file() {
  const std::string path = format::join_path(dir_, format::app_meta_file_name);
  Result<io::FileKind> kind = env_->file_kind(path);
  if (!kind.ok()) return kind.status();
  if (*kind == io::FileKind::missing) return Status(Errc::not_found, "no metadata written in " + dir_);
  Result<std::vector<std::byte>> file =
      io::read_whole_file(*env_, path, format::small_file_header_bytes + metadata_bytes_max);
  if (!file.ok()) return file.status();
  format::SnapshotHeader header;
  std::span<const std::byte> body;
  const format::SmallFileError error = format::decode_app_meta(*file, &header, &body);
  if (error != format::SmallFileError::none)
    return Status(Errc::corruption, path + " at offset 0, " + std::to_string(file->size()) +
                                        " bytes: " + format::small_file_error_name(error));
  if (header.store_id != store_id_)
    return Status(Errc::corruption, path + " at offset 16, 8 bytes: store id " + std::to_string(header.store_id) +
                                        " is not this store's (" + std::to_string(store_id_) + ")");
  app_meta_sequence_ = std::max(app_meta_sequence_, header.lsn);
  return std::vector<std::byte>(body.begin(), body.end());
}

}  // namespace segstore
