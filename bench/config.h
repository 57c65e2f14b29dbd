// bench/config.h — what one benchmark run measures, from the command line.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "segstore/store.h"

namespace segstore::bench {

inline constexpr const char *workload_names[] = {"W1", "W2", "W3", "W4", "W5", "R1", "R2", "R3", "O1", "M1"};

struct Config {
  std::string dir = "./segstore-data";
  std::string json_path;  // default: <dir>/bench-results.json
  std::string png_path;   // default: <dir>/bench-throughput.png
  std::string ratio_png_path;    // default: <dir>/bench-ratios.png
  std::string latency_png_path;  // default: <dir>/bench-latency.png
  bool quick = false;
  std::set<std::string> only;  // empty: every workload
  IoBackendKind io_backend = IoBackendKind::automatic;
  // Store options for experiments (0 / nullopt: the library's defaults).
  std::optional<PreallocMode> prealloc;
  std::uint32_t write_group_bytes_max = 0;
  std::uint32_t inflight_groups_max = 0;
  bool run_fio = true;
  bool run_peers = true;
  unsigned busy_cpus = 0;  // threads spinning beside every measurement (bench/busy_cpus.h)

  // Derived from the preset (--quick or full); --seconds overrides seconds_per_run.
  double seconds_per_run = 5.0;             // one timed measurement (segstore, fio or a peer)
  std::uint64_t w1_volume_bytes = 0;        // W1: payload bytes appended at most per size
  std::uint64_t read_log_bytes = 0;         // R1/R2: size of the log that is read back
  std::uint64_t streams_log_bytes = 0;      // R3: size of the 100-stream log
  std::uint64_t crash_log_bytes = 0;        // O1: bytes the killed writer appends at most
  std::uint64_t sealed_segments = 1000;     // O1: segments of the store whose open is timed
  // R1/O1: a scan lasts about a second and the device's rate drifts by half between minutes, so
  // each scan is repeated cold, fio's sequential read runs for beside_seconds right after each
  // repetition, and the median of the per-repetition ratios is the figure.
  int scan_repeats = 5;
  double beside_seconds = 1.0;
  double mixed_seconds = 20;                // M1: length of the mixed run
  int mixed_tailers = 4;                    // M1: tailing iterators beside the 16 appenders
  int mixed_readers = 4;                    // M1: threads of random read(lsn) beside them
  bool mixed_bound = true;                  // M1: also the appenders beside fio's reads at the readers' rate
  std::uint64_t fio_file_bytes = 1ull << 30;

  bool selected(const std::string &workload) const { return only.empty() || only.count(workload) != 0; }
  std::string preset_name() const { return quick ? "quick" : "full"; }
};

// Parses argv (argv[0] is the program) with CLI11, as every segstore command does. On --help
// prints usage and returns nullopt with *exit_code = 0; on a usage error prints it and returns
// nullopt with *exit_code = 2.
std::optional<Config> parse_config(int argc, char **argv, int *exit_code);

const char *io_backend_name(IoBackendKind kind);

}  // namespace segstore::bench
