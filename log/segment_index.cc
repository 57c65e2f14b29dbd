#include "log/segment_index.h"

#include <algorithm>

#include "base/assert.h"
#include "base/try.h"
#include "format/layout.h"

namespace segstore::log {

namespace {
std::uint32_t block_of(std::uint32_t offset) { return offset / format::block_size_bytes; }
}  // namespace

void SegmentIndex::add_record(std::uint64_t lsn_delta, std::uint32_t offset, std::uint32_t stream) {
  // Invariant: records arrive in order; an entry is kept only for the first record of a block.
  const std::optional<format::IndexEntry> &last = entries_.back();
  SEGSTORE_ASSERT(!last || (last->offset < offset && last->lsn_delta < lsn_delta), "index records out of order");
  // Invariant: a segment holds fewer records than u32 counts (one per 32 bytes of at most 1 GiB).
  SEGSTORE_ASSERT(lsn_delta <= UINT32_MAX, "index LSN delta " + std::to_string(lsn_delta) + " past u32");
  const std::uint32_t block = block_of(offset);
  if (!last || block_of(last->offset) != block) entries_.push_back({static_cast<std::uint32_t>(lsn_delta), offset});
  StreamBlocks &s = streams_[stream];
  // A block holds several records, mostly of one stream: its bit is set once (a bitmap
  // insertion searches the bitmap's containers: once per block instead of once per record).
  const std::uint64_t added = stream_block_key(stream, block);
  if (added != last_stream_block_added_) {
    s.blocks.add(block);
    last_stream_block_added_ = added;
  }
  s.records++;
}

std::optional<format::IndexEntry> SegmentIndex::locate(std::uint64_t lsn_delta) const {
  std::uint32_t block = 0;
  return entries_.at_or_before(lsn_delta, &block);
}

std::uint64_t SegmentIndex::bytes_through(std::uint64_t lsn_delta) const {
  std::uint64_t bytes = 0;
  (void)locate(lsn_delta, &bytes);
  return bytes;
}

std::optional<format::IndexEntry> SegmentIndex::locate(std::uint64_t lsn_delta, std::uint64_t *bytes_through) const {
  *bytes_through = 0;
  std::uint32_t block = 0;
  const std::optional<format::IndexEntry> entry = entries_.at_or_before(lsn_delta, &block);
  if (!entry) return entry;
  const std::optional<format::IndexEntry> next = entries_.first_after(block);
  if (!next) return entry;
  // The record after lsn_delta starts where the next entry is, or (no entry names it) in the
  // same block as lsn_delta's record: either way lsn_delta's record ends before that.
  if (next->lsn_delta == lsn_delta + 1) *bytes_through = next->offset - entry->offset;
  else *bytes_through = format::align_up(entry->offset + 1, format::block_size_bytes) - entry->offset;
  return entry;
}

std::uint64_t SegmentIndex::block_records_end(std::uint32_t block) const {
  const std::optional<format::IndexEntry> next = entries_.first_after(block);
  return next ? next->offset : 0;
}

std::optional<format::IndexEntry> SegmentIndex::entry_of_block(std::uint32_t block) const {
  return entries_.of_block(block);
}

std::vector<std::uint32_t> SegmentIndex::stream_blocks_from(std::uint32_t stream, std::uint32_t first_block,
                                                            std::size_t max_blocks) const {
  std::vector<std::uint32_t> out;
  auto it = streams_.find(stream);
  if (it == streams_.end()) return out;
  auto b = it->second.blocks.begin();
  b.equalorlarger(first_block);
  for (; b != it->second.blocks.end() && out.size() < max_blocks; ++b) out.push_back(*b);
  return out;
}

void SegmentIndex::truncate(std::uint64_t keep_records,
                            const std::map<std::uint32_t, std::uint64_t> &removed_per_stream) {
  // The entry of the block holding the first removed record stays if an earlier record starts
  // in that block; its bitmaps bit stays too (a scan filters by stream anyway).
  std::uint32_t last_kept_block = 0;
  bool any_kept = false;
  last_stream_block_added_ = no_stream_block_added;  // truncating may remove its bit
  entries_.drop_from(keep_records);
  if (entries_.back()) {
    last_kept_block = block_of(entries_.back()->offset);
    any_kept = true;
  }
  for (auto it = streams_.begin(); it != streams_.end();) {
    auto removed = removed_per_stream.find(it->first);
    if (removed != removed_per_stream.end()) {
      SEGSTORE_ASSERT(it->second.records >= removed->second, "stream count below zero");
      it->second.records -= removed->second;
    }
    if (any_kept) {
      roaring_bitmap_remove_range(&it->second.blocks.roaring, std::uint64_t{last_kept_block} + 1,
                                  std::uint64_t{1} << 32);
    } else {
      it->second.blocks = Roaring();
    }
    if (it->second.records == 0) {
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
}

void SegmentIndex::clear() {
  entries_.clear();
  streams_.clear();
  last_stream_block_added_ = no_stream_block_added;
}

void SegmentIndex::shrink_to_fit() {
  entries_.shrink_to_fit();
  for (auto &[stream, s] : streams_) {
    // A stream with a record in most blocks grew a bitset (8 KiB per 65,536 blocks); as runs
    // of blocks it takes a few bytes.
    s.blocks.runOptimize();
    s.blocks.shrinkToFit();
  }
}

namespace {

// A std::map node beside its value: libstdc++'s colour and three links.
constexpr std::size_t map_node_links_bytes = 4 * sizeof(void *);

// Heap bytes of a CRoaring 0.2 bitmap: its arrays of keys, container pointers and type codes
// (one allocation of allocation_size of each), then each container and its values.
std::size_t bitmap_heap_bytes(const roaring_bitmap_t &bitmap) {
  const roaring_array_t &ra = bitmap.high_low_container;
  std::size_t bytes = static_cast<std::size_t>(ra.allocation_size) * (sizeof(void *) + sizeof(std::uint16_t) + sizeof(std::uint8_t));
  for (std::int32_t i = 0; i < ra.size; ++i) {
    std::uint8_t type = ra.typecodes[i];
    if (type == SHARED_CONTAINER_TYPE_CODE) bytes += sizeof(shared_container_t);
    const void *container = container_unwrap_shared(ra.containers[i], &type);
    switch (type) {
      case ARRAY_CONTAINER_TYPE_CODE: {
        const auto *array = static_cast<const array_container_t *>(container);
        bytes += sizeof(array_container_t) + static_cast<std::size_t>(array->capacity) * sizeof(std::uint16_t);
        break;
      }
      case BITSET_CONTAINER_TYPE_CODE:
        bytes += sizeof(bitset_container_t) + BITSET_CONTAINER_SIZE_IN_WORDS * sizeof(std::uint64_t);
        break;
      case RUN_CONTAINER_TYPE_CODE: {
        const auto *run = static_cast<const run_container_t *>(container);
        bytes += sizeof(run_container_t) + static_cast<std::size_t>(run->capacity) * sizeof(rle16_t);
        break;
      }
      default:
        SEGSTORE_ASSERT(false, "bitmap container of unknown type " + std::to_string(type));
    }
  }
  return bytes;
}

}  // namespace

std::size_t SegmentIndex::memory_bytes() const {
  std::size_t bytes = entries_.memory_bytes();
  for (const auto &[stream, s] : streams_)
    bytes += map_node_links_bytes + sizeof(std::pair<const std::uint32_t, StreamBlocks>) + bitmap_heap_bytes(s.blocks.roaring);
  return bytes;
}

format::IndexBody SegmentIndex::to_body() const {
  format::IndexBody body;
  body.entries = entries_.decoded();
  for (const auto &[stream, s] : streams_) {
    format::StreamEntry e;
    e.stream = stream;
    e.record_count = s.records;
    e.bitmap.resize(s.blocks.getSizeInBytes(true));
    s.blocks.write(reinterpret_cast<char *>(e.bitmap.data()), true);
    body.streams.push_back(std::move(e));
  }
  return body;
}

namespace {

// Byte offsets inside the .idx file (format/index_snapshot.h): the header, then 8 bytes per
// entry, then per stream 16 fixed bytes followed by its bitmap.
constexpr std::uint64_t index_entry_bytes = 8;
constexpr std::uint64_t index_stream_fixed_bytes = 16;

Status index_corruption(const std::string &path, std::uint64_t offset, const std::string &why) {
  return Status(Errc::corruption, "index snapshot " + path + " at offset " + std::to_string(offset) + ": " + why);
}

// Why an array container's values are not a set in ascending order, or nullptr.
const char *array_defect(const array_container_t &array) {
  if (array.cardinality <= 0 || array.cardinality > DEFAULT_MAX_SIZE) return "array container of bad cardinality";
  for (std::int32_t i = 1; i < array.cardinality; ++i)
    if (array.array[i - 1] >= array.array[i]) return "array container values not strictly ascending";
  return nullptr;
}

// A bitset's cardinality is read from the serialization, not counted: every query trusts it.
const char *bitset_defect(const bitset_container_t &bitset) {
  if (bitset.cardinality <= DEFAULT_MAX_SIZE) return "bitset container of an array's cardinality";
  if (bitset.cardinality != bitset_container_compute_cardinality(&bitset))
    return "bitset container cardinality disagrees with its bits";
  return nullptr;
}

// Runs must be non-empty, inside the container's 16 bits, ascending and disjoint: lookups
// binary-search them and iteration walks them in order.
const char *run_defect(const run_container_t &run) {
  if (run.n_runs <= 0) return "run container without runs";
  std::int64_t previous_end = -1;
  for (std::int32_t i = 0; i < run.n_runs; ++i) {
    const std::int64_t start = run.runs[i].value;
    const std::int64_t end = start + run.runs[i].length;
    if (end > UINT16_MAX) return "run container run past its 16 bits";
    if (start <= previous_end) return "run container runs overlap or are not ascending";
    previous_end = end;
  }
  return nullptr;
}

// Why a deserialized bitmap is not well formed, or nullptr. CRoaring 0.2.66 has no validation
// call of its own (roaring_bitmap_internal_validate came later), so its containers are walked
// here: keys strictly ascending and every container a non-empty set in ascending order.
const char *bitmap_defect(const roaring_bitmap_t &bitmap) {
  const roaring_array_t &ra = bitmap.high_low_container;
  for (std::int32_t i = 0; i < ra.size; ++i) {
    if (i > 0 && ra.keys[i - 1] >= ra.keys[i]) return "container keys not strictly ascending";
    std::uint8_t type = ra.typecodes[i];
    const void *container = container_unwrap_shared(ra.containers[i], &type);
    const char *defect = nullptr;
    switch (type) {
      case ARRAY_CONTAINER_TYPE_CODE:
        defect = array_defect(*static_cast<const array_container_t *>(container));
        break;
      case BITSET_CONTAINER_TYPE_CODE:
        defect = bitset_defect(*static_cast<const bitset_container_t *>(container));
        break;
      case RUN_CONTAINER_TYPE_CODE:
        defect = run_defect(*static_cast<const run_container_t *>(container));
        break;
      default:
        defect = "unknown container type";
    }
    if (defect != nullptr) return defect;
  }
  return nullptr;
}

// Entries must lie in the segment the header describes: SegmentIndex's lookups and the records
// added after them (add_record's order invariant) rely on it. They are sorted (the decoder
// checked), so the first and the last bound them all.
Status check_entries(const format::IndexHeader &header, const format::IndexBody &body, const std::string &path) {
  // end_offset bounds the blocks of the bitmaps below: it must be a segment's.
  if (header.end_offset > format::segment_size_max_bytes)
    return index_corruption(path, 0, "end_offset " + std::to_string(header.end_offset) + " past the largest segment");
  if (body.entries.empty() != (header.record_count == 0))
    return index_corruption(path, format::index_header_bytes,
                            std::to_string(body.entries.size()) + " entries for " +
                                std::to_string(header.record_count) + " records");
  if (body.entries.empty()) return Status();
  if (body.entries.front().offset < format::segment_data_offset_bytes)
    return index_corruption(path, format::index_header_bytes,
                            "entry offset " + std::to_string(body.entries.front().offset) + " inside the header block");
  const std::uint64_t last_offset = format::index_header_bytes + (body.entries.size() - 1) * index_entry_bytes;
  if (body.entries.back().lsn_delta >= header.record_count || body.entries.back().offset >= header.end_offset)
    return index_corruption(path, last_offset,
                            "last entry (LSN delta " + std::to_string(body.entries.back().lsn_delta) + ", offset " +
                                std::to_string(body.entries.back().offset) + ") past the segment's " +
                                std::to_string(header.record_count) + " records ending at offset " +
                                std::to_string(header.end_offset));
  return Status();
}

// The entries in memory. Each must follow the one before it as the records of a segment can
// (one per block, at most a block's worth of records apart): the packed form holds only those.
Result<PackedEntries> packed_entries_of(const format::IndexBody &body, const std::string &path) {
  PackedEntries packed;
  if (body.entries.empty()) return packed;
  packed.reserve_through(block_of(body.entries.back().offset));
  for (std::size_t i = 0; i < body.entries.size(); ++i) {
    const format::IndexEntry &e = body.entries[i];
    if (const char *defect = PackedEntries::spacing_defect(packed.back(), e); defect != nullptr)
      return index_corruption(path, format::index_header_bytes + i * index_entry_bytes,
                              std::string(defect) + ": entry " + std::to_string(i) + " (LSN delta " +
                                  std::to_string(e.lsn_delta) + ", offset " + std::to_string(e.offset) +
                                  ") after (LSN delta " + std::to_string(packed.back()->lsn_delta) + ", offset " +
                                  std::to_string(packed.back()->offset) + ")");
    packed.push_back(e);
  }
  return packed;
}

// One stream's bitmap: it decodes within its bytes, is well formed, and names blocks in
// [1, last_block] (block 0 is the segment header; no record starts at or after end_offset).
Result<Roaring> stream_blocks_of(const format::StreamEntry &e, std::uint32_t last_block, std::uint64_t offset,
                                 const std::string &path) {
  const std::string what = "bitmap of stream " + std::to_string(e.stream) + " (" + std::to_string(e.bitmap.size()) + " bytes): ";
  // The C call, not Roaring::readSafe: that one throws the same std::runtime_error for bytes
  // that do not decode and for a failed allocation, and only the first is corruption. It never
  // reads past the given length (the bitmap bytes came from disk); NULL means they do not decode.
  roaring_bitmap_t *decoded =
      roaring_bitmap_portable_deserialize_safe(reinterpret_cast<const char *>(e.bitmap.data()), e.bitmap.size());
  if (decoded == nullptr) return index_corruption(path, offset, what + "does not decode");
  Roaring blocks(decoded);  // takes the containers over and frees the struct
  if (const char *defect = bitmap_defect(blocks.roaring); defect != nullptr)
    return index_corruption(path, offset, what + defect);
  if (blocks.isEmpty()) return index_corruption(path, offset, what + "empty for " + std::to_string(e.record_count) + " records");
  if (blocks.minimum() < 1 || blocks.maximum() > last_block)
    return index_corruption(path, offset,
                            what + "blocks " + std::to_string(blocks.minimum()) + ".." +
                                std::to_string(blocks.maximum()) + " outside the segment's blocks 1.." +
                                std::to_string(last_block));
  return blocks;
}

}  // namespace

Result<SegmentIndex> SegmentIndex::from_body(const format::IndexHeader &header, const format::IndexBody &body,
                                             const std::string &path) {
  SEGSTORE_TRY(check_entries(header, body, path));
  // The block of the last record's first byte: end_offset is one past the last record.
  const std::uint32_t last_block = header.end_offset == 0 ? 0 : block_of(header.end_offset - 1);
  SegmentIndex index;
  Result<PackedEntries> entries = packed_entries_of(body, path);
  if (!entries.ok()) return entries.status();
  index.entries_ = std::move(*entries);
  std::uint64_t offset = format::index_header_bytes + body.entries.size() * index_entry_bytes;
  std::uint64_t stream_records = 0;
  for (const auto &e : body.streams) {
    // Every stream entry stands for records; the counts may be anything on disk, so the sum
    // is compared without overflowing.
    if (e.record_count == 0 || e.record_count > header.record_count - stream_records)
      return index_corruption(path, offset,
                              "stream " + std::to_string(e.stream) + " counts " + std::to_string(e.record_count) +
                                  " records, the segment has " + std::to_string(header.record_count) + " in all");
    stream_records += e.record_count;
    Result<Roaring> blocks = stream_blocks_of(e, last_block, offset + index_stream_fixed_bytes, path);
    if (!blocks.ok()) return blocks.status();
    index.streams_[e.stream] = StreamBlocks{std::move(*blocks), e.record_count};
    offset += index_stream_fixed_bytes + e.bitmap.size();
  }
  if (stream_records != header.record_count)
    return index_corruption(path, format::index_header_bytes + body.entries.size() * index_entry_bytes,
                            "the streams count " + std::to_string(stream_records) + " records, the segment " +
                                std::to_string(header.record_count));
  index.shrink_to_fit();  // the bitmaps as written may be bitsets where runs are smaller
  return index;
}

}  // namespace segstore::log
