// bench/scenario_mixed.cc — M1: what a log server runs at once. Sync appenders, tailing
// iterators that follow the durable head, and random read(lsn) share one store; the appenders'
// rate is compared with the same appenders alone, measured just before on a fresh store.
//
// The tailers' lag is measured from the moment an appender's sync append returned (the record
// was durable and its writer knew it) to the moment a tailer's next_wait() handed it out; a
// tailer that is faster than the appender's own wake-up counts 0. Every record a durable_only
// tailer returns is checked against durable_lsn() read right after: a record returned before it
// was durable and made durable in between escapes the check, so the count is a lower bound, but
// a record that never became durable is always caught.
#include <sys/resource.h>

#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "scenarios.h"

namespace segstore::bench {

namespace {

constexpr int appender_threads = 16;
constexpr std::size_t mixed_record_bytes = 1024;
// Ack times are kept for this many records (8 bytes each): far above what 16 sync appenders
// reach in a run on one device; the appenders stop when it is spent.
constexpr std::uint64_t acked_records_max = 16ull << 20;
constexpr auto tail_wait_slice = std::chrono::milliseconds(50);

// Adds the thread's CPU time from construction to destruction to *total.
struct ThreadCpu {
  double *total;
  double start = thread_cpu_us();
  ~ThreadCpu() { *total += thread_cpu_us() - start; }
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// What the appenders, tailers and readers share during the mixed run.
struct MixedRun {
  Store *store = nullptr;
  std::uint64_t first_lsn = 0;  // the first LSN appended in the timed part
  std::unique_ptr<std::atomic<std::int64_t>[]> acked_at_ns;  // by lsn - first_lsn; 0: not yet
  std::atomic<bool> stop{false};
};

struct ReaderFigures {
  std::uint64_t records = 0;
  std::uint64_t not_durable_seen = 0;
  double cpu_us = 0;  // the thread's CPU time (user + system) over its run
  Latencies latencies;
  std::string error;
};

// Follows the log from first_lsn with a durable_only iterator until told to stop.
void tail(MixedRun &run, ReaderFigures &out) {
  const ThreadCpu cpu{&out.cpu_us};
  Result<Iterator> it = run.store->scan(run.first_lsn, ScanOptions{std::nullopt, true});
  if (!it.ok()) {
    out.error = it.status().to_string();
    return;
  }
  out.latencies.reserve(1 << 20);
  while (!run.stop.load(std::memory_order_relaxed)) {
    Result<bool> more = it->next_wait(tail_wait_slice);
    if (!more.ok()) {
      out.error = more.status().to_string();
      return;
    }
    if (!*more) continue;
    const std::int64_t seen = now_ns();
    const std::uint64_t lsn = it->record().lsn;
    if (lsn >= run.store->durable_lsn()) out.not_durable_seen++;
    out.records++;
    const std::uint64_t index = lsn - run.first_lsn;
    const std::int64_t acked = index < acked_records_max ? run.acked_at_ns[index].load(std::memory_order_acquire) : 0;
    out.latencies.add(acked != 0 && seen > acked ? (seen - acked) / 1e3 : 0.0);
  }
}

// Reads uniformly random durable records of the timed part until told to stop.
void read_randomly(MixedRun &run, int thread, ReaderFigures &out) {
  const ThreadCpu cpu{&out.cpu_us};
  std::mt19937_64 random(1000 + thread);
  out.latencies.reserve(1 << 18);
  while (!run.stop.load(std::memory_order_relaxed)) {
    const std::uint64_t durable = run.store->durable_lsn();
    if (durable <= run.first_lsn) {
      // Nothing durable yet: wait for the first record rather than spin.
      (void)run.store->wait_until_durable(run.first_lsn, tail_wait_slice);
      continue;
    }
    const std::uint64_t lsn = std::uniform_int_distribution<std::uint64_t>(run.first_lsn, durable - 1)(random);
    const Clock::time_point before = Clock::now();
    Result<Record> record = run.store->read(lsn);
    if (!record.ok()) {
      out.error = "read(" + std::to_string(lsn) + "): " + record.status().to_string();
      return;
    }
    out.latencies.add(std::chrono::duration<double, std::micro>(Clock::now() - before).count());
    out.records++;
  }
}

Row reader_row(const std::string &config, int threads, std::vector<ReaderFigures> &figures, double seconds) {
  Row row;
  row.name = "segstore";
  row.config = config;
  row.threads = threads;
  row.record_bytes = mixed_record_bytes;
  Latencies all;
  std::uint64_t records = 0, not_durable = 0;
  double cpu_us = 0;
  for (ReaderFigures &f : figures) {
    all.merge(f.latencies);
    records += f.records;
    cpu_us += f.cpu_us;
    not_durable += f.not_durable_seen;
    if (row.error.empty()) row.error = f.error;
  }
  row.records_per_s = records / seconds;
  row.mb_per_s = records * mixed_record_bytes / seconds / 1e6;
  all.fill(row);
  row.extra["records"] = static_cast<double>(records);
  row.extra["not_durable_seen"] = static_cast<double>(not_durable);
  if (records != 0) row.extra["cpu_us_per_record"] = cpu_us / records;
  return row;
}

std::unique_ptr<Store> fresh_warm_store(const Context &ctx, std::string *error) {
  std::unique_ptr<Store> store = open_fresh_store(ctx.path("store-M1"), ctx.store_options(Durability::sync), error);
  if (store && !warm_up(*store, error)) store.reset();
  return store;
}

Row appender_row(const std::string &config, const RunResult &result) {
  Row row;
  row.name = "segstore";
  row.config = config;
  row.threads = appender_threads;
  row.record_bytes = mixed_record_bytes;
  fill_rates(row, result, mixed_record_bytes);
  return row;
}

// The 16 sync appenders on their own: the figure the mixed run is held to.
Row run_appenders_alone(Context &ctx) {
  std::string error;
  std::unique_ptr<Store> store = fresh_warm_store(ctx, &error);
  if (!store) {
    Row row = appender_row("16 appenders alone, sync", RunResult{});
    row.error = error;
    return row;
  }
  if (ctx.io_backend_used.empty()) ctx.io_backend_used = store->stats().io_backend;
  const std::span<const std::byte> payload = payload_bytes(mixed_record_bytes);
  const RunResult result = run_threads(appender_threads, ctx.timed(), true, [&](int, std::string *err) {
    Result<std::uint64_t> lsn = store->append(payload, 0);
    if (!lsn.ok()) *err = lsn.status().to_string();
    return lsn.ok();
  });
  (void)store->close();
  return appender_row("16 appenders alone, sync", result);
}

// Appenders, tailers and readers together; three rows. `beside`, when given, runs on a thread
// of its own from just before the appenders start until it returns (it is joined after them).
std::vector<Row> run_mixed(const Context &ctx, int tailer_threads, int reader_threads, const std::string &appenders_config,
                           const std::function<void()> &beside = {}) {
  std::string error;
  std::unique_ptr<Store> store = fresh_warm_store(ctx, &error);
  if (!store) {
    Row row = appender_row(appenders_config, RunResult{});
    row.error = error;
    return {row};
  }
  MixedRun run;
  run.store = store.get();
  run.first_lsn = store->next_lsn();
  run.acked_at_ns = std::make_unique<std::atomic<std::int64_t>[]>(acked_records_max);
  std::vector<ReaderFigures> tailed(tailer_threads), read(reader_threads);
  std::vector<std::thread> readers;
  for (int t = 0; t < tailer_threads; ++t) readers.emplace_back([&, t] { tail(run, tailed[t]); });
  for (int t = 0; t < reader_threads; ++t) readers.emplace_back([&, t] { read_randomly(run, t, read[t]); });
  if (beside) readers.emplace_back(beside);
  const std::span<const std::byte> payload = payload_bytes(mixed_record_bytes);
  const RunLimits limits{ctx.config.mixed_seconds, acked_records_max};
  const Clock::time_point start = Clock::now();
  const RunResult result = run_threads(appender_threads, limits, true, [&](int, std::string *err) {
    Result<std::uint64_t> lsn = store->append(payload, 0);
    if (!lsn.ok()) {
      *err = lsn.status().to_string();
      return false;
    }
    const std::uint64_t index = *lsn - run.first_lsn;
    if (index < acked_records_max) run.acked_at_ns[index].store(now_ns(), std::memory_order_release);
    return true;
  });
  run.stop = true;
  for (std::thread &t : readers) t.join();
  const double seconds = seconds_since(start);
  (void)store->close();
  std::vector<Row> rows;
  rows.push_back(appender_row(appenders_config, result));
  if (reader_threads == 0 && beside) {
    rows.push_back(reader_row(std::to_string(tailer_threads) + " tailers beside fio, lag behind the ack", tailer_threads,
                              tailed, seconds));
    return rows;
  }
  rows.push_back(reader_row(std::to_string(tailer_threads) + " tailers, durable_only, lag behind the ack",
                            tailer_threads, tailed, seconds));
  rows.push_back(reader_row(std::to_string(reader_threads) + " readers, random read(lsn) of durable records",
                            reader_threads, read, seconds));
  return rows;
}

// The bound on what the readers may cost: the same appenders and tailers while fio, not
// segstore, makes the readers' device reads (4 KiB random reads at QD1 from as many processes,
// paced to the rate the readers reached). Reads at that rate on this disk take from the
// appenders whatever code issues them; how much, this run shows. Two rows: the appenders
// (vs_alone) and fio's reads as it made them.
std::vector<Row> run_beside_fio_reads(Context &ctx, int reader_threads, double reads_per_s) {
  const std::string config = "16 appenders with " + std::to_string(ctx.config.mixed_tailers) +
                             " tailers beside fio's reads at the readers' rate, sync";
  FioResult reads;
  reads.job = "rand read 4k QD1 beside the appenders";
  reads.error = ctx.fio.available() ? "" : ctx.fio.why_unavailable();
  std::vector<Row> rows;
  if (reads.error.empty() && ctx.fio.prepare()) {
    rows = run_mixed(ctx, ctx.config.mixed_tailers, 0, config, [&] {
      reads = ctx.fio.rand_read_4k_paced(reader_threads, reads_per_s, ctx.config.mixed_seconds);
    });
  } else {
    Row row = appender_row(config, RunResult{});
    row.error = reads.error.empty() ? ctx.fio.why_unavailable() : reads.error;
    rows.push_back(row);
  }
  rows.push_back(fio_row(reads));
  return rows;
}

}  // namespace

Table run_m1(Context &ctx) {
  Table table;
  table.id = "M1";
  table.title = "mixed: 16 sync appenders, " + std::to_string(ctx.config.mixed_tailers) + " tailing iterators and " +
                std::to_string(ctx.config.mixed_readers) + " random readers at once";
  table.parameters = "1 KiB records, durability sync, one stream; " + format_count(ctx.config.mixed_seconds) +
                     " s mixed, after the 16 appenders alone for " + format_count(ctx.config.seconds_per_run) +
                     " s on a fresh store; tailers: scan(durable_only) + next_wait from the first timed LSN";
  Row alone = run_appenders_alone(ctx);
  progress("M1", "16 appenders alone: " + format_count(alone.records_per_s) + " records/s" +
                     (alone.error.empty() ? "" : " (" + alone.error + ")"));
  // 4 and 4 unless --mixed-tailers / --mixed-readers say otherwise (to measure what each costs).
  const int tailer_threads = ctx.config.mixed_tailers;
  const int reader_threads = ctx.config.mixed_readers;
  std::vector<Row> mixed = run_mixed(ctx, tailer_threads, reader_threads,
                                     "16 appenders with " + std::to_string(tailer_threads) + " tailers + " +
                                         std::to_string(reader_threads) + " readers, sync");
  Row &appenders = mixed.front();
  const auto keep_ratio = [&](Row &row) {
    if (measured(alone.records_per_s) && alone.records_per_s > 0 && measured(row.records_per_s))
      row.extra["vs_alone"] = row.records_per_s / alone.records_per_s;
  };
  keep_ratio(appenders);
  progress("M1", "mixed: appenders " + format_count(appenders.records_per_s) + " records/s" +
                     (mixed.size() > 2 ? ", tailer lag p99 " + format_count(mixed[1].p99_us) + " us, readers " +
                                             format_count(mixed[2].records_per_s) + " reads/s"
                                       : "") +
                     (appenders.error.empty() ? "" : " (" + appenders.error + ")"));
  table.rows.push_back(alone);
  for (Row &row : mixed) table.rows.push_back(row);
  const double reads_per_s = mixed.size() > 2 ? mixed[2].records_per_s : not_measured;
  if (reader_threads > 0 && measured(reads_per_s) && reads_per_s > 0 && ctx.config.mixed_bound) {
    std::vector<Row> bound = run_beside_fio_reads(ctx, reader_threads, reads_per_s);
    keep_ratio(bound.front());
    progress("M1", "beside fio's reads at " + format_count(reads_per_s) + " reads/s: appenders " +
                       format_count(bound.front().records_per_s) + " records/s" +
                       (bound.front().error.empty() ? "" : " (" + bound.front().error + ")"));
    for (Row &row : bound) table.rows.push_back(row);
    table.notes.push_back("the bound: the same appenders and tailers while fio makes the readers' device reads "
                          "(4 KiB random, QD1, as many processes, paced to the readers' rate); what reads at that "
                          "rate cost the appenders whatever issues them.");
  }
  table.notes.push_back("appenders: records/s and append latency; tailers: records handed out per second over all "
                        "of them, latency = lag from the appender's ack to the tailer's next_wait() return; readers: "
                        "read(lsn) latency.");
  table.notes.push_back("a durable_only tailer's record is checked against durable_lsn() right after it is returned "
                        "(not_durable_seen in the JSON must be 0).");
  return table;
}

}  // namespace segstore::bench
