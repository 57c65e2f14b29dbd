// bench/micro/index_micro.cc — the sparse index (SegmentIndex::locate) and the stream bitmaps
// (stream_blocks_from) of one full 64 MiB segment of 1 KiB records.
#include <benchmark/benchmark.h>

#include <random>

#include "log/segment_index.h"
#include "format/layout.h"

namespace {

using segstore::log::SegmentIndex;
using namespace segstore::format;

constexpr std::uint64_t segment_bytes = segment_size_default_bytes;
constexpr std::uint64_t record_bytes_on_disk = record_disk_bytes(1024);

// Records laid out as the engine lays them out: back to back from the data offset, streams
// round-robin over `streams`.
SegmentIndex full_segment(std::uint32_t streams, std::uint64_t *records) {
  SegmentIndex index;
  std::uint64_t offset = segment_data_offset_bytes, n = 0;
  while (offset + record_bytes_on_disk <= segment_bytes) {
    index.add_record(n, static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(n % streams));
    offset += record_bytes_on_disk;
    ++n;
  }
  *records = n;
  return index;
}

void BM_IndexLocate(benchmark::State &state) {
  std::uint64_t records = 0;
  const SegmentIndex index = full_segment(1, &records);
  std::mt19937_64 random(1);
  std::vector<std::uint64_t> deltas(4096);
  for (auto &d : deltas) d = random() % records;
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(index.locate(deltas[i++ & 4095]));
  state.counters["entries"] = static_cast<double>(index.entries().size());
}
BENCHMARK(BM_IndexLocate);

// One stream of `range(0)` interleaved streams: the blocks to read from the start of the segment.
void BM_StreamBlocksFrom(benchmark::State &state) {
  std::uint64_t records = 0;
  const auto streams = static_cast<std::uint32_t>(state.range(0));
  const SegmentIndex index = full_segment(streams, &records);
  std::size_t blocks = 0;
  for (auto _ : state) {
    const std::vector<std::uint32_t> found = index.stream_blocks_from(streams / 2, 0);
    blocks = found.size();
    benchmark::DoNotOptimize(found.data());
  }
  state.counters["blocks"] = static_cast<double>(blocks);
  state.counters["blocks_per_s"] = benchmark::Counter(static_cast<double>(blocks), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_StreamBlocksFrom)->Arg(1)->Arg(100)->Arg(10000);

}  // namespace
