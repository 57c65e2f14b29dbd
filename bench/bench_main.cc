// bench/bench_main.cc — segstore-bench: runs the selected workloads in order, then prints the
// targets and writes the JSON file and the charts.
#include "bench_main.h"

#include <cstdio>
#include <filesystem>

#include "busy_cpus.h"
#include "config.h"
#include "fio.h"
#include "machine.h"
#include "report.h"
#include "scenarios.h"

namespace segstore::bench {

namespace {

std::string one_decimal(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

double extra_of(const Row &row, const char *key) {
  auto it = row.extra.find(key);
  return it == row.extra.end() ? not_measured : it->second;
}

// The last column: the figure behind the row that the other columns do not show.
void fill_details(Table &table) {
  for (Row &row : table.rows) {
    if (row.system == System::fio) {
      if (row.extra.count("records_per_op"))
        row.detail = format_count(extra_of(row, "ops_per_s")) + " syncs/s x " + one_decimal(extra_of(row, "records_per_op")) +
                     " records";
      else
        row.detail = format_count(extra_of(row, "ops_per_s")) + " IOPS";
      continue;
    }
    if (row.system != System::segstore) continue;
    if (row.extra.count("not_durable_seen")) {
      row.detail = format_count(extra_of(row, "records")) + " records";
      if (row.config.find("durable_only") != std::string::npos)
        row.detail += ", " + format_count(extra_of(row, "not_durable_seen")) + " not yet durable";
    } else if (row.extra.count("vs_alone")) {
      row.detail = one_decimal(100 * extra_of(row, "vs_alone")) + " % of the appenders alone";
    } else if (row.extra.count("open_ms")) {
      row.detail = "open " + one_decimal(extra_of(row, "open_ms")) + " ms";
      if (row.extra.count("bytes_scanned"))
        row.detail += ", scanned " + format_size(extra_of(row, "bytes_scanned")) + " in " +
                      one_decimal(extra_of(row, "recovery_duration_ms")) + " ms, " +
                      format_count(extra_of(row, "segments_scanned")) + " segments";
    } else if (row.extra.count("blocks_read")) {
      row.detail = format_count(extra_of(row, "blocks_read")) + " blocks read";
      if (row.extra.count("device_mb_per_s")) row.detail += ", " + format_count(extra_of(row, "device_mb_per_s")) + " MB/s from the device";
      if (row.extra.count("speedup_vs_full_scan"))
        row.detail += ", took " + one_decimal(1 / extra_of(row, "speedup_vs_full_scan")) + "x the full scan's time";
    } else if (row.extra.count("blocks_read_per_read")) {
      row.detail = one_decimal(extra_of(row, "blocks_read_per_read")) + " blocks per read";
    } else if (row.extra.count("device_mb_per_s")) {
      row.detail = "device writes " + format_count(extra_of(row, "device_mb_per_s")) + " MB/s";
    } else if (row.extra.count("average_group_records") && extra_of(row, "flushes") > 0) {
      row.detail = "group " + one_decimal(extra_of(row, "average_group_records")) + " records, " +
                   format_count(extra_of(row, "flushes") / std::max(1e-9, extra_of(row, "seconds"))) + " syncs/s";
      if (row.extra.count("context_switches_per_record"))
        row.detail += ", " + one_decimal(extra_of(row, "context_switches_per_record")) + " cs/record";
      if (row.extra.count("disk_bytes_per_payload_byte"))
        row.detail += ", " + one_decimal(extra_of(row, "disk_bytes_per_payload_byte")) + " disk B/B";
      if (row.extra.count("machine_cpu_busy"))
        row.detail += ", CPUs " + format_fixed(100 * extra_of(row, "machine_cpu_busy"), 0) + " % busy";
    }
  }
}

}  // namespace

}  // namespace segstore::bench

int segstore_bench_main(int argc, char **argv) {
  using namespace segstore::bench;
  int exit_code = 0;
  std::optional<Config> parsed = parse_config(argc, argv, &exit_code);
  if (!parsed) return exit_code;
  const Config &config = *parsed;
  std::error_code ec;
  std::filesystem::create_directories(config.dir, ec);
  if (ec) {
    std::fprintf(stderr, "segstore-bench: cannot create %s: %s\n", config.dir.c_str(), ec.message().c_str());
    return 2;
  }
  const Clock::time_point start = Clock::now();
  Report report;
  report.config = config;
  report.machine = describe_machine(config.dir);
  Fio fio(config.dir, config.seconds_per_run, config.fio_file_bytes, config.run_fio);
  if (!fio.available()) report.fio_note = fio.why_unavailable();
  Context ctx{config, fio, config.run_peers ? available_peers() : std::vector<PeerKind>{}, false, ""};
  report.peers = ctx.peers;
  if (config.run_peers) report.unavailable_peers = unavailable_peers();
  print_header(report, stdout);
  std::fflush(stdout);
  const BusyCpus busy(config.busy_cpus);

  using Runner = Table (*)(Context &);
  const std::pair<const char *, Runner> workloads[] = {{"W1", run_w1}, {"W2", run_w2}, {"W3", run_w3}, {"W4", run_w4},
                                                       {"W5", run_w5}, {"R1", run_r1}, {"R2", run_r2}, {"R3", run_r3}, {"O1", run_o1},
                                                       {"M1", run_m1}};
  for (const auto &[id, run] : workloads) {
    if (!config.selected(id)) continue;
    progress(id, "starting (" + std::to_string(static_cast<int>(seconds_since(start))) + " s into the run)");
    Table table = run(ctx);
    fill_details(table);
    for (const Row &row : table.rows)
      if (row.system == System::segstore && !row.error.empty()) exit_code = 1;
    print_table(table, stdout);
    std::fflush(stdout);
    report.tables.push_back(std::move(table));
  }
  remove_tree(ctx.path("store-read"));
  fio.remove_files();
  report.fio_jobs = fio.results();
  report.io_backend_used = ctx.io_backend_used;
  report.seconds_total = seconds_since(start);
  report.load_average_end = load_average_now();
  evaluate_targets(report);
  print_targets(report, stdout);
  std::string error, note;
  if (write_json(report, &error)) std::printf("results: %s\n", config.json_path.c_str());
  else std::fprintf(stderr, "segstore-bench: %s\n", error.c_str()), exit_code = 1;
  write_plot(report, &note);
  std::printf("%s\n", note.c_str());
  for (const std::string &line : write_charts(report)) std::printf("%s\n", line.c_str());
  return exit_code;
}
