// tests/soak/soak_main.cc — `./dev soak [minutes]`: the soak program (soak_run.h says what runs).
//
//   soak [--minutes M | --seconds S] [--dir DIR] [--appends-per-writer N]
//
// Ends by itself after the given time (2 minutes by default) plus the final read-back and
// verify; exit status 0 when every check passed, 1 otherwise, and the last line says which
// ("SOAK PASSED ..." or "SOAK FAILED ..."). The store directory is removed after a pass and
// kept (its path printed) after a failure.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "final_check.h"
#include "resources.h"
#include "soak_run.h"

namespace segstore::soak {
namespace {

[[noreturn]] void usage(const std::string &why) {
  std::fprintf(stderr, "soak: %s\nusage: soak [--minutes M | --seconds S] [--dir DIR] [--appends-per-writer N]\n",
               why.c_str());
  std::exit(2);
}

double number_arg(int argc, char **argv, int &i) {
  if (i + 1 >= argc) usage(std::string(argv[i]) + " needs a value");
  char *end = nullptr;
  double value = std::strtod(argv[++i], &end);
  if (end == argv[i] || *end != '\0' || !(value > 0) || value > 1e7) usage(std::string("bad value '") + argv[i] + "'");
  return value;
}

std::string fresh_store_dir() {
  const char *base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/segstore-soak-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) usage("mkdtemp " + pattern + " failed");
  return pattern + "/store";
}

struct SoakArgs {
  SoakConfig config;
  bool made_store_dir = false;  // the directory is ours to remove after a pass
};

SoakArgs parse_args(int argc, char **argv) {
  SoakArgs args;
  SoakConfig &config = args.config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--minutes") config.seconds = number_arg(argc, argv, i) * 60;
    else if (arg == "--seconds") config.seconds = number_arg(argc, argv, i);
    else if (arg == "--dir") config.dir = i + 1 < argc ? argv[++i] : (usage("--dir needs a value"), "");
    else if (arg == "--appends-per-writer") config.appends_per_writer_per_s = static_cast<std::uint32_t>(number_arg(argc, argv, i));
    else usage("unknown argument '" + arg + "'");
  }
  args.made_store_dir = config.dir.empty();
  if (args.made_store_dir) config.dir = fresh_store_dir();
  // Warm-up: the first half of the run, at most two minutes (the store fills its retention
  // window, about 10 s at the default rate, and the allocator its arenas of ~90 threads: RSS
  // rose for the first ~90 s of a 5-minute run, 60 -> 95 MiB, then stayed within 95-107 MiB);
  // the drift is measured over the rest.
  config.warmup_s = std::min(120.0, config.seconds / 2);
  return args;
}

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }
double mib(std::int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

void report_appends(const SoakTotals &totals) {
  std::printf("appends: %llu acknowledged, latency max %.1f ms, p99 %.2f ms, p50 %.3f ms (longest in flight seen: %llu ms)\n",
              static_cast<unsigned long long>(totals.latency_all.count()), ms(totals.latency_all.max_ns()),
              ms(totals.latency_all.quantile_ns(0.99)), ms(totals.latency_all.quantile_ns(0.5)),
              static_cast<unsigned long long>(totals.longest_in_flight_ms));
  std::printf("  stalls over the limit: %llu; trim_before max %.1f ms, write_snapshot max %.1f ms\n",
              static_cast<unsigned long long>(totals.stalls), ms(totals.trim_latency.max_ns()),
              ms(totals.snapshot_latency.max_ns()));
  std::printf("  disk probe beside the store (4 KiB + fdatasync, every 100 ms): overwrite max %.1f ms, p99 %.2f ms; "
              "append max %.1f ms, p99 %.2f ms\n",
              ms(totals.probe_overwrite_latency.max_ns()), ms(totals.probe_overwrite_latency.quantile_ns(0.99)),
              ms(totals.probe_append_latency.max_ns()), ms(totals.probe_append_latency.quantile_ns(0.99)));
  for (unsigned mode = 0; mode < append_mode_count; ++mode) {
    const LatencyHistogram &h = totals.latency_by_mode[mode];
    std::printf("  %-8s %9llu appends, max %8.1f ms, p99 %7.2f ms, p50 %6.3f ms\n", append_mode_name(mode),
                static_cast<unsigned long long>(h.count()), ms(h.max_ns()), ms(h.quantile_ns(0.99)), ms(h.quantile_ns(0.5)));
  }
}

// Returns the failures the samples show (growth beyond the bounds).
std::vector<std::string> report_resources(const SoakConfig &config, const SoakTotals &totals) {
  std::vector<std::string> failures;
  const Drift rss = rss_drift(totals.samples), fds = fd_drift(totals.samples);
  std::printf("resources: %zu samples every %.0f s after %.0f s of warm-up\n", totals.samples.size(), config.sample_period_s,
              config.warmup_s);
  std::printf("  RSS %.1f MiB first, %.1f MiB last, %.1f MiB max: drift %+.1f MiB (max %+.1f)\n",
              mib(rss.first), mib(rss.last), mib(rss.max), mib(rss.last_minus_first()), mib(rss.max_minus_first()));
  std::printf("  fds %lld first, %lld last, %lld max: drift %+lld (max %+lld), bound %lld\n", static_cast<long long>(fds.first),
              static_cast<long long>(fds.last), static_cast<long long>(fds.max),
              static_cast<long long>(fds.last_minus_first()), static_cast<long long>(fds.max_minus_first()),
              static_cast<long long>(config.fd_growth_bound));
  const Trend held = held_trend(totals.samples), resident = rss_trend(totals.samples);
  std::printf("  held (malloc in use + mapped buffers): lowest of the middle third %.1f MiB, of the last third %.1f MiB: "
              "%+.1f MiB, bound %.0f MiB\n",
              mib(held.middle), mib(held.late), mib(held.late_minus_middle()),
              mib(static_cast<std::int64_t>(config.held_late_growth_bound_bytes)));
  std::printf("  RSS lowest of the last third %+.1f MiB from the first sample, bound %.0f MiB\n",
              mib(resident.late_minus_first()), mib(static_cast<std::int64_t>(config.rss_growth_bound_bytes)));
  if (totals.samples.size() < 3) failures.push_back("fewer than 3 resource samples after warm-up: run longer");
  if (held.late_minus_middle() > static_cast<std::int64_t>(config.held_late_growth_bound_bytes))
    failures.push_back("memory held still grew at the end of the run: the last third's lowest sample is " +
                       std::to_string(held.late_minus_middle() >> 10) + " KiB above the middle third's");
  if (resident.late_minus_first() > static_cast<std::int64_t>(config.rss_growth_bound_bytes))
    failures.push_back("RSS grew by " + std::to_string(resident.late_minus_first() >> 20) +
                       " MiB after warm-up (the last third's lowest sample against the first)");
  if (fds.max_minus_first() > config.fd_growth_bound)
    failures.push_back("open descriptors grew by " + std::to_string(fds.max_minus_first()) + " after warm-up");
  return failures;
}

void report_activity(const SoakTotals &totals, const FinalCheck &check) {
  std::printf("tailers: %llu records seen in order (%llu skips over trimmed records)\n",
              static_cast<unsigned long long>(totals.tailed_records), static_cast<unsigned long long>(totals.tailer_trim_skips));
  std::printf("readers: %llu random reads checked (%llu raced a trim)\n", static_cast<unsigned long long>(totals.reads),
              static_cast<unsigned long long>(totals.reads_raced_trim));
  std::printf("retention: %llu trims, %llu records checked then trimmed; %llu..%llu segments after a trim\n",
              static_cast<unsigned long long>(totals.trims), static_cast<unsigned long long>(totals.records_trimmed),
              static_cast<unsigned long long>(totals.trims != 0 ? totals.segments_min : 0),
              static_cast<unsigned long long>(totals.segments_max));
  std::printf("snapshots: %llu written and read back (%llu raced a trim)\n",
              static_cast<unsigned long long>(totals.snapshots_written),
              static_cast<unsigned long long>(totals.snapshots_raced_trim));
  std::printf("read-back: %llu records at LSN %llu..%llu after reopening, + %llu trimmed = every acknowledged record\n",
              static_cast<unsigned long long>(check.records_read_back), static_cast<unsigned long long>(check.first_lsn),
              static_cast<unsigned long long>(check.next_lsn), static_cast<unsigned long long>(totals.records_trimmed));
  std::printf("verify: %llu segments, %llu records, %llu snapshots checked\n",
              static_cast<unsigned long long>(check.verify_segments), static_cast<unsigned long long>(check.verify_records),
              static_cast<unsigned long long>(check.verify_snapshots));
}

int run_soak(const SoakArgs &args) {
  const SoakConfig &config = args.config;
  const std::string load_at_start = load_averages();
  std::printf("soak: %.0f s on %s: %u writers (sync, interval, none, async in turn; %u appends/s each), %u tailers, "
              "%u readers, retention of %llu records, snapshots; load average %s\n",
              config.seconds, config.dir.c_str(), config.writers, config.appends_per_writer_per_s, config.tailers,
              config.readers, static_cast<unsigned long long>(config.retained_records), load_at_start.c_str());
  std::fflush(stdout);
  SoakRun run(config);
  run.run();
  const SoakTotals &totals = run.totals();
  std::vector<std::string> failures = run.failures();
  // The read-back runs after a stall too (the data must still be right); after a wrong record or
  // a failed call the store is left as it is for inspection.
  FinalCheck check;
  if (totals.hard_failures == 0) {
    check = check_store_after_run(config.dir, run.store_options(), run.ledger(), run.start_lsn(), totals.records_trimmed);
    failures.insert(failures.end(), check.failures.begin(), check.failures.end());
    if (check.first_lsn != run.start_lsn() + totals.records_trimmed)
      failures.push_back("first_lsn after reopening is " + std::to_string(check.first_lsn) + ", the last trim point " +
                         std::to_string(run.start_lsn() + totals.records_trimmed));
  }
  report_appends(totals);
  std::vector<std::string> resource_failures = report_resources(config, totals);
  failures.insert(failures.end(), resource_failures.begin(), resource_failures.end());
  report_activity(totals, check);
  std::printf("load average: %s at the start, %s at the end\n", load_at_start.c_str(), load_averages().c_str());
  for (const std::string &failure : failures) std::printf("failure: %s\n", failure.c_str());
  const double mem_drift = mib(rss_drift(totals.samples).last_minus_first());
  const long long fd_change = static_cast<long long>(fd_drift(totals.samples).last_minus_first());
  std::printf("SOAK %s: %.0f s, %llu appends (max latency %.1f ms, p99 %.2f ms), %llu records read back + %llu trimmed in "
              "%llu trims, %llu snapshots, RSS drift %+.1f MiB, fd drift %+lld, verify %s\n",
              failures.empty() ? "PASSED" : "FAILED", totals.ran_s,
              static_cast<unsigned long long>(totals.latency_all.count()), ms(totals.latency_all.max_ns()),
              ms(totals.latency_all.quantile_ns(0.99)), static_cast<unsigned long long>(check.records_read_back),
              static_cast<unsigned long long>(totals.records_trimmed), static_cast<unsigned long long>(totals.trims),
              static_cast<unsigned long long>(totals.snapshots_written), mem_drift, fd_change,
              check.failures.empty() && failures.empty() ? "clean" : "see above");
  if (failures.empty() && args.made_store_dir) {
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(config.dir).parent_path(), ignored);
  } else if (!failures.empty()) {
    std::printf("the store is kept in %s\n", config.dir.c_str());
  }
  return failures.empty() ? 0 : 1;
}

}  // namespace
}  // namespace segstore::soak

int main(int argc, char **argv) {
  return segstore::soak::run_soak(segstore::soak::parse_args(argc, argv));
}
