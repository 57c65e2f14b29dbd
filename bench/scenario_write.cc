// bench/scenario_write.cc — the append workloads W1 (streaming), W2 (durable, 1 thread),
// W3 (group commit, many threads) and W4 (pipelined async appends from one thread).
#include <sys/resource.h>

#include <deque>

#include "machine.h"
#include "scenarios.h"

namespace segstore::bench {

namespace {

constexpr std::size_t w1_record_sizes[] = {128, 1024, 4096, 65536};
constexpr std::size_t durable_record_bytes = 1024;
constexpr int w3_thread_counts[] = {4, 16, 64};
// W3 again over recycled segments, where segments roll about once a second: no roll zero-fills a
// new segment on the device the appenders sync on.
constexpr int w3_recycled_thread_counts[] = {16, 64};
constexpr int peer_threads_many = 16;
constexpr std::size_t w4_record_sizes[] = {1024, 4096};
constexpr std::size_t w1_recycled_record_bytes = 65536;
// W4 keeps this many payload bytes appended but not yet known durable: more than the
// inflight_groups_max x write_group_bytes_max (4 x 1 MiB) the engine can have in flight.
constexpr std::uint64_t w4_window_bytes = 16ull << 20;

std::string format_seconds(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g s", s);
  return buffer;
}

// Context switches of the whole process so far (voluntary: a thread blocked; involuntary: it
// was preempted). Their growth per durable record shows what waiting costs beyond the device.
double process_context_switches() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return not_measured;
  return static_cast<double>(usage.ru_nvcsw) + static_cast<double>(usage.ru_nivcsw);
}

std::string threads_text(int threads) { return std::to_string(threads) + (threads == 1 ? " thread" : " threads"); }

std::string prealloc_text(PreallocMode mode) {
  switch (mode) {
    case PreallocMode::zero_fill: return " zero-filled ahead";
    case PreallocMode::fallocate: return " fallocated ahead";
    case PreallocMode::automatic: return " preallocated ahead (auto: zero-filled while syncs average < 128 KiB)";
  }
  return "?";
}

std::string durability_text(Durability durability) {
  switch (durability) {
    case Durability::sync: return "sync";
    case Durability::interval: return "interval + final sync";
    case Durability::none: return "none + final sync";
  }
  return "?";
}

// The steady state of a log with retention and segment recycling (Options::recycled_segments_max):
// segments beyond the newest few are removed as new ones are sealed, and new segments are made
// from their files. recycled_prefill_segments segments are written before the timed span, so
// that every segment made during it comes from a freed file.
constexpr std::uint64_t recycled_retain_segments = 4;
constexpr std::uint32_t recycled_pool_files = 8;
constexpr std::uint64_t recycled_prefill_segments = recycled_retain_segments + 4;
const char *const recycled_prefix = "recycled segments, ";

Options recycling_options(Options options) {
  options.retain_segments_max = recycled_retain_segments;
  options.recycled_segments_max = recycled_pool_files;
  return options;
}

// Appends (untimed) until the store's retention freed files for the pool, then syncs.
bool prefill_for_recycling(Store &store, std::span<const std::byte> payload, std::uint64_t segment_bytes,
                           std::string *error) {
  const std::uint64_t records = recycled_prefill_segments * segment_bytes / (payload.size() + 32) + 1;
  for (std::uint64_t i = 0; i < records; ++i) {
    Result<std::uint64_t> lsn = store.append_async(payload);
    if (!lsn.ok()) {
      *error = "prefill: " + lsn.status().to_string();
      return false;
    }
  }
  const Status synced = store.sync();
  if (!synced.ok()) *error = "prefill: " + synced.to_string();
  return synced.ok();
}

// segstore appending `record_bytes` records from `threads` threads with `durability`; W1's
// final sync is inside the timed span. `recycled`: into a store whose segments are made from
// freed files (recycling_options, prefilled), the steady state of a log with retention.
Row run_segstore_appends(Context &ctx, const std::string &workload, Durability durability, int threads,
                         std::size_t record_bytes, RunLimits limits, Stats *stats, bool recycled = false) {
  Row row;
  row.name = "segstore";
  row.threads = threads;
  row.record_bytes = static_cast<double>(record_bytes);
  row.config = std::string(recycled ? recycled_prefix : "") + format_size(static_cast<double>(record_bytes)) + ", " +
               threads_text(threads) + ", " + durability_text(durability);
  std::string error;
  const std::string dir = ctx.path("store-" + workload);
  const Options options = recycled ? recycling_options(ctx.store_options(durability)) : ctx.store_options(durability);
  std::unique_ptr<Store> store = open_fresh_store(dir, options, &error);
  if (store && !warm_up(*store, &error)) store.reset();
  if (store && recycled && !prefill_for_recycling(*store, payload_bytes(record_bytes), options.segment_bytes, &error))
    store.reset();
  const Stats before = store ? store->stats() : Stats{};
  if (!store) {
    row.error = error;
    return row;
  }
  const std::span<const std::byte> payload = payload_bytes(record_bytes);
  const bool synced = durability == Durability::sync;
  const double switches_before = process_context_switches();
  const CpuTimes cpu_before = cpu_times_now();
  const RunResult run = run_threads(
      threads, limits, synced,
      [&](int, std::string *err) {
        Result<std::uint64_t> lsn = store->append(payload);
        if (!lsn.ok()) *err = lsn.status().to_string();
        return lsn.ok();
      },
      [&](std::string *err) {
        const Status s = store->sync();
        if (!s.ok()) *err = s.to_string();
        return s.ok();
      });
  const double switches = process_context_switches() - switches_before;
  const double cpu_busy = cpu_busy_share(cpu_before, cpu_times_now());
  *stats = store->stats();
  // The prefill's bytes and groups are not the run's (the store counts both since open).
  const double durable_records = stats->average_group_records * static_cast<double>(stats->flushes) -
                                 before.average_group_records * static_cast<double>(before.flushes);
  if (stats->flushes > before.flushes)
    stats->average_group_records = durable_records / static_cast<double>(stats->flushes - before.flushes);
  stats->bytes_written -= before.bytes_written;
  stats->flushes -= before.flushes;
  stats->segments_recycled -= before.segments_recycled;
  if (ctx.io_backend_used.empty()) ctx.io_backend_used = stats->io_backend;
  (void)store->close();
  store.reset();
  remove_tree(dir);
  fill_rates(row, run, static_cast<double>(record_bytes));
  row.extra["bytes_written"] = static_cast<double>(stats->bytes_written);
  row.extra["flushes"] = static_cast<double>(stats->flushes);
  if (recycled) row.extra["segments_recycled"] = static_cast<double>(stats->segments_recycled);
  if (synced) {
    row.extra["average_group_records"] = stats->average_group_records;
    if (measured(switches_before) && run.records > 0)
      row.extra["context_switches_per_record"] = switches / static_cast<double>(run.records);
    // Whether the machine's CPUs or its device bound the rate: all CPUs busy means the former.
    if (measured(cpu_busy)) row.extra["machine_cpu_busy"] = cpu_busy;
    // Space: each synced group pads to a block, so small groups write more than they carry
    // (bytes_written also holds the warm-up's one block: 4 KiB against a run of megabytes).
    if (run.records > 0)
      row.extra["disk_bytes_per_payload_byte"] =
          stats->bytes_written / (static_cast<double>(run.records) * static_cast<double>(record_bytes));
  }
  else row.extra["device_mb_per_s"] = stats->bytes_written / run.seconds / 1e6;
  progress(workload, "segstore " + row.config + ": " + format_count(row.records_per_s) + " records/s, " +
                         format_count(row.mb_per_s) + " MB/s" + (run.ok() ? "" : " (" + run.error + ")"));
  return row;
}

std::string store_parameters(const Context &ctx, Durability durability) {
  const Options o = ctx.store_options(durability);
  return "segments " + format_size(static_cast<double>(o.segment_bytes)) +
         prealloc_text(o.prealloc) + ", write groups <= " +
         format_size(o.write_group_bytes_max) + ", <= " + std::to_string(o.inflight_groups_max) +
         " groups in flight, O_DIRECT, io backend " + io_backend_name(o.io_backend) + ", " +
         format_seconds(ctx.config.seconds_per_run) + " per measurement";
}

// The durable write size a group of `records` records of `record_bytes` occupies on disk.
std::uint64_t group_write_bytes(double records, std::size_t record_bytes) {
  const double disk = std::max(1.0, records) * static_cast<double>(record_bytes + 32);
  return std::max<std::uint64_t>(4096, (static_cast<std::uint64_t>(disk) + 4095) / 4096 * 4096);
}

}  // namespace

