// inspect/inspect_env.cc — see inspect_env.h.
#include "inspect/inspect_env.h"

namespace segstore::inspect {

std::shared_ptr<io::Env> inspection_env() {
  io::EnvOptions options;
  options.backend = io::EnvOptions::Backend::thread;  // reads only: no io_uring ring needed
  // Segment files are read as the writer writes them (O_DIRECT where the file system allows):
  // see inspect_walk.h on buffered reads racing direct writes.
  options.direct = true;
  return io::make_posix_env(options);
}

Result<SegmentFileHeader> read_segment_header(io::Env &env, const std::string &path) {
  io::OpenFlags flags;
  flags.direct = true;  // read-only: write and create stay false
  Result<SegmentFileHeader> read = log::open_segment_file(env, path, flags);
  // A recycled spare never activated holds no record, like a preallocated segment: the tools
  // describe it as unused (its bytes after block 0 are a previous life's).
  if (read.ok() && read->error == format::SegmentHeaderError::none && read->header.spare())
    read->error = format::SegmentHeaderError::unused;
  return read;
}

}  // namespace segstore::inspect
