// inspect/inspect_env.h — how the inspection tools (segstore/inspect.h) open a store's files:
// the env they read with, and a segment's header read-only. The listing of the store directory
// and the header opener themselves are log/'s (log/store_files.h, log/segment_file.h).
#pragma once

#include <memory>
#include <string>

#include "io/env.h"
#include "log/segment_file.h"
#include "log/store_files.h"

namespace segstore::inspect {

using log::list_store_files;
using log::SegmentFileHeader;
using log::StoreFiles;

// The env the inspection functions read with: buffered, no write queue.
std::shared_ptr<io::Env> inspection_env();

// Opens a segment file read-only and decodes block 0. Errors: only I/O.
Result<SegmentFileHeader> read_segment_header(io::Env &env, const std::string &path);

}  // namespace segstore::inspect
