// bench/report_text.cc — the tables and the targets as text.
#include <algorithm>
#include <cinttypes>
#include <cmath>

#include "report.h"
#include "runner.h"

namespace segstore::bench {

namespace {

std::string ratio(double value) { return measured(value) ? format_fixed(value, value < 10 ? 2 : 1) + "x" : "-"; }

std::string latency(double us) {
  if (!measured(us)) return "-";
  return us < 100 ? format_fixed(us, 1) : format_count(us);
}

std::string rate(double value) {
  if (!measured(value)) return "-";
  return value < 100 ? format_fixed(value, 1) : format_count(value);
}

const char *system_name(System system) {
  switch (system) {
    case System::segstore: return "segstore";
    case System::fio: return "fio";
    case System::peer: return "peer";
  }
  return "?";
}

}  // namespace

void print_header(const Report &report, std::FILE *out) {
  const Machine &m = report.machine;
  std::fprintf(out, "segstore-bench (%s preset, %g s per measurement)\n", report.config.preset_name().c_str(),
               report.config.seconds_per_run);
  std::fprintf(out, "machine: %s; %d CPUs (%s); %.0f GiB\n", m.kernel.c_str(), m.cpus, m.cpu_model.c_str(), m.memory_gib);
  std::fprintf(out, "storage: %s on %s (%s; %s, mounted at %s, %s)\n", report.config.dir.c_str(), m.device.c_str(),
               m.device_info.c_str(), m.file_system.c_str(), m.mount_point.c_str(), m.mount_options.c_str());
  std::fprintf(out, "CPU idle: %s\n", m.cpu_idle.c_str());
  std::fprintf(out, "load average at the start: %s\n", m.load_average.c_str());
  if (report.config.busy_cpus > 0)
    std::fprintf(out, "busy CPUs: %u threads spin beside every measurement (--busy-cpus)\n", report.config.busy_cpus);
  std::string peers;
  for (const PeerKind &p : report.peers) peers += (peers.empty() ? "" : ", ") + p.name + " " + p.version;
  if (!report.config.run_peers) peers = "not run (--no-peers)";
  std::fprintf(out, "peers: %s\n", peers.empty() ? "none" : peers.c_str());
  // A peer this build lacks is named before any figure, so that no one reads a table without it
  // as the whole comparison; its targets print NOT MEASURED.
  for (const UnavailablePeer &p : report.unavailable_peers)
    std::fprintf(out, "PEER NOT AVAILABLE: %s: %s\n", p.name.c_str(), p.why.c_str());
  if (!report.fio_note.empty()) std::fprintf(out, "fio: not run (%s)\n", report.fio_note.c_str());
  std::fputs("Rates are per second of wall time; MB = 10^6 bytes; latencies in microseconds; vs = segstore / reference.\n",
             out);
}

void print_table(const Table &table, std::FILE *out) {
  std::fprintf(out, "\n%s  %s\n    %s\n", table.id.c_str(), table.title.c_str(), table.parameters.c_str());
  const std::vector<std::string> header = {"system", "name",  "configuration", "records/s", "MB/s", "p50 us",
                                           "p99 us", "p999 us", "vs fio", "vs best peer", "detail"};
  std::vector<std::vector<std::string>> cells;
  cells.push_back(header);
  for (const Row &row : table.rows) {
    std::string detail = row.detail;
    if (!row.error.empty()) detail = "FAILED: " + row.error;
    cells.push_back({system_name(row.system), row.name, row.config, rate(row.records_per_s), rate(row.mb_per_s),
                     latency(row.p50_us), latency(row.p99_us), latency(row.p999_us), ratio(row.vs_fio),
                     ratio(row.vs_peer), detail});
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto &line : cells)
    for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  for (std::size_t r = 0; r < cells.size(); ++r) {
    std::string text = "  ";
    for (std::size_t c = 0; c < cells[r].size(); ++c) {
      const bool left = c < 3 || c + 1 == cells[r].size();
      const std::string &cell = cells[r][c];
      const std::string pad(width[c] - cell.size(), ' ');
      text += left ? cell + pad : pad + cell;
      if (c + 1 < cells[r].size()) text += " | ";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    std::fprintf(out, "%s\n", text.c_str());
    if (r == 0) {
      std::string rule = "  ";
      for (std::size_t c = 0; c < width.size(); ++c) rule += std::string(width[c], '-') + (c + 1 < width.size() ? "-+-" : "");
      std::fprintf(out, "%s\n", rule.c_str());
    }
  }
  for (const std::string &note : table.notes) std::fprintf(out, "    note: %s\n", note.c_str());
}

namespace {

const Table *find_table(const Report &report, const std::string &id) {
  for (const Table &t : report.tables)
    if (t.id == id) return &t;
  return nullptr;
}

const Row *find_row(const Table *table, const std::string &config_prefix) {
  if (table == nullptr) return nullptr;
  for (const Row &row : table->rows)
    if (row.system == System::segstore && row.config.rfind(config_prefix, 0) == 0 && row.error.empty()) return &row;
  return nullptr;
}

double extra(const Row *row, const std::string &key) {
  if (row == nullptr) return not_measured;
  auto it = row->extra.find(key);
  return it == row->extra.end() ? not_measured : it->second;
}

// A target on a ratio: the chart marks its goal on the bar of that row and reference.
struct RatioOf {
  const Row *row = nullptr;
  std::string reference;  // "fio", or a peer's figure ("rocksdb 16 threads sync")
};

// Why a target has no figure: its workload failed or was not run, or the reference it needs
// (a peer this build lacks, or fio) was not measured.
std::string why_not_measured(const Report &report, const std::string &reference) {
  if (reference == alone_reference) return "not measured";
  for (const UnavailablePeer &p : report.unavailable_peers)
    if (reference.rfind(p.name, 0) == 0) return "not measured: " + p.name + " is not available (see the top)";
  if (!report.config.run_peers && !reference.empty() && reference != "fio")
    return "not measured: peers not run (--no-peers)";
  if (reference == "fio" && !report.fio_note.empty()) return "not measured: fio not run (" + report.fio_note + ")";
  return "not measured";
}

void add(Report &report, const std::string &workload, const std::string &goal, double value, double threshold,
         bool at_most, const std::string &measured_text, const RatioOf &ratio_of = {}) {
  Target t;
  t.workload = workload;
  t.goal = goal;
  t.value = value;
  if (!measured(value)) {
    t.status = TargetStatus::not_measured;
    t.measured = why_not_measured(report, ratio_of.reference);
  } else {
    t.status = (at_most ? value <= threshold : value >= threshold) ? TargetStatus::met : TargetStatus::missed;
    t.measured = measured_text;
  }
  if (!ratio_of.reference.empty()) {
    t.reference = ratio_of.reference;
    t.row_config = ratio_of.row ? ratio_of.row->config : "";
    t.ratio_goal = threshold;
    t.lower_is_better = at_most;
  }
  report.targets.push_back(t);
}

// The fio row of `table` whose job name contains `job_part`.
const Row *find_fio_row(const Table *table, const std::string &job_part) {
  if (table == nullptr) return nullptr;
  for (const Row &row : table->rows)
    if (row.system == System::fio && row.config.find(job_part) != std::string::npos && row.error.empty()) return &row;
  return nullptr;
}

// Records/s of `row` over the operations/s of fio's `reference` (one record per operation).
double ratio(const Row *row, const Row *reference) {
  if (row == nullptr || reference == nullptr) return not_measured;
  const double ops = extra(reference, "ops_per_s");
  return measured(ops) && ops > 0 ? row->records_per_s / ops : not_measured;
}

// "; median of 5, each over fio's read right after it: 0.81x-1.10x" for a row measured so
// (`fio_did`: what fio's job did: "read", "job").
std::string repetitions_detail(const Row *row, const std::string &fio_did = "read") {
  const double count = extra(row, "repetitions");
  if (!measured(count) || count < 2) return "";
  return "; median of " + format_count(count) + ", each over fio's " + fio_did + " right after it: " +
         format_fixed(extra(row, "vs_fio_min"), 2) + "x-" + format_fixed(extra(row, "vs_fio_max"), 2) + "x";
}

// "; over fio's full-length run 0.92x" for a row whose target takes its repetitions' ratio.
std::string run_long_detail(const Row *row) {
  const double run_long = extra(row, "vs_fio_run_long");
  return measured(run_long) ? "; over fio's full-length run " + format_fixed(run_long, 2) + "x" : "";
}

// The goals of the write-path and read-path work (docs/BENCHMARKS.md "Targets"), each a ratio
// to a reference measured in the same run where the goal names one.
void evaluate_write_targets(Report &report) {
  if (const Table *w1 = find_table(report, "W1")) {
    for (auto [size, goal] : {std::pair{"128 B", 6e6}, std::pair{"1 KiB", 1.5e6}}) {
      const Row *row = find_row(w1, size);
      const double rps = row ? row->records_per_s : not_measured;
      add(report, "W1", std::string(size) + " >= " + format_count(goal) + " records/s", rps, goal, false,
          format_count(rps) + " records/s");
    }
    const Row *big = find_row(w1, "64 KiB");
    const double r = big ? big->vs_fio : not_measured;
    // Beside it, the same writes by fio with a durable end as W1 has, over written blocks and
    // into fresh fallocated files: where the device's durable rate bounds W1.
    const double end = extra(big, "vs_fio_durable_end"), fresh = extra(big, "vs_fio_fresh_files");
    add(report, "W1", "64 KiB >= 0.90 x fio sequential write", r, 0.9, false,
        format_fixed(r, 2) + "x (" + rate(big ? big->mb_per_s : not_measured) + " MB/s vs " + (big ? big->vs_fio_job : "") +
            (measured(end) ? "; vs the same + end fsync " + format_fixed(end, 2) + "x" : "") +
            (measured(fresh) ? ", vs fresh fallocated files " + format_fixed(fresh, 2) + "x" : "") + ")",
        {big, "fio"});
    // The same over segments made from freed files: a log with retention (segment recycling).
    const Row *recycled = find_row(w1, "recycled segments, 64 KiB");
    const double rr = recycled ? recycled->vs_fio : not_measured;
    add(report, "W1", "64 KiB over recycled segments >= 0.90 x fio sequential write", rr, 0.9, false,
        format_fixed(rr, 2) + "x (" + rate(recycled ? recycled->mb_per_s : not_measured) + " MB/s vs " +
            (recycled ? recycled->vs_fio_job : "") + ")",
        {recycled, "fio"});
  }
  const Table *w2 = find_table(report, "W2");
  if (w2 != nullptr) {
    const Row *row = find_row(w2, "1 KiB");
    const double r = row ? row->vs_fio : not_measured;
    add(report, "W2", ">= 0.95 x fio QD1 4 KiB write+fdatasync", r, 0.95, false,
        format_fixed(r, 2) + "x (" + rate(row ? row->records_per_s : not_measured) + " records/s" +
            repetitions_detail(row, "job") + run_long_detail(row) + ")",
        {row, "fio"});
  }
  if (const Table *w3 = find_table(report, "W3")) {
    for (auto [threads, goal] : {std::pair{16, 5.0}, std::pair{64, 10.0}}) {
      const Row *row = find_row(w3, "1 KiB, " + std::to_string(threads) + " threads");
      const double r = extra(row, "vs_rocksdb_16_threads_sync");
      add(report, "W3", std::to_string(threads) + " threads >= " + format_fixed(goal, 0) + " x RocksDB 16 threads sync", r, goal,
          false, format_fixed(r, 2) + "x (" + rate(row ? row->records_per_s : not_measured) + " records/s)",
          {row, "rocksdb 16 threads sync"});
    }
    const Row *sixteen = find_row(w3, "1 KiB, 16 threads");
    const Row *writers = find_fio_row(w3, "x16 writers");
    const double r16 = ratio(sixteen, writers);
    add(report, "W3", "16 threads >= 1.0 x fio 16 writers 4 KiB write+fdatasync", r16, 1.0, false,
        format_fixed(r16, 2) + "x (" + rate(sixteen ? sixteen->records_per_s : not_measured) + " vs " +
            rate(extra(writers, "ops_per_s")) + " writes/s)");
    // fio's QD1 4 KiB write+fdatasync is measured by W2.
    const Row *four = find_row(w3, "1 KiB, 4 threads");
    const Row *qd1 = find_fio_row(w2, "write+fdatasync 4k QD1");
    const double r4 = ratio(four, qd1);
    const Row *four_writers = find_fio_row(w3, "x4 writers");
    const double rw4 = ratio(four, four_writers);
    add(report, "W3", "4 threads >= 2.0 x fio QD1 4 KiB write+fdatasync (from W2)", r4, 2.0, false,
        format_fixed(r4, 2) + "x (" + rate(four ? four->records_per_s : not_measured) + " records/s" +
            (measured(rw4) ? "; vs fio 4 writers " + format_fixed(rw4, 2) + "x" : "") + ")");
  }
  if (const Table *w4 = find_table(report, "W4")) {
    for (const char *size : {"1 KiB", "4 KiB"}) {
      const Row *row = find_row(w4, size);
      const double r = row ? row->vs_fio : not_measured;
      const double fresh = extra(row, "vs_fio_fresh_files");
      add(report, "W4", std::string(size) + " >= 0.95 x fio 1 MiB write+fdatasync QD4", r, 0.95, false,
          format_fixed(r, 2) + "x (" + rate(row ? row->mb_per_s : not_measured) + " MB/s durable" +
              (measured(fresh) ? "; vs the same into fresh fallocated files " + format_fixed(fresh, 2) + "x" : "") + ")",
          {row, "fio"});
      const Row *recycled = find_row(w4, std::string("recycled segments, ") + size);
      const double rr = recycled ? recycled->vs_fio : not_measured;
      add(report, "W4", std::string(size) + " over recycled segments >= 0.95 x fio 1 MiB write+fdatasync QD4", rr, 0.95,
          false, format_fixed(rr, 2) + "x (" + rate(recycled ? recycled->mb_per_s : not_measured) + " MB/s durable)",
          {recycled, "fio"});
    }
  }
}

void evaluate_read_targets(Report &report) {
  if (const Table *r1 = find_table(report, "R1")) {
    const Row *row = find_row(r1, "scan all");
    const double r = row ? row->vs_fio : not_measured;
    add(report, "R1", ">= 0.90 x fio sequential read", r, 0.9, false,
        format_fixed(r, 2) + "x (" + rate(extra(row, "device_mb_per_s")) + " MB/s from the device" +
            repetitions_detail(row) +
            (measured(extra(row, "vs_fio_own_pattern"))
                 ? "; over fio at the scan's own pattern, 1 MiB x 8: " + format_fixed(extra(row, "vs_fio_own_pattern"), 2) + "x"
                 : "") +
            ")",
        {row, "fio"});
  }
  if (const Table *r2 = find_table(report, "R2")) {
    const Row *row = find_row(r2, "read(lsn), 1 KiB, 1 thread");
    const double r = row ? row->vs_fio : not_measured;
    add(report, "R2", "p50 <= 1.2 x fio QD1 4 KiB random read p50", r, 1.2, true,
        format_fixed(r, 2) + "x (p50 " + latency(row ? row->p50_us : not_measured) + " us" + repetitions_detail(row) + run_long_detail(row) + ")",
        {row, "fio"});
    const Row *eight = find_row(r2, "read(lsn), 1 KiB, 8 threads");
    const double r8 = eight ? eight->vs_fio : not_measured;
    add(report, "R2", "8 threads >= 0.90 x fio 4 KiB random read, 8 jobs (IOPS)", r8, 0.9, false,
        format_fixed(r8, 2) + "x (" + rate(eight ? eight->records_per_s : not_measured) + " reads/s, p99 " +
            latency(eight ? eight->p99_us : not_measured) + " us" + repetitions_detail(eight) + run_long_detail(eight) + ")",
        {eight, "fio"});
    const double index = extra(row, "index_bytes_per_gib");
    add(report, "R2", "index memory <= 1 MiB per GiB of log", index, double(1 << 20), true,
        format_count(index) + " bytes per GiB");
  }
  if (const Table *r3 = find_table(report, "R3")) {
    const Row *one = find_row(r3, "scan stream");
    const double speedup = extra(one, "speedup_vs_full_scan");
    const double share = measured(speedup) && speedup > 0 ? 1 / speedup : not_measured;
    const double floor = extra(one, "device_floor_share");
    add(report, "R3", "one stream of 100 in <= 0.15 x the full scan's time", share, 0.15, true,
        format_fixed(share, 2) + "x the full scan's time" +
            (measured(floor) ? "; its " + format_count(extra(one, "read_requests")) +
                                   " reads at fio's random-read rate: " + format_fixed(floor, 2) + "x"
                             : ""));
  }
  if (const Table *o1 = find_table(report, "O1")) {
    for (const char *config : {"open after kill -9", "open with verify_on_open"}) {
      const Row *row = find_row(o1, config);
      const double r = row ? row->vs_fio : not_measured;
      add(report, "O1", std::string("recovery scan (") + config + ") >= 0.90 x fio sequential read", r, 0.9, false,
          format_fixed(r, 2) + "x (" + rate(row ? row->mb_per_s : not_measured) + " MB/s" + repetitions_detail(row) + ")",
          {row, "fio"});
    }
    const Row *many = find_row(o1, "open " + std::to_string(report.config.sealed_segments) + " sealed segments");
    const double ms = extra(many, "open_ms");
    add(report, "O1", "open of " + std::to_string(report.config.sealed_segments) + " sealed segments <= 20 ms", ms, 20,
        true, format_fixed(ms, 1) + " ms");
  }
}

void evaluate_mixed_targets(Report &report) {
  const Table *m1 = find_table(report, "M1");
  if (m1 == nullptr) return;
  const Row *appenders = find_row(m1, "16 appenders with");
  const double kept = extra(appenders, "vs_alone");
  // Beside fio's reads at the readers' rate: what the same device reads cost the appenders
  // when segstore's readers are not the ones making them.
  const Row *beside_fio = nullptr;
  for (const Row &row : m1->rows)
    if (row.system == System::segstore && row.error.empty() && row.config.find("beside fio's reads") != std::string::npos)
      beside_fio = &row;
  const double bound = extra(beside_fio, "vs_alone");
  add(report, "M1", "appenders >= 0.85 x the same 16 appenders alone", kept, 0.85, false,
      format_fixed(kept, 2) + "x (" + rate(appenders ? appenders->records_per_s : not_measured) + " records/s" +
          (measured(bound) ? "; beside fio's reads at the readers' rate: " + format_fixed(bound, 2) + "x" : "") + ")",
      {appenders, alone_reference});
  const Row *tailers = find_row(m1, "4 tailers");
  const double lag = tailers ? tailers->p99_us : not_measured;
  add(report, "M1", "tailers see each record within p99 <= 5 ms of its ack", lag, 5000, true,
      "p99 " + latency(lag) + " us");
  const double early = extra(tailers, "not_durable_seen");
  add(report, "M1", "durable_only tailers never see a record that is not durable", early, 0, true,
      format_count(early) + " seen");
}

}  // namespace

void evaluate_targets(Report &report) {
  report.targets.clear();
  evaluate_write_targets(report);
  evaluate_read_targets(report);
  evaluate_mixed_targets(report);
}

const char *target_status_name(TargetStatus status) {
  switch (status) {
    case TargetStatus::met: return "met";
    case TargetStatus::missed: return "MISSED";
    case TargetStatus::not_measured: return "NOT MEASURED";
  }
  return "?";
}

void print_targets(const Report &report, std::FILE *out) {
  std::fprintf(out, "\nTargets: throughput, durable-write, read and recovery goals (docs/BENCHMARKS.md)\n");
  std::size_t goal_width = 0;
  for (const Target &t : report.targets) goal_width = std::max(goal_width, t.goal.size());
  for (const Target &t : report.targets)
    std::fprintf(out, "  %-3s %-*s  %-12s  %s\n", t.workload.c_str(), static_cast<int>(goal_width), t.goal.c_str(),
                 target_status_name(t.status), t.measured.c_str());
  std::fprintf(out, "\nio backend the store used: %s; finished in %.0f s; load average at the end: %s\n",
               report.io_backend_used.empty() ? "-" : report.io_backend_used.c_str(), report.seconds_total,
               report.load_average_end.c_str());
}

}  // namespace segstore::bench
