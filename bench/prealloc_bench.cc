// bench/prealloc_bench.cc — what preallocation does to durable 4 KiB appends.
//
// Measures 4 KiB O_DIRECT writes, each made durable before the next (queue depth 1), into
//   (a) a file preallocated with fallocate() and never written (unwritten extents),
//   (b) a file zero-filled beforehand (written with zeros, then fdatasync),
//   (c) a file extended by each write (no preallocation),
// two ways: pwrite + fdatasync (File::write_at + File::sync_data), and the uring write queue
// (a write linked to an fdatasync). Prints writes/s, p50/p99 latency and the ratio to (b).
// The machine is shared and its speed drifts, so the six modes take turns: each runs in
// `rounds_default` slices of N / rounds writes (a fresh file each), one mode after the other,
// and a drift spreads over all of them instead of landing on one.
//
// Usage: prealloc_bench [--count N] [DIR]   (defaults: 2000, ./segstore-data/prealloc)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "io/aligned_buffer.h"
#include "io/posix_env.h"

namespace {

using segstore::Result;
using segstore::Status;
using namespace segstore::io;
using Clock = std::chrono::steady_clock;

constexpr std::size_t write_bytes = segstore::format::block_size_bytes;
constexpr std::size_t zero_fill_chunk_bytes = 1 << 20;
constexpr unsigned count_default = 2000;
constexpr unsigned rounds_default = 4;

enum class Prep { fallocated, zero_filled, extended };
enum class Method { pwrite_fdatasync, uring_linked };

const char *prep_name(Prep prep) {
  switch (prep) {
    case Prep::fallocated: return "(a) fallocated";
    case Prep::zero_filled: return "(b) zero-filled";
    case Prep::extended: return "(c) extended";
  }
  return "?";
}
const char *method_name(Method method) {
  return method == Method::pwrite_fdatasync ? "pwrite+fdatasync" : "uring write->fsync";
}

struct Measurement {
  Method method;
  Prep prep;
  double seconds = 0;                // total time of the writes, all rounds
  std::vector<double> latencies_us;  // one per write
  double writes_per_second() const { return latencies_us.size() / seconds; }
};

[[noreturn]] void fail(const std::string &what, const Status &status) {
  std::fprintf(stderr, "prealloc_bench: %s: %s\n", what.c_str(), status.message().c_str());
  std::exit(1);
}
template <typename T>
T take(Result<T> result, const std::string &what) {
  if (!result.ok()) fail(what, result.status());
  return std::move(result.value());
}
void check(const Status &status, const std::string &what) {
  if (!status.ok()) fail(what, status);
}

// mkdir -p
void make_dirs(Env &env, const std::string &path) {
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    check(env.make_dir(path.substr(0, slash)), "mkdir");
  }
  check(env.make_dir(path), "mkdir");
}

// A new file of the kind `prep` describes, made durable before the measurement starts so that
// the first measured sync does not pay for the preparation.
std::unique_ptr<File> prepare(Env &env, const std::string &path, Prep prep, unsigned count) {
  (void)env.remove(path);
  OpenFlags flags;
  flags.create = true;
  flags.exclusive = true;
  flags.write = true;
  flags.direct = true;
  std::unique_ptr<File> file = take(env.open_file(path, flags), "open " + path);
  const std::uint64_t total = std::uint64_t{count} * write_bytes;
  if (prep == Prep::fallocated) check(file->allocate(total), "fallocate");
  if (prep == Prep::zero_filled) {
    AlignedBuffer zeros(zero_fill_chunk_bytes);
    for (std::uint64_t at = 0; at < total; at += zeros.size()) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), total - at));
      check(file->write_at(at, {zeros.data(), n}), "zero fill");
    }
  }
  check(file->sync_data(), "fdatasync");
  const std::size_t slash = path.find_last_of('/');
  check(env.sync_dir(slash == std::string::npos ? "." : path.substr(0, slash)), "sync dir");
  return file;
}

double percentile_us(std::vector<double> &sorted_us, double fraction) {
  const std::size_t index = std::min(sorted_us.size() - 1,
                                     static_cast<std::size_t>(fraction * sorted_us.size()));
  return sorted_us[index];
}

