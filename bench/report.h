// bench/report.h — how a run's figures leave the program: a table per workload on standard
// output, the benchmark's targets (met, MISSED, or NOT MEASURED when the figure or its reference
// is missing), a JSON file with every figure and the machine, and PNG charts beside it
// (gnuplot): throughput by record size, every ratio to its reference with the goal marked, and
// the latency percentiles of the durable workloads against fio's.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "config.h"
#include "fio.h"
#include "figures.h"
#include "machine.h"
#include "peers.h"

namespace segstore::bench {

enum class TargetStatus { met, missed, not_measured };

struct Target {
  std::string workload;
  std::string goal;      // "1 KiB >= 1.5 million records/s"
  std::string measured;  // "1,234,567 records/s", or why it was not measured
  double value = not_measured;
  TargetStatus status = TargetStatus::not_measured;
  // For a goal on a ratio: the reference ("fio", "rocksdb 16 threads sync"), the row of
  // `workload` (its configuration) and the goal's ratio, so the ratio chart marks it. Empty /
  // NaN for goals in other units.
  std::string reference;
  std::string row_config;
  double ratio_goal = not_measured;
  bool lower_is_better = false;
  bool met() const { return status == TargetStatus::met; }
};
const char *target_status_name(TargetStatus status);  // "met", "MISSED", "NOT MEASURED"

struct Report {
  Config config;
  Machine machine;
  std::vector<PeerKind> peers;                    // measured in this run
  std::vector<UnavailablePeer> unavailable_peers;  // named at the top; their targets not measured
  std::string fio_note;  // why fio did not run, if it did not
  std::vector<Table> tables;
  std::vector<FioResult> fio_jobs;
  std::vector<Target> targets;
  std::string io_backend_used;  // as the store reported it
  double seconds_total = 0;
  std::string load_average_end;
};

void print_header(const Report &report, std::FILE *out);
void print_table(const Table &table, std::FILE *out);
// Fills report.targets from the tables and prints them.
void evaluate_targets(Report &report);
void print_targets(const Report &report, std::FILE *out);
bool write_json(const Report &report, std::string *error);
// Returns false with *note saying why there is no plot (gnuplot missing, no W1 figures).
bool write_plot(const Report &report, std::string *note);

// The reference of M1's rows: the same 16 appenders alone (Row::extra "vs_alone").
inline constexpr const char *alone_reference = "the appenders alone";

// The ratio chart's bars: every segstore row compared with a reference (fio, or the best peer
// when no fio job matches, or M1's appenders alone), with the goal of a target on that row.
struct RatioBar {
  std::string label;      // "W2 1 KiB, sync vs fio"
  double ratio = not_measured;
  double goal = not_measured;  // NaN: no target on this row
  bool lower_is_better = false;
};
std::vector<RatioBar> ratio_bars(const Report &report);
// The latency chart's groups: p50/p99/p999 of segstore's and fio's rows in the durable workloads.
struct LatencyGroup {
  std::string label;  // "W2 segstore 1 KiB, sync"
  double p50_us = not_measured, p99_us = not_measured, p999_us = not_measured;
};
std::vector<LatencyGroup> durable_latencies(const Report &report);
// Writes the ratio and the latency charts (config.ratio_png_path, config.latency_png_path) and
// returns one line per chart: its path, or why it was not drawn.
std::vector<std::string> write_charts(const Report &report);

}  // namespace segstore::bench
