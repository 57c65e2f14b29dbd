// bench/scenarios.h — the workloads of segstore-bench, each a function producing one table.
//
// Within a workload segstore runs first, then the fio jobs that match what it did (some depend
// on it: the group size it reached), then the peers; the ratios are computed last, from figures
// measured minutes apart at most on the same machine and directory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "fio.h"
#include "figures.h"
#include "peers.h"
#include "runner.h"
#include "segstore/store.h"

namespace segstore::bench {

struct Context {
  const Config &config;
  Fio &fio;
  std::vector<PeerKind> peers;  // empty with --no-peers
  bool read_log_ready = false;  // R1/R2's log was written in this run
  std::string io_backend_used;  // Stats::io_backend of the first store opened ("uring", ...)

  // The options of every measured store: defaults, plus --io-backend and `durability`.
  Options store_options(Durability durability) const;
  std::string path(const std::string &name) const { return join_path(config.dir, name); }
  RunLimits timed() const { return RunLimits{config.seconds_per_run, UINT64_MAX}; }
};

// Opens a fresh store at `dir` (removing what was there). nullptr and *error on failure.
std::unique_ptr<Store> open_fresh_store(const std::string &dir, const Options &options, std::string *error);

// Before the clock starts: one record appended and synced (the first segment is activated,
// its header written), then a pause while the background preallocation of the next segment
// (zero-filling 64 MiB) finishes, so that a short measurement does not time the store's creation.
bool warm_up(Store &store, std::string *error);

// One peer doing `threads` x appends of `record_bytes`, synced or not, within `limits`.
Row run_peer(const Context &ctx, const std::string &workload, const PeerKind &peer, bool sync, int threads,
             std::size_t record_bytes, RunLimits limits);
// A fio result as a table row; with `records_per_op` the records/s column shows what one op
// would carry of segstore's records (e.g. a group of N records per durable write).
Row fio_row(const FioResult &result, double records_per_op = not_measured, double record_bytes = not_measured);

// The fastest peer row satisfying `match`, by records/s; nullptr when none.
template <typename Match>
const Row *best_peer(const std::vector<Row> &rows, Match match) {
  const Row *best = nullptr;
  for (const Row &row : rows)
    if (row.system == System::peer && row.error.empty() && measured(row.records_per_s) && match(row) &&
        (best == nullptr || row.records_per_s > best->records_per_s))
      best = &row;
  return best;
}
// Sets row.vs_fio / row.vs_peer (value / reference) when the reference was measured.
void set_vs_fio(Row &row, double value, double reference, const std::string &job);
void set_vs_peer(Row &row, double value, const Row *peer);

// One repetition of a short measurement and fio's reference run right beside it (R1, O1).
struct Repetition {
  double value = not_measured;
  double reference = not_measured;
  double ratio() const { return measured(value) && measured(reference) && reference > 0 ? value / reference : not_measured; }
};
// The index of the repetition whose ratio is the median (the lower middle of an even count),
// counting only measured ratios; with none measured, the median by value. -1 when empty.
int median_repetition(const std::vector<Repetition> &repetitions);
// Row extras for the repetitions (count, min, max of the ratios; the median repetition's
// reference under `reference_key`) and row.vs_fio = the median repetition's ratio, over the job
// `job`.
void set_vs_fio_beside(Row &row, const std::vector<Repetition> &repetitions, const std::string &job,
                       const std::string &reference_key = "fio_beside_mb_per_s");

Table run_w1(Context &ctx);  // streaming appends, none + final sync, 128 B .. 64 KiB
Table run_w2(Context &ctx);  // durable appends, 1 thread
Table run_w3(Context &ctx);  // group commit, 4/16/64 threads
Table run_w4(Context &ctx);  // pipelined async appends + wait_durable
Table run_w5(Context &ctx);  // 1 KiB, 1 and 16 threads, each durability mode
Table run_r1(Context &ctx);  // cold sequential scan
Table run_r2(Context &ctx);  // cold random reads
Table run_r3(Context &ctx);  // one-stream scan among 100 streams
Table run_o1(Context &ctx);  // open after an unclean shutdown; open of many sealed segments
Table run_m1(Context &ctx);  // mixed: sync appenders, tailers and random readers at once

// R1 and R2 read the same log; whichever runs first writes it.
bool ensure_read_log(Context &ctx, std::string *error);

}  // namespace segstore::bench
