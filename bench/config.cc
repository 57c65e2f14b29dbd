// bench/config.cc — the command line (CLI11, like every segstore command) and the two presets.
#include "config.h"

#include <algorithm>
#include <cctype>

#include <CLI/CLI.hpp>

namespace segstore::bench {

namespace {

constexpr std::uint64_t mib = 1ull << 20;
constexpr double seconds_per_run_max = 600;
constexpr std::uint32_t store_option_max = 1u << 30;

void apply_preset(Config &config) {
  if (config.quick) {
    config.seconds_per_run = 0.5;
    config.w1_volume_bytes = 256 * mib;
    config.read_log_bytes = 256 * mib;
    config.streams_log_bytes = 64 * mib;
    config.crash_log_bytes = 64 * mib;
    config.mixed_seconds = 2;
    config.scan_repeats = 1;
    config.beside_seconds = 0.5;
    config.fio_file_bytes = 512 * mib;
  } else {
    config.seconds_per_run = 5.0;
    config.w1_volume_bytes = 2048 * mib;
    config.read_log_bytes = 1024 * mib;
    config.streams_log_bytes = 256 * mib;
    config.crash_log_bytes = 512 * mib;
    config.mixed_seconds = 20;
    config.scan_repeats = 5;
    config.beside_seconds = 1.0;
  }
}

// "w1, r2" -> {"W1", "R2"}; an unknown name is a usage error.
std::string workload_list_error(const std::string &list, std::set<std::string> *into) {
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    std::string name = list.substr(start, comma - start);
    name.erase(std::remove_if(name.begin(), name.end(), [](unsigned char c) { return std::isspace(c); }), name.end());
    for (char &c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (std::find(std::begin(workload_names), std::end(workload_names), name) == std::end(workload_names))
      return "unknown workload '" + name + "' (W1,W2,W3,W4,W5,R1,R2,R3,O1,M1)";
    into->insert(name);
    start = comma + 1;
  }
  return "";
}

// Output paths: the JSON file and the three charts beside it.
void set_output_paths(Config &config, std::string out) {
  if (out.empty()) {
    config.json_path = config.dir + "/bench-results.json";
    config.png_path = config.dir + "/bench-throughput.png";
    config.ratio_png_path = config.dir + "/bench-ratios.png";
    config.latency_png_path = config.dir + "/bench-latency.png";
    return;
  }
  if (out.size() > 5 && out.ends_with(".json")) out.resize(out.size() - 5);
  config.json_path = out + ".json";
  config.png_path = out + ".png";
  config.ratio_png_path = out + "-ratios.png";
  config.latency_png_path = out + "-latency.png";
}

}  // namespace

const char *io_backend_name(IoBackendKind kind) {
  switch (kind) {
    case IoBackendKind::automatic: return "auto";
    case IoBackendKind::uring: return "uring";
    case IoBackendKind::thread: return "thread";
  }
  return "?";
}

std::optional<Config> parse_config(int argc, char **argv, int *exit_code) {
  Config config;
  std::string out, only, prealloc, io_backend;
  std::optional<double> seconds;
  CLI::App app{"segstore-bench: segstore measured against the device (fio) and its peers (RocksDB, LevelDB, a "
               "plain log file)\nin the same run; a table per workload, the targets, a JSON file and charts "
               "(docs/BENCHMARKS.md).",
               "segstore-bench"};
  app.add_flag("--quick", config.quick, "short preset (about a minute); default is the full run (< 10 min)");
  app.add_option("--dir", config.dir, "where stores, fio files and peer databases go")
      ->capture_default_str()
      ->type_name("DIR");
  app.add_option("--out", out,
                 "write the JSON to PATH.json and the charts to PATH.png, PATH-ratios.png, PATH-latency.png "
                 "(default DIR/bench-results.json, DIR/bench-throughput.png, DIR/bench-ratios.png, "
                 "DIR/bench-latency.png)")
      ->type_name("PATH");
  app.add_option("--only", only, "comma-separated workloads: W1,W2,W3,W4,W5,R1,R2,R3,O1,M1 (default all)")
      ->type_name("LIST");
  app.add_option("--io-backend", io_backend, "Options::io_backend: auto, uring or thread (default auto)")
      ->check(CLI::IsMember({"auto", "uring", "thread"}))
      ->type_name("KIND");
  app.add_option("--prealloc", prealloc, "Options::prealloc: auto, zero or fallocate (default auto)")
      ->check(CLI::IsMember({"auto", "zero", "fallocate"}))
      ->type_name("MODE");
  app.add_option("--write-group-bytes", config.write_group_bytes_max, "Options::write_group_bytes_max (default 1 MiB)")
      ->check(CLI::Range(1u, store_option_max))
      ->type_name("N");
  app.add_option("--inflight-groups", config.inflight_groups_max, "Options::inflight_groups_max (default 4)")
      ->check(CLI::Range(1u, store_option_max))
      ->type_name("N");
  app.add_option("--seconds", seconds, "length of each timed measurement (default 0.5 quick, 5 full)")
      ->check(CLI::Range(1e-3, seconds_per_run_max))
      ->type_name("S");
  app.add_option("--mixed-tailers", config.mixed_tailers,
                 "M1: tailing iterators beside the appenders (default 4; 0 measures the split)")
      ->check(CLI::Range(0, 64))
      ->type_name("N");
  app.add_option("--mixed-readers", config.mixed_readers,
                 "M1: threads of random read(lsn) beside the appenders (default 4; 0 measures the split)")
      ->check(CLI::Range(0, 64))
      ->type_name("N");
  std::optional<int> scan_repeats;
  app.add_option("--scan-repeats", scan_repeats,
                 "R1/O1: cold scans (and recoveries) repeated, each beside fio's read; the median ratio counts "
                 "(default 1 quick, 5 full)")
      ->check(CLI::Range(1, 50))
      ->type_name("N");
  bool no_mixed_bound = false;
  app.add_flag("--no-mixed-bound", no_mixed_bound,
               "M1: skip the run beside fio's reads at the readers' rate (the bound on what the reads cost)");
  app.add_option("--busy-cpus", config.busy_cpus,
                 "threads that only spin, beside every measurement (the machine busy with other work; default 0)")
      ->check(CLI::Range(0u, 256u))
      ->type_name("N");
  bool no_fio = false, no_peers = false;
  app.add_flag("--no-fio", no_fio, "skip the device measurements");
  app.add_flag("--no-peers", no_peers, "skip RocksDB, LevelDB and the plain log file");
  try {
    app.parse(argc, argv);
    const std::string only_error = only.empty() ? "" : workload_list_error(only, &config.only);
    if (!only_error.empty()) throw CLI::ValidationError("--only", only_error);
  } catch (const CLI::ParseError &e) {
    // --help exits 0 with the usage on stdout; an error prints it and a hint on stderr, exit 2.
    const int rc = app.exit(e);
    *exit_code = rc == 0 ? 0 : 2;
    return std::nullopt;
  }
  config.run_fio = !no_fio;
  config.run_peers = !no_peers;
  config.mixed_bound = !no_mixed_bound;
  if (io_backend == "uring") config.io_backend = IoBackendKind::uring;
  else if (io_backend == "thread") config.io_backend = IoBackendKind::thread;
  if (prealloc == "auto") config.prealloc = PreallocMode::automatic;
  else if (prealloc == "zero") config.prealloc = PreallocMode::zero_fill;
  else if (prealloc == "fallocate") config.prealloc = PreallocMode::fallocate;
  apply_preset(config);
  if (scan_repeats) config.scan_repeats = *scan_repeats;
  if (seconds) {
    config.seconds_per_run = *seconds;
    config.mixed_seconds = 4 * *seconds;  // the mixed run keeps its proportion to the others
  }
  set_output_paths(config, out);
  return config;
}

}  // namespace segstore::bench
