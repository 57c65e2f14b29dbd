// format/index_snapshot.cc — encode and decode "<segment id>.idx" (byte table in
// format/index_snapshot.h). The stream bitmaps are opaque bytes here: format/ does not link
// CRoaring, the engine interprets them.
#include "format/index_snapshot.h"

#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "base/assert.h"
#include "format/crc32c.h"
#include "format/endian.h"
#include "format/layout.h"

namespace segstore::format {
namespace {

std::uint32_t header_crc_of(const std::byte *p) {
  return crc32c_mask(crc32c(std::span(p, index_header_crc_offset)));
}

bool entries_rising(const IndexEntry &prev, const IndexEntry &next) {
  return next.lsn_delta > prev.lsn_delta && next.offset > prev.offset;
}

std::uint64_t body_size_of(const IndexBody &body) {
  std::uint64_t bytes = body.entries.size() * index_entry_bytes;
  for (const StreamEntry &s : body.streams) bytes += index_stream_fixed_bytes + s.bitmap.size();
  return bytes;
}

// A cursor over the body that never reads past its end; the caller checks remaining() first.
struct BodyReader {
  std::span<const std::byte> body;
  std::size_t position = 0;
  std::size_t remaining() const { return body.size() - position; }
  const std::byte *take(std::size_t n) {
    SEGSTORE_ASSERT(n <= remaining(), "index body read past its end");
    const std::byte *p = body.data() + position;
    position += n;
    return p;
  }
};

IndexError parse_entries(BodyReader &reader, std::uint32_t count, std::vector<IndexEntry> *out) {
  // Checked before reserving: the count is read from disk and may be anything.
  if (static_cast<std::uint64_t>(count) * index_entry_bytes > reader.remaining())
    return IndexError::body_size_mismatch;
  out->reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::byte *p = reader.take(index_entry_bytes);
    const IndexEntry entry{load_u32(p), load_u32(p + 4)};
    if (!out->empty() && !entries_rising(out->back(), entry)) return IndexError::entries_not_sorted;
    out->push_back(entry);
  }
  return IndexError::none;
}

IndexError parse_streams(BodyReader &reader, std::uint32_t count, std::vector<StreamEntry> *out) {
  // Checked before reserving: each stream needs at least its fixed part.
  if (static_cast<std::uint64_t>(count) * index_stream_fixed_bytes > reader.remaining())
    return IndexError::body_size_mismatch;
  out->reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (reader.remaining() < index_stream_fixed_bytes) return IndexError::body_size_mismatch;
    const std::byte *p = reader.take(index_stream_fixed_bytes);
    StreamEntry stream;
    stream.stream = load_u32(p);
    const std::uint32_t bitmap_bytes = load_u32(p + 4);
    stream.record_count = load_u64(p + 8);
    if (!out->empty() && stream.stream <= out->back().stream) return IndexError::streams_not_sorted;
    if (bitmap_bytes > reader.remaining()) return IndexError::bitmap_past_end;
    const std::byte *bitmap = reader.take(bitmap_bytes);
    stream.bitmap.assign(bitmap, bitmap + bitmap_bytes);
    out->push_back(std::move(stream));
  }
  return IndexError::none;
}

}  // namespace

const char *index_error_name(IndexError error) {
  switch (error) {
    case IndexError::none: return "none";
    case IndexError::too_short: return "too_short";
    case IndexError::bad_magic: return "bad_magic";
    case IndexError::header_checksum: return "header_checksum";
    case IndexError::unsupported_version: return "unsupported_version";
    case IndexError::reserved_nonzero: return "reserved_nonzero";
    case IndexError::body_size_mismatch: return "body_size_mismatch";
    case IndexError::body_checksum: return "body_checksum";
    case IndexError::entries_not_sorted: return "entries_not_sorted";
    case IndexError::streams_not_sorted: return "streams_not_sorted";
    case IndexError::bitmap_past_end: return "bitmap_past_end";
    case IndexError::lsn_past_limit: return "lsn_past_limit";
  }
  return "unknown";
}

