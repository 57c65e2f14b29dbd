// log/packed_entries.h — the sparse index of one segment as it is kept in memory: for every
// 4 KiB block, the first record that starts in it, packed into 3 bytes.
//
// The .idx file stores 8 bytes per entry (format/index_snapshot.h: u32 LSN delta, u32 offset);
// held like that, a GiB of log costs 2 MiB of memory. Most of those bits are known from
// elsewhere: the block number is the entry's position, so the offset needs only its place
// inside the block, and the LSN delta is close to its neighbours', so it is kept relative to
// the first entry of its chunk of 32 blocks:
//
//   chunk_base_lsn_delta_[c]   u32: LSN delta of the first entry in blocks [32c, 32c + 32)
//   slots_[3 * block]          24 bits, little-endian:
//                                bits 0..11   offset of the entry's record inside the block
//                                bits 12..23  its LSN delta minus its chunk's base,
//                                             or 4095 (all ones) where no record starts
//
// 3 bytes per block and 4 per 32 blocks: 3.125 bytes per 4 KiB, 800 KiB per GiB of log.
//
// Why 12 bits of LSN delta are enough: a record takes at least 32 bytes on disk (its
// header), so at most 128 records start in one block; consecutive entries are then at most
// 128 LSNs apart, and the entries of a chunk at most 31 * 128 = 3,968 above its first one.
// push_back asserts the spacing; SegmentIndex::from_body refuses an .idx whose entries break
// it (no segment can hold them) before it gets here.
//
// A chunk in which no record starts (a record larger than 128 KiB spans it) holds the base of
// the next chunk that has one, so the bases never fall and a binary search over them lands on
// a chunk that has an entry. The last chunk always has one: there is no trailing empty chunk.
//
// Thread-safety: none (SegmentIndex's owner guards it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "format/index_snapshot.h"
#include "format/layout.h"

namespace segstore::log {

class PackedEntries {
 public:
  // Bits of a slot and their meaning (the table above).
  static constexpr std::uint32_t slot_bytes = 3;
  static constexpr std::uint32_t offset_bits = 12;
  static constexpr std::uint32_t delta_bits = 12;
  static constexpr std::uint32_t offset_mask = (1u << offset_bits) - 1;
  static constexpr std::uint32_t delta_none = (1u << delta_bits) - 1;  // no record starts in the block
  static constexpr std::uint32_t slot_none = (1u << (offset_bits + delta_bits)) - 1;
  static constexpr std::uint32_t chunk_blocks = 32;
  // The most records that can start in one block: each takes at least a header on disk.
  static constexpr std::uint32_t records_per_block_max =
      format::block_size_bytes / static_cast<std::uint32_t>(format::record_disk_bytes(0));

  static_assert(offset_bits + delta_bits == 8 * slot_bytes, "a slot is exactly its fields");
  static_assert((1u << offset_bits) == format::block_size_bytes, "any offset inside a block fits");
  static_assert((chunk_blocks - 1) * records_per_block_max < delta_none,
                "the LSN deltas of a chunk's entries fit below delta_none");
  static_assert(format::segment_size_max_bytes / format::block_size_bytes <= UINT32_MAX,
                "block numbers of the largest segment fit u32");

  // Why `next` cannot follow `last` (the entry before it), or nullptr: it must lie in a later
  // block with a higher LSN delta at most records_per_block_max above (every record between
  // them starts in last's block). The first entry (no `last`) only needs a u32 offset.
  static const char *spacing_defect(const std::optional<format::IndexEntry> &last, const format::IndexEntry &next);

  // Appends the entry of a block after every block already held. spacing_defect must be null.
  void push_back(const format::IndexEntry &entry);
  // The entry with the largest LSN delta <= lsn_delta, and its block; nullopt when every entry
  // is above it (or there is none).
  std::optional<format::IndexEntry> at_or_before(std::uint64_t lsn_delta, std::uint32_t *block) const;
  // The entry of the first block after `block` that has one; nullopt when none follows.
  std::optional<format::IndexEntry> first_after(std::uint32_t block) const;
  // The entry of `block`, if a record starts in it.
  std::optional<format::IndexEntry> of_block(std::uint32_t block) const;
  // Removes the entries with LSN delta >= lsn_delta.
  void drop_from(std::uint64_t lsn_delta);
  void clear();

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  const std::optional<format::IndexEntry> &back() const { return last_; }
  // Every entry, decoded: for snapshots and checks, not for lookups.
  std::vector<format::IndexEntry> decoded() const;

  // Room for entries up to block `last_block` without reallocating (from_body knows them all).
  void reserve_through(std::uint32_t last_block);
  // Gives back the room vectors keep for growth: a sealed segment's index no longer grows.
  void shrink_to_fit();
  // Heap bytes held (capacities, not sizes).
  std::size_t memory_bytes() const;

 private:
  std::uint32_t slot(std::uint32_t block) const {
    const std::uint8_t *p = slots_.data() + std::size_t{slot_bytes} * block;
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16;
  }
  void set_slot(std::uint32_t block, std::uint32_t value);
  format::IndexEntry entry_of(std::uint32_t block, std::uint32_t value) const;
  std::uint32_t chunk_count() const { return static_cast<std::uint32_t>(chunk_base_lsn_delta_.size()); }
  // The first block of `chunk` that has an entry, scanning from slot `from`; chunk_blocks if none.
  std::uint32_t first_used_slot(std::uint32_t chunk, std::uint32_t from) const;
  void recompute_last();

  std::vector<std::uint32_t> chunk_base_lsn_delta_;
  std::vector<std::uint8_t> slots_;  // slot_bytes per block, whole chunks
  std::size_t count_ = 0;
  std::optional<format::IndexEntry> last_;
};

}  // namespace segstore::log
