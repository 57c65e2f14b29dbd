// tests/soak/soak_run.h — the soak: one store under a steady mixed load for a fixed time.
//
// Threads, all on one Store:
//   writers    append paced records, one durability way each (writer % 4: sync, interval, none,
//              async = append_async + wait_durable); every append's latency is kept, and each
//              acknowledged LSN goes to the AckLedger;
//   tailers    iterators at the end of the log (next_wait), half of them durable-only, two of
//              them on one stream: LSNs in order without gaps (except what a trim took), each
//              writer's sequence numbers consecutive, payloads intact;
//   readers    read(lsn) of random LSNs between first_lsn and next_lsn;
//   retention  keeps the newest records (a record count): reads the oldest range back through
//              the ledger, then trim_before() it, so what retention removed is accounted for
//              exactly (the engine's own retention options would delete unread records);
//   snapshots  write_snapshot() at the durable end, then latest_snapshot() read back;
//   sampler    resident memory and open descriptors every sample period after warm-up, and a
//              watchdog on appends in flight;
//   disk probe 4 KiB writes + fdatasync of files beside the store every 100 ms (an overwrite
//              and an append): what the device and the file system (and everyone else on this
//              machine) allow, to read a stall against.
// A wrong record or a failed call stops the run early; a stall is recorded (with what was in
// flight: a trim, a snapshot, the probe's sync) and the run goes on.
// Files: soak_run.cc (lifecycle, appenders), soak_readers.cc (tailers, readers), soak_upkeep.cc
// (retention, snapshots), soak_monitor.cc (sampler, watchdog, disk probe). Thread-safety: run() once, from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "segstore/store.h"
#include "ack_ledger.h"
#include "latency_histogram.h"
#include "resources.h"

namespace segstore::soak {

struct SoakConfig {
  std::string dir;                       // the store (created; must not exist or be empty)
  double seconds = 120;                  // how long the load runs
  std::uint32_t writers = 64;
  std::uint32_t tailers = 8;
  std::uint32_t readers = 8;
  std::uint32_t streams = 16;            // writer w appends to stream w % streams
  std::uint32_t appends_per_writer_per_s = 50;
  std::uint32_t reads_per_reader_per_s = 200;
  std::uint64_t retained_records = 32 * 1024;  // retention keeps at least this many records
  std::uint64_t trim_step_records = 8 * 1024;  // and trims once this many more accumulated
  std::uint64_t segment_bytes = 4ull << 20;
  std::chrono::milliseconds stall_limit{1000};   // an append slower than this fails the run
  std::chrono::seconds hang_limit{60};           // an append in flight this long ends the process
  double sample_period_s = 10;
  double warmup_s = 30;
  // Memory held after warm-up (malloc's chunks in use and the mapped buffers: resources.h): the
  // lowest sample of the last third at most this far above the lowest of the middle third (a
  // leak raises the floor; Trend) ...
  std::uint64_t held_late_growth_bound_bytes = 8ull << 20;
  // ... and RSS's lowest sample of the last third at most this far above the first sample (a
  // leak too fast to wait for, or one outside malloc and the mapped buffers).
  std::uint64_t rss_growth_bound_bytes = 64ull << 20;
  std::int64_t fd_growth_bound = 8;
};

inline constexpr unsigned append_mode_count = 4;
const char *append_mode_name(unsigned mode);

struct SoakTotals {
  LatencyHistogram latency_by_mode[append_mode_count];
  LatencyHistogram latency_all;
  std::uint64_t tailed_records = 0, tailer_trim_skips = 0;
  std::uint64_t reads = 0, reads_raced_trim = 0;
  std::uint64_t trims = 0, records_trimmed = 0;
  std::uint64_t segments_min = UINT64_MAX, segments_max = 0;  // after each trim
  std::uint64_t snapshots_written = 0, snapshots_read_back = 0, snapshots_raced_trim = 0;
  std::uint64_t longest_in_flight_ms = 0;  // seen by the watchdog while an append was running
  LatencyHistogram trim_latency, snapshot_latency, probe_overwrite_latency, probe_append_latency;
  std::uint64_t stalls = 0;
  std::uint64_t hard_failures = 0;  // wrong records and failed calls (they stop the run)
  std::vector<ResourceSample> samples;     // after warm-up
  double ran_s = 0;
};

class SoakRun {
 public:
  explicit SoakRun(SoakConfig config);
  ~SoakRun();

  // Opens the store, runs the load for config.seconds (or until a failure), stops every thread
  // and closes the store. The result is in totals() and failures().
  void run();

  const SoakTotals &totals() const { return totals_; }
  AckLedger &ledger() { return ledger_; }
  std::uint64_t start_lsn() const { return start_lsn_; }
  Options store_options() const;

  void fail(const std::string &what);  // any thread; stops the run
  // Any thread; fails the run, which goes on. The stall lasted from started_ns to ended_ns.
  void record_stall(const std::string &what, std::int64_t started_ns, std::int64_t ended_ns);
  std::vector<std::string> failures() const;

 private:
  struct WriterState {
    LatencyHistogram latency;
    std::atomic<std::int64_t> append_started_ns{0};  // 0: no append in flight
  };

  void run_writer(std::uint32_t writer);
  Status append_one(std::uint32_t writer, unsigned mode, std::span<const std::byte> payload);
  void run_tailer(std::uint32_t tailer);
  void check_tailed(const RecordView &record, std::uint64_t &expected_lsn, bool whole_log,
                    std::vector<std::int64_t> &last_seq, std::vector<std::uint64_t> &last_lsn,
                    std::uint64_t &trim_skips);
  void run_reader(std::uint32_t reader);
  void run_retention();
  bool check_then_trim(std::uint64_t first, std::uint64_t cut);
  void run_snapshots();
  void run_sampler();
  void watch_appends_in_flight();
  struct ProbeSync {
    std::int64_t started_ns = 0, ended_ns = 0;
    bool appends = false;
  };
  static constexpr std::size_t probe_syncs_kept = 1024;  // about 50 s of the probe's syncs
  void run_disk_probe();
  void remember_probe_sync(const ProbeSync &sync);
  std::string probe_syncs_during(std::int64_t from_ns, std::int64_t to_ns) const;
  std::string in_flight_now() const;  // what else was running, for a stall's message

  // Waits until `period` passed (false) or the run is stopping (true).
  bool wait_for_stop(std::chrono::milliseconds period);
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  void request_stop();
  double elapsed_s() const;

  SoakConfig config_;
  AckLedger ledger_;
  std::unique_ptr<Store> store_;
  std::uint64_t start_lsn_ = 0;
  std::vector<std::unique_ptr<WriterState>> writer_states_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<std::int64_t> trim_started_ns_{0}, snapshot_started_ns_{0}, probe_started_ns_{0};

  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;  // guards failures_, totals_ counters updated by several threads
  std::condition_variable stop_requested_;
  mutable std::mutex probe_mu_;  // guards the ring of the probe's recent syncs
  std::vector<ProbeSync> probe_syncs_;
  std::size_t probe_next_ = 0;
  std::vector<std::string> failures_;
  SoakTotals totals_;
};

}  // namespace segstore::soak
