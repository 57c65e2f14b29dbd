// log/packed_entries.cc — the packed sparse index (see log/packed_entries.h).
#include "log/packed_entries.h"

#include <algorithm>
#include <string>

#include "base/assert.h"

namespace segstore::log {
namespace {

using format::block_size_bytes;
using format::IndexEntry;

std::uint32_t block_of(std::uint32_t offset) { return offset / block_size_bytes; }

}  // namespace

const char *PackedEntries::spacing_defect(const std::optional<IndexEntry> &last, const IndexEntry &next) {
  if (!last) return nullptr;
  if (block_of(next.offset) <= block_of(last->offset)) return "entry in the same block as the one before it";
  if (next.lsn_delta <= last->lsn_delta) return "entry LSN delta not above the one before it";
  if (next.lsn_delta - last->lsn_delta > records_per_block_max)
    return "entry more LSNs above the one before it than one block has records";
  return nullptr;
}

void PackedEntries::set_slot(std::uint32_t block, std::uint32_t value) {
  std::uint8_t *p = slots_.data() + std::size_t{slot_bytes} * block;
  p[0] = static_cast<std::uint8_t>(value);
  p[1] = static_cast<std::uint8_t>(value >> 8);
  p[2] = static_cast<std::uint8_t>(value >> 16);
}

IndexEntry PackedEntries::entry_of(std::uint32_t block, std::uint32_t value) const {
  return {chunk_base_lsn_delta_[block / chunk_blocks] + (value >> offset_bits),
          block * block_size_bytes + (value & offset_mask)};
}

std::uint32_t PackedEntries::first_used_slot(std::uint32_t chunk, std::uint32_t from) const {
  const std::uint32_t first_block = chunk * chunk_blocks;
  for (std::uint32_t k = from; k < chunk_blocks; ++k)
    if (slot(first_block + k) != slot_none) return k;
  return chunk_blocks;
}

void PackedEntries::push_back(const IndexEntry &entry) {
  // Invariant: entries arrive one per block, in block order, spaced as records can be (the
  // header explains why 12 bits of LSN delta then suffice).
  const char *defect = spacing_defect(last_, entry);
  SEGSTORE_ASSERT(defect == nullptr, std::string("sparse index: ") + defect + " (LSN delta " +
                                         std::to_string(entry.lsn_delta) + ", offset " + std::to_string(entry.offset) + ")");
  const std::uint32_t block = block_of(entry.offset);
  const std::uint32_t chunk = block / chunk_blocks;
  if (chunk >= chunk_count()) {
    // Chunks skipped on the way (no record starts in them) take this entry's LSN delta as
    // their base, so that the bases never fall.
    chunk_base_lsn_delta_.resize(std::size_t{chunk} + 1, entry.lsn_delta);
    slots_.resize((std::size_t{chunk} + 1) * chunk_blocks * slot_bytes, std::uint8_t{0xff});
  }
  const std::uint32_t delta = entry.lsn_delta - chunk_base_lsn_delta_[chunk];
  SEGSTORE_ASSERT(delta < delta_none, "sparse index: LSN delta " + std::to_string(delta) + " above chunk " +
                                          std::to_string(chunk) + "'s base does not fit its slot");
  set_slot(block, delta << offset_bits | (entry.offset & offset_mask));
  ++count_;
  last_ = entry;
}

std::optional<IndexEntry> PackedEntries::at_or_before(std::uint64_t lsn_delta, std::uint32_t *block) const {
  if (count_ == 0 || lsn_delta < chunk_base_lsn_delta_.front()) return std::nullopt;
  // The last chunk whose base is <= lsn_delta: it has an entry (an empty chunk shares its base
  // with the chunk after it, which upper_bound passes too), and its first entry qualifies.
  const auto after = std::upper_bound(chunk_base_lsn_delta_.begin(), chunk_base_lsn_delta_.end(), lsn_delta);
  const auto chunk = static_cast<std::uint32_t>(after - chunk_base_lsn_delta_.begin() - 1);
  const std::uint64_t delta_in_chunk = lsn_delta - chunk_base_lsn_delta_[chunk];
  const std::uint32_t first_block = chunk * chunk_blocks;
  std::uint32_t found = chunk_blocks;
  // Entries rise with their block: the answer is the last one not above delta_in_chunk.
  for (std::uint32_t k = 0; k < chunk_blocks; ++k) {
    const std::uint32_t value = slot(first_block + k);
    if (value == slot_none) continue;
    if ((value >> offset_bits) > delta_in_chunk) break;
    found = k;
  }
  SEGSTORE_ASSERT(found != chunk_blocks, "sparse index: chunk " + std::to_string(chunk) + " has no entry");
  *block = first_block + found;
  return entry_of(*block, slot(*block));
}

std::optional<IndexEntry> PackedEntries::first_after(std::uint32_t block) const {
  const std::uint32_t chunk = block / chunk_blocks;
  if (chunk >= chunk_count()) return std::nullopt;
  const std::uint32_t in_chunk = first_used_slot(chunk, block % chunk_blocks + 1);
  if (in_chunk != chunk_blocks) return entry_of(chunk * chunk_blocks + in_chunk, slot(chunk * chunk_blocks + in_chunk));
  if (chunk + 1 == chunk_count()) return std::nullopt;
  // The next entry is the first of the next chunk that has one: the last of the chunks that
  // share the base of the chunk after this one.
  const std::uint32_t next_base = chunk_base_lsn_delta_[chunk + 1];
  const auto after = std::upper_bound(chunk_base_lsn_delta_.begin() + chunk + 1, chunk_base_lsn_delta_.end(), next_base);
  const auto next_chunk = static_cast<std::uint32_t>(after - chunk_base_lsn_delta_.begin() - 1);
  const std::uint32_t first = first_used_slot(next_chunk, 0);
  SEGSTORE_ASSERT(first != chunk_blocks, "sparse index: chunk " + std::to_string(next_chunk) + " has no entry");
  return entry_of(next_chunk * chunk_blocks + first, slot(next_chunk * chunk_blocks + first));
}

std::optional<IndexEntry> PackedEntries::of_block(std::uint32_t block) const {
  if (block / chunk_blocks >= chunk_count()) return std::nullopt;
  const std::uint32_t value = slot(block);
  if (value == slot_none) return std::nullopt;
  return entry_of(block, value);
}

void PackedEntries::drop_from(std::uint64_t lsn_delta) {
  while (!chunk_base_lsn_delta_.empty()) {
    const std::uint32_t chunk = chunk_count() - 1;
    const std::uint32_t first_block = chunk * chunk_blocks;
    const bool whole_chunk = chunk_base_lsn_delta_[chunk] >= lsn_delta;
    for (std::uint32_t k = 0; k < chunk_blocks; ++k) {
      const std::uint32_t value = slot(first_block + k);
      if (value == slot_none || entry_of(first_block + k, value).lsn_delta < lsn_delta) continue;
      set_slot(first_block + k, slot_none);
      --count_;
    }
    if (!whole_chunk) break;  // its first entry stays: no chunk before it loses one
    // Every entry of the chunk went (an empty chunk before it shares its base and goes next).
    chunk_base_lsn_delta_.pop_back();
    slots_.resize(std::size_t{chunk} * chunk_blocks * slot_bytes);
  }
  recompute_last();
}

void PackedEntries::recompute_last() {
  last_.reset();
  if (chunk_base_lsn_delta_.empty()) return;
  const std::uint32_t first_block = (chunk_count() - 1) * chunk_blocks;
  for (std::uint32_t k = chunk_blocks; k-- > 0;) {
    const std::uint32_t value = slot(first_block + k);
    if (value == slot_none) continue;
    last_ = entry_of(first_block + k, value);
    return;
  }
  SEGSTORE_ASSERT(false, "sparse index: its last chunk has no entry");
}

void PackedEntries::clear() {
  chunk_base_lsn_delta_.clear();
  slots_.clear();
  count_ = 0;
  last_.reset();
}

std::vector<IndexEntry> PackedEntries::decoded() const {
  std::vector<IndexEntry> out;
  out.reserve(count_);
  const std::uint32_t blocks = chunk_count() * chunk_blocks;
  for (std::uint32_t block = 0; block < blocks; ++block) {
    const std::uint32_t value = slot(block);
    if (value != slot_none) out.push_back(entry_of(block, value));
  }
  return out;
}

void PackedEntries::reserve_through(std::uint32_t last_block) {
  const std::size_t chunks = std::size_t{last_block / chunk_blocks} + 1;
  chunk_base_lsn_delta_.reserve(chunks);
  slots_.reserve(chunks * chunk_blocks * slot_bytes);
}

void PackedEntries::shrink_to_fit() {
  chunk_base_lsn_delta_.shrink_to_fit();
  slots_.shrink_to_fit();
}

std::size_t PackedEntries::memory_bytes() const {
  return chunk_base_lsn_delta_.capacity() * sizeof(std::uint32_t) + slots_.capacity();
}

}  // namespace segstore::log
