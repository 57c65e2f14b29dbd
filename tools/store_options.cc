#include "store_options.h"

namespace segstore::cli {

void add_store_options(CLI::App *cmd, StoreOptionArgs &args) {
  cmd->add_option("--prealloc", args.prealloc,
                  "how segment files are prepared: zero-fill (zeros written over the whole file: fastest "
                  "small syncs), fallocate (cheap to create), auto (zero-fill while syncs are small)")
      ->check(CLI::IsMember({"auto", "zero-fill", "fallocate"}))
      ->capture_default_str();
  cmd->add_flag("--no-spare-segment", args.no_spare_segment,
                "do not prepare the next segment file ahead of the writer (a small store keeps one file)");
  cmd->add_option("--inflight-groups", args.inflight_groups, "write groups in flight at once, 1..256 (default 4)")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--stats", args.stats,
                "at the end, print the session's statistics (latencies, syncs, group sizes) as JSON on stderr");
}

void apply_store_options(const StoreOptionArgs &args, Options &options) {
  if (args.prealloc == "zero-fill") options.prealloc = PreallocMode::zero_fill;
  if (args.prealloc == "fallocate") options.prealloc = PreallocMode::fallocate;
  if (args.prealloc == "auto") options.prealloc = PreallocMode::automatic;
  if (args.no_spare_segment) options.preallocate_next_segment = false;
  if (args.inflight_groups != 0) options.inflight_groups_max = args.inflight_groups;
}

namespace {
nlohmann::json distribution_json(const Distribution &d) {
  return {{"count", d.count}, {"p50", d.p50}, {"p99", d.p99}, {"p999", d.p999}, {"max", d.max}};
}
}  // namespace

nlohmann::json stats_to_json(const Stats &s) {
  nlohmann::json streams = nlohmann::json::object();
  for (const auto &[stream, records] : s.records_per_stream) streams[std::to_string(stream)] = records;
  return {
      {"first_lsn", s.first_lsn},
      {"next_lsn", s.next_lsn},
      {"durable_lsn", s.durable_lsn},
      {"segment_count", s.segment_count},
      {"log_bytes", s.log_bytes},
      {"disk_bytes", s.disk_bytes},
      {"appends", s.appends},
      {"syncs", s.flushes},
      {"bytes_written", s.bytes_written},
      {"average_group_records", s.average_group_records},
      {"blocks_read", s.blocks_read},
      {"read_requests", s.read_requests},
      {"index_bytes", s.index_bytes},
      {"records_per_stream", streams},
      {"io_backend", s.io_backend},
      {"append_latency_us", distribution_json(s.append_latency_us)},
      {"sync_latency_us", distribution_json(s.sync_latency_us)},
      {"group_records", distribution_json(s.group_records)},
      {"group_bytes", distribution_json(s.group_bytes)},
      {"recovery",
       {{"ran", s.recovery_ran},
        {"duration_us", s.recovery_duration_us},
        {"segments_scanned", s.recovery_segments_scanned},
        {"records_scanned", s.recovery_records_scanned},
        {"bytes_scanned", s.recovery_bytes_scanned},
        {"cut", s.recovery_cut},
        {"bytes_quarantined", s.recovery_bytes_quarantined}}},
  };
}

}  // namespace segstore::cli
