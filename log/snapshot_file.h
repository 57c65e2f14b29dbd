// log/snapshot_file.h — checking an application snapshot file (format/small_files.h) with a
// bounded buffer: its header first, then its state streamed through the checksum, so that a
// huge or sparse file under a snapshot's name costs a read, never an allocation of its size.
//
// Thread-safety: none needed (plain function). Errors: those of opening and reading the file
// (not_a_regular_file for a FIFO or a symbolic link, io_error, ...); damage is not an error but
// a SmallFileError in the result.
#pragma once

#include <cstdint>
#include <string>

#include "format/small_files.h"
#include "io/env.h"

namespace segstore::log {

struct SnapshotFileCheck {
  format::SmallFileError error = format::SmallFileError::none;
  std::uint64_t error_offset = 0;  // where the failed check applies: 0 (header) or 64 (state)
  format::SnapshotHeader header;   // when error == none
  std::uint64_t file_bytes = 0;
  std::uint64_t bytes_read = 0;
};

Result<SnapshotFileCheck> check_snapshot_file(io::Env &env, const std::string &path);

}  // namespace segstore::log
