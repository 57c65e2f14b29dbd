// bench/report.h — how a run's figures leave the program: a table per workload on standard
// output, the targets of the issue with met/missed, a JSON file with every figure and the
// machine, and a PNG plot of throughput against record size (gnuplot).
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

struct Target {
  std::string workload;
  std::string goal;      // "1 KiB >= 1.5 million records/s"
  std::string measured;  // "1,234,567 records/s"
  double value = not_measured;
  bool met = false;
};

struct Report {
  Config config;
  Machine machine;
  std::vector<PeerKind> peers;
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

}  // namespace segstore::bench