// Adds `count` writes of one mode to `m`.
void measure(Env &env, const std::string &dir, unsigned count, Measurement &m) {
  const Method method = m.method;
  const Prep prep = m.prep;
  const std::string path = dir + "/bench.data";
  std::unique_ptr<File> file = prepare(env, path, prep, count);
  std::unique_ptr<WriteQueue> queue;
  UringQueueOptions linked;
  linked.sync_writes = SyncWrites::linked;
  if (method == Method::uring_linked) queue = take(make_uring_queue(1, linked), "io_uring queue");
  AlignedBuffer block(write_bytes);
  std::memset(block.data(), 0x5a, block.size());
  std::vector<GroupCompletion> done;
  const Clock::time_point start = Clock::now();
  for (unsigned i = 0; i < count; ++i) {
    const std::uint64_t offset = std::uint64_t{i} * write_bytes;
    const Clock::time_point before = Clock::now();
    if (method == Method::pwrite_fdatasync) {
      check(file->write_at(offset, block.span()), "write");
      check(file->sync_data(), "fdatasync");
    } else {
      check(queue->submit({file.get(), offset, block.span(), true, i}), "submit");
      done.clear();
      check(queue->reap(&done, true), "reap");
      if (done.size() != 1 || !done[0].status.ok() || !done[0].synced) {
        fail("uring group", done.empty() ? Status() : done[0].status);
      }
    }
    m.latencies_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - before).count());
  }
  m.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  file.reset();
  (void)env.remove(path);
}

void usage() {
  std::fprintf(stderr,
               "usage: prealloc_bench [--count N] [DIR]  (default %u, ./segstore-data/prealloc)\n",
               count_default);
}

}  // namespace

int main(int argc, char **argv) {
  unsigned count = count_default;
  std::string dir = "./segstore-data/prealloc";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--count" && i + 1 < argc) {
      count = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else if (!arg.empty() && arg[0] != '-') {
      dir = arg;
    } else {
      usage();
      return 2;
    }
  }
  if (count == 0) {
    usage();
    return 2;
  }
  EnvOptions options;
  options.backend = EnvOptions::Backend::uring;
  std::shared_ptr<Env> env = make_posix_env(options);
  make_dirs(*env, dir);

  std::vector<Measurement> results;
  for (Method method : {Method::pwrite_fdatasync, Method::uring_linked}) {
    for (Prep prep : {Prep::fallocated, Prep::zero_filled, Prep::extended}) {
      results.push_back(Measurement{method, prep, 0, {}});
    }
  }
  const unsigned rounds = std::min(rounds_default, count);
  for (unsigned round = 0; round < rounds; ++round) {
    // The last round takes the remainder, so that every mode does exactly `count` writes.
    const unsigned slice =
        round + 1 < rounds ? count / rounds : count - (rounds - 1) * (count / rounds);
    for (Measurement &m : results) measure(*env, dir, slice, m);
  }

  std::printf("prealloc_bench: %u writes of %zu bytes each made durable before the next (QD1), "
              "in %s (%s), %u rounds\n\n",
              count, write_bytes, dir.c_str(), env->describe().c_str(), rounds);
  std::printf("%-20s %-16s %10s %9s %9s %8s\n", "method", "file", "writes/s", "p50 us", "p99 us",
              "vs (b)");
  for (Measurement &m : results) {
    double zero_filled = 0;
    for (const Measurement &other : results) {
      if (other.method == m.method && other.prep == Prep::zero_filled) {
        zero_filled = other.writes_per_second();
      }
    }
    std::sort(m.latencies_us.begin(), m.latencies_us.end());
    std::printf("%-20s %-16s %10.0f %9.0f %9.0f %8.2f\n", method_name(m.method),
                prep_name(m.prep), m.writes_per_second(), percentile_us(m.latencies_us, 0.50),
                percentile_us(m.latencies_us, 0.99), m.writes_per_second() / zero_filled);
  }
  return 0;
}
