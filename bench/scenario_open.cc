// bench/scenario_open.cc — O1: opening a store after an unclean shutdown (a writer killed with
// SIGKILL in the middle of its appends), and opening a store of many sealed segments.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "scenarios.h"

namespace segstore::bench {

namespace {

constexpr std::size_t crash_record_bytes = 1024;
constexpr std::uint64_t small_segment_bytes = 16 << 10;  // the smallest segment: 4 blocks
constexpr int open_repeats = 3;

// The child: appends (durability interval) until `volume_bytes`, tells the parent through
// `ready_fd`, and keeps appending until the parent kills it. Never returns.
[[noreturn]] void crash_writer(const Context &ctx, const std::string &dir, std::uint64_t volume_bytes, int ready_fd) {
  std::string error;
  std::unique_ptr<Store> store = open_fresh_store(dir, ctx.store_options(Durability::interval), &error);
  const char failed = 'E', ready = 'R';
  if (!store) {
    (void)!::write(ready_fd, &failed, 1);
    ::_exit(1);
  }
  const std::span<const std::byte> payload = payload_bytes(crash_record_bytes);
  for (std::uint64_t i = 0;; ++i) {
    if (!store->append(payload).ok()) {
      (void)!::write(ready_fd, &failed, 1);
      ::_exit(1);
    }
    if (i == volume_bytes / crash_record_bytes) (void)!::write(ready_fd, &ready, 1);
  }
}

// Forks the writer, waits until it appended `volume_bytes`, and kills it with SIGKILL.
bool make_unclean_store(const Context &ctx, const std::string &dir, std::uint64_t volume_bytes, std::string *error) {
  remove_tree(dir);
  int fds[2];
  if (::pipe(fds) != 0) {
    *error = "pipe failed";
    return false;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = "fork failed";
    return false;
  }
  if (pid == 0) {
    ::close(fds[0]);
    crash_writer(ctx, dir, volume_bytes, fds[1]);
  }
  ::close(fds[1]);
  char got = 0;
  const ssize_t n = ::read(fds[0], &got, 1);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  if (n != 1 || got != 'R') {
    *error = "the writer child failed before it was killed";
    return false;
  }
  return true;
}

struct Opened {
  double ms = not_measured;
  RecoveryReport report;
  std::string error;
};

Opened timed_open(const Context &ctx, const std::string &dir, bool verify) {
  Options options = ctx.store_options(Durability::none);
  options.create_if_missing = false;
  options.verify_on_open = verify;
  Opened opened;
  const Clock::time_point start = Clock::now();
  Result<std::unique_ptr<Store>> store = Store::open(dir, options);
  opened.ms = seconds_since(start) * 1000;
  if (!store.ok()) {
    opened.error = store.status().to_string();
    return opened;
  }
  opened.report = (*store)->recovery_report();
  (void)(*store)->close();
  return opened;
}

Row recovery_row(const std::string &config, const Opened &opened) {
  Row row;
  row.name = "segstore";
  row.config = config;
  row.error = opened.error;
  const RecoveryReport &r = opened.report;
  const double seconds = r.duration_us / 1e6;
  row.mb_per_s = seconds > 0 ? r.bytes_scanned / seconds / 1e6 : not_measured;
  row.records_per_s = seconds > 0 ? r.records_recovered / seconds : not_measured;
  row.extra["open_ms"] = opened.ms;
  row.extra["recovery_ran"] = r.ran ? 1 : 0;
  row.extra["bytes_scanned"] = static_cast<double>(r.bytes_scanned);
  row.extra["segments_scanned"] = static_cast<double>(r.segments_scanned);
  row.extra["segments_checked"] = static_cast<double>(r.segments_checked);
  row.extra["records_recovered"] = static_cast<double>(r.records_recovered);
  row.extra["recovery_duration_ms"] = r.duration_us / 1000.0;
  row.extra["cut"] = r.cut ? 1 : 0;
  return row;
}

// A store of `segments` sealed segments of the smallest size, closed cleanly.
bool make_many_segments(const Context &ctx, const std::string &dir, std::uint64_t segments, std::string *error) {
  Options options = ctx.store_options(Durability::none);
  options.segment_bytes = small_segment_bytes;
  std::unique_ptr<Store> store = open_fresh_store(dir, options, error);
  if (!store) return false;
  const std::span<const std::byte> payload = payload_bytes(crash_record_bytes);
  // A 16 KiB segment holds 11 records of 1,056 bytes after its header block. Stats are asked
  // for rarely: stats() loads the index of every segment.
  const std::uint64_t per_segment = (small_segment_bytes - 4096) / 1056;
  while (store->stats().segment_count <= segments) {
    for (std::uint64_t i = 0; i < per_segment * segments / 4 + per_segment; ++i) {
      Result<std::uint64_t> lsn = store->append(payload);
      if (!lsn.ok()) {
        *error = lsn.status().to_string();
        return false;
      }
    }
  }
  const Status closed = store->close();
  if (!closed.ok()) *error = closed.to_string();
  return closed.ok();
}

// A store of `segments` sealed segments, closed cleanly, opened open_repeats times: the median.
Row open_many_segments_row(const Context &ctx, std::uint64_t segments) {
  const std::string many_dir = ctx.path("store-segments");
  progress("O1", "creating " + std::to_string(segments) + " sealed segments");
  std::string error;
  Row many;
  many.name = "segstore";
  many.config = "open " + std::to_string(segments) + " sealed segments (clean)";
  if (!make_many_segments(ctx, many_dir, segments, &error)) {
    many.error = error;
  } else {
    std::vector<double> ms;
    for (int i = 0; i < open_repeats; ++i) {
      const Opened opened = timed_open(ctx, many_dir, false);
      if (!opened.error.empty()) many.error = opened.error;
      ms.push_back(opened.ms);
    }
    std::sort(ms.begin(), ms.end());
    many.extra["open_ms"] = ms[ms.size() / 2];
    many.extra["open_ms_min"] = ms.front();
    many.extra["open_ms_max"] = ms.back();
    progress("O1", many.config + ": " + format_count(ms[ms.size() / 2]) + " ms");
  }
  remove_tree(many_dir);
  return many;
}

// One repetition of O1's recovery scans: a fresh unclean store opened after the kill, then
// opened again with verify_on_open, each open followed by fio's sequential read.
struct CrashRepetition {
  Opened after_crash, verified;
  Repetition after_crash_ratio, verified_ratio;
};

double recovery_mb_per_s(const Opened &opened) {
  const double seconds = opened.report.duration_us / 1e6;
  return opened.error.empty() && seconds > 0 ? opened.report.bytes_scanned / seconds / 1e6 : not_measured;
}

double fio_beside(Context &ctx) {
  if (!ctx.fio.available()) return not_measured;
  const FioResult read = ctx.fio.seq_read_beside(128 << 10, 32, ctx.config.beside_seconds);
  return read.ok() ? read.mb_per_s : not_measured;
}

CrashRepetition crash_repetition(Context &ctx, const std::string &crash_dir) {
  CrashRepetition repetition;
  std::string error;
  if (!make_unclean_store(ctx, crash_dir, ctx.config.crash_log_bytes, &error)) {
    repetition.after_crash.error = repetition.verified.error = error;
    return repetition;
  }
  repetition.after_crash = timed_open(ctx, crash_dir, false);
  repetition.after_crash_ratio = {recovery_mb_per_s(repetition.after_crash), fio_beside(ctx)};
  repetition.verified = timed_open(ctx, crash_dir, true);
  repetition.verified_ratio = {recovery_mb_per_s(repetition.verified), fio_beside(ctx)};
  remove_tree(crash_dir);
  return repetition;
}

// The row of one recovery configuration: the repetition with the median ratio.
Row median_recovery_row(const std::string &config, const std::vector<CrashRepetition> &runs, bool verified,
                        const std::string &beside_job) {
  std::vector<Repetition> ratios;
  for (const CrashRepetition &run : runs) ratios.push_back(verified ? run.verified_ratio : run.after_crash_ratio);
  const int median = std::max(median_repetition(ratios), 0);
  Row row = recovery_row(config, verified ? runs[median].verified : runs[median].after_crash);
  set_vs_fio_beside(row, ratios, beside_job);
  return row;
}

}  // namespace

Table run_o1(Context &ctx) {
  Table table;
  table.id = "O1";
  table.title = "open after an unclean shutdown (writer killed with SIGKILL); open of many sealed segments";
  const int repeats = ctx.config.scan_repeats;
  table.parameters = "a child process appends 1 KiB records (durability interval) and is killed with SIGKILL after " +
                     format_size(static_cast<double>(ctx.config.crash_log_bytes)) +
                     "; then open with default options, then open with verify_on_open (every segment scanned), each "
                     "open followed by fio's sequential read for " + format_fixed(ctx.config.beside_seconds, 1) +
                     " s; " + (repeats > 1 ? "repeated " + std::to_string(repeats) + " times, the repetition with the "
                                             "median ratio shown; " : "") +
                     std::to_string(ctx.config.sealed_segments) + " sealed 16 KiB segments opened " +
                     std::to_string(open_repeats) + " times (median); MB/s = RecoveryReport bytes_scanned / duration";
  const std::string crash_dir = ctx.path("store-crash");
  std::vector<CrashRepetition> runs;
  for (int i = 0; i < repeats; ++i) {
    progress("O1", "appending " + format_size(static_cast<double>(ctx.config.crash_log_bytes)) + " in a child, then kill -9 (" +
                       std::to_string(i + 1) + "/" + std::to_string(repeats) + ")");
    runs.push_back(crash_repetition(ctx, crash_dir));
    const CrashRepetition &run = runs.back();
    progress("O1", "after kill -9: open " + format_count(run.after_crash.ms) + " ms, scanned " +
                       format_size(static_cast<double>(run.after_crash.report.bytes_scanned)) + " at " +
                       format_count(run.after_crash_ratio.value) + " MB/s (fio beside " +
                       format_count(run.after_crash_ratio.reference) + "); verify_on_open: " +
                       format_count(run.verified_ratio.value) + " MB/s (fio beside " +
                       format_count(run.verified_ratio.reference) + ")" +
                       (run.after_crash.error.empty() ? "" : " (" + run.after_crash.error + ")"));
    if (!run.after_crash.error.empty()) break;
  }
  remove_tree(crash_dir);
  const std::string beside_job = "seq read 128k QD32, " + format_fixed(ctx.config.beside_seconds, 1) + " s beside each open";
  table.rows.push_back(median_recovery_row("open after kill -9 (recovery)", runs, false, beside_job));
  table.rows.push_back(median_recovery_row("open with verify_on_open (all segments scanned)", runs, true, beside_job));

  // 100 sealed segments is the recovery issue's figure; config.sealed_segments the benchmark's.
  for (std::uint64_t segments : {std::uint64_t{100}, ctx.config.sealed_segments})
    table.rows.push_back(open_many_segments_row(ctx, segments));

  const FioResult read = ctx.fio.seq_read(128 << 10, 32);
  if (ctx.fio.available()) table.rows.push_back(fio_row(read));
  for (Row &row : table.rows)
    if (row.system == System::segstore && measured(row.mb_per_s) && measured(read.mb_per_s) && read.mb_per_s > 0)
      row.extra["vs_fio_run_long"] = row.mb_per_s / read.mb_per_s;
  table.notes.push_back("vs fio: recovery scan MB/s over fio's sequential read (128 KiB, QD32) run right after that open; "
                        "the median of the repetitions' ratios (extras vs_fio_min, vs_fio_max); vs_fio_run_long is the "
                        "same scan over fio's " + format_fixed(ctx.config.seconds_per_run, ctx.config.seconds_per_run < 1 ? 1 : 0) + " s run (" + read.job +
                        "). open_ms is the wall time of Store::open.");
  return table;
}

}  // namespace segstore::bench