Table run_w1(Context &ctx) {
  Table table;
  table.id = "W1";
  table.title = "streaming appends: durability none, one final sync, 1 thread";
  table.parameters = "record sizes 128 B, 1 KiB, 4 KiB, 64 KiB; at most " + format_size(static_cast<double>(ctx.config.w1_volume_bytes)) +
                     " of payload per size; " + store_parameters(ctx, Durability::none) +
                     "; MB/s counts payload bytes (on disk each record has a 32-byte header)";
  Stats stats;
  std::uint64_t write_bytes = ctx.store_options(Durability::none).write_group_bytes_max;
  for (std::size_t size : w1_record_sizes) {
    RunLimits limits = ctx.timed();
    limits.records_max = ctx.config.w1_volume_bytes / size;
    table.rows.push_back(run_segstore_appends(ctx, "W1", Durability::none, 1, size, limits, &stats));
  }
  {
    // 64 KiB again, into segments made from freed files (a log with retention, recycling).
    RunLimits limits = ctx.timed();
    limits.records_max = ctx.config.w1_volume_bytes / w1_recycled_record_bytes;
    table.rows.push_back(
        run_segstore_appends(ctx, "W1", Durability::none, 1, w1_recycled_record_bytes, limits, &stats, true));
  }
  const int inflight = static_cast<int>(ctx.store_options(Durability::none).inflight_groups_max);
  const FioResult matching = ctx.fio.seq_write(write_bytes, inflight);
  const FioResult ceiling = ctx.fio.seq_write(128 << 10, 32);
  // What W1 does, made durable at the end as W1 is: over written blocks, and into fresh
  // fallocated segment-sized files (segstore's pattern). Shown beside the goal's reference.
  const FioResult durable_end = ctx.fio.seq_write_durable_end(write_bytes, inflight);
  const FioResult fresh = ctx.fio.seq_write_fresh_files(write_bytes, inflight, ctx.store_options(Durability::none).segment_bytes,
                                                        ctx.config.w1_volume_bytes);
  if (ctx.fio.available()) {
    for (const FioResult *r : {&matching, &ceiling, &durable_end, &fresh}) table.rows.push_back(fio_row(*r));
  }
  for (const PeerKind &peer : ctx.peers) {
    for (std::size_t size : w1_record_sizes) {
      RunLimits limits = ctx.timed();
      limits.records_max = ctx.config.w1_volume_bytes / size;
      table.rows.push_back(run_peer(ctx, "W1", peer, false, 1, size, limits));
    }
    table.rows.push_back(run_peer(ctx, "W1", peer, false, peer_threads_many, durable_record_bytes, ctx.timed()));
  }
  for (Row &row : table.rows) {
    if (row.system != System::segstore) continue;
    set_vs_fio(row, row.mb_per_s, matching.mb_per_s, matching.job);
    if (measured(durable_end.mb_per_s) && durable_end.mb_per_s > 0)
      row.extra["vs_fio_durable_end"] = row.mb_per_s / durable_end.mb_per_s;
    if (measured(fresh.mb_per_s) && fresh.mb_per_s > 0) row.extra["vs_fio_fresh_files"] = row.mb_per_s / fresh.mb_per_s;
    set_vs_peer(row, row.records_per_s, best_peer(table.rows, [&](const Row &p) {
                  return p.threads == 1 && p.record_bytes == row.record_bytes;
                }));
  }
  table.notes.push_back("vs fio: payload MB/s over fio's sequential O_DIRECT writes of segstore's write size (" +
                        matching.job + "); the device ceiling job (" + ceiling.job + ") is shown too.");
  table.notes.push_back("W1 ends with a sync: the JSON's vs_fio_durable_end and vs_fio_fresh_files compare it with fio's "
                        "same writes ending with an fdatasync (" + durable_end.job + ") and in segstore's own pattern (" +
                        fresh.job + "); the 64 KiB target line shows both.");
  table.notes.push_back("vs peer: records/s over the fastest peer at the same record size, 1 thread, no sync.");
  return table;
}

