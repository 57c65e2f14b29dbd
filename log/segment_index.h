// log/segment_index.h — what the engine knows about the records of one segment without
// reading it: the sparse index (first record of every block where a record starts) and, per
// stream, a CRoaring bitmap of the blocks where that stream's records start.
//
// Memory: the sparse index is packed to 3.125 bytes per 4 KiB block (log/packed_entries.h),
// 800 KiB per GiB of log, plus the bitmaps (a busy stream's is a run container once the
// segment is sealed or loaded: a few bytes per segment). The .idx file keeps 8-byte entries.
//
// Thread-safety: none; the owning Segment guards it with its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include <roaring/roaring.hh>

#include "format/index_snapshot.h"
#include "log/packed_entries.h"
#include "segstore/status.h"

namespace segstore::log {

struct StreamBlocks {
  Roaring blocks;  // block numbers (offset / block size) where a record starts
  std::uint64_t records = 0;
};

class SegmentIndex {
 public:
  // Records must be added in LSN order with rising offsets, as a segment holds them (dense
  // LSNs, at least a record header apart).
  void add_record(std::uint64_t lsn_delta, std::uint32_t offset, std::uint32_t stream);
  // Offset of the first record of the block holding the record `lsn_delta`: reading forward
  // from there reaches it within that block. nullopt when the index is empty or lsn_delta
  // precedes every entry.
  std::optional<format::IndexEntry> locate(std::uint64_t lsn_delta) const;
  // Bytes from locate(lsn_delta)->offset within which the record lsn_delta ends, as far as the
  // index knows it (the next record's start bounds it); 0 when the index cannot tell.
  std::uint64_t bytes_through(std::uint64_t lsn_delta) const;
  // locate() and bytes_through() in one lookup (a point read needs both).
  std::optional<format::IndexEntry> locate(std::uint64_t lsn_delta, std::uint64_t *bytes_through) const;
  // Where the records that start in block `block` end, as far as the index knows it: the
  // offset of the next block's entry that follows it (the next record starts there, and every
  // record of `block` ends before); 0 when no entry follows (the caller bounds it by the
  // segment's end).
  std::uint64_t block_records_end(std::uint32_t block) const;
  // The entry of block `block` (the first record starting in it), if any record starts there.
  std::optional<format::IndexEntry> entry_of_block(std::uint32_t block) const;
  // Blocks >= first_block in which a record of `stream` starts, ascending; at most max_blocks.
  std::vector<std::uint32_t> stream_blocks_from(std::uint32_t stream, std::uint32_t first_block,
                                               std::size_t max_blocks = SIZE_MAX) const;
  bool has_stream(std::uint32_t stream) const { return streams_.count(stream) != 0; }
  // Drops entries of records with lsn_delta >= keep_records; `removed_per_stream` gives the
  // number of removed records of each stream (the caller counted them while reading them).
  void truncate(std::uint64_t keep_records,
                const std::map<std::uint32_t, std::uint64_t> &removed_per_stream);
  void clear();
  // Gives back what growing left unused (vector capacity, bitmap containers that runs hold in
  // fewer bytes): for a segment whose index no longer grows (sealed, or loaded).
  void shrink_to_fit();

  // Every entry, decoded (a copy): for snapshots, checks and tests, not for lookups.
  std::vector<format::IndexEntry> entries() const { return entries_.decoded(); }
  std::size_t entry_count() const { return entries_.size(); }
  const std::map<std::uint32_t, StreamBlocks> &streams() const { return streams_; }
  // Heap bytes the index holds: allocated capacity, not what is in use.
  std::size_t memory_bytes() const;

  format::IndexBody to_body() const;
  // The index a decoded snapshot describes. Checks what the format decoder cannot: the entries
  // lie inside the segment `header` describes (offsets in [block 1, end_offset), LSN deltas
  // below record_count), one per block and no further apart than records can be (at most a
  // block's worth of records between two: PackedEntries relies on it), the streams' record
  // counts add up to record_count, and every stream bitmap is a well-formed roaring bitmap
  // (CRoaring 0.2's readSafe only bounds the bytes it reads: it accepts unsorted keys and
  // values and wrong cardinalities) of blocks in [1, the block of end_offset].
  // Errors: corruption naming `path`, the file offset, the cause.
  static Result<SegmentIndex> from_body(const format::IndexHeader &header, const format::IndexBody &body,
                                        const std::string &path);

 private:
  // add_record's memory of the (stream, block) bit it set last, so that the next records of
  // the block skip the bitmap; cleared whenever a bit may have been removed (truncate, clear).
  // Block numbers stay below 2^20 (offsets are u32), so all ones names no pair.
  static constexpr std::uint64_t no_stream_block_added = UINT64_MAX;
  static std::uint64_t stream_block_key(std::uint32_t stream, std::uint32_t block) {
    return std::uint64_t{stream} << 32 | block;
  }

  PackedEntries entries_;
  std::map<std::uint32_t, StreamBlocks> streams_;
  std::uint64_t last_stream_block_added_ = no_stream_block_added;
};

}  // namespace segstore::log
