// tests/log/segment_index_model_test.cc — log::SegmentIndex (its packed sparse index,
// log/packed_entries.h) answers every query as a plain list of 8-byte entries does, across
// random record layouts: the densest records (a header each, 128 to a block), records that
// span blocks and whole chunks of blocks, blocks padded empty, the largest segment; through
// truncation, appends after it, and a round trip through the .idx body. And its memory per
// GiB of 1 KiB records with the index loaded.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "format/layout.h"
#include "log/segment_index.h"

namespace segstore::log {
namespace {

using format::block_size_bytes;
using format::IndexEntry;

std::uint32_t block_of(std::uint32_t offset) { return offset / block_size_bytes; }

struct Record {
  std::uint32_t offset = 0;
  std::uint32_t stream = 0;
};

// The index as a sorted list of entries and a set of blocks per stream: the meaning every
// query of SegmentIndex must keep, written the plain way.
class ModelIndex {
 public:
  void add(std::uint64_t lsn_delta, const Record &r) {
    if (entries_.empty() || block_of(entries_.back().offset) != block_of(r.offset))
      entries_.push_back({static_cast<std::uint32_t>(lsn_delta), r.offset});
    streams_[r.stream].blocks.insert(block_of(r.offset));
    streams_[r.stream].records++;
  }
  std::optional<IndexEntry> locate(std::uint64_t lsn_delta) const {
    auto next = after(lsn_delta);
    if (next == entries_.begin()) return std::nullopt;
    return *std::prev(next);
  }
  std::uint64_t bytes_through(std::uint64_t lsn_delta) const {
    auto next = after(lsn_delta);
    if (next == entries_.begin() || next == entries_.end()) return 0;
    const IndexEntry &entry = *std::prev(next);
    if (next->lsn_delta == lsn_delta + 1) return next->offset - entry.offset;
    return format::align_up(entry.offset + 1, block_size_bytes) - entry.offset;
  }
  // The offset of the first entry in a block after `block`, or 0.
  std::uint64_t block_records_end(std::uint32_t block) const {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), block,
                               [](std::uint32_t b, const IndexEntry &e) { return b < block_of(e.offset); });
    return it == entries_.end() ? 0 : it->offset;
  }
  std::optional<IndexEntry> entry_of_block(std::uint32_t block) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), block,
                               [](const IndexEntry &e, std::uint32_t b) { return block_of(e.offset) < b; });
    if (it == entries_.end() || block_of(it->offset) != block) return std::nullopt;
    return *it;
  }
  std::vector<std::uint32_t> stream_blocks_from(std::uint32_t stream, std::uint32_t first, std::size_t max) const {
    std::vector<std::uint32_t> out;
    auto it = streams_.find(stream);
    if (it == streams_.end()) return out;
    for (auto b = it->second.blocks.lower_bound(first); b != it->second.blocks.end() && out.size() < max; ++b)
      out.push_back(*b);
    return out;
  }
  // As truncate_after leaves it: entries of removed records go, a kept block keeps its bits.
  void truncate(std::uint64_t keep, const std::map<std::uint32_t, std::uint64_t> &removed) {
    while (!entries_.empty() && entries_.back().lsn_delta >= keep) entries_.pop_back();
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (auto r = removed.find(it->first); r != removed.end()) it->second.records -= r->second;
      auto &blocks = it->second.blocks;
      if (entries_.empty()) blocks.clear();
      else blocks.erase(blocks.upper_bound(block_of(entries_.back().offset)), blocks.end());
      it = it->second.records == 0 ? streams_.erase(it) : std::next(it);
    }
  }
  const std::vector<IndexEntry> &entries() const { return entries_; }
  std::map<std::uint32_t, std::uint64_t> stream_records() const {
    std::map<std::uint32_t, std::uint64_t> out;
    for (const auto &[stream, s] : streams_) out[stream] = s.records;
    return out;
  }

 private:
  std::vector<IndexEntry>::const_iterator after(std::uint64_t lsn_delta) const {
    return std::upper_bound(entries_.begin(), entries_.end(), lsn_delta,
                            [](std::uint64_t d, const IndexEntry &e) { return d < e.lsn_delta; });
  }
  struct Stream {
    std::set<std::uint32_t> blocks;
    std::uint64_t records = 0;
  };
  std::vector<IndexEntry> entries_;
  std::map<std::uint32_t, Stream> streams_;
};

// How record sizes are drawn: payload bytes.
enum class Sizes { densest, tiny, one_kib, mixed_with_huge };

// Records from `offset` as the engine lays them out (back to back, 8-byte aligned), with a
// group now and then padded to its block's end (the rest of that block holds no record),
// until the segment of `segment_bytes` is full or `count_max` records are made.
std::vector<Record> layout(std::mt19937_64 &random, Sizes sizes, std::uint64_t offset, std::uint64_t segment_bytes,
                           std::size_t count_max, std::uint32_t streams) {
  std::vector<Record> records;
  while (records.size() < count_max) {
    std::uint64_t payload = 0;
    switch (sizes) {
      case Sizes::densest: payload = 0; break;
      case Sizes::tiny: payload = random() % 40; break;
      case Sizes::one_kib: payload = 1024; break;
      case Sizes::mixed_with_huge: {
        const std::uint64_t kind = random() % 100;
        payload = kind < 70 ? random() % 200 : kind < 95 ? random() % 9000 : random() % (400u << 10);
        break;
      }
    }
    const std::uint64_t disk = format::record_disk_bytes(payload);
    if (offset + disk > segment_bytes) break;
    records.push_back({static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(random() % streams)});
    offset += disk;
    if (random() % 16 == 0) offset = format::align_up(offset, block_size_bytes);
  }
  return records;
}

