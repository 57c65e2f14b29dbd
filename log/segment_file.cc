// log/segment_file.cc — see log/segment_file.h.
#include "log/segment_file.h"

#include <span>

#include "format/endian.h"
#include "format/layout.h"
#include "io/aligned_buffer.h"
#include "log/segment_scan.h"

namespace segstore::log {

Result<SegmentFileHeader> open_segment_file(io::Env &env, const std::string &path, const io::OpenFlags &flags) {
  SegmentFileHeader out;
  Result<std::unique_ptr<io::File>> file = env.open_file(path, flags);
  if (!file.ok()) return file.status();
  out.file = std::move(*file);
  Result<std::uint64_t> size = out.file->size();
  if (!size.ok()) return size.status();
  out.file_bytes = *size;
  io::AlignedBuffer block(format::segment_header_block_bytes);
  Result<std::size_t> got = read_blocks(*out.file, 0, block, block.size());
  if (!got.ok()) return got.status();
  const std::span<const std::byte> read(block.data(), *got);
  out.block0_all_zero = format::all_zero(read.data(), read.size());
  out.error = format::decode_segment_header(read, &out.header);
  return out;
}

}  // namespace segstore::log
