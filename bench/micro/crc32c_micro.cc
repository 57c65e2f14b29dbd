// bench/micro/crc32c_micro.cc — CRC32C throughput per input size: each implementation and the
// dispatched choice the engine uses.
#include <benchmark/benchmark.h>

#include <vector>

#include "format/crc32c.h"

namespace {

std::vector<std::byte> input(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(i * 131 + 7);
  return bytes;
}

void BM_Crc32cHardware(benchmark::State &state) {
  if (!segstore::format::crc32c_hardware_available()) {
    state.SkipWithError("no SSE4.2 crc32 instruction on this CPU");
    return;
  }
  const auto bytes = input(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(segstore::format::crc32c_extend_hardware(0, bytes.data(), bytes.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cHardware)->RangeMultiplier(4)->Range(16, 64 << 10);

void BM_Crc32cPortable(benchmark::State &state) {
  const auto bytes = input(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(segstore::format::crc32c_extend_portable(0, bytes.data(), bytes.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cPortable)->RangeMultiplier(4)->Range(64, 64 << 10);

void BM_Crc32cIsal(benchmark::State &state) {
  if (!segstore::format::crc32c_isal_available()) {
    state.SkipWithError("built without ISA-L");
    return;
  }
  const auto bytes = input(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(segstore::format::crc32c_extend_isal(0, bytes.data(), bytes.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cIsal)->RangeMultiplier(4)->Range(16, 64 << 10);

// What the engine calls: the choice made at run time (ISA-L from 256 bytes when present).
void BM_Crc32cDispatched(benchmark::State &state) {
  const auto bytes = input(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(segstore::format::crc32c(bytes));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cDispatched)->RangeMultiplier(4)->Range(16, 64 << 10);

}  // namespace
