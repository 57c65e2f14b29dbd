// bench/runner.h — the timing harness every append measurement shares.
//
// run_threads() starts `threads` threads behind a barrier; each calls op(thread) until the
// time limit passes or the shared record budget is spent, then `finish` runs (a final sync,
// say) inside the timed span. A record counts once op returned true for it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "figures.h"

namespace segstore::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct RunLimits {
  double seconds = 1.0;
  std::uint64_t records_max = UINT64_MAX;  // over all threads
};

struct RunResult {
  std::uint64_t records = 0;
  double seconds = 0;  // from the barrier to the end of `finish`
  Latencies latencies;  // per op, when asked for
  std::string error;    // the first failure (the run stops at it)
  bool ok() const { return error.empty(); }
  double records_per_s() const { return seconds > 0 ? records / seconds : not_measured; }
};

// op(thread, error): one record; returns false and sets *error on failure.
using AppendOp = std::function<bool(int thread, std::string *error)>;
using FinishOp = std::function<bool(std::string *error)>;

RunResult run_threads(int threads, RunLimits limits, bool record_latency, const AppendOp &op,
                      const FinishOp &finish = nullptr);

// Incompressible bytes to take payloads from (the same for every system).
std::span<const std::byte> payload_bytes(std::size_t size);

// Progress and notes on standard error ("[W3] ...").
void progress(const std::string &workload, const std::string &message);

// Fills the rate fields of `row` from a run of records of `record_bytes` each.
void fill_rates(Row &row, const RunResult &run, double record_bytes);

// Removes a directory tree (benchmark data); errors are ignored.
void remove_tree(const std::string &path);
std::string join_path(const std::string &dir, const std::string &name);

// The calling thread's CPU time so far (user + system), in microseconds: what a reader or a
// scan costs the machine, which a loaded machine's rates hide.
double thread_cpu_us();

std::string format_count(double value);  // 1234567 -> "1,234,567"
std::string format_size(double bytes);   // 1024 -> "1 KiB"
std::string format_fixed(double value, int decimals);  // 1.2345, 2 -> "1.23"; "-" when not measured

}  // namespace segstore::bench
