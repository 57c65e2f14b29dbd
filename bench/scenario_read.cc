// bench/scenario_read.cc — the read workloads: R1 cold sequential scan, R2 cold random
// read(lsn), R3 one-stream scan among 100 interleaved streams.
//
// "Cold": the engine reads segments with O_DIRECT, so the page cache holds none of their
// blocks; each workload also reopens the store, so nothing the engine cached survives.
#include <random>

#include "scenarios.h"

namespace segstore::bench {

namespace {

constexpr std::size_t read_record_bytes = 1024;
constexpr std::uint32_t stream_count = 100;
constexpr std::uint32_t scanned_stream = 42;
// The reads a one-stream walk keeps in flight on the store's io_uring (docs/ENGINE.md "Reading
// one stream"): R3's device reference reads at this depth.
constexpr int stream_walk_reads_in_flight = 64;
// A plain scan's reads on the store's io_uring (docs/ENGINE.md "Read-ahead of scans"): windows
// of 1 MiB, 8 in flight. R1's second reference reads the same way.
constexpr std::uint64_t scan_window_bytes = 1 << 20;
constexpr int scan_windows_in_flight = 8;
// Readers of the concurrent point-read row, and fio jobs of its reference.
constexpr int concurrent_readers = 8;

// Appends records of `record_bytes` until `volume_bytes` of payload, round-robin over
// `streams` streams; durability none, one sync at the end, then a clean close.
bool write_log(const Context &ctx, const std::string &dir, std::uint64_t volume_bytes, std::uint32_t streams,
               std::string *error) {
  std::unique_ptr<Store> store = open_fresh_store(dir, ctx.store_options(Durability::none), error);
  if (!store) return false;
  const std::span<const std::byte> payload = payload_bytes(read_record_bytes);
  const std::uint64_t records = volume_bytes / read_record_bytes;
  for (std::uint64_t i = 0; i < records; ++i) {
    Result<std::uint64_t> lsn = store->append(payload, static_cast<std::uint32_t>(i % streams));
    if (!lsn.ok()) {
      *error = lsn.status().to_string();
      return false;
    }
  }
  const Status closed = store->close();
  if (!closed.ok()) *error = closed.to_string();
  return closed.ok();
}

std::unique_ptr<Store> reopen(const Context &ctx, const std::string &dir, std::string *error) {
  Options options = ctx.store_options(Durability::none);
  options.create_if_missing = false;
  Result<std::unique_ptr<Store>> opened = Store::open(dir, options);
  if (!opened.ok()) {
    *error = "open " + dir + ": " + opened.status().to_string();
    return nullptr;
  }
  return std::move(opened.value());
}

struct ScanResult {
  std::uint64_t records = 0;
  std::uint64_t payload_bytes = 0;
  double seconds = 0;
  double cpu_us = 0;  // the scanning thread's CPU time (user + system)
  std::uint64_t blocks_read = 0;
  std::uint64_t read_requests = 0;  // the device reads that brought blocks_read
  std::string error;
};

// Scans the store at `dir` from its first LSN, all streams or one.
ScanResult timed_scan(const Context &ctx, const std::string &dir, const std::uint32_t *stream) {
  ScanResult result;
  std::unique_ptr<Store> store = reopen(ctx, dir, &result.error);
  if (!store) return result;
  const std::uint64_t blocks_before = store->stats().blocks_read;
  const std::uint64_t requests_before = store->stats().read_requests;
  const Clock::time_point start = Clock::now();
  const double cpu_start = thread_cpu_us();
  Result<Iterator> it = stream ? store->scan(store->first_lsn(), *stream) : store->scan(store->first_lsn());
  if (!it.ok()) {
    result.error = it.status().to_string();
    return result;
  }
  while (true) {
    Result<bool> more = it->next();
    if (!more.ok()) {
      result.error = more.status().to_string();
      break;
    }
    if (!*more) break;
    result.records++;
    result.payload_bytes += it->record().payload.size();
  }
  result.seconds = seconds_since(start);
  result.cpu_us = thread_cpu_us() - cpu_start;
  result.blocks_read = store->stats().blocks_read - blocks_before;
  result.read_requests = store->stats().read_requests - requests_before;
  (void)store->close();
  return result;
}

// A walk's average read, rounded to whole blocks.
std::uint64_t walk_read_bytes(const ScanResult &scan) {
  const std::uint64_t blocks = (2 * scan.blocks_read + scan.read_requests) / (2 * scan.read_requests);
  return std::max<std::uint64_t>(1, blocks) * 4096;
}

Row scan_row(const std::string &config, const ScanResult &scan) {
  Row row;
  row.name = "segstore";
  row.config = config;
  row.record_bytes = read_record_bytes;
  row.error = scan.error;
  row.records_per_s = scan.records / scan.seconds;
  row.mb_per_s = scan.payload_bytes / scan.seconds / 1e6;
  row.extra["records"] = static_cast<double>(scan.records);
  row.extra["seconds"] = scan.seconds;
  row.extra["blocks_read"] = static_cast<double>(scan.blocks_read);
  // Near 1: the scanning thread was busy all along (CPU-bound); well below: it waited for I/O.
  row.extra["scan_thread_cpu_share"] = scan.seconds > 0 ? scan.cpu_us / 1e6 / scan.seconds : not_measured;
  return row;
}

}  // namespace

bool ensure_read_log(Context &ctx, std::string *error) {
  if (ctx.read_log_ready) return true;
  progress("R1", "writing a " + format_size(static_cast<double>(ctx.config.read_log_bytes)) + " log of 1 KiB records to read back");
  if (!write_log(ctx, ctx.path("store-read"), ctx.config.read_log_bytes, 1, error)) return false;
  ctx.read_log_ready = true;
  return true;
}

Table run_r1(Context &ctx) {
  Table table;
  table.id = "R1";
  table.title = "sequential scan of the whole log, cold (O_DIRECT, store reopened)";
  const int repeats = ctx.config.scan_repeats;
  table.parameters = format_size(static_cast<double>(ctx.config.read_log_bytes)) +
                     " of 1 KiB records (1,056 B on disk each) in 64 MiB segments; one iterator from the first LSN; "
                     "MB/s counts payload bytes; the scan " +
                     (repeats > 1 ? "repeated " + std::to_string(repeats) + " times (store reopened, cold), each" : "") +
                     " followed by fio's sequential read for " + format_fixed(ctx.config.beside_seconds, 1) +
                     " s; the repetition with the median ratio is shown";
  std::string error;
  std::vector<ScanResult> scans;
  std::vector<Repetition> repetitions;
  std::vector<Repetition> own_pattern;  // the same scans over fio at the scan's own request pattern
  const bool ready = ensure_read_log(ctx, &error);
  for (int i = 0; i < repeats; ++i) {
    ScanResult scan;
    if (!ready) scan.error = error;
    else scan = timed_scan(ctx, ctx.path("store-read"), nullptr);
    // The device bytes the scan moved: what to compare with fio's read bandwidth.
    const double device_mb_per_s = scan.error.empty() ? scan.blocks_read * 4096.0 / scan.seconds / 1e6 : not_measured;
    const FioResult beside = ctx.fio.available() ? ctx.fio.seq_read_beside(128 << 10, 32, ctx.config.beside_seconds)
                                                 : FioResult{};
    repetitions.push_back({device_mb_per_s, beside.ok() ? beside.mb_per_s : not_measured});
    const FioResult beside_own = ctx.fio.available() ? ctx.fio.seq_read_beside(scan_window_bytes, scan_windows_in_flight,
                                                                              ctx.config.beside_seconds)
                                                     : FioResult{};
    own_pattern.push_back({device_mb_per_s, beside_own.ok() ? beside_own.mb_per_s : not_measured});
    progress("R1", "scan " + std::to_string(i + 1) + "/" + std::to_string(repeats) + ": " +
                       format_count(device_mb_per_s) + " MB/s from the device, fio beside it " +
                       format_count(repetitions.back().reference) + " MB/s (at the scan's pattern " +
                       format_count(own_pattern.back().reference) + "); scan thread busy " +
                       format_fixed(scan.seconds > 0 ? 100 * scan.cpu_us / 1e6 / scan.seconds : not_measured, 0) + " %" +
                       (scan.error.empty() ? "" : " (" + scan.error + ")"));
    scans.push_back(std::move(scan));
    if (!ready) break;
  }
  const int median = median_repetition(repetitions);
  Row seg = scan_row("scan all, 1 KiB records", scans[std::max(median, 0)]);
  seg.extra["device_mb_per_s"] = repetitions[std::max(median, 0)].value;
  const std::string beside_job = "seq read 128k QD32, " + format_fixed(ctx.config.beside_seconds, 1) + " s beside each scan";
  set_vs_fio_beside(seg, repetitions, beside_job);
  const int own_median = median_repetition(own_pattern);
  seg.extra["vs_fio_own_pattern"] = own_median >= 0 ? own_pattern[own_median].ratio() : not_measured;
  table.rows.push_back(seg);
  const FioResult anchor = ctx.fio.seq_read(128 << 10, 32);
  const FioResult same_pattern = ctx.fio.seq_read(scan_window_bytes, scan_windows_in_flight);
  if (ctx.fio.available()) {
    table.rows.push_back(fio_row(anchor));
    table.rows.push_back(fio_row(same_pattern));
    if (measured(anchor.mb_per_s) && anchor.mb_per_s > 0)
      table.rows.front().extra["vs_fio_run_long"] = table.rows.front().extra["device_mb_per_s"] / anchor.mb_per_s;
  }
  table.notes.push_back("vs fio: bytes the scan read from the device per second over fio's sequential read (128 KiB, "
                        "QD32) run right after that scan; the median of the repetitions' ratios (extras vs_fio_min, "
                        "vs_fio_max); vs_fio_run_long is the same scan over fio's " + format_fixed(ctx.config.seconds_per_run, ctx.config.seconds_per_run < 1 ? 1 : 0) +
                        " s run (" + anchor.job + "); vs_fio_own_pattern is the median of the scans over fio at the scan's own pattern "
                        "(1 MiB reads, 8 in flight), also run right after each scan, and shown below.");
  return table;
}

Table run_r2(Context &ctx) {
  Table table;
  table.id = "R2";
  table.title = "random read(lsn) of 1 KiB records, cold";
  table.parameters = format_size(static_cast<double>(ctx.config.read_log_bytes)) +
                     " log; uniform random LSNs, 1 thread; each segment's index is loaded once before the clock starts "
                     "(the data blocks stay cold: O_DIRECT)";
  Row row;
  row.name = "segstore";
  row.config = "read(lsn), 1 KiB, 1 thread";
  row.record_bytes = read_record_bytes;
  std::string error;
  std::unique_ptr<Store> store;
  double index_bytes_per_gib = not_measured;
  std::vector<Repetition> latency_pairs;  // (segstore's p50, fio's p50 right after it)
  std::vector<Repetition> concurrent_pairs;  // (segstore's reads/s, fio's IOPS right after it), 8 threads
  if (ensure_read_log(ctx, &error)) store = reopen(ctx, ctx.path("store-read"), &error);
  if (store) {
    const std::uint64_t first = store->first_lsn(), next = store->next_lsn();
    // Load each segment's sparse index (a small file) outside the timed part.
    const std::uint64_t per_segment = (64ull << 20) / 1056;
    for (std::uint64_t lsn = first; lsn < next; lsn += per_segment / 2) (void)store->read(lsn);
    // With every index loaded: the memory the sparse index and stream bitmaps take per GiB of log.
    const Stats loaded = store->stats();
    index_bytes_per_gib = loaded.log_bytes ? loaded.index_bytes * double(1ull << 30) / loaded.log_bytes : not_measured;
    std::mt19937_64 random(42);
    std::uniform_int_distribution<std::uint64_t> pick(first, next - 1);
    const std::uint64_t blocks_before = store->stats().blocks_read;
    const RunResult run = run_threads(1, ctx.timed(), true, [&](int, std::string *err) {
      Result<Record> record = store->read(pick(random));
      if (!record.ok()) *err = record.status().to_string();
      return record.ok();
    });
    fill_rates(row, run, read_record_bytes);
    row.extra["blocks_read_per_read"] = (store->stats().blocks_read - blocks_before) / std::max(1.0, static_cast<double>(run.records));
    row.extra["index_bytes_per_gib"] = index_bytes_per_gib;
    table.rows.push_back(row);
    // The disk's random-read latency drifts between minutes (fio's QD1 p50 61.7 against 74-78 us
    // in other runs of the same machine): the same reads and fio's alternate, each pair within
    // seconds, and the median pair's p50 ratio is the target's figure, as R1 does for scans.
    if (ctx.config.scan_repeats > 1 && ctx.fio.available()) {
      for (int i = 0; i < ctx.config.scan_repeats; ++i) {
        Row once;
        const RunResult short_run = run_threads(1, RunLimits{ctx.config.beside_seconds, UINT64_MAX}, true,
                                                [&](int, std::string *err) {
                                                  Result<Record> record = store->read(pick(random));
                                                  if (!record.ok()) *err = record.status().to_string();
                                                  return record.ok();
                                                });
        fill_rates(once, short_run, read_record_bytes);
        const FioResult beside = ctx.fio.rand_read_4k_qd1_beside(ctx.config.beside_seconds);
        latency_pairs.push_back({short_run.ok() ? once.p50_us : not_measured, beside.ok() ? beside.p50_us : not_measured});
      }
    }
    // The same reads from several threads at once: each its own generator, one store.
    Row &many = table.rows.emplace_back();
    many.name = "segstore";
    many.config = "read(lsn), 1 KiB, " + std::to_string(concurrent_readers) + " threads";
    many.record_bytes = read_record_bytes;
    std::vector<std::mt19937_64> randoms;
    for (int t = 0; t < concurrent_readers; ++t) randoms.emplace_back(1000 + t);
    const auto read_concurrently = [&](const RunLimits &limits) {
      return run_threads(concurrent_readers, limits, true, [&](int thread, std::string *err) {
        std::uniform_int_distribution<std::uint64_t> pick_lsn(first, next - 1);  // per call: no shared state
        Result<Record> record = store->read(pick_lsn(randoms[thread]));
        if (!record.ok()) *err = record.status().to_string();
        return record.ok();
      });
    };
    const RunResult concurrent = read_concurrently(ctx.timed());
    fill_rates(many, concurrent, read_record_bytes);
    // Paired with fio's jobs as the one-thread reads are (its IOPS drift as its latency does).
    if (ctx.config.scan_repeats > 1 && ctx.fio.available()) {
      for (int i = 0; i < ctx.config.scan_repeats; ++i) {
        Row once;
        const RunResult short_run = read_concurrently(RunLimits{ctx.config.beside_seconds, UINT64_MAX});
        fill_rates(once, short_run, read_record_bytes);
        const FioResult beside = ctx.fio.rand_read_4k_jobs_beside(concurrent_readers, ctx.config.beside_seconds);
        concurrent_pairs.push_back(
            {short_run.ok() ? once.records_per_s : not_measured, beside.ok() ? beside.ops_per_s : not_measured});
      }
    }
    (void)store->close();
  } else {
    row.error = error;
    table.rows.push_back(row);
  }
  progress("R2", "segstore read(lsn): " + format_count(row.records_per_s) + " reads/s, p50 " + format_count(row.p50_us) + " us" +
                     (row.error.empty() ? "" : " (" + row.error + ")"));
  const FioResult fio = ctx.fio.rand_read_4k_qd1();
  const FioResult fio_jobs = ctx.fio.rand_read_4k_jobs(concurrent_readers);
  if (ctx.fio.available()) {
    table.rows.push_back(fio_row(fio));
    table.rows.push_back(fio_row(fio_jobs));
  }
  if (table.rows.size() > 1 && table.rows[1].name == "segstore") {
    Row &many = table.rows[1];
    set_vs_fio(many, many.records_per_s, fio_jobs.ops_per_s, fio_jobs.job + " (IOPS)");
    if (!concurrent_pairs.empty() && many.error.empty()) {
      many.extra["vs_fio_run_long"] = many.vs_fio;
      set_vs_fio_beside(many, concurrent_pairs,
                        "rand read 4k QD1 x" + std::to_string(concurrent_readers) + " jobs, " +
                            format_fixed(ctx.config.beside_seconds, 1) + " s right after each of " +
                            std::to_string(concurrent_pairs.size()) + " runs as long (IOPS)",
                        "fio_beside_iops");
    }
    progress("R2", "segstore read(lsn), " + std::to_string(concurrent_readers) + " threads: " +
                       format_count(many.records_per_s) + " reads/s, p99 " + format_count(many.p99_us) + " us" +
                       (many.error.empty() ? "" : " (" + many.error + ")"));
  }
  Row &seg = table.rows.front();
  set_vs_fio(seg, seg.p50_us, fio.p50_us, fio.job + " (p50 latency: lower is better)");
  if (!latency_pairs.empty() && seg.error.empty()) {
    seg.extra["vs_fio_run_long"] = seg.vs_fio;
    set_vs_fio_beside(seg, latency_pairs, "rand read 4k QD1, " + format_fixed(ctx.config.beside_seconds, 1) +
                                              " s right after each of " + std::to_string(latency_pairs.size()) +
                                              " runs as long (p50 latency: lower is better)",
                      "fio_beside_p50_us");
    table.notes.push_back("vs fio on the first row, the target's figure: then " + std::to_string(latency_pairs.size()) +
                          " pairs of " + format_fixed(ctx.config.beside_seconds, 1) +
                          " s (segstore's reads, then fio's), the median pair's p50 ratio (vs_fio_min, vs_fio_max); "
                          "vs_fio_run_long is the ratio of the rows' own p50s.");
  }
  seg.extra["vs_fio_reads_per_s"] = measured(fio.ops_per_s) ? seg.records_per_s / fio.ops_per_s : not_measured;
  table.notes.push_back("vs fio: segstore's p50 latency over fio's (a ratio above 1 is slower); the reads/s ratio is in the JSON.");
  table.notes.push_back("the " + std::to_string(concurrent_readers) + "-thread row: reads/s over fio's IOPS with " +
                        std::to_string(concurrent_readers) + " jobs of 4 KiB random reads at QD1 (higher is better); p99 is segstore's" +
                        (concurrent_pairs.empty() ? std::string(".")
                                                  : "; its target's figure is the median of " +
                                                        std::to_string(concurrent_pairs.size()) +
                                                        " pairs as on the first row (vs_fio_run_long: the rows' own ratio)."));
  if (measured(index_bytes_per_gib))
    table.notes.push_back("index memory (Stats::index_bytes with every segment's index loaded): " +
                          format_count(index_bytes_per_gib) + " bytes per GiB of log.");
  return table;
}

Table run_r3(Context &ctx) {
  Table table;
  table.id = "R3";
  table.title = "one-stream scan in a log of 100 interleaved streams (the stream bitmaps at work)";
  table.parameters = format_size(static_cast<double>(ctx.config.streams_log_bytes)) +
                     " of 1 KiB records, streams 0..99 round-robin; scan(first, stream 42) vs a scan of everything";
  std::string error;
  const std::string dir = ctx.path("store-streams");
  progress("R3", "writing a " + format_size(static_cast<double>(ctx.config.streams_log_bytes)) + " log of 100 streams");
  if (!write_log(ctx, dir, ctx.config.streams_log_bytes, stream_count, &error)) {
    Row row;
    row.name = "segstore";
    row.error = error;
    table.rows.push_back(row);
    return table;
  }
  const ScanResult one = timed_scan(ctx, dir, &scanned_stream);
  const ScanResult all = timed_scan(ctx, dir, nullptr);
  remove_tree(dir);
  Row one_row = scan_row("scan stream 42 of 100", one);
  Row all_row = scan_row("scan all 100 streams (reference)", all);
  one_row.extra["blocks_read_fraction"] = all.blocks_read ? static_cast<double>(one.blocks_read) / all.blocks_read : not_measured;
  // The figure that matters: how much sooner the stream's records arrive than by filtering a full scan.
  one_row.extra["speedup_vs_full_scan"] = one.seconds > 0 ? all.seconds / one.seconds : not_measured;
  progress("R3", "stream 42: " + format_count(one_row.records_per_s) + " records/s, " + format_count(static_cast<double>(one.blocks_read)) +
                     " blocks read; full scan " + format_count(static_cast<double>(all.blocks_read)) + " blocks");
  one_row.extra["read_requests"] = static_cast<double>(one.read_requests);
  // The device's floor for the walk: its reads, at the rate the device serves random reads of
  // their average size with as many in flight as the walk keeps. What the goal's share of the
  // full scan's time can be on this device, whatever the engine does with the same reads.
  const FioResult device = one.read_requests > 0 && one.error.empty()
                               ? ctx.fio.rand_read(walk_read_bytes(one), stream_walk_reads_in_flight)
                               : FioResult{};
  if (ctx.fio.available() && !device.job.empty()) {
    const double floor_seconds = measured(device.ops_per_s) && device.ops_per_s > 0
                                     ? static_cast<double>(one.read_requests) / device.ops_per_s
                                     : not_measured;
    one_row.extra["device_floor_seconds"] = floor_seconds;
    one_row.extra["device_floor_share"] = measured(floor_seconds) && all.seconds > 0 ? floor_seconds / all.seconds : not_measured;
    set_vs_fio(one_row, one.seconds > 0 ? one.read_requests / one.seconds : not_measured, device.ops_per_s,
               device.job + " (reads/s)");
  }
  table.rows.push_back(one_row);
  table.rows.push_back(all_row);
  if (!device.job.empty()) table.rows.push_back(fio_row(device));
  table.notes.push_back("blocks read (Stats::blocks_read): one stream " + format_count(static_cast<double>(one.blocks_read)) +
                        " in " + format_count(static_cast<double>(one.read_requests)) + " reads, everything " +
                        format_count(static_cast<double>(all.blocks_read)) + "; the one-stream scan took " +
                        format_count(one.seconds * 1000) + " ms against " + format_count(all.seconds * 1000) +
                        " ms for the full scan.");
  if (!device.job.empty())
    table.notes.push_back("vs fio: the walk's reads/s over fio's " + device.job +
                          " (the walk's average read, as many in flight); the walk's reads at fio's rate would take " +
                          format_fixed(one_row.extra["device_floor_share"], 2) + "x the full scan's time.");
  return table;
}

}  // namespace segstore::bench
