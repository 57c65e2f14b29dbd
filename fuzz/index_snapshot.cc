// fuzz/index_snapshot.cc — decode_index_header, decode_index_snapshot and the engine's
// log::SegmentIndex::from_body (CRoaring deserialization of the stream bitmaps) on arbitrary bytes.
//
// Input: byte 0 chooses how the rest (the .idx file) is prepared:
//   bit 0  recompute header_crc and body_crc, so that the fuzzer reaches the body checks
//   bit 1  with bit 0: also set body_bytes to the real body size first
// Checks: header-only and full decoding agree; a count is never trusted before it is checked
// against the bytes present (ASan, and libFuzzer's -malloc_limit_mb); whatever decodes
// re-encodes to exactly the input; a body the engine accepts gives a usable index whose
// lookups stay in bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "log/segment_index.h"
#include "format/index_snapshot.h"
#include "fuzz/harness_support.h"

namespace segstore::fuzz {
namespace {

using format::IndexError;

constexpr std::size_t body_bytes_offset = 56;
constexpr std::size_t body_crc_offset = 64;
constexpr std::size_t header_crc_offset = 76;

void fix_checksums(Bytes &file, bool fix_length) {
  using namespace format;
  if (file.size() < index_header_bytes) return;
  if (fix_length) store_u64(file.data() + body_bytes_offset, file.size() - index_header_bytes);
  const std::span<const std::byte> all(file);
  store_u32(file.data() + body_crc_offset, crc32c_mask(crc32c(all.subspan(index_header_bytes))));
  store_u32(file.data() + header_crc_offset, crc32c_mask(crc32c(all.first(header_crc_offset))));
}

// Blocks a segment can have at most (1 GiB / 4 KiB): from_body must refuse a bitmap with more.
constexpr std::uint64_t blocks_per_segment_max =
    format::segment_size_max_bytes / format::block_size_bytes;

void check_engine_index(const format::IndexHeader &header, const format::IndexBody &body) {
  Result<log::SegmentIndex> index = log::SegmentIndex::from_body(header, body, "fuzz.idx");
  if (!index.ok()) {
    FUZZ_CHECK(index.status().code() == Errc::corruption, index.status().to_string());
    return;
  }
  FUZZ_CHECK(index->entries() == body.entries, "entries changed");
  FUZZ_CHECK(index->streams().size() == body.streams.size(), "streams lost");
  // Lookups on what came from disk: locate and entry_of_block must answer from the entries.
  for (const format::IndexEntry &e : body.entries) {
    const auto found = index->locate(e.lsn_delta);
    FUZZ_CHECK(found.has_value() && found->lsn_delta == e.lsn_delta, "locate lost an entry");
    (void)index->entry_of_block(e.offset / format::block_size_bytes);
  }
  (void)index->locate(0);
  (void)index->locate(UINT64_MAX);
  for (const auto &[stream, blocks] : index->streams()) {
    FUZZ_CHECK(index->has_stream(stream), "stream lost");
    // from_body bounds the blocks by the segment's end_offset, itself at most 1 GiB.
    FUZZ_CHECK(blocks.blocks.cardinality() <= blocks_per_segment_max &&
                   blocks.blocks.maximum() * std::uint64_t{format::block_size_bytes} < header.end_offset,
               "stream " + std::to_string(stream) + " has blocks past the segment's end");
    const std::vector<std::uint32_t> from_zero = index->stream_blocks_from(stream, 0);
    FUZZ_CHECK(from_zero.size() == blocks.blocks.cardinality(), "stream_blocks_from lost blocks");
    for (std::size_t i = 1; i < from_zero.size(); ++i) {
      FUZZ_CHECK(from_zero[i - 1] < from_zero[i],
                 "stream " + std::to_string(stream) + " blocks not ascending: " +
                     std::to_string(from_zero[i - 1]) + " then " + std::to_string(from_zero[i]));
    }
  }
  // What the engine writes back (to_body) must decode to the same sets.
  const format::IndexBody again = index->to_body();
  FUZZ_CHECK(again.entries == body.entries, "to_body changed the entries");
  Result<log::SegmentIndex> reread = log::SegmentIndex::from_body(header, again, "again.idx");
  FUZZ_CHECK(reread.ok(), reread.status().to_string());
  for (const auto &[stream, blocks] : index->streams()) {
    auto it = reread->streams().find(stream);
    FUZZ_CHECK(it != reread->streams().end() && it->second.records == blocks.records &&
                   it->second.blocks == blocks.blocks,
               "stream " + std::to_string(stream) + " changed through to_body");
  }
}

int run_input(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  Bytes file(reinterpret_cast<const std::byte *>(data) + 1,
             reinterpret_cast<const std::byte *>(data) + size);
  if ((mode & 1) != 0) fix_checksums(file, (mode & 2) != 0);

  format::IndexHeader header_only;
  const IndexError header_error = format::decode_index_header(file, &header_only);
  format::IndexHeader header;
  format::IndexBody body;
  const IndexError error = format::decode_index_snapshot(file, &header, &body);
  FUZZ_CHECK(std::string(format::index_error_name(error)) != "unknown", "error name");
  if (header_error != IndexError::none) {
    FUZZ_CHECK(error == header_error, std::string(format::index_error_name(error)) + " vs " +
                                          format::index_error_name(header_error));
    return 0;
  }
  if (error != IndexError::none) {
    FUZZ_CHECK(body.entries.empty() && body.streams.empty(), "body left filled on error");
    return 0;
  }
  FUZZ_CHECK(header.entry_count == body.entries.size() && header.stream_count == body.streams.size(),
             "counts");
  FUZZ_CHECK(header.body_bytes == file.size() - format::index_header_bytes, "body_bytes");
  // A snapshot that decodes re-encodes to exactly its bytes.
  const std::vector<std::byte> encoded = format::encode_index_snapshot(header, body);
  FUZZ_CHECK(encoded == file, "re-encode differs: " + hex_prefix(encoded, 96));
  check_engine_index(header, body);
  return 0;
}

}  // namespace
}  // namespace segstore::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  try {
    return segstore::fuzz::run_input(data, size);
  } catch (const segstore::fuzz::KnownFinding &) {
    return 0;  // an open finding this run was told to step over (SEGSTORE_FUZZ_SKIP)
  }
}
