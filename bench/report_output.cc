// bench/report_output.cc — the JSON file and the throughput plot (gnuplot PNG).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "report.h"
#include "runner.h"

namespace segstore::bench {

namespace {

using nlohmann::json;

json number(double value) { return measured(value) ? json(value) : json(nullptr); }

const char *system_key(System system) {
  switch (system) {
    case System::segstore: return "segstore";
    case System::fio: return "fio";
    case System::peer: return "peer";
  }
  return "?";
}

json row_json(const Row &row) {
  json j;
  j["system"] = system_key(row.system);
  j["name"] = row.name;
  j["config"] = row.config;
  j["record_bytes"] = number(row.record_bytes);
  j["threads"] = row.threads;
  j["records_per_s"] = number(row.records_per_s);
  j["mb_per_s"] = number(row.mb_per_s);
  j["p50_us"] = number(row.p50_us);
  j["p99_us"] = number(row.p99_us);
  j["p999_us"] = number(row.p999_us);
  j["vs_fio"] = number(row.vs_fio);
  j["vs_fio_job"] = row.vs_fio_job;
  j["vs_best_peer"] = number(row.vs_peer);
  j["vs_best_peer_name"] = row.vs_peer_name;
  json extra = json::object();
  for (const auto &[key, value] : row.extra) extra[key] = number(value);
  j["extra"] = extra;
  if (!row.detail.empty()) j["detail"] = row.detail;
  if (!row.error.empty()) j["error"] = row.error;
  return j;
}

bool ensure_parent(const std::string &path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  return !ec;
}

}  // namespace

bool write_json(const Report &report, std::string *error) {
  json doc;
  const Machine &m = report.machine;
  doc["machine"] = {{"kernel", m.kernel},           {"cpu_model", m.cpu_model},     {"cpus", m.cpus},
                    {"memory_gib", m.memory_gib},   {"file_system", m.file_system}, {"device", m.device}, {"device_info", m.device_info}, {"cpu_idle", m.cpu_idle},
                    {"mount_point", m.mount_point}, {"mount_options", m.mount_options},
                    {"load_average_start", m.load_average}, {"load_average_end", report.load_average_end}};
  doc["config"] = {{"preset", report.config.preset_name()},
                   {"dir", report.config.dir},
                   {"seconds_per_run", report.config.seconds_per_run},
                   {"busy_cpus", report.config.busy_cpus},
                   {"io_backend", io_backend_name(report.config.io_backend)},
                   {"w1_volume_bytes", report.config.w1_volume_bytes},
                   {"read_log_bytes", report.config.read_log_bytes},
                   {"streams_log_bytes", report.config.streams_log_bytes},
                   {"crash_log_bytes", report.config.crash_log_bytes},
                   {"sealed_segments", report.config.sealed_segments}};
  json peers = json::array();
  for (const PeerKind &p : report.peers) peers.push_back({{"name", p.name}, {"version", p.version}});
  doc["peers"] = peers;
  json unavailable = json::array();
  for (const UnavailablePeer &p : report.unavailable_peers) unavailable.push_back({{"name", p.name}, {"why", p.why}});
  doc["unavailable_peers"] = unavailable;
  json fio = json::array();
  for (const FioResult &f : report.fio_jobs) {
    json j = {{"job", f.job},
              {"command", f.command},
              {"ops_per_s", number(f.ops_per_s)},
              {"mb_per_s", number(f.mb_per_s)},
              {"block_bytes", number(f.block_bytes)},
              {"p50_us", number(f.p50_us)},
              {"p99_us", number(f.p99_us)},
              {"p999_us", number(f.p999_us)}};
    if (!f.error.empty()) j["error"] = f.error;
    fio.push_back(j);
  }
  doc["fio"] = fio;
  if (!report.fio_note.empty()) doc["fio_note"] = report.fio_note;
  json workloads = json::array();
  for (const Table &t : report.tables) {
    json rows = json::array();
    for (const Row &row : t.rows) rows.push_back(row_json(row));
    workloads.push_back({{"id", t.id}, {"title", t.title}, {"parameters", t.parameters}, {"rows", rows}, {"notes", t.notes}});
  }
  doc["workloads"] = workloads;
  json targets = json::array();
  for (const Target &t : report.targets)
    targets.push_back({{"workload", t.workload},
                       {"goal", t.goal},
                       {"value", number(t.value)},
                       {"measured", t.measured},
                       {"met", t.met()},
                       {"status", target_status_name(t.status)}});
  doc["targets"] = targets;
  doc["io_backend_used"] = report.io_backend_used;
  doc["seconds_total"] = report.seconds_total;
  ensure_parent(report.config.json_path);
  std::ofstream out(report.config.json_path);
  out << doc.dump(2) << "\n";
  if (!out) {
    *error = "cannot write " + report.config.json_path;
    return false;
  }
  return true;
}

bool write_plot(const Report &report, std::string *note) {
  const Table *w1 = nullptr;
  for (const Table &t : report.tables)
    if (t.id == "W1") w1 = &t;
  if (w1 == nullptr) {
    *note = "no plot: W1 (the record-size sweep) was not run";
    return false;
  }
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    *note = "no plot: gnuplot is not installed (Debian package gnuplot-nox; ./dev bench installs it)";
    return false;
  }
  // One series per system: MB/s of payload at each record size (1 thread, no sync per record).
  std::map<std::string, std::map<double, double>> series;
  std::vector<std::pair<std::string, double>> fio_lines;
  for (const Row &row : w1->rows) {
    if (!row.error.empty() || !measured(row.mb_per_s)) continue;
    if (row.system == System::fio) fio_lines.emplace_back("fio " + row.config, row.mb_per_s);
    else if (row.threads == 1) series[row.name][row.record_bytes] = row.mb_per_s;
  }
  const std::string base = report.config.png_path.substr(0, report.config.png_path.rfind('.'));
  const std::string data_path = base + ".dat", script_path = base + ".gp";
  ensure_parent(report.config.png_path);
  std::ofstream data(data_path);
  std::ofstream script(script_path);
  script << "set terminal pngcairo size 1000,620 noenhanced font 'sans,11'\n"
         << "set output '" << report.config.png_path << "'\n"
         << "set title 'W1 streaming appends (no sync per record, one final sync), 1 thread: payload MB/s by record size'\n"
         << "set xlabel 'record size (bytes)'\nset ylabel 'MB/s (10^6 bytes of payload)'\n"
         << "set logscale xy 2\nset grid\nset key outside right\n"
         << "set xtics ('128 B' 128, '1 KiB' 1024, '4 KiB' 4096, '64 KiB' 65536)\n"
         << "set xrange [90:90000]\n"
         << "plot ";
  int index = 0;
  bool first = true;
  for (const auto &[name, points] : series) {
    for (const auto &[size, mbps] : points) data << size << " " << mbps << "\n";
    data << "\n\n";
    script << (first ? "" : ", ") << "'" << data_path << "' index " << index++ << " with linespoints lw 2 title '" << name << "'";
    first = false;
  }
  for (const auto &[name, mbps] : fio_lines) {
    script << (first ? "" : ", ") << mbps << " with lines dt 2 lw 2 title '" << name << "'";
    first = false;
  }
  script << "\n";
  data.close();
  script.close();
  const int rc = std::system(("gnuplot '" + script_path + "' 2>&1").c_str());
  std::filesystem::remove(data_path);
  std::filesystem::remove(script_path);
  if (rc != 0) {
    *note = "no plot: gnuplot failed (exit " + std::to_string(rc) + ")";
    return false;
  }
  *note = "plot: " + report.config.png_path;
  return true;
}

}  // namespace segstore::bench
