// bench/micro/append_micro.cc — the cost of one append into the in-memory write group: a Store
// with durability none and big groups (64 MiB: one device write per 64 MiB of records, in the
// background), and the same with the default 1 MiB groups. Arguments: payload bytes, group bytes.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <vector>

#include "segstore/store.h"

namespace {

void BM_AppendInMemory(benchmark::State &state) {
  const std::string dir = "./segstore-data/micro-append";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  segstore::Options options;
  options.durability = segstore::Durability::none;
  options.write_group_bytes_max = static_cast<std::uint32_t>(state.range(1));
  options.segment_bytes = 256ull << 20;
  auto store = segstore::Store::open(dir, options);
  if (!store.ok()) {
    state.SkipWithError(store.status().to_string().c_str());
    return;
  }
  std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x5a});
  for (auto _ : state) {
    auto lsn = (*store)->append(payload);
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(*lsn);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  (void)(*store)->close();
  store.value().reset();
  std::filesystem::remove_all(dir, ec);
}
// Bounded so the log stays within one 256 MiB segment (200,000 x 1,056 B = 211 MB).
BENCHMARK(BM_AppendInMemory)
    ->Args({128, 64 << 20})
    ->Args({1024, 64 << 20})
    ->Args({128, 1 << 20})
    ->Args({1024, 1 << 20})
    ->Iterations(200000);

}  // namespace