// Every query of `index` against `model`, over every LSN delta and block the records reach
// (and a little past them), sampling when there are many.
void expect_same_answers(const SegmentIndex &index, const ModelIndex &model, std::uint64_t records,
                         std::uint32_t last_block, std::mt19937_64 &random) {
  ASSERT_EQ(index.entries(), model.entries());
  ASSERT_EQ(index.entry_count(), model.entries().size());
  const std::uint64_t lsn_step = std::max<std::uint64_t>(1, records / 20000);
  for (std::uint64_t d = 0; d < records + 3; d += lsn_step) {
    const std::uint64_t lsn = std::min(d + random() % lsn_step, records + 2);
    ASSERT_EQ(index.locate(lsn), model.locate(lsn)) << "LSN delta " << lsn;
    ASSERT_EQ(index.bytes_through(lsn), model.bytes_through(lsn)) << "LSN delta " << lsn;
    std::uint64_t bytes_through = 1;
    ASSERT_EQ(index.locate(lsn, &bytes_through), model.locate(lsn)) << "LSN delta " << lsn;
    ASSERT_EQ(bytes_through, model.bytes_through(lsn)) << "LSN delta " << lsn;
  }
  ASSERT_EQ(index.locate(UINT64_MAX), model.locate(UINT64_MAX));
  const std::uint32_t block_step = std::max<std::uint32_t>(1, last_block / 5000);
  for (std::uint32_t b = 0; b < last_block + 40; b += block_step) {
    const std::uint32_t block = b + static_cast<std::uint32_t>(random() % block_step);
    ASSERT_EQ(index.entry_of_block(block), model.entry_of_block(block)) << "block " << block;
    ASSERT_EQ(index.block_records_end(block), model.block_records_end(block)) << "block " << block;
  }
  for (const auto &[stream, count] : model.stream_records()) {
    ASSERT_TRUE(index.has_stream(stream));
    ASSERT_EQ(index.streams().at(stream).records, count) << "stream " << stream;
    const std::uint32_t first = static_cast<std::uint32_t>(random() % (last_block + 2));
    const std::size_t max = random() % 2 == 0 ? SIZE_MAX : random() % 50;
    ASSERT_EQ(index.stream_blocks_from(stream, first, max), model.stream_blocks_from(stream, first, max))
        << "stream " << stream << " from block " << first;
  }
  ASSERT_EQ(index.streams().size(), model.stream_records().size());
}

struct Scenario {
  Sizes sizes;
  std::uint64_t segment_bytes;
  std::size_t count_max;
  std::uint32_t streams;
};

// Builds a segment, checks, truncates at a random record, checks, appends again, checks, and
// checks the index that its .idx body loads back to.
void run_scenario(const Scenario &s, std::uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 random(seed);
  std::vector<Record> records =
      layout(random, s.sizes, format::segment_data_offset_bytes, s.segment_bytes, s.count_max, s.streams);
  ASSERT_FALSE(records.empty());
  SegmentIndex index;
  ModelIndex model;
  for (std::size_t i = 0; i < records.size(); ++i) {
    index.add_record(i, records[i].offset, records[i].stream);
    model.add(i, records[i]);
  }
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(index, model, records.size(), block_of(records.back().offset), random));

  // truncate_after: the caller counts the removed records of each stream.
  const std::size_t keep = random() % (records.size() + 1);
  std::map<std::uint32_t, std::uint64_t> removed;
  for (std::size_t i = keep; i < records.size(); ++i) removed[records[i].stream]++;
  index.truncate(keep, removed);
  model.truncate(keep, removed);
  records.resize(keep);
  const std::uint32_t old_last_block = s.segment_bytes / block_size_bytes;
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(index, model, keep, old_last_block, random));

  // Appends continue where the kept records end (the engine pads to the next block).
  const std::uint64_t resume =
      keep == 0 ? format::segment_data_offset_bytes : format::align_up(records.back().offset + 1, block_size_bytes);
  const std::vector<Record> more = layout(random, s.sizes, resume, s.segment_bytes, s.count_max / 4, s.streams);
  for (const Record &r : more) {
    index.add_record(records.size(), r.offset, r.stream);
    model.add(records.size(), r);
    records.push_back(r);
  }
  if (records.empty()) return;
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(index, model, records.size(), block_of(records.back().offset), random));

  // Sealed: shrunk, written as a body, loaded back.
  index.shrink_to_fit();
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(index, model, records.size(), block_of(records.back().offset), random));
  format::IndexHeader header;
  header.record_count = records.size();
  header.end_offset = records.back().offset + 32;
  Result<SegmentIndex> loaded = SegmentIndex::from_body(header, index.to_body(), "model.idx");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(*loaded, model, records.size(), block_of(records.back().offset), random));
}