Table run_w2(Context &ctx) {
  Table table;
  table.id = "W2";
  table.title = "durable appends: durability sync, 1 thread, 1 KiB (each append waits for the device)";
  table.parameters = store_parameters(ctx, Durability::sync) + "; warm-up before the clock (one synced append, 0.5 s for the next segment's preallocation)";
  Stats stats;
  table.rows.push_back(run_segstore_appends(ctx, "W2", Durability::sync, 1, durable_record_bytes, ctx.timed(), &stats));
  // ANCHORS.md's job (pwrite, then fdatasync) and the same through io_uring (a write, then an
  // fsync op), which is how segstore syncs: the reference is the faster of the two.
  const FioResult qd1 = ctx.fio.durable_write(4096, 1);
  const FioResult qd1_uring = ctx.fio.durable_write(4096, 1, 1, true);
  if (ctx.fio.available()) {
    table.rows.push_back(fio_row(qd1));
    table.rows.push_back(fio_row(qd1_uring));
  }
  for (const PeerKind &peer : ctx.peers)
    table.rows.push_back(run_peer(ctx, "W2", peer, true, 1, durable_record_bytes, ctx.timed()));
  Row &seg = table.rows.front();
  const FioResult &best = !measured(qd1_uring.ops_per_s) || qd1.ops_per_s >= qd1_uring.ops_per_s ? qd1 : qd1_uring;
  set_vs_fio(seg, seg.records_per_s, best.ops_per_s, best.job);
  set_vs_peer(seg, seg.records_per_s, best_peer(table.rows, [](const Row &p) { return p.threads == 1; }));
  table.notes.push_back("vs fio: records/s over the faster of fio's two 4 KiB write+fdatasync QD1 jobs (one record per "
                        "sync): " + best.job + ".");
  // This disk's durable rate moves by a fifth between minutes (W5's 1-thread sync row, the same
  // appends a minute later, measured 7,844 against W2's 6,411 records/s in one run): segstore's
  // appends and fio's job alternate, each pair within seconds, and the median pair's ratio is
  // the figure, as R1 does for scans.
  const int repeats = ctx.config.scan_repeats;
  if (repeats > 1 && ctx.fio.available() && seg.error.empty() && measured(best.ops_per_s)) {
    const double long_ratio = seg.vs_fio;
    const bool uring = &best == &qd1_uring;
    std::vector<Repetition> repetitions;
    for (int i = 0; i < repeats; ++i) {
      Stats stats;
      const Row once = run_segstore_appends(ctx, "W2", Durability::sync, 1, durable_record_bytes,
                                            RunLimits{ctx.config.beside_seconds, UINT64_MAX}, &stats);
      const FioResult beside = ctx.fio.durable_write_beside(4096, uring, ctx.config.beside_seconds);
      repetitions.push_back({once.error.empty() ? once.records_per_s : not_measured,
                             beside.ok() ? beside.ops_per_s : not_measured});
    }
    set_vs_fio_beside(seg, repetitions, best.job + ", " + format_fixed(ctx.config.beside_seconds, 1) +
                                            " s right after each of " + std::to_string(repeats) + " runs as long",
                      "fio_beside_ops_per_s");
    seg.extra["vs_fio_run_long"] = long_ratio;
    table.notes.push_back("vs fio, the target's figure: then " + std::to_string(repeats) + " pairs of " +
                          format_fixed(ctx.config.beside_seconds, 1) + " s (segstore on a fresh store, then the same fio "
                          "job), the median pair's ratio (vs_fio_min, vs_fio_max); vs_fio_run_long is the ratio of the rows above (" +
                          format_seconds(ctx.config.seconds_per_run) + " each).");
  }
  return table;
}

