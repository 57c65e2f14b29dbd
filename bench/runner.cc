// bench/runner.cc — the threads, the clock and the payloads of the append measurements.
#include "runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <barrier>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

namespace segstore::bench {

namespace {
// How many ops a thread runs between two looks at the clock when it is not timing each op.
constexpr std::uint64_t clock_check_every_ops = 64;
constexpr std::size_t payload_pool_bytes = 1u << 20;
}  // namespace

double Latencies::percentile(double p) {
  if (us_.empty()) return not_measured;
  if (!sorted_) {
    std::sort(us_.begin(), us_.end());
    sorted_ = true;
  }
  const double rank = std::ceil(p / 100.0 * static_cast<double>(us_.size()));
  const std::size_t index = std::min(us_.size() - 1, static_cast<std::size_t>(std::max(1.0, rank)) - 1);
  return us_[index];
}

RunResult run_threads(int threads, RunLimits limits, bool record_latency, const AppendOp &op,
                      const FinishOp &finish) {
  std::atomic<std::uint64_t> claimed{0};
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::mutex error_mu;
  std::string first_error;
  std::vector<Latencies> per_thread(threads);
  std::barrier start_line(threads + 1);
  Clock::time_point deadline;

  auto body = [&](int t) {
    Latencies &lat = per_thread[t];
    if (record_latency) lat.reserve(1 << 16);
    start_line.arrive_and_wait();
    std::uint64_t local = 0;
    std::string error;
    while (!stop.load(std::memory_order_relaxed)) {
      if (claimed.fetch_add(1, std::memory_order_relaxed) >= limits.records_max) break;
      const Clock::time_point before = record_latency ? Clock::now() : Clock::time_point();
      if (!op(t, &error)) {
        std::lock_guard lock(error_mu);
        if (first_error.empty()) first_error = error;
        stop = true;
        break;
      }
      ++local;
      if (record_latency) {
        const Clock::time_point after = Clock::now();
        lat.add(std::chrono::duration<double, std::micro>(after - before).count());
        if (after >= deadline) stop = true;
      } else if (local % clock_check_every_ops == 0 && Clock::now() >= deadline) {
        stop = true;
      }
    }
    done.fetch_add(local);
  };

  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t) pool.emplace_back(body, t);
  const Clock::time_point start = Clock::now();
  deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limits.seconds));
  start_line.arrive_and_wait();
  for (auto &thread : pool) thread.join();
  RunResult result;
  if (first_error.empty() && finish) {
    std::string error;
    if (!finish(&error)) first_error = error;
  }
  result.seconds = seconds_since(start);
  result.records = done.load();
  result.error = first_error;
  for (auto &lat : per_thread) result.latencies.merge(lat);
  return result;
}

std::span<const std::byte> payload_bytes(std::size_t size) {
  static const std::vector<std::byte> pool = [] {
    std::vector<std::byte> bytes(payload_pool_bytes);
    std::mt19937_64 random(0x5e65'7a0e);
    for (auto &b : bytes) b = static_cast<std::byte>(random());
    return bytes;
  }();
  return std::span<const std::byte>(pool.data(), std::min(size, pool.size()));
}

void progress(const std::string &workload, const std::string &message) {
  std::fprintf(stderr, "[%s] %s\n", workload.c_str(), message.c_str());
  std::fflush(stderr);
}

void fill_rates(Row &row, const RunResult &run, double record_bytes) {
  row.record_bytes = record_bytes;
  row.records_per_s = run.records_per_s();
  row.mb_per_s = row.records_per_s * record_bytes / 1e6;
  row.extra["seconds"] = run.seconds;
  row.extra["records"] = static_cast<double>(run.records);
  if (run.latencies.size() != 0) {
    Latencies copy = run.latencies;
    copy.fill(row);
  }
  if (!run.ok()) row.error = run.error;
}

void remove_tree(const std::string &path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

std::string join_path(const std::string &dir, const std::string &name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

double thread_cpu_us() {
  rusage usage{};
  if (::getrusage(RUSAGE_THREAD, &usage) != 0) return 0;
  const auto us = [](const timeval &t) { return t.tv_sec * 1e6 + t.tv_usec; };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

std::string format_count(double value) {
  if (!measured(value)) return "-";
  const long long n = std::llround(value);
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string format_fixed(double value, int decimals) {
  if (!measured(value)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string format_size(double bytes) {
  if (!measured(bytes)) return "-";
  const auto b = static_cast<std::uint64_t>(bytes);
  if (b >= (1ull << 30) && b % (1ull << 30) == 0) return std::to_string(b >> 30) + " GiB";
  if (b >= (1ull << 20) && b % (1ull << 20) == 0) return std::to_string(b >> 20) + " MiB";
  if (b >= 1024 && b % 1024 == 0 && b < (1ull << 20)) return std::to_string(b >> 10) + " KiB";
  if (b < 1024) return std::to_string(b) + " B";
  char buffer[32];
  if (b < (1ull << 20)) std::snprintf(buffer, sizeof buffer, "%.1f KiB", bytes / 1024);
  else if (b < (1ull << 30)) std::snprintf(buffer, sizeof buffer, "%.1f MiB", bytes / (1 << 20));
  else std::snprintf(buffer, sizeof buffer, "%.2f GiB", bytes / (1 << 30));
  return buffer;
}

}  // namespace segstore::bench