constexpr std::uint64_t seeds_per_scenario = 6;

TEST(SegmentIndexModel, DensestRecordsAnswerAsTheEntryList) {
  for (std::uint64_t seed = 1; seed <= seeds_per_scenario; ++seed)
    run_scenario({Sizes::densest, 4u << 20, SIZE_MAX, 3}, seed);
}

TEST(SegmentIndexModel, TinyRecordsAnswerAsTheEntryList) {
  for (std::uint64_t seed = 1; seed <= seeds_per_scenario; ++seed)
    run_scenario({Sizes::tiny, 4u << 20, SIZE_MAX, 5}, 100 + seed);
}

TEST(SegmentIndexModel, RecordsSpanningBlocksAndChunksAnswerAsTheEntryList) {
  for (std::uint64_t seed = 1; seed <= seeds_per_scenario; ++seed)
    run_scenario({Sizes::mixed_with_huge, 64u << 20, SIZE_MAX, 4}, 200 + seed);
}

TEST(SegmentIndexModel, OneKibRecordsAnswerAsTheEntryList) {
  for (std::uint64_t seed = 1; seed <= seeds_per_scenario; ++seed)
    run_scenario({Sizes::one_kib, 64u << 20, SIZE_MAX, 100}, 300 + seed);
}

// The largest segment, filled to its end: block numbers and offsets near 2^18 and 2^30.
TEST(SegmentIndexModel, LargestSegmentAnswersAsTheEntryList) {
  run_scenario({Sizes::mixed_with_huge, format::segment_size_max_bytes, SIZE_MAX, 2}, 400);
}

// The densest records in the last blocks of the largest segment: every slot of the last
// chunks used, LSN deltas 128 apart, the last record ending at 1 GiB.
TEST(SegmentIndexModel, DensestRecordsAtTheEndOfTheLargestSegment) {
  std::mt19937_64 random(500);
  SegmentIndex index;
  ModelIndex model;
  const std::uint32_t record_bytes = format::record_header_bytes;
  const std::uint64_t start = format::segment_size_max_bytes - 3 * PackedEntries::chunk_blocks * block_size_bytes;
  std::uint64_t n = 0;
  // A first record far before them, so that the chunks between are empty.
  index.add_record(n, format::segment_data_offset_bytes, 1);
  model.add(n++, {format::segment_data_offset_bytes, 1});
  for (std::uint64_t offset = start; offset + record_bytes <= format::segment_size_max_bytes; offset += record_bytes) {
    const Record r{static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(n % 2)};
    index.add_record(n, r.offset, r.stream);
    model.add(n++, r);
  }
  EXPECT_EQ(index.locate(n - 1), (IndexEntry{static_cast<std::uint32_t>(n - 128),
                                             static_cast<std::uint32_t>(format::segment_size_max_bytes - block_size_bytes)}));
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(index, model, n, format::segment_size_max_bytes / block_size_bytes, random));
}

// From the read benchmark's log: a 64 MiB segment of 1 KiB records (1,056 bytes on disk),
// one stream, its index as a sealed segment keeps it and as open() loads it from its .idx.
// The goal: at most 1 MiB per GiB of log.
TEST(SegmentIndexMemory, OneKibRecordsTakeAtMostOneMibPerGib) {
  constexpr std::uint64_t segment_bytes = format::segment_size_default_bytes;
  constexpr std::uint64_t record_bytes = format::record_disk_bytes(1024);
  SegmentIndex index;
  std::uint64_t offset = format::segment_data_offset_bytes, n = 0;
  for (; offset + record_bytes <= segment_bytes; offset += record_bytes) index.add_record(n++, static_cast<std::uint32_t>(offset), 0);
  const double gib_per_segment = static_cast<double>(offset) / static_cast<double>(1ull << 30);  // offset: the end
  index.shrink_to_fit();
  const double sealed_per_gib = static_cast<double>(index.memory_bytes()) / gib_per_segment;
  format::IndexHeader header;
  header.record_count = n;
  header.end_offset = static_cast<std::uint32_t>(offset);
  Result<SegmentIndex> loaded = SegmentIndex::from_body(header, index.to_body(), "memory.idx");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  const double loaded_per_gib = static_cast<double>(loaded->memory_bytes()) / gib_per_segment;
  RecordProperty("sealed_bytes_per_gib", std::to_string(static_cast<std::uint64_t>(sealed_per_gib)));
  RecordProperty("loaded_bytes_per_gib", std::to_string(static_cast<std::uint64_t>(loaded_per_gib)));
  EXPECT_LE(sealed_per_gib, double(1 << 20));
  EXPECT_LE(loaded_per_gib, double(1 << 20));
  // It counts what is allocated: at least the packed slots of every block the records reach.
  EXPECT_GE(loaded->memory_bytes(), (offset / block_size_bytes) * PackedEntries::slot_bytes);
}

}  // namespace
}  // namespace segstore::log