Table run_w3(Context &ctx) {
  Table table;
  table.id = "W3";
  table.title = "durable appends with group commit: durability sync, 1 KiB, 4/16/64 threads";
  table.parameters = store_parameters(ctx, Durability::sync) +
                     "; fio writes at the group size segstore reached (average_group_records x 1,056 B on disk, "
                     "rounded up to 4 KiB)";
  std::vector<double> group_records;
  for (int threads : w3_thread_counts) {
    Stats stats;
    table.rows.push_back(run_segstore_appends(ctx, "W3", Durability::sync, threads, durable_record_bytes, ctx.timed(), &stats));
    group_records.push_back(stats.average_group_records);
  }
  std::vector<FioResult> matching;
  for (double records : group_records) matching.push_back(ctx.fio.durable_write(group_write_bytes(records, durable_record_bytes), 1, 1, true));
  const FioResult many = ctx.fio.durable_write(4096, 1, peer_threads_many);
  // What the device gives as many independent durable writers as the smallest row has threads.
  const FioResult few = ctx.fio.durable_write(4096, 1, w3_thread_counts[0]);
  if (ctx.fio.available()) {
    for (std::size_t i = 0; i < matching.size(); ++i)
      table.rows.push_back(fio_row(matching[i], std::max(1.0, group_records[i]), durable_record_bytes));
    table.rows.push_back(fio_row(few));
    table.rows.push_back(fio_row(many));
  }
  for (const PeerKind &peer : ctx.peers)
    table.rows.push_back(run_peer(ctx, "W3", peer, true, peer_threads_many, durable_record_bytes, ctx.timed()));
  // Every segstore row against the peers' 16 threads (the W3 goals' reference is RocksDB's).
  auto compare_with_peers = [&table](Row &seg) {
    set_vs_peer(seg, seg.records_per_s, best_peer(table.rows, [](const Row &p) { return p.threads == peer_threads_many; }));
    if (const Row *rocks = best_peer(table.rows, [](const Row &p) { return p.name == "rocksdb"; }))
      seg.extra["vs_rocksdb_16_threads_sync"] = seg.records_per_s / rocks->records_per_s;
  };
  for (std::size_t i = 0; i < std::size(w3_thread_counts); ++i) {
    Row &seg = table.rows[i];
    set_vs_fio(seg, seg.records_per_s, matching[i].ops_per_s * std::max(1.0, group_records[i]), matching[i].job);
    compare_with_peers(seg);
  }
  for (int threads : w3_recycled_thread_counts) {
    Stats stats;
    Row row = run_segstore_appends(ctx, "W3", Durability::sync, threads, durable_record_bytes, ctx.timed(), &stats,
                                   /*recycled=*/true);
    compare_with_peers(row);
    table.rows.push_back(std::move(row));
  }
  table.notes.push_back("vs fio: records/s over (fio write+fdatasync/s at QD1 of one group's size x records per group): "
                        "what one group per device sync, one at a time, would reach. segstore keeps up to 4 groups in "
                        "flight, so it can pass 1.");
  table.notes.push_back("recycled segments: the same appends into a store with retention whose new segments are made "
                        "from freed files (the steady state of such a log), so that no roll zero-fills a segment; the "
                        "targets count the rows of a new store.");
  table.notes.push_back("vs peer: over the fastest peer with 16 threads, sync true. The fio jobs with 4 and 16 writers "
                        "show how far the device overlaps concurrent syncs.");
  table.notes.push_back("CPUs busy: the share of all the machine's CPUs busy (user, system, interrupts, steal; waiting "
                        "for I/O counts as idle) while segstore's row ran: near 100 % the CPUs, not the device, bound it.");
  return table;
}

