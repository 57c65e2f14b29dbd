// bench/config.cc — command-line parsing and the two presets.
#include "config.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace segstore::bench {

namespace {

constexpr std::uint64_t mib = 1ull << 20;

const char *usage_text =
    "usage: segstore bench [options]\n"
    "  --quick              short preset (about a minute); default is the full run (< 10 min)\n"
    "  --dir DIR            where stores, fio files and peer databases go (default ./segstore-data)\n"
    "  --out PATH           JSON results to PATH.json and the plot to PATH.png\n"
    "                       (default DIR/bench-results.json, DIR/bench-throughput.png)\n"
    "  --only LIST          comma-separated workloads: W1,W2,W3,W4,W5,R1,R2,R3,O1 (default all)\n"
    "  --io-backend KIND    auto|uring|thread (Options::io_backend; default auto)\n"
    "  --prealloc MODE      auto|zero|fallocate (Options::prealloc; default auto)\n"
    "  --write-group-bytes N  Options::write_group_bytes_max (default 1 MiB)\n"
    "  --inflight-groups N  Options::inflight_groups_max (default 4)\n"
    "  --seconds S          length of each timed measurement (default 0.5 quick, 5 full)\n"
    "  --no-fio             skip the device measurements\n"
    "  --no-peers           skip RocksDB, LevelDB and the plain log file\n"
    "  --help               this text\n";

void apply_preset(Config &config) {
  if (config.quick) {
    config.seconds_per_run = 0.5;
    config.w1_volume_bytes = 256 * mib;
    config.read_log_bytes = 256 * mib;
    config.streams_log_bytes = 64 * mib;
    config.crash_log_bytes = 64 * mib;
    config.fio_file_bytes = 512 * mib;
  } else {
    config.seconds_per_run = 5.0;
    config.w1_volume_bytes = 2048 * mib;
    config.read_log_bytes = 1024 * mib;
    config.streams_log_bytes = 256 * mib;
    config.crash_log_bytes = 512 * mib;
  }
}

bool is_workload(const std::string &name) {
  for (const char *w : workload_names)
    if (name == w) return true;
  return false;
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
  std::string out;
  std::optional<double> seconds;
  auto fail = [&](const std::string &message) -> std::optional<Config> {
    std::fprintf(stderr, "segstore bench: %s\n%s", message.c_str(), usage_text);
    *exit_code = 2;
    return std::nullopt;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string *into) {
      if (i + 1 >= argc) return false;
      *into = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage_text, stdout);
      *exit_code = 0;
      return std::nullopt;
    } else if (arg == "--quick") {
      config.quick = true;
    } else if (arg == "--dir") {
      if (!value(&config.dir)) return fail("--dir needs a directory");
    } else if (arg == "--out") {
      if (!value(&out)) return fail("--out needs a path");
    } else if (arg == "--only") {
      if (!value(&v)) return fail("--only needs a list such as W1,R2");
      std::size_t start = 0;
      while (start <= v.size()) {
        const std::size_t comma = std::min(v.find(',', start), v.size());
        std::string name = v.substr(start, comma - start);
        for (char &c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (!is_workload(name)) return fail("unknown workload '" + name + "' in --only");
        config.only.insert(name);
        start = comma + 1;
      }
    } else if (arg == "--io-backend") {
      if (!value(&v)) return fail("--io-backend needs auto, uring or thread");
      if (v == "auto") config.io_backend = IoBackendKind::automatic;
      else if (v == "uring") config.io_backend = IoBackendKind::uring;
      else if (v == "thread") config.io_backend = IoBackendKind::thread;
      else return fail("--io-backend: '" + v + "' is not auto, uring or thread");
    } else if (arg == "--prealloc") {
      if (!value(&v)) return fail("--prealloc needs auto, zero or fallocate");
      if (v == "auto") config.prealloc = PreallocMode::automatic;
      else if (v == "zero") config.prealloc = PreallocMode::zero_fill;
      else if (v == "fallocate") config.prealloc = PreallocMode::fallocate;
      else return fail("--prealloc: '" + v + "' is not auto, zero or fallocate");
    } else if (arg == "--write-group-bytes" || arg == "--inflight-groups") {
      if (!value(&v)) return fail(std::string(arg) + " needs a number");
      char *end = nullptr;
      const unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n == 0 || n > (1ul << 30)) return fail(std::string(arg) + ": bad number '" + v + "'");
      (arg == "--inflight-groups" ? config.inflight_groups_max : config.write_group_bytes_max) = static_cast<std::uint32_t>(n);
    } else if (arg == "--seconds") {
      if (!value(&v)) return fail("--seconds needs a number");
      char *end = nullptr;
      const double s = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(s > 0) || s > 600) return fail("--seconds: '" + v + "' is not in (0, 600]");
      seconds = s;
    } else if (arg == "--no-fio") {
      config.run_fio = false;
    } else if (arg == "--no-peers") {
      config.run_peers = false;
    } else {
      return fail("unknown option '" + std::string(arg) + "'");
    }
  }
  apply_preset(config);
  if (seconds) config.seconds_per_run = *seconds;
  if (out.empty()) {
    config.json_path = config.dir + "/bench-results.json";
    config.png_path = config.dir + "/bench-throughput.png";
  } else {
    if (out.size() > 5 && out.ends_with(".json")) out.resize(out.size() - 5);
    config.json_path = out + ".json";
    config.png_path = out + ".png";
  }
  return config;
}

}  // namespace segstore::bench
