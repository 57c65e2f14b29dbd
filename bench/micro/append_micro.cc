// bench/micro/append_micro.cc — the cost of one append into the in-memory write group: a Store
// with durability none and 64 MiB groups, so nearly every append only encodes and copies
// (one device write per 64 MiB of records, in the background).
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
  options.write_group_bytes_max = 64u << 20;
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
BENCHMARK(BM_AppendInMemory)->Arg(128)->Arg(1024)->Iterations(200000);

}  // namespace