namespace {

// One thread keeps a window of async appends outstanding; a record counts once wait_durable
// (or durable_lsn) covered it. Latency: from its append_async to the moment it was seen durable.
Row run_w4_size(Context &ctx, std::size_t record_bytes, bool recycled = false) {
  Row row;
  row.name = "segstore";
  row.record_bytes = static_cast<double>(record_bytes);
  row.config = std::string(recycled ? recycled_prefix : "") + format_size(static_cast<double>(record_bytes)) +
               ", 1 thread, append_async, window " + format_size(static_cast<double>(w4_window_bytes)) + ", sync";
  std::string error;
  const std::string dir = ctx.path("store-W4");
  const std::span<const std::byte> payload = payload_bytes(record_bytes);
  const Options options =
      recycled ? recycling_options(ctx.store_options(Durability::sync)) : ctx.store_options(Durability::sync);
  std::unique_ptr<Store> store = open_fresh_store(dir, options, &error);
  if (store && !warm_up(*store, &error)) store.reset();
  if (store && recycled && !prefill_for_recycling(*store, payload, options.segment_bytes, &error)) store.reset();
  if (!store) {
    row.error = error;
    return row;
  }
  const Stats before = store->stats();
  const std::size_t window = std::max<std::size_t>(1, w4_window_bytes / record_bytes);
  struct Outstanding {
    std::uint64_t lsn;
    Clock::time_point appended;
  };
  std::deque<Outstanding> outstanding;
  Latencies latencies;
  std::uint64_t durable_records = 0;
  const Clock::time_point start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(ctx.config.seconds_per_run));
  auto retire = [&](std::uint64_t durable_lsn) {
    const Clock::time_point now = Clock::now();
    while (!outstanding.empty() && outstanding.front().lsn < durable_lsn) {
      latencies.add(std::chrono::duration<double, std::micro>(now - outstanding.front().appended).count());
      outstanding.pop_front();
      ++durable_records;
    }
  };
  bool appending = true;
  while (error.empty() && (appending || !outstanding.empty())) {
    if (appending && outstanding.size() < window) {
      Result<std::uint64_t> lsn = store->append_async(payload);
      if (!lsn.ok()) {
        error = lsn.status().to_string();
        break;
      }
      outstanding.push_back({*lsn, Clock::now()});
      if ((*lsn & 63) == 0 && Clock::now() >= deadline) appending = false;
      continue;
    }
    const Status waited = store->wait_durable(outstanding.front().lsn);
    if (!waited.ok()) error = waited.to_string();
    retire(store->durable_lsn());
  }
  const double seconds = seconds_since(start);
  Stats stats = store->stats();
  stats.bytes_written -= before.bytes_written;  // the prefill's are not the run's
  stats.flushes -= before.flushes;
  stats.segments_recycled -= before.segments_recycled;
  (void)store->close();
  store.reset();
  remove_tree(dir);
  row.error = error;
  row.records_per_s = durable_records / seconds;
  row.mb_per_s = row.records_per_s * static_cast<double>(record_bytes) / 1e6;
  latencies.fill(row);
  row.extra["seconds"] = seconds;
  row.extra["records"] = static_cast<double>(durable_records);
  row.extra["average_group_records"] = stats.average_group_records;
  row.extra["flushes"] = static_cast<double>(stats.flushes);
  row.extra["bytes_written"] = static_cast<double>(stats.bytes_written);
  if (recycled) row.extra["segments_recycled"] = static_cast<double>(stats.segments_recycled);
  progress("W4", "segstore " + row.config + ": " + format_count(row.records_per_s) + " durable records/s, " +
                     format_count(row.mb_per_s) + " MB/s" + (error.empty() ? "" : " (" + error + ")"));
  return row;
}

}  // namespace