std::vector<std::byte> encode_index_snapshot(IndexHeader header, const IndexBody &body) {
  // A writer must never put on disk a snapshot its own reader would refuse.
  SEGSTORE_ASSERT(header.format_version == format_version,
                  "index format_version " + std::to_string(header.format_version));
  SEGSTORE_ASSERT(header.record_count <= next_lsn_max - header.base_lsn,
                  "index of " + std::to_string(header.record_count) + " records from LSN " +
                      std::to_string(header.base_lsn) + " passes the LSN limit");
  SEGSTORE_ASSERT(body.entries.size() <= std::numeric_limits<std::uint32_t>::max() &&
                      body.streams.size() <= std::numeric_limits<std::uint32_t>::max(),
                  "index body counts overflow u32");
  for (std::size_t i = 1; i < body.entries.size(); ++i)
    SEGSTORE_ASSERT(entries_rising(body.entries[i - 1], body.entries[i]),
                    "index entries not strictly rising at " + std::to_string(i));
  for (std::size_t i = 0; i < body.streams.size(); ++i) {
    SEGSTORE_ASSERT(i == 0 || body.streams[i - 1].stream < body.streams[i].stream,
                    "index streams not strictly rising at " + std::to_string(i));
    SEGSTORE_ASSERT(body.streams[i].bitmap.size() <= std::numeric_limits<std::uint32_t>::max(),
                    "stream bitmap larger than u32");
  }
  header.entry_count = static_cast<std::uint32_t>(body.entries.size());
  header.stream_count = static_cast<std::uint32_t>(body.streams.size());
  header.body_bytes = body_size_of(body);

  std::vector<std::byte> file(index_header_bytes + header.body_bytes);
  std::byte *p = file.data() + index_header_bytes;
  for (const IndexEntry &e : body.entries) {
    store_u32(p, e.lsn_delta);
    store_u32(p + 4, e.offset);
    p += index_entry_bytes;
  }
  for (const StreamEntry &s : body.streams) {
    store_u32(p, s.stream);
    store_u32(p + 4, static_cast<std::uint32_t>(s.bitmap.size()));
    store_u64(p + 8, s.record_count);
    p += index_stream_fixed_bytes;
    if (!s.bitmap.empty()) std::memcpy(p, s.bitmap.data(), s.bitmap.size());
    p += s.bitmap.size();
  }
  header.body_crc = crc32c(std::span(file).subspan(index_header_bytes));

  std::byte *h = file.data();
  std::memcpy(h + index_magic_offset, index_magic, sizeof index_magic);
  store_u32(h + index_version_offset, header.format_version);
  store_u32(h + index_entry_count_offset, header.entry_count);
  store_u64(h + index_segment_id_offset, header.segment_id);
  store_u64(h + index_base_lsn_offset, header.base_lsn);
  store_u64(h + index_store_id_offset, header.store_id);
  store_u64(h + index_record_count_offset, header.record_count);
  store_u32(h + index_end_offset_offset, header.end_offset);
  store_u32(h + index_stream_count_offset, header.stream_count);
  store_u64(h + index_body_bytes_offset, header.body_bytes);
  store_u32(h + index_body_crc_offset, crc32c_mask(header.body_crc));
  store_u64(h + index_reserved_offset, 0);
  store_u32(h + index_header_crc_offset, header_crc_of(h));
  return file;
}

IndexError decode_index_header(std::span<const std::byte> bytes, IndexHeader *out) {
  if (bytes.size() < index_header_bytes) return IndexError::too_short;
  const std::byte *p = bytes.data();
  if (std::memcmp(p + index_magic_offset, index_magic, sizeof index_magic) != 0)
    return IndexError::bad_magic;
  // Version before checksum: a later format may move the checksum; it must read as
  // unsupported, never as damage (see docs/FORMAT.md, "Versioning").
  const std::uint32_t version = load_u32(p + index_version_offset);
  if (version != format_version) return IndexError::unsupported_version;
  // Before the counts and body_bytes are trusted: any of them may be the damaged field.
  if (load_u32(p + index_header_crc_offset) != header_crc_of(p)) return IndexError::header_checksum;
  if (load_u64(p + index_reserved_offset) != 0) return IndexError::reserved_nonzero;
  // The records it describes have LSNs base_lsn .. base_lsn + record_count - 1, all below the
  // LSN limit: a larger count would make next_lsn wrap (format/layout.h, next_lsn_max).
  if (load_u64(p + index_record_count_offset) > next_lsn_max - load_u64(p + index_base_lsn_offset))
    return IndexError::lsn_past_limit;
  if (out != nullptr) {
    out->format_version = version;
    out->entry_count = load_u32(p + index_entry_count_offset);
    out->segment_id = load_u64(p + index_segment_id_offset);
    out->base_lsn = load_u64(p + index_base_lsn_offset);
    out->store_id = load_u64(p + index_store_id_offset);
    out->record_count = load_u64(p + index_record_count_offset);
    out->end_offset = load_u32(p + index_end_offset_offset);
    out->stream_count = load_u32(p + index_stream_count_offset);
    out->body_bytes = load_u64(p + index_body_bytes_offset);
    out->body_crc = crc32c_unmask(load_u32(p + index_body_crc_offset));
  }
  return IndexError::none;
}

// On error *body is left empty.
IndexError decode_index_snapshot(std::span<const std::byte> bytes, IndexHeader *header,
                                 IndexBody *body) {
  IndexHeader h;
  if (body != nullptr) *body = IndexBody{};
  if (const IndexError e = decode_index_header(bytes, &h); e != IndexError::none) return e;
  if (header != nullptr) *header = h;
  // The file is exactly header + body: a short file is a torn write, a long one is not ours.
  if (h.body_bytes != bytes.size() - index_header_bytes) return IndexError::body_size_mismatch;
  const auto body_bytes = bytes.subspan(index_header_bytes);
  if (crc32c(body_bytes) != h.body_crc) return IndexError::body_checksum;

  IndexBody parsed;
  BodyReader reader{body_bytes};
  if (const IndexError e = parse_entries(reader, h.entry_count, &parsed.entries);
      e != IndexError::none)
    return e;
  if (const IndexError e = parse_streams(reader, h.stream_count, &parsed.streams);
      e != IndexError::none)
    return e;
  // Every body byte must be accounted for by the counts and bitmap lengths.
  if (reader.remaining() != 0) return IndexError::body_size_mismatch;
  if (body != nullptr) *body = std::move(parsed);
  return IndexError::none;
}

}  // namespace segstore::format
