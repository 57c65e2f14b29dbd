// tools/cmd_stat.cc — `segstore stat DIR [--json]`: what a store holds, from its files
// (inspect::describe_store), without opening it.
#include <ctime>
#include <memory>
#include <optional>

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "segstore/inspect.h"
#include "segstore/store.h"
#include "store_options.h"

namespace segstore::cli {

namespace {

struct StatArgs {
  std::string dir;
  bool json = false;
  bool open = false;
};

std::string utc_time(std::uint64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// What a reader can rely on of the store's state. A store that is not open has nothing in
// flight: everything on disk is what the next open recovers, so durable == next there.
std::string open_state(const inspect::StoreDescription &d) {
  if (d.in_use) return fmt::format("open by process {}", d.lock_holder_pid);
  return d.clean_shutdown ? "closed cleanly" : "not open; not closed cleanly (the next open scans the newest segment)";
}

nlohmann::json to_json(const inspect::StoreDescription &d) {
  using nlohmann::json;
  json segments = json::array();
  for (const inspect::SegmentInfo &s : d.segments) {
    json streams = json::object();
    for (const auto &[stream, count] : s.records_per_stream) streams[std::to_string(stream)] = count;
    segments.push_back({{"id", s.id},
                        {"file", s.file},
                        {"state", inspect::segment_state_name(s.state)},
                        {"base_lsn", s.base_lsn},
                        {"records", s.records},
                        {"end_offset", s.end_offset},
                        {"segment_bytes", s.segment_bytes},
                        {"file_bytes", s.file_bytes},
                        {"created_unix_ms", s.created_unix_ms},
                        {"has_index", s.has_index},
                        {"records_per_stream", streams},
                        {"problem", s.problem.empty() ? json(nullptr) : json(s.problem)}});
  }
  json streams = json::object();
  for (const auto &[stream, count] : d.records_per_stream) streams[std::to_string(stream)] = count;
  json snapshots = json::array();
  for (const inspect::SnapshotInfo &s : d.snapshots)
    snapshots.push_back({{"lsn", s.lsn},
                         {"file", s.file},
                         {"state_bytes", s.state_bytes},
                         {"problem", s.problem.empty() ? json(nullptr) : json(s.problem)}});
  json quarantine = json::array();
  for (const inspect::FileInfo &f : d.quarantine) quarantine.push_back({{"name", f.name}, {"bytes", f.bytes}});
  return {{"dir", d.dir},
          {"store_id", fmt::format("{:016x}", d.store_id)},
          {"first_lsn", d.first_lsn},
          {"next_lsn", d.next_lsn},
          // Known only for a store that is not open (then everything on disk counts).
          {"durable_lsn", d.in_use ? json(nullptr) : json(d.next_lsn)},
          {"records", d.next_lsn - d.first_lsn},
          {"in_use", d.in_use},
          {"lock_holder_pid", d.in_use ? json(d.lock_holder_pid) : json(nullptr)},
          {"clean_shutdown", d.clean_shutdown},
          {"min_segment_id", d.min_segment_id},
          {"segments", segments},
          {"records_per_stream", streams},
          {"snapshots", snapshots},
          {"quarantine", quarantine},
          {"other_files", d.other_files},
          {"disk",
           {{"total_file_bytes", d.total_file_bytes},
            {"allocated_bytes", d.allocated_bytes},
            {"segment_file_bytes", d.segment_file_bytes},
            {"index_file_bytes", d.index_file_bytes},
            {"snapshot_file_bytes", d.snapshot_file_bytes},
            {"quarantine_file_bytes", d.quarantine_file_bytes},
            {"log_bytes", d.log_bytes}}}};
}

std::string to_text(const inspect::StoreDescription &d) {
  std::string t;
  auto line = [&](const std::string &s) { t += s + "\n"; };
  line(fmt::format("store       {} (id {:016x}), {}", d.dir, d.store_id, open_state(d)));
  line(fmt::format("LSNs        first {}, next {}, durable {}  ({} record{})", d.first_lsn, d.next_lsn,
                   d.in_use ? "unknown while open" : std::to_string(d.next_lsn), d.next_lsn - d.first_lsn,
                   d.next_lsn - d.first_lsn == 1 ? "" : "s"));
  line(fmt::format("segments    {}", d.segments.size()));
  if (!d.segments.empty()) {
    line(fmt::format("  {:>6}  {:<8}  {:>12}  {:>10}  {:>10}  {:>10}  {:<5}  {}", "id", "state", "base LSN",
                     "records", "end", "size", "index", "created"));
    for (const inspect::SegmentInfo &s : d.segments) {
      const bool has_records = s.state == inspect::SegmentState::sealed || s.state == inspect::SegmentState::active;
      line(fmt::format("  {:>6}  {:<8}  {:>12}  {:>10}  {:>10}  {:>10}  {:<5}  {}{}", s.id,
                       inspect::segment_state_name(s.state), has_records ? std::to_string(s.base_lsn) : "-",
                       has_records ? std::to_string(s.records) : "-",
                       has_records ? std::to_string(s.end_offset) : "-", human_bytes(s.file_bytes),
                       s.has_index ? "yes" : "no", s.created_unix_ms ? utc_time(s.created_unix_ms) : "-",
                       s.problem.empty() ? "" : "  PROBLEM: " + s.problem));
    }
  }
  line(fmt::format("streams     {}", d.records_per_stream.size()));
  for (const auto &[stream, count] : d.records_per_stream)
    line(fmt::format("  stream {:>10}  {} record{}", stream, count, count == 1 ? "" : "s"));
  line(fmt::format("snapshots   {}", d.snapshots.empty() ? "none" : std::to_string(d.snapshots.size())));
  for (const inspect::SnapshotInfo &s : d.snapshots)
    line(fmt::format("  LSN {:>12}  {}{}", s.lsn, human_bytes(s.state_bytes),
                     s.problem.empty() ? "" : "  PROBLEM: " + s.problem));
  line(fmt::format("quarantine  {}", d.quarantine.empty() ? "empty" : fmt::format("{} file(s), {}", d.quarantine.size(),
                                                                                   human_bytes(d.quarantine_file_bytes))));
  for (const inspect::FileInfo &f : d.quarantine) line(fmt::format("  {}  {}", f.name, human_bytes(f.bytes)));
  line(fmt::format("disk        {} in files ({} allocated): segments {}, index snapshots {}, snapshots {}, "
                   "quarantine {}; {} of records",
                   human_bytes(d.total_file_bytes), human_bytes(d.allocated_bytes), human_bytes(d.segment_file_bytes),
                   human_bytes(d.index_file_bytes), human_bytes(d.snapshot_file_bytes),
                   human_bytes(d.quarantine_file_bytes), human_bytes(d.log_bytes)));
  for (const std::string &name : d.other_files) line("other file  " + name);
  return t;
}

// --open: the store opened (recovering it if needed) and its Stats, as the library sees it.
Result<Stats> open_and_measure(const std::string &dir) {
  Options options;
  options.create_if_missing = false;
  options.preallocate_next_segment = false;  // looking adds no file
  Result<std::unique_ptr<Store>> store = Store::open(dir, options);
  if (!store.ok()) return store.status();
  const Stats stats = (*store)->stats();
  if (Status closed = (*store)->close(); !closed.ok()) return closed;
  return stats;
}

int run_stat(const StatArgs &args) {
  std::optional<Stats> live;
  if (args.open) {
    Result<Stats> measured = open_and_measure(args.dir);
    if (!measured.ok()) return fail("stat", measured.status());
    live = *measured;
  }
  Result<inspect::StoreDescription> desc = inspect::describe_store(args.dir);
  if (!desc.ok()) return fail("stat", desc.status());
  Output out;
  if (args.json) {
    nlohmann::json description = to_json(*desc);
    if (live) description["library_stats"] = stats_to_json(*live);
    out.write(description.dump(2) + "\n");
  } else {
    out.write(to_text(*desc));
    if (live)
      out.write(fmt::format("opened      recovery {} in {} us; {} segment(s) of {} on disk\n",
                            live->recovery_ran ? "ran" : "skipped (clean shutdown)", live->recovery_duration_us,
                            live->segment_count, human_bytes(live->disk_bytes)));
  }
  out.flush();
  return exit_ok;
}

}  // namespace

Command add_stat_command(CLI::App &app) {
  auto args = std::make_shared<StatArgs>();
  CLI::App *cmd = app.add_subcommand("stat", "Describe a store: segments, LSNs, streams, snapshots, quarantine, disk usage");
  cmd->footer(
      "Reads the files without opening the store (no lock): segments (base LSN, records, size,\n"
      "sealed or active), first/next/durable LSN, streams and their record counts, snapshots,\n"
      "quarantine contents and disk usage. --json prints the same as one JSON object.");
  cmd->add_option("DIR", args->dir, "store directory")->required();
  cmd->add_flag("--json", args->json, "print one JSON object (for scripts)");
  cmd->add_flag("--open", args->open,
                "also open the store (it must not be in use; recovery runs if it was not shut down cleanly) "
                "and add the library's statistics (\"library_stats\" in --json)");
  return [args] { return run_stat(*args); };
}

}  // namespace segstore::cli
