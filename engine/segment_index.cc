#include "engine/segment_index.h"

#include <algorithm>

#include "base/assert.h"
#include "format/layout.h"

namespace segstore::engine {

namespace {
std::uint32_t block_of(std::uint32_t offset) { return offset / format::block_size_bytes; }
}  // namespace

void SegmentIndex::add_record(std::uint64_t lsn_delta, std::uint32_t offset, std::uint32_t stream) {
  // Invariant: records arrive in order; an entry is kept only for the first record of a block.
  SEGSTORE_ASSERT(entries_.empty() || (entries_.back().offset < offset &&
                                       entries_.back().lsn_delta < lsn_delta),
                  "index records out of order");
  const std::uint32_t block = block_of(offset);
  if (entries_.empty() || block_of(entries_.back().offset) != block)
    entries_.push_back({static_cast<std::uint32_t>(lsn_delta), offset});
  StreamBlocks &s = streams_[stream];
  s.blocks.add(block);
  s.records++;
}

std::optional<format::IndexEntry> SegmentIndex::locate(std::uint64_t lsn_delta) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), lsn_delta,
                             [](std::uint64_t d, const format::IndexEntry &e) { return d < e.lsn_delta; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

std::uint64_t SegmentIndex::bytes_through(std::uint64_t lsn_delta) const {
  auto next = std::upper_bound(entries_.begin(), entries_.end(), lsn_delta,
                               [](std::uint64_t d, const format::IndexEntry &e) { return d < e.lsn_delta; });
  if (next == entries_.begin() || next == entries_.end()) return 0;
  const format::IndexEntry &entry = *std::prev(next);
  // The record after lsn_delta starts where the next entry is, or (no entry names it) in the
  // same block as lsn_delta's record: either way lsn_delta's record ends before that.
  if (next->lsn_delta == lsn_delta + 1) return next->offset - entry.offset;
  return format::align_up(entry.offset + 1, format::block_size_bytes) - entry.offset;
}

std::optional<format::IndexEntry> SegmentIndex::entry_of_block(std::uint32_t block) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), block,
                             [](const format::IndexEntry &e, std::uint32_t b) { return block_of(e.offset) < b; });
  if (it == entries_.end() || block_of(it->offset) != block) return std::nullopt;
  return *it;
}

std::vector<std::uint32_t> SegmentIndex::stream_blocks_from(std::uint32_t stream,
                                                            std::uint32_t first_block) const {
  std::vector<std::uint32_t> out;
  auto it = streams_.find(stream);
  if (it == streams_.end()) return out;
  auto b = it->second.blocks.begin();
  b.equalorlarger(first_block);
  for (; b != it->second.blocks.end(); ++b) out.push_back(*b);
  return out;
}

void SegmentIndex::truncate(std::uint64_t keep_records,
                            const std::map<std::uint32_t, std::uint64_t> &removed_per_stream) {
  // The entry of the block holding the first removed record stays if an earlier record starts
  // in that block; its bitmaps bit stays too (a scan filters by stream anyway).
  std::uint32_t last_kept_block = 0;
  bool any_kept = false;
  while (!entries_.empty() && entries_.back().lsn_delta >= keep_records) entries_.pop_back();
  if (!entries_.empty()) {
    last_kept_block = block_of(entries_.back().offset);
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
}

std::size_t SegmentIndex::memory_bytes() const {
  std::size_t bytes = entries_.capacity() * sizeof(format::IndexEntry);
  for (const auto &[stream, s] : streams_) bytes += sizeof(StreamBlocks) + 32 + s.blocks.getSizeInBytes(false);
  return bytes;
}

format::IndexBody SegmentIndex::to_body() const {
  format::IndexBody body;
  body.entries = entries_;
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

Result<SegmentIndex> SegmentIndex::from_body(const format::IndexBody &body, const std::string &path) {
  SegmentIndex index;
  index.entries_ = body.entries;
  for (const auto &e : body.streams) {
    // readSafe never reads past the given length: the bitmap bytes came from disk.
    Roaring blocks;
    try {
      blocks = Roaring::readSafe(reinterpret_cast<const char *>(e.bitmap.data()),
                                          e.bitmap.size());
    } catch (const std::exception &) {
      return Status(Errc::corruption, "index snapshot " + path + ": bitmap of stream " +
                                          std::to_string(e.stream) + " does not decode");
    }
    index.streams_[e.stream] = StreamBlocks{std::move(blocks), e.record_count};
  }
  return index;
}

}  // namespace segstore::engine
