// bench/report_charts.cc — the two charts written beside the JSON on every run (gnuplot PNG):
// every ratio of segstore to its reference with the goal marked, and the latency percentiles of
// the durable workloads against fio's. People read a benchmark by looking; the charts show at
// a glance which workloads reach their goal and how far the tail latencies are from the device's.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "report.h"

namespace segstore::bench {

namespace {

// Workloads whose appends wait for the device: their latencies are the device's plus segstore's.
const std::set<std::string> durable_workloads = {"W2", "W3", "W4", "W5"};

// A string in a gnuplot script, between single quotes (a quote inside is doubled).
std::string quoted(const std::string &text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A label in a gnuplot data file: one column between double quotes (gnuplot's data files know
// no other quoting, so a double quote inside becomes a single one).
std::string data_label(const std::string &text) {
  std::string out = "\"";
  for (char c : text) out += c == '"' ? '\'' : c;
  return out + "\"";
}

const Target *goal_on(const Report &report, const std::string &workload, const std::string &config,
                      const std::string &reference) {
  for (const Target &t : report.targets)
    if (t.workload == workload && t.row_config == config && t.reference == reference) return &t;
  return nullptr;
}

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

// Runs the script and removes it and its data; "" on success, else why.
std::string run_gnuplot(const std::string &script_path, const std::string &data_path) {
  const int rc = std::system(("gnuplot " + quoted(script_path) + " 2>&1").c_str());
  std::error_code ec;
  std::filesystem::remove(script_path, ec);
  std::filesystem::remove(data_path, ec);
  return rc == 0 ? "" : "gnuplot failed (exit " + std::to_string(rc) + ")";
}

std::string base_of(const std::string &png_path) { return png_path.substr(0, png_path.rfind('.')); }

std::string draw_ratios(const Report &report) {
  const std::vector<RatioBar> bars = ratio_bars(report);
  if (bars.empty()) return "no ratio chart: no workload was compared with a reference";
  const std::string base = base_of(report.config.ratio_png_path);
  const std::string data_path = base + ".dat", script_path = base + ".gp";
  std::ofstream data(data_path);
  // Columns: position, ratio, goal ("-" when none), label. Rows top to bottom in run order.
  for (std::size_t i = 0; i < bars.size(); ++i) {
    data << bars.size() - 1 - i << " " << (measured(bars[i].ratio) ? bars[i].ratio : 0) << " ";
    if (measured(bars[i].goal)) data << bars[i].goal;
    else data << "-";
    data << " " << data_label(bars[i].label + (bars[i].lower_is_better ? " (lower is better)" : "")) << "\n";
  }
  data.close();
  std::ofstream script(script_path);
  const std::size_t height = 160 + 26 * bars.size();
  script << "set terminal pngcairo size 1100," << height << " noenhanced font 'sans,10'\n"
         << "set output " << quoted(report.config.ratio_png_path) << "\n"
         << "set title 'segstore / reference (fio, the best peer, or M1: the appenders alone), one bar per "
            "measured configuration; goals marked'\n"
         << "set datafile missing '-'\nset style fill solid 0.6\nset grid x\nset key top right\n"
         << "set xlabel 'ratio (1.0 = as fast as the reference)'\nset xrange [0:*]\n"
         << "set yrange [-0.7:" << bars.size() - 0.3 << "]\nset ytics scale 0\n"
         << "set arrow from 1, graph 0 to 1, graph 1 nohead dt 2 lw 1.5\n"
         << "plot " << quoted(data_path)
         << " using (0.5*$2):1:(0.5*$2):(0.35):yticlabels(4) with boxxyerror title 'measured ratio', \\\n"
         << "  '' using 3:1 with points pt 9 ps 2 lc rgb 'red' title 'goal'\n";
  script.close();
  const std::string error = run_gnuplot(script_path, data_path);
  return error.empty() ? "ratio chart: " + report.config.ratio_png_path : "no ratio chart: " + error;
}

std::string draw_latencies(const Report &report) {
  const std::vector<LatencyGroup> groups = durable_latencies(report);
  if (groups.empty()) return "no latency chart: no durable workload measured latencies";
  const std::string base = base_of(report.config.latency_png_path);
  const std::string data_path = base + ".dat", script_path = base + ".gp";
  std::ofstream data(data_path);
  for (const LatencyGroup &g : groups) {
    data << data_label(g.label);
    for (double us : {g.p50_us, g.p99_us, g.p999_us}) {
      if (measured(us)) data << " " << us;
      else data << " -";
    }
    data << "\n";
  }
  data.close();
  std::ofstream script(script_path);
  // Wide enough for the title, and for a cluster of three bars per group.
  const std::size_t width = std::max<std::size_t>(900, 300 + 90 * groups.size());
  script << "set terminal pngcairo size " << width << ",640 noenhanced font 'sans,10'\n"
         << "set output " << quoted(report.config.latency_png_path) << "\n"
         << "set title 'durable workloads: latency of one append (segstore) or one write+fdatasync (fio), "
            "p50 / p99 / p99.9'\n"
         << "set datafile missing '-'\nset style data histograms\nset style histogram clustered gap 1\n"
         << "set style fill solid 0.7\nset logscale y\nset grid y\nset ylabel 'microseconds (log scale)'\n"
         << "set xtics rotate by -35 left\nset bmargin 12\nset key top left\n"
         << "plot " << quoted(data_path) << " using 2:xtic(1) title 'p50', '' using 3 title 'p99', "
         << "'' using 4 title 'p99.9'\n";
  script.close();
  const std::string error = run_gnuplot(script_path, data_path);
  return error.empty() ? "latency chart: " + report.config.latency_png_path : "no latency chart: " + error;
}

}  // namespace

std::vector<RatioBar> ratio_bars(const Report &report) {
  std::vector<RatioBar> bars;
  for (const Table &table : report.tables) {
    for (const Row &row : table.rows) {
      if (row.system != System::segstore || !row.error.empty()) continue;
      // M1's rows against the appenders alone; the one a target is on gets its bar below.
      if (row.extra.count("vs_alone") && goal_on(report, table.id, row.config, alone_reference) == nullptr) {
        bars.push_back({table.id + " " + row.config + " vs " + alone_reference, row.extra.at("vs_alone")});
        continue;
      }
      const bool against_fio = measured(row.vs_fio);
      if (!against_fio && !measured(row.vs_peer)) continue;
      RatioBar bar;
      bar.ratio = against_fio ? row.vs_fio : row.vs_peer;
      bar.label = table.id + " " + row.config + " vs " +
                  (against_fio ? "fio " + row.vs_fio_job : row.vs_peer_name);
      if (const Target *t = goal_on(report, table.id, row.config, against_fio ? "fio" : row.vs_peer_name)) {
        bar.goal = t->ratio_goal;
        bar.lower_is_better = t->lower_is_better;
      }
      bars.push_back(bar);
    }
    // Goals against a reference that is not the row's own (W3's RocksDB at 16 threads) get a
    // bar of their own, measured or not (a bar of 0 with its goal: the reference was missing).
    for (const Target &t : report.targets) {
      if (t.workload != table.id || t.reference.empty() || t.reference == "fio") continue;
      RatioBar bar;
      bar.label = t.workload + " " + t.row_config + " vs " + t.reference +
                  (t.status == TargetStatus::not_measured ? " (NOT MEASURED)" : "");
      bar.ratio = t.value;
      bar.goal = t.ratio_goal;
      bar.lower_is_better = t.lower_is_better;
      bars.push_back(bar);
    }
  }
  return bars;
}

std::vector<LatencyGroup> durable_latencies(const Report &report) {
  std::vector<LatencyGroup> groups;
  for (const Table &table : report.tables) {
    if (durable_workloads.count(table.id) == 0) continue;
    for (const Row &row : table.rows) {
      if (row.system == System::peer || !row.error.empty() || !measured(row.p50_us)) continue;
      // W5's unsynced modes return before the device: not a durable latency.
      if (table.id == "W5" && !row.config.ends_with(", sync")) continue;
      groups.push_back({table.id + " " + row.name + " " + row.config, row.p50_us, row.p99_us, row.p999_us});
    }
  }
  return groups;
}

std::vector<std::string> write_charts(const Report &report) {
  if (!gnuplot_available())
    return {"no charts: gnuplot is not installed (Debian package gnuplot-nox; ./dev bench installs it)"};
  for (const std::string &path : {report.config.ratio_png_path, report.config.latency_png_path}) {
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  return {draw_ratios(report), draw_latencies(report)};
}

}  // namespace segstore::bench