Table run_w4(Context &ctx) {
  Table table;
  table.id = "W4";
  table.title = "pipelined durable appends from one thread: append_async, a window of outstanding records, wait_durable";
  table.parameters = store_parameters(ctx, Durability::sync) + "; window " + format_size(static_cast<double>(w4_window_bytes)) +
                     " of payload; a record counts once it is durable; latency = append_async to seen durable";
  for (std::size_t size : w4_record_sizes) table.rows.push_back(run_w4_size(ctx, size));
  // Again into segments made from freed files (a log with retention, recycling).
  for (std::size_t size : w4_record_sizes) table.rows.push_back(run_w4_size(ctx, size, true));
  const FioResult qd4 = ctx.fio.durable_write(1 << 20, 4);
  // The same into fresh fallocated segment-sized files: what a pipelined store's segments are
  // (docs/ENGINE.md), where each synced write also converts unwritten extents.
  const FioResult fresh = ctx.fio.durable_write_fresh_files(1 << 20, 4, ctx.store_options(Durability::sync).segment_bytes,
                                                            ctx.config.w1_volume_bytes);
  if (ctx.fio.available()) {
    table.rows.push_back(fio_row(qd4));
    table.rows.push_back(fio_row(fresh));
  }
  for (const PeerKind &peer : ctx.peers)
    table.rows.push_back(run_peer(ctx, "W4", peer, true, peer_threads_many, durable_record_bytes, ctx.timed()));
  for (Row &row : table.rows) {
    if (row.system != System::segstore) continue;
    set_vs_fio(row, row.mb_per_s, qd4.mb_per_s, qd4.job);
    if (measured(fresh.mb_per_s) && fresh.mb_per_s > 0) row.extra["vs_fio_fresh_files"] = row.mb_per_s / fresh.mb_per_s;
    if (row.record_bytes == durable_record_bytes)
      set_vs_peer(row, row.records_per_s, best_peer(table.rows, [](const Row &) { return true; }));
  }
  table.notes.push_back("vs fio: payload MB/s over fio's 1 MiB write+fdatasync at QD4 (io_uring): the durable bandwidth limit "
                        "over written blocks; the JSON's vs_fio_fresh_files compares with the same into fresh fallocated "
                        "files (" + fresh.job + "), the target lines show both.");
  table.notes.push_back("vs peer (1 KiB only): over the fastest synced peer, 16 threads.");
  return table;
}

// W5: the matrix of 1 KiB appends, 1 and 16 threads, in each durability mode. In
// interval and none mode an append returns once queued; the final sync is inside the timed
// span, so records/s counts records made durable.
Table run_w5(Context &ctx) {
  Table table;
  table.id = "W5";
  table.title = "durability modes: 1 KiB appends, 1 and 16 threads, sync / interval / none (+ final sync)";
  const Options interval = ctx.store_options(Durability::interval);
  table.parameters = store_parameters(ctx, Durability::sync) + "; interval mode flushes every " +
                     std::to_string(interval.flush_interval_ms) + " ms";
  for (Durability durability : {Durability::sync, Durability::interval, Durability::none}) {
    for (int threads : {1, peer_threads_many}) {
      Stats stats;
      Row row = run_segstore_appends(ctx, "W5", durability, threads, durable_record_bytes, ctx.timed(), &stats);
      row.extra["average_group_records"] = stats.average_group_records;
      table.rows.push_back(std::move(row));
    }
  }
  table.notes.push_back("sync: each append returns once durable (group commit across threads); interval: a background "
                        "flush at the interval; none: durable at the final sync only.");
  return table;
}

}  // namespace segstore::bench
