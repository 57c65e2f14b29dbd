// bench/fio.h — the device limit, measured with fio in the same run on the same directory.
//
// Every job runs on one file, <dir>/fio/device.dat, laid out once at the start (written in
// full with 1 MiB O_DIRECT writes and synced): durable write jobs then write over blocks that
// were written before, as segstore does over its zero-filled segments (ANCHORS.md: writing into
// fallocated, never-written extents costs an extent conversion per sync and halves the rate).
// fio runs as a subprocess with --output-format=json; the JSON is parsed with nlohmann-json.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "figures.h"

namespace segstore::bench {

struct FioResult {
  std::string job;      // our name for it, e.g. "write+fdatasync 4k QD1"
  std::string command;  // the fio command line
  std::string error;    // empty when it ran
  double ops_per_s = not_measured;  // read or write IOPS
  double mb_per_s = not_measured;   // 10^6 bytes/s
  double block_bytes = not_measured;
  // Per I/O, microseconds: completion latency of the read or write, plus (for durable jobs)
  // the fdatasync latency at the same percentile, added.
  double p50_us = not_measured, p99_us = not_measured, p999_us = not_measured;
  bool ok() const { return error.empty(); }
};

class Fio {
 public:
  Fio(std::string dir, double seconds, std::uint64_t file_bytes, bool enabled);
  bool available() const { return available_; }
  const std::string &why_unavailable() const { return why_; }

  // Lays out the job file (once per run; later calls return at once).
  bool prepare();

  // Each job by its parameters; results are cached by job name within a run.
  FioResult seq_write(std::uint64_t block_bytes, int iodepth);
  // W1's durable references: the same writes ending with an fdatasync (W1 ends with a sync, and
  // on this kind of disk the sync of what was written waits for the device to take it all):
  // over the laid-out file's written blocks, and in segstore's own pattern — fresh files of
  // `file_bytes` preallocated with fallocate, written one after another, each fdatasync'ed when
  // done — for `total_bytes` in all (the files are removed afterwards).
  FioResult seq_write_durable_end(std::uint64_t block_bytes, int iodepth);
  FioResult seq_write_fresh_files(std::uint64_t block_bytes, int iodepth, std::uint64_t file_bytes,
                                  std::uint64_t total_bytes);
  // W4's: write + fdatasync after each write, QD `iodepth` (io_uring), into such fresh files.
  FioResult durable_write_fresh_files(std::uint64_t block_bytes, int iodepth, std::uint64_t file_bytes,
                                      std::uint64_t total_bytes);
  FioResult seq_read(std::uint64_t block_bytes, int iodepth);
  // The same sequential read for `seconds`, run afresh on every call (never cached, not listed
  // in results()): the reference measured right beside one repetition of a short workload, so
  // that the device's drift between minutes cancels out of each repetition's ratio.
  FioResult seq_read_beside(std::uint64_t block_bytes, int iodepth, double seconds);
  FioResult rand_read_4k_qd1();
  // The same for `seconds`, afresh on every call (as seq_read_beside): R2's reference beside
  // each repetition of segstore's reads.
  FioResult rand_read_4k_qd1_beside(double seconds);
  // `jobs` processes of 4 KiB random reads at QD1 for `seconds`, never cached (R2's 8-thread pairs).
  FioResult rand_read_4k_jobs_beside(int jobs, double seconds);
  // Random reads of `block_bytes` with `iodepth` in flight on io_uring: the device's rate for
  // reads the size of a one-stream walk's, as many in flight as the walk keeps (R3's floor).
  FioResult rand_read(std::uint64_t block_bytes, int iodepth);
  // `jobs` processes each doing 4 KiB random reads at QD1: the reference of many reader threads.
  FioResult rand_read_4k_jobs(int jobs);
  // `jobs` processes of 4 KiB random reads at QD1, together paced to `iops_total`, for `seconds`:
  // the same device reads as a workload's readers made, without that workload's code (M1's
  // bound: what such reads cost appenders when fio issues them). Blocks while fio runs.
  FioResult rand_read_4k_paced(int jobs, double iops_total, double seconds);
  // write + fdatasync after each write, over written blocks. engine: "sync" (QD1) or
  // "io_uring" (iodepth in flight). jobs > 1: that many writers, each its own 16 MiB region.
  // uring: io_uring even at QD1 (a write op, then an fsync op with DATASYNC).
  FioResult durable_write(std::uint64_t block_bytes, int iodepth, int jobs = 1, bool uring = false);
  // One writer's durable_write for `seconds`, afresh on every call (as seq_read_beside): W2's
  // reference beside each repetition of segstore's durable appends.
  FioResult durable_write_beside(std::uint64_t block_bytes, bool uring, double seconds);

  const std::vector<FioResult> &results() const { return ran_; }
  void remove_files();

 private:
  // A write job into fresh fallocated files of `file_bytes` (fio/fresh/, removed before and after).
  FioResult fresh_files_job(const std::string &name, std::vector<std::string> args, std::uint64_t block_bytes,
                            std::uint64_t file_bytes, std::uint64_t total_bytes);
  // seconds > 0: time-based on the laid-out file; 0: `args` say what to write and where.
  FioResult run(const std::string &name, const std::vector<std::string> &args, bool is_read,
                double block_bytes, double seconds);
  // run() without its cache and its list.
  FioResult measure(const std::string &name, const std::vector<std::string> &args, bool is_read,
                    double block_bytes, double seconds);
  FioResult run(const std::string &name, const std::vector<std::string> &args, bool is_read,
                double block_bytes) {
    return run(name, args, is_read, block_bytes, seconds_);
  }

  std::string dir_;
  std::string file_;
  double seconds_;
  std::uint64_t file_bytes_;
  bool available_ = false;
  bool prepared_ = false;
  std::string why_;
  std::map<std::string, FioResult> cache_;
  std::vector<FioResult> ran_;
};

}  // namespace segstore::bench
