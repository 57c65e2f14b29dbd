// bench/busy_cpus.h — threads that keep CPUs busy beside the measurements (--busy-cpus).
//
// Why: a log runs on machines that do other work. Durable appends that wait for a kernel worker
// bound to one CPU lose most of their rate as soon as that CPU is busy (docs/ENGINE.md "Busy
// CPUs and the sync's completion"), and a quiet machine never shows it. With --busy-cpus N the
// benchmark runs every measurement, fio's and the peers' too, beside N threads that only spin.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace segstore::bench {

class BusyCpus {
 public:
  // Starts `threads` spinning threads (none for 0); the destructor stops and joins them.
  explicit BusyCpus(unsigned threads);
  ~BusyCpus();
  BusyCpus(const BusyCpus &) = delete;
  BusyCpus &operator=(const BusyCpus &) = delete;

  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }
  // Loop turns of all the threads so far: grows while they run.
  std::uint64_t spins() const { return spins_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> spins_{0};
  std::vector<std::thread> threads_;
};

}  // namespace segstore::bench
