// bench/scenario_common.cc — what the workloads share: store options, peer runs, fio rows.
#include <algorithm>
#include <atomic>
#include <thread>

#include "scenarios.h"

namespace segstore::bench {

Options Context::store_options(Durability durability) const {
  Options options;
  options.durability = durability;
  options.io_backend = config.io_backend;
  if (config.prealloc) options.prealloc = *config.prealloc;
  if (config.write_group_bytes_max != 0) options.write_group_bytes_max = config.write_group_bytes_max;
  if (config.inflight_groups_max != 0) options.inflight_groups_max = config.inflight_groups_max;
  return options;
}

std::unique_ptr<Store> open_fresh_store(const std::string &dir, const Options &options, std::string *error) {
  remove_tree(dir);
  Result<std::unique_ptr<Store>> opened = Store::open(dir, options);
  if (!opened.ok()) {
    *error = "open " + dir + ": " + opened.status().to_string();
    return nullptr;
  }
  return std::move(opened.value());
}

bool warm_up(Store &store, std::string *error) {
  // 64 MiB of zeros at a modest 128 MB/s: half a second.
  constexpr auto preallocation_pause = std::chrono::milliseconds(500);
  Result<std::uint64_t> lsn = store.append(payload_bytes(1));
  Status synced = lsn.ok() ? store.sync() : lsn.status();
  if (!synced.ok()) {
    *error = "warm-up append: " + synced.to_string();
    return false;
  }
  std::this_thread::sleep_for(preallocation_pause);
  return true;
}

Row run_peer(const Context &ctx, const std::string &workload, const PeerKind &peer, bool sync, int threads,
             std::size_t record_bytes, RunLimits limits) {
  Row row;
  row.system = System::peer;
  row.name = peer.name;
  row.threads = threads;
  row.record_bytes = static_cast<double>(record_bytes);
  row.config = format_size(static_cast<double>(record_bytes)) + ", " + std::to_string(threads) +
               (threads == 1 ? " thread, " : " threads, ") + (sync ? "sync" : "no sync + final sync");
  const std::string dir = ctx.path("peer-" + peer.name);
  remove_tree(dir);
  std::string error;
  std::unique_ptr<PeerLog> log = peer.open(dir, sync, &error);
  if (!log) {
    row.error = error;
    progress(workload, peer.name + " " + row.config + ": " + error);
    return row;
  }
  const std::span<const std::byte> payload = payload_bytes(record_bytes);
  std::atomic<std::uint64_t> next_key{0};
  const RunResult run = run_threads(
      threads, limits, sync,
      [&](int, std::string *err) { return log->append(next_key.fetch_add(1), payload, err); },
      [&](std::string *err) { return sync || log->flush(err); });
  log.reset();
  remove_tree(dir);
  fill_rates(row, run, static_cast<double>(record_bytes));
  progress(workload, peer.name + " " + row.config + ": " + format_count(row.records_per_s) + " records/s" +
                         (run.ok() ? "" : " (" + run.error + ")"));
  return row;
}

Row fio_row(const FioResult &result, double records_per_op, double record_bytes) {
  Row row;
  row.system = System::fio;
  row.name = "fio";
  row.config = result.job;
  row.record_bytes = result.block_bytes;
  row.error = result.error;
  row.mb_per_s = result.mb_per_s;
  row.p50_us = result.p50_us;
  row.p99_us = result.p99_us;
  row.p999_us = result.p999_us;
  row.extra["ops_per_s"] = result.ops_per_s;
  if (measured(records_per_op)) {
    row.records_per_s = result.ops_per_s * records_per_op;
    row.record_bytes = record_bytes;
    row.extra["records_per_op"] = records_per_op;
  } else {
    row.records_per_s = result.ops_per_s;  // ops/s: one "record" per I/O
  }
  return row;
}

void set_vs_fio(Row &row, double value, double reference, const std::string &job) {
  if (!measured(value) || !measured(reference) || reference <= 0) return;
  row.vs_fio = value / reference;
  row.vs_fio_job = job;
}

int median_repetition(const std::vector<Repetition> &repetitions) {
  std::vector<int> order;
  for (int i = 0; i < static_cast<int>(repetitions.size()); ++i)
    if (measured(repetitions[i].ratio())) order.push_back(i);
  const bool by_ratio = !order.empty();
  if (!by_ratio)
    for (int i = 0; i < static_cast<int>(repetitions.size()); ++i)
      if (measured(repetitions[i].value)) order.push_back(i);
  if (order.empty()) return repetitions.empty() ? -1 : 0;
  auto key = [&](int i) { return by_ratio ? repetitions[i].ratio() : repetitions[i].value; };
  std::sort(order.begin(), order.end(), [&](int a, int b) { return key(a) < key(b); });
  return order[(order.size() - 1) / 2];
}

void set_vs_fio_beside(Row &row, const std::vector<Repetition> &repetitions, const std::string &job,
                       const std::string &reference_key) {
  double low = not_measured, high = not_measured;
  for (const Repetition &r : repetitions) {
    const double ratio = r.ratio();
    if (!measured(ratio)) continue;
    low = measured(low) ? std::min(low, ratio) : ratio;
    high = measured(high) ? std::max(high, ratio) : ratio;
  }
  row.extra["repetitions"] = static_cast<double>(repetitions.size());
  row.extra["vs_fio_min"] = low;
  row.extra["vs_fio_max"] = high;
  const int median = median_repetition(repetitions);
  if (median < 0) return;
  row.extra[reference_key] = repetitions[median].reference;
  set_vs_fio(row, repetitions[median].value, repetitions[median].reference, job);
}

void set_vs_peer(Row &row, double value, const Row *peer) {
  if (peer == nullptr || !measured(value) || !measured(peer->records_per_s) || peer->records_per_s <= 0) return;
  row.vs_peer = value / peer->records_per_s;
  row.vs_peer_name = peer->name + " " + peer->config;
}

}  // namespace segstore::bench
