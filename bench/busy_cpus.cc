// bench/busy_cpus.cc — the spinning threads of --busy-cpus.
#include "busy_cpus.h"

namespace segstore::bench {

BusyCpus::BusyCpus(unsigned threads) {
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      // Counted in batches: one shared counter bumped every turn would turn the spinning into
      // cache-line traffic with the other spinners instead of plain CPU work.
      std::uint64_t turns = 0;
      while (!stop_.load(std::memory_order_relaxed)) {
        if (++turns % 4096 == 0) spins_.fetch_add(4096, std::memory_order_relaxed);
      }
    });
  }
}

BusyCpus::~BusyCpus() {
  stop_.store(true, std::memory_order_relaxed);
  for (std::thread &t : threads_) t.join();
}

}  // namespace segstore::bench
