// tests/sim/sim_runner.cc — the crash simulation from the command line (`./dev sim`).
//
//   sim_runner --seeds N [--first-seed S]   N seeds from S (default: a random S, printed)
//   sim_runner --seed S                     replay one seed
//   options: --cycles-per-seed K (default 8), --ops-per-cycle M (default 80), --latent (bit rot
//            and misdirected reads), --threads (real appender threads), --linked-sync
//            (sync groups as write + whole-file sync, not one RWF_DSYNC write), --no-io-errors,
//            --repeat R (run each seed R times: the engine's threads may interleave differently),
//            --no-workarounds (do not steer around the known engine bugs listed in crash_sim.cc),
//            --verbose (a line per cycle, and the trace of a failing cycle), --trace (every
//            operation as it happens: shows what preceded an engine invariant's abort)
//
// Prints the figures at the end and, for each failure, its seed and the command that replays it.
// Exit status 1 when anything failed.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "sim/crash_sim.h"

namespace {

using segstore::sim::CrashSimConfig;
using segstore::sim::CrashSimStats;

// The seed being run, for the abort handler (an engine invariant failing aborts the process).
char abort_note[256] = "crash simulation aborted before the first seed\n";
std::size_t abort_note_len = std::strlen(abort_note);

void on_abort(int) {
  ssize_t ignored = ::write(2, abort_note, abort_note_len);
  (void)ignored;
}

std::string flags_of(const CrashSimConfig &c, unsigned ops) {
  std::string flags = " --cycles-per-seed " + std::to_string(c.cycles);
  if (ops != 80) flags += " --ops-per-cycle " + std::to_string(ops);
  if (c.latent_faults) flags += " --latent";
  if (c.threads) flags += " --threads";
  if (c.linked_sync) flags += " --linked-sync";
  if (!c.io_errors) flags += " --no-io-errors";
  if (!c.avoid_known_bugs) flags += " --no-workarounds";
  return flags;
}

int usage() {
  std::fprintf(stderr,
               "usage: sim_runner (--seeds N [--first-seed S] | --seed S) [--cycles-per-seed K] [--ops-per-cycle M]\n"
               "                  [--latent] [--threads] [--linked-sync] [--no-io-errors] [--no-workarounds] [--repeat R] [--verbose] [--trace]\n");
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  setenv("SEGSTORE_QUIET", "1", 0);  // recovery reports every cut on stderr otherwise
  std::uint64_t seeds = 0, first_seed = 0, repeat = 1;
  bool have_first = false, one_seed = false;
  CrashSimConfig base;
  unsigned ops = 80;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::uint64_t {
      if (i + 1 >= argc) std::exit(usage());
      return std::strtoull(argv[++i], nullptr, 0);
    };
    if (arg == "--seeds") seeds = value();
    else if (arg == "--first-seed") first_seed = value(), have_first = true;
    else if (arg == "--seed") first_seed = value(), have_first = true, one_seed = true, seeds = 1;
    else if (arg == "--cycles-per-seed") base.cycles = static_cast<unsigned>(value());
    else if (arg == "--ops-per-cycle") ops = static_cast<unsigned>(value());
    else if (arg == "--repeat") repeat = value();
    else if (arg == "--latent") base.latent_faults = true;
    else if (arg == "--threads") base.threads = true;
    else if (arg == "--linked-sync") base.linked_sync = true;
    else if (arg == "--no-io-errors") base.io_errors = false;
    else if (arg == "--verbose") base.verbose = true;
    else if (arg == "--trace") base.trace = true;
    else if (arg == "--no-workarounds") base.avoid_known_bugs = false;
    else return usage();
  }
  if (seeds == 0 || base.cycles == 0 || ops == 0) return usage();
  base.ops_per_cycle_max = ops;
  if (!have_first) first_seed = (std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32)) >> 1;
  ::signal(SIGABRT, on_abort);

  char pattern[] = "/tmp/segstore-sim-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string host = pattern;

  // A seed that runs for minutes is stuck (a deadlock in the engine or the simulator): say which.
  std::mutex watch_mu;
  std::condition_variable watch_cv;
  bool done = false;
  std::atomic<std::uint64_t> seed_started_ms{0};
  std::atomic<std::uint64_t> current_seed{0};
  auto now_ms = [] {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  };
  std::thread watchdog([&] {
    std::unique_lock lock(watch_mu);
    while (!watch_cv.wait_for(lock, std::chrono::seconds(5), [&] { return done; })) {
      const std::uint64_t started = seed_started_ms.load();
      if (started != 0 && now_ms() - started > 300'000) {
        std::fprintf(stderr, "sim_runner: seed %llu has run for 5 minutes: stuck; replay with --seed %llu%s\n",
                     static_cast<unsigned long long>(current_seed.load()),
                     static_cast<unsigned long long>(current_seed.load()), flags_of(base, ops).c_str());
        std::abort();
      }
    }
  });

  std::printf("crash simulation: %llu seed(s) from %llu, %u cycles each%s\n", static_cast<unsigned long long>(seeds),
              static_cast<unsigned long long>(first_seed), base.cycles, flags_of(base, ops).c_str());
  std::fflush(stdout);
  CrashSimStats total;
  const auto started = std::chrono::steady_clock::now();
  for (std::uint64_t n = 0; n < seeds; ++n) {
    const std::uint64_t seed = first_seed + n;
    for (std::uint64_t rep = 0; rep < repeat; ++rep) {
      CrashSimConfig config = base;
      config.seed = seed;
      config.host_dir = host + "/" + std::to_string(seed);
      std::filesystem::create_directories(config.host_dir);
      abort_note_len = static_cast<std::size_t>(
          std::snprintf(abort_note, sizeof abort_note, "crash simulation aborted in seed %llu: replay with --seed %llu%s\n",
                        static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
                        flags_of(base, ops).c_str()));
      current_seed = seed;
      seed_started_ms = now_ms();
      CrashSimStats stats = segstore::sim::run_crash_sim(config);
      std::error_code ignored;
      std::filesystem::remove_all(config.host_dir, ignored);
      for (const std::string &f : stats.failures)
        std::printf("FAILED %s\n  replay: build/tests/sim/sim_runner --seed %llu%s\n", f.c_str(),
                    static_cast<unsigned long long>(seed), flags_of(base, ops).c_str());
      total.add(stats);
    }
    if (!one_seed && (n + 1) % 100 == 0) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::printf("... %llu seeds, %llu cycles, %llu failures, %.0f s\n", static_cast<unsigned long long>(n + 1),
                  static_cast<unsigned long long>(total.cycles), static_cast<unsigned long long>(total.failures.size()),
                  secs);
      std::fflush(stdout);
    }
  }
  {
    std::lock_guard lock(watch_mu);
    done = true;
  }
  watch_cv.notify_all();
  watchdog.join();
  std::error_code ignored;
  std::filesystem::remove_all(host, ignored);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%stime %.1f s\n", total.summary().c_str(), secs);
  return total.failures.empty() ? 0 : 1;
}
