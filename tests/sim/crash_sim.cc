// tests/sim/crash_sim.cc — the crash simulation driver (tests/sim/crash_sim.h).
//
// One thread issues the operations, in an order drawn from the seed; the model (log_model.h)
// records what each returned. A crash is one of:
//   - between two operations: the disk loses what a power cut may lose;
//   - with writes in flight: the simulated queue stops completing, a second thread keeps
//     operating on the store until a group is stuck in flight (or it ran out of operations),
//     then the power goes, so groups are torn mid-write and appenders are blocked mid-call.
// The crashed store is abandoned: its threads see EIO on every handle of the old boot, it is
// destroyed, and a new Store is opened on the rebooted disk (recovery runs), sometimes with an
// injected error in the middle of recovery followed by another crash.
#include "sim/crash_sim.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <sstream>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "segstore/store.h"
#include "sim/interrupted_cut.h"
#include "sim/live_readers.h"
#include "sim/race_log.h"
#include "sim/threaded_readers.h"
#include "sim/log_model.h"

namespace segstore::sim {

// Known engine bugs, each with its regression test in tests/sim/sim_regression_test.cc. While
// config.avoid_known_bugs is set the workload steers around them (fixed since, and no longer
// steered around: Seed59GapBeforeFirstSegmentRefusesOpen, Seed2189UnusedSegmentReusedWith-
// StaleRecords, Seed4ConcurrentActivationsBreakSegmentIdOrder, Seed1StoreDirectoryLostWith-
// ItsParent, Seed1089InterruptedCreateLeavesMetaTmp, Seed18ReopenAfterFailedSyncTrustsDropped-
// Pages, Seed125TornTruncateLeavesStaleIndexSnapshot, Seed125WaiterRacingTruncateAfterAborts,
// Seed125FailedTruncateLeavesStoreWritable, Seed7828FailedResetHalfResetsTheStore,
// Seed34TruncateInsideBatchLosesKeptRecords, Seed76TrimPastDurableEndHidesLaterRecords,
// Seed2862SnapshotAfterResetPrunedAtOnce, Seed2862StaleSnapshotAfterTruncate,
// Seed2083CutBelowTrimPointHidesLaterRecords,
// Seed7483ReadOfWrittenRecordSeesZeros, Seed29ThreadsResetRacingAppendsLeavesGapAfterMetaFirst).
// None is steered around at present.

namespace {

using testing::SimDisk;
using testing::SimFault;
using testing::SimRandom;

constexpr std::uint64_t segment_bytes_small = 16 * 1024;
constexpr std::uint32_t streams_max = 4;  // logical writers
// RecordView::type values of an atomic batch's second and later records (docs/FORMAT.md).
constexpr std::uint8_t batch_middle_type = 3;
constexpr std::uint8_t batch_last_type = 4;

Durability pick_durability(SimRandom &r) {
  const std::uint64_t u = r.below(10);
  return u < 4 ? Durability::sync : u < 7 ? Durability::interval : Durability::none;
}

const char *durability_name(Durability d) {
  return d == Durability::sync ? "sync" : d == Durability::interval ? "interval" : "none";
}

bool is_io_failure(Errc code) { return code == Errc::io_error || code == Errc::no_space || code == Errc::read_only; }

class CrashSim {
 public:
  CrashSim(const CrashSimConfig &config, CrashSimStats &stats)
      : config_(config), stats_(stats), rnd_(testing::splitmix64(config.seed)) {}

  void run();

 private:
  void run_threaded_cycle();
  void remove_racing(SimRandom &r, RaceLog &race);
  // cycle steps
  Options pick_options();
  bool open_store();
  void crash_after_failed_open(std::size_t events_before);
  bool check_recovered(bool after_crash);
  bool accept_reported_loss(const std::string &where);
  void workload(unsigned ops);
  void crash_now(bool hold_in_flight);
  bool clean_reopen();
  // operations (r: the generator of the thread issuing them)
  void one_op(SimRandom &r, bool doomed);
  void one_op_inner(SimRandom &r, bool doomed);
  void op_append(SimRandom &r, bool doomed, unsigned count, std::optional<Durability> durability);
  void op_wait_durable(SimRandom &r);
  void op_sync();
  void op_read(SimRandom &r);
  void op_truncate(SimRandom &r);
  void op_trim(SimRandom &r);
  void op_reset(SimRandom &r);
  void op_write_snapshot(SimRandom &r, bool doomed);
  void op_check_snapshot();
  void op_fsync_failure();
  // after every operation
  void after_op();
  // the readers of the live log (live_readers.h): a few records each after every operation
  void step_readers();
  void drop_readers() {
    for (LiveReader &reader : readers_) reader.drop();
  }
  void note_fault_events();
  std::vector<std::byte> payload(std::uint64_t id, std::size_t size) const;
  std::size_t payload_size(SimRandom &r) const;
  void fail(const std::string &what);
  // latest_snapshot() returned the state of records that truncate_after/reset_to replaced.
  void stale_snapshot_returned(std::uint64_t lsn) {
    stats_.stale_snapshots++;
    fail("latest_snapshot() at LSN " + std::to_string(lsn) + " describes records truncate_after/reset_to removed");
  }
  bool failed() const { return failures_ != 0; }
  // The store turned read-only (an append said so).
  bool store_failed() const { return store_failed_; }
  bool store_failed_ = false;

  const CrashSimConfig &config_;
  CrashSimStats &stats_;
  SimRandom rnd_;
  std::uint64_t opens_ = 0;  // pick_options calls (segment recycling's choice)
  std::shared_ptr<SimDisk> disk_;
  std::string store_dir_;
  Options options_;
  std::unique_ptr<Store> store_;
  LogModel model_;
  LiveLog live_;  // what the open store holds in memory (main thread's operations only)
  std::array<LiveReader, 3> readers_{LiveReader(LiveReader::Kind::durable_tailer),
                                     LiveReader(LiveReader::Kind::plain_tailer), LiveReader(LiveReader::Kind::scanner)};
  unsigned cycle_ = 0;
  unsigned failures_ = 0;
  std::uint64_t payload_ids_ = 0;         // main thread
  std::uint64_t doomed_payload_ids_ = 0;  // the doomed thread's own numbering
  std::vector<std::uint64_t> async_lsns_;
  bool read_only_expected_ = false;
  std::uint64_t threaded_next_ = 0;  // threads mode: next_lsn after the last checked recovery
  testing::SimFaultRates rates_;  // this cycle's
  // An open failed after its recovery cut the log, or while it was cutting: the first LSN cut
  // (the lowest, if several did). Its report went to events.log only (interrupted_cut.h).
  std::optional<std::uint64_t> failed_open_cut_lsn_;
  bool in_doomed_phase_ = false;
  bool store_created_ = false;  // an open succeeded: the store exists (META was written)
  bool meta_tmp_rotted_ = false;  // a crash after an interrupted open flipped a bit of META.tmp
  std::string last_op_;
  std::string last_result_;
  std::vector<std::string> trace_;  // this cycle's operations and what they returned
  void trace(const std::string &line) {
    if (config_.trace) std::fprintf(stderr, "  %s\n", line.c_str());
    if (config_.verbose && trace_.size() < 2000) trace_.push_back(line);
  }
  void result(const Status &s) {
    last_result_ = s.ok() ? "ok" : s.to_string();
    if (s.code() == Errc::read_only) store_failed_ = true;
  }
};

void CrashSim::fail(const std::string &what) {
  failures_++;
  std::ostringstream out;
  out << "seed " << config_.seed << " cycle " << cycle_ << ": " << what;
  if (!last_op_.empty()) out << " (last operation: " << last_op_ << ")";
  stats_.failures.push_back(out.str());
  if (config_.verbose) {
    std::fprintf(stderr, "FAIL %s\ntrace of the cycle:\n", out.str().c_str());
    for (const std::string &line : trace_) std::fprintf(stderr, "  %s\n", line.c_str());
    std::fprintf(stderr, "what the last crash did:\n");
    for (const std::string &line : disk_->last_crash_log()) std::fprintf(stderr, "  %s\n", line.c_str());
  }
}

std::vector<std::byte> CrashSim::payload(std::uint64_t id, std::size_t size) const {
  std::vector<std::byte> bytes(size);
  std::uint64_t x = testing::splitmix64(config_.seed ^ (id * 0x9E3779B97F4A7C15ull));
  for (std::size_t i = 0; i < size; ++i) {
    if (i % 8 == 0) x = testing::splitmix64(x);
    bytes[i] = static_cast<std::byte>(x >> (8 * (i % 8)));
  }
  return bytes;
}

std::size_t CrashSim::payload_size(SimRandom &r) const {
  const std::uint64_t u = r.below(100);
  if (u < 55) return static_cast<std::size_t>(r.below(100));
  if (u < 90) return static_cast<std::size_t>(r.between(100, 2000));
  return static_cast<std::size_t>(r.between(2000, 12000));  // up to most of a 16 KiB segment
}

Options CrashSim::pick_options() {
  Options o;
  o.segment_bytes = rnd_.chance(0.8) ? segment_bytes_small : 2 * segment_bytes_small;
  o.durability = pick_durability(rnd_);
  o.flush_interval_ms = static_cast<std::uint32_t>(rnd_.between(1, 5));
  const std::uint32_t group_sizes[] = {8 * 1024, 16 * 1024, 64 * 1024};
  o.write_group_bytes_max = group_sizes[rnd_.below(3)];
  o.inflight_groups_max = static_cast<std::uint32_t>(rnd_.between(1, 4));
  o.prealloc = rnd_.chance(0.5) ? PreallocMode::zero_fill : PreallocMode::fallocate;
  o.direct_io = rnd_.chance(0.7);
  o.snapshots_kept = static_cast<std::uint32_t>(rnd_.between(1, 3));
  o.verify_on_open = rnd_.chance(0.2);
  o.env = disk_->env();
  // Segment recycling on every other open of a seed, sometimes with a pool of one: trims and
  // resets free files, later segments reuse them, and an open without it removes them. Chosen
  // from its own counter, not rnd_, so every seed's other choices stay what they were.
  opens_++;
  o.recycled_segments_max = ((config_.seed + opens_) & 1) != 0 ? static_cast<std::uint32_t>(1 + (opens_ % 3)) : 0;
  // Scans read windows ahead (each read at its submit or at its wait) or synchronously.
  disk_->set_read_ahead(rnd_.chance(0.5));
  return o;
}

// Opens the store on the current boot. Sometimes an injected error interrupts recovery, and the
// power goes right after: recovery must cope with its own half-done work.
bool CrashSim::open_store() {
  for (int attempt = 0;; ++attempt) {
    options_ = pick_options();
    const bool interrupt = attempt < 3 && rnd_.chance(0.15);
    if (interrupt) {
      const testing::SimOp ops[] = {testing::SimOp::write, testing::SimOp::sync, testing::SimOp::rename, testing::SimOp::remove,
                               testing::SimOp::sync_dir, testing::SimOp::make_dir};
      testing::SimTarget target;
      target.op = ops[rnd_.below(6)];
      target.nth = rnd_.between(1, 12);
      target.fault = target.op == testing::SimOp::write   ? SimFault::write_eio
                     : target.op == testing::SimOp::sync  ? SimFault::sync_eio
                     : target.op == testing::SimOp::sync_dir ? SimFault::sync_dir_eio
                                                     : SimFault::op_eio;
      disk_->arm(target);
    }
    const std::size_t events_before = events_log_bytes(*disk_, store_dir_);
    Result<std::unique_ptr<Store>> opened = Store::open(store_dir_, options_);
    disk_->clear_targets();
    if (opened.ok()) {
      store_ = std::move(*opened);
      trace(std::string("open (") + durability_name(options_.durability) + ", segment " +
            std::to_string(options_.segment_bytes) + ", group " + std::to_string(options_.write_group_bytes_max) +
            ", inflight " + std::to_string(options_.inflight_groups_max) + ", " +
            (options_.direct_io ? "direct" : "buffered") + ", " +
            (options_.prealloc == PreallocMode::zero_fill ? "zero_fill" : "fallocate") + ", recycle " +
            std::to_string(options_.recycled_segments_max) + "): log [" +
            std::to_string(store_->first_lsn()) + ", " + std::to_string(store_->next_lsn()) + ")");
      const RecoveryReport &report = store_->recovery_report();
      if (report.cut || !report.notes.empty()) trace("  " + report.to_string());
      store_created_ = true;
      return true;
    }
    trace("open failed: " + opened.status().to_string());
    const std::vector<SimDisk::FaultEvent> events = disk_->take_fault_events();
    if (config_.latent_faults &&
        (opened.status().code() == Errc::corruption || opened.status().code() == Errc::unsupported_version)) {
      stats_.latent_detected++;  // e.g. a flipped bit in META: refused, never misread
      trace("open refused after injected bit rot: " + opened.status().to_string());
      return false;
    }
    // Before any open succeeded the store may not exist yet: an interrupted creation leaves
    // META.tmp without META, and rot in it makes it a file the engine cannot tell from a foreign
    // one, so the directory is refused as not a store (never taken for one). Nothing was
    // acknowledged yet.
    if (config_.latent_faults && !store_created_ && meta_tmp_rotted_ && opened.status().code() == Errc::not_a_store) {
      stats_.latent_detected++;
      trace("open refused after injected bit rot in an unfinished creation: " + opened.status().to_string());
      return false;
    }
    if (!interrupt || events.empty() || !is_io_failure(opened.status().code())) {
      fail("open failed: " + opened.status().to_string() + (interrupt ? " (an injected error was armed)" : ""));
      return false;
    }
    stats_.interrupted_recoveries++;
    crash_after_failed_open(events_before);
  }
}

// An open failed by an injected error: what its recovery cut is accounted for, then the power
// goes (recovery must cope with its own half-done work).
void CrashSim::crash_after_failed_open(std::size_t events_before) {
  // The cut this open's recovery made, all or part of it, as events.log reports it (read from
  // the simulated disk, where the store's Env wrote it): the next open may find nothing left
  // to cut (interrupted_cut.h).
  if (const std::optional<std::uint64_t> cut = reported_cut_lsn(*disk_, store_dir_, events_before, CutLines::any)) {
    trace("  the failed open reported a cut from LSN " + std::to_string(*cut) + " in events.log");
    failed_open_cut_lsn_ = std::min(failed_open_cut_lsn_.value_or(*cut), *cut);
  }
  const std::optional<std::uint64_t> interrupted = interrupted_cut_lsn(*disk_, store_dir_, events_before);
  disk_->crash();
  stats_.crashes++;
  bool events_rotted = false;
  for (const std::string &line : disk_->last_crash_log()) {
    if (line.find("/META.tmp: bit flipped") != std::string::npos) meta_tmp_rotted_ = true;
    if (line.find("/events.log: bit flipped") != std::string::npos) events_rotted = true;
  }
  // An interrupted cut's line may be the only account of it (the quarantine report may not be
  // written yet): it must survive the power cut (recovery syncs it), unless rot hit the file.
  if (interrupted && !events_rotted && interrupted_cut_lsn(*disk_, store_dir_, events_before) != interrupted)
    fail("the line of the cut from LSN " + std::to_string(*interrupted) +
         " an interrupted open wrote to events.log was lost at the power cut");
}

// The checks of crash_sim.h on a freshly opened store, then the model takes the recovered log
// as its new truth (everything in it is durable now).
bool CrashSim::check_recovered(bool after_crash) {
  const std::uint64_t first = store_->first_lsn(), next = store_->next_lsn();
  const RecoveryReport &report = store_->recovery_report();
  // The lowest LSN a reported cut or loss accounts for: this open's cut or proven loss, or the
  // cut of an open that failed before (its line in events.log, interrupted_cut.h).
  std::optional<std::uint64_t> reported_from = std::exchange(failed_open_cut_lsn_, std::nullopt);
  auto lower_to = [&](std::uint64_t lsn) { reported_from = std::min(reported_from.value_or(lsn), lsn); };
  if (report.cut) lower_to(report.cut_lsn);
  if (report.acknowledged_data_lost) lower_to(report.lost_lsn_first);
  std::ostringstream where;
  where << "after " << (after_crash ? "crash" : "clean reopen") << ": log [" << first << ", " << next << "), model "
        << model_.describe() << "; recovery: " << report.to_string();
  if (first > next) {
    fail("first_lsn above next_lsn " + where.str());
    return false;
  }
  if (model_.is_failed_reset_outcome(first, next)) {
    model_.rebase(first, next, {}, {});
    return true;
  }
  // A trim past the durable end may come back lower after a crash: the LSNs it covered were never
  // durable, and the log is empty from there.
  if (first < std::min(model_.floor, next)) fail("first_lsn below a completed trim or reset " + where.str());
  // Acknowledged records: [required_from, acked_end) must all be in [first, next).
  const std::uint64_t from = model_.required_from(), to = model_.acked_end;
  if (to > from) {
    std::uint64_t missing = 0;
    if (first > from) missing += std::min(first, to) - from;
    if (next < to) missing += to - std::max(next, from);
    // The first LSN missing: the head of the range when the log starts above it, else the end.
    const std::uint64_t missing_from = first > from ? from : std::max(next, from);
    if (missing != 0) {
      // Excused only under a reported cut or loss that reaches down to every missing record. A
      // lost acknowledged tail is never reported as a clean end.
      if (config_.latent_faults && reported_from && *reported_from <= missing_from) {
        stats_.lost_to_latent += missing;
        if (!report.cut && !report.acknowledged_data_lost) stats_.lost_to_failed_open_cut += missing;
      } else {
        stats_.records_lost += missing;
        fail(std::to_string(missing) + " acknowledged records lost: required [" + std::to_string(from) + ", " +
             std::to_string(to) + ")" +
             (reported_from ? ", a cut or loss reported from LSN " + std::to_string(*reported_from) : std::string()) +
             " " + where.str());
      }
    }
  }
  // Every record: dense, each one written at its LSN.
  std::map<std::uint64_t, Version> found;
  std::set<std::uint64_t> batch_inner;
  Result<Iterator> it = store_->scan(first);
  if (!it.ok()) {
    fail("scan(" + std::to_string(first) + ") failed: " + it.status().to_string() + " " + where.str());
    return false;
  }
  std::uint64_t expect = first;
  while (true) {
    Result<bool> more = it->next();
    if (!more.ok()) {
      if (config_.latent_faults && more.status().code() == Errc::corruption) {
        stats_.latent_detected++;  // rot in a sealed segment or index: detected when read, not misread
        return false;
      }
      fail("reading LSN " + std::to_string(expect) + " failed: " + more.status().to_string() + " " + where.str());
      return false;
    }
    if (!*more) break;
    const RecordView &rec = it->record();
    if (rec.lsn != expect) {
      fail("LSN " + std::to_string(rec.lsn) + " where " + std::to_string(expect) + " was expected " + where.str());
      return false;
    }
    Version v{rec.stream, std::vector<std::byte>(rec.payload.begin(), rec.payload.end())};
    if (!model_.may_hold(rec.lsn, v)) {
      fail("LSN " + std::to_string(rec.lsn) + " holds a record never written there (stream " +
           std::to_string(rec.stream) + ", " + std::to_string(rec.payload.size()) + " bytes) " + where.str());
      return false;
    }
    stats_.records_checked++;
    if (rec.lsn >= from && rec.lsn < to) stats_.acked_checked++;
    found.emplace(rec.lsn, std::move(v));
    if (rec.type == batch_middle_type || rec.type == batch_last_type) batch_inner.insert(rec.lsn);
    expect++;
  }
  if (expect != next) {
    fail("the log ends at LSN " + std::to_string(expect) + " but next_lsn() is " + std::to_string(next) + " " +
         where.str());
    return false;
  }
  // Point reads agree with the scan.
  for (int i = 0; i < 3 && next > first; ++i) {
    const std::uint64_t lsn = rnd_.between(first, next - 1);
    Result<Record> rec = store_->read(lsn);
    if (!rec.ok() && config_.latent_faults && rec.status().code() == Errc::corruption) continue;
    if (!rec.ok() || rec->payload != found[lsn].payload || rec->stream != found[lsn].stream)
      fail("read(" + std::to_string(lsn) + ") disagrees with the scan: " +
           (rec.ok() ? std::string("other bytes") : rec.status().to_string()));
  }
  // Application snapshots.
  Result<Snapshot> snap = store_->latest_snapshot();
  const std::optional<std::uint64_t> required_snapshot = model_.required_snapshot(next);
  if (snap.ok()) {
    const SnapshotVerdict verdict = model_.judge_snapshot(snap->lsn, snap->state);
    if (snap->lsn >= next) fail("latest_snapshot() at LSN " + std::to_string(snap->lsn) + " is past the log " + where.str());
    if (verdict == SnapshotVerdict::never_written)
      fail("latest_snapshot() at LSN " + std::to_string(snap->lsn) + " holds a state never written " + where.str());
    if (verdict == SnapshotVerdict::stale) stale_snapshot_returned(snap->lsn);
    if (required_snapshot && snap->lsn < *required_snapshot && !config_.latent_faults)
      fail("latest_snapshot() is at LSN " + std::to_string(snap->lsn) + ", older than the acknowledged snapshot at " +
           std::to_string(*required_snapshot) + " " + where.str());
  } else if (snap.status().code() != Errc::not_found) {
    fail("latest_snapshot() failed: " + snap.status().to_string() + " " + where.str());
  } else if (required_snapshot && !config_.latent_faults) {
    fail("the acknowledged snapshot at LSN " + std::to_string(*required_snapshot) + " is gone " + where.str());
  }
  if (report.acknowledged_data_lost && !accept_reported_loss(where.str())) return false;
  live_.replace(found);
  model_.rebase(first, next, std::move(found), std::move(batch_inner));
  return true;
}

// Recovery reported acknowledged records lost: without injected bit rot that is a false alarm;
// with it, the store must refuse writes (the next append would take a lost LSN again) until it
// is reopened with accept_data_loss, which must keep the log as it is.
bool CrashSim::accept_reported_loss(const std::string &where) {
  const std::uint64_t first = store_->first_lsn(), next = store_->next_lsn();
  if (!config_.latent_faults) {
    fail("recovery reported acknowledged data lost although no fault could lose any " + where);
    return false;
  }
  drop_readers();
  const std::string probe = "probe";
  Result<std::uint64_t> refused = store_->append(std::as_bytes(std::span<const char>(probe.data(), probe.size())));
  if (refused.ok() || refused.status().code() != Errc::data_loss) {
    fail("an append after a reported loss was not refused with data_loss: " +
         (refused.ok() ? "it took LSN " + std::to_string(*refused) : refused.status().to_string()) + " " + where);
    return false;
  }
  (void)store_->close();
  store_.reset();
  Options accept = options_;
  accept.accept_data_loss = true;
  Result<std::unique_ptr<Store>> reopened = Store::open(store_dir_, accept);
  if (!reopened.ok()) {
    if (reopened.status().code() == Errc::corruption) {
      stats_.latent_detected++;  // more rot met by the reopen's reads
      return false;
    }
    fail("reopening with accept_data_loss failed: " + reopened.status().to_string() + " " + where);
    return false;
  }
  store_ = std::move(*reopened);
  trace("  loss accepted: " + store_->recovery_report().to_string());
  if (store_->first_lsn() != first || store_->next_lsn() != next) {
    fail("accepting the loss changed the log to [" + std::to_string(store_->first_lsn()) + ", " +
         std::to_string(store_->next_lsn()) + ") " + where);
    return false;
  }
  stats_.losses_accepted++;
  return true;
}

void CrashSim::note_fault_events() {
  for (const SimDisk::FaultEvent &e : disk_->take_fault_events()) {
    // A failed data sync of a segment that is still part of the store (the preallocator
    // removes a segment whose preparation failed) must turn the store read-only.
    if (e.fault != SimFault::sync_eio || e.path.size() < 4 || e.path.compare(e.path.size() - 4, 4, ".seg") != 0)
      continue;
    if (e.generation != disk_->generation()) continue;
    // Only a segment holding records (its header block written) counts: the preallocator's own
    // failed sync of a fresh segment removes that segment and is no loss.
    if (!e.head_written) continue;
    if (!read_only_expected_ && !in_doomed_phase_) {
      // The simulated queue runs a group inside reap(), on the engine's reaper thread, so the
      // failure is on record here before the engine has handled the completion: an append
      // right now may still be taken (seed 428 under load, a few runs in 100). sync() waits for
      // every group in flight to be handled, and must fail: from then on appends must too.
      const Status synced = store_->sync();
      trace("  a data sync of " + e.path + " failed: sync() -> " + (synced.ok() ? "ok" : synced.to_string()));
      if (synced.ok()) fail("sync() returned ok after a data sync of " + e.path + " failed");
    }
    read_only_expected_ = true;
  }
}

void CrashSim::after_op() {
  if (!store_) return;
  model_.ack_through(store_->durable_lsn());
  note_fault_events();
  if (!in_doomed_phase_) live_.drop_from(store_->next_lsn());  // truncate_after, reset_to
}

void CrashSim::step_readers() {
  if (!store_) return;
  ReadExcuses excuses;
  excuses.io_error = config_.io_errors;
  excuses.read_only = config_.io_errors || store_failed_ || read_only_expected_;
  excuses.corruption = config_.latent_faults;
  for (LiveReader &reader : readers_) {
    reader.first_moved(store_->first_lsn());
    reader.step(*store_, live_, rnd_, static_cast<unsigned>(rnd_.between(1, 6)), excuses, stats_.readers,
                [this](const std::string &what) { fail(what); });
  }
}

void CrashSim::op_append(SimRandom &r, bool doomed, unsigned count, std::optional<Durability> durability) {
  std::vector<std::vector<std::byte>> payloads;
  std::vector<BatchEntry> entries;
  for (unsigned i = 0; i < count; ++i) {
    const std::uint64_t id = doomed ? (1ull << 62) + doomed_payload_ids_++ : payload_ids_++;
    payloads.push_back(payload(id, count == 1 ? payload_size(r) : static_cast<std::size_t>(r.below(1000))));
  }
  for (unsigned i = 0; i < count; ++i)
    entries.push_back({static_cast<std::uint32_t>(r.below(streams_max)), payloads[i]});
  const bool async = count == 1 && !durability && r.chance(0.3);
  const Durability mode = async ? Durability::none : durability.value_or(options_.durability);
  const std::uint64_t before = store_->next_lsn();
  Result<std::uint64_t> got = async ? store_->append_async(payloads[0], entries[0].stream)
                                    : count == 1 && !durability ? store_->append(payloads[0], entries[0].stream)
                                                                : store_->append_batch(entries, mode);
  const std::uint64_t after = store_->next_lsn();
  last_op_ = std::string(async ? "append_async" : "append") + " of " + std::to_string(count) + " (" +
             durability_name(mode) + ") at LSN " + std::to_string(before);
  result(got.status());
  if (got.ok()) {
    if (*got != before) fail("append returned LSN " + std::to_string(*got) + ", next_lsn() was " + std::to_string(before));
    if (read_only_expected_) fail("append accepted after a failed data sync");
    for (unsigned i = 0; i < count; ++i) {
      model_.appended(*got + i, Version{entries[i].stream, payloads[i]});
      if (!doomed) live_.set(*got + i, Version{entries[i].stream, payloads[i]});
      if (i > 0) model_.batch_continues_at(*got + i);
    }
    stats_.records_appended += count;
    if (mode == Durability::sync) model_.ack_through(*got + count);
    if (mode != Durability::sync) async_lsns_.push_back(*got + count - 1);
    return;
  }
  // Failed: the records may have been given LSNs [before, after) all the same.
  if (after == before + count)
    for (unsigned i = 0; i < count; ++i) {
      model_.appended(before + i, Version{entries[i].stream, payloads[i]});
      if (!doomed) live_.set(before + i, Version{entries[i].stream, payloads[i]});
      if (i > 0) model_.batch_continues_at(before + i);
    }
  if (read_only_expected_ && !in_doomed_phase_) {
    if (got.status().code() == Errc::read_only) stats_.read_only_checks++;
    else fail("append after a failed data sync returned " + got.status().to_string() + ", not read_only");
  }
  if (got.status().code() == Errc::record_too_large || got.status().code() == Errc::invalid_argument)
    fail("append refused: " + got.status().to_string());
}

void CrashSim::op_wait_durable(SimRandom &r) {
  if (async_lsns_.empty()) return;
  const std::size_t pick = static_cast<std::size_t>(r.below(async_lsns_.size()));
  const std::uint64_t lsn = async_lsns_[pick];
  async_lsns_.erase(async_lsns_.begin() + static_cast<std::ptrdiff_t>(pick));
  if (lsn < store_->first_lsn() || lsn >= store_->next_lsn()) return;  // truncated or trimmed since
  last_op_ = "wait_durable(" + std::to_string(lsn) + ")";
  Status s = store_->wait_durable(lsn);
  result(s);
  if (s.ok()) model_.ack_through(lsn + 1);
}

void CrashSim::op_sync() {
  const std::uint64_t next = store_->next_lsn();
  last_op_ = "sync() at next LSN " + std::to_string(next);
  Status s = store_->sync();
  result(s);
  if (s.ok()) model_.ack_through(next);
}

void CrashSim::op_read(SimRandom &r) {
  const std::uint64_t first = store_->first_lsn(), next = store_->next_lsn();
  if (next == first) return;
  const std::uint64_t lsn = r.between(first, next - 1);
  last_op_ = "read(" + std::to_string(lsn) + ")";
  Result<Record> rec = store_->read(lsn);
  result(rec.status());
  if (!rec.ok()) {
    const Errc code = rec.status().code();
    // A record whose write failed reads as io_error naming that write (Seed7483), never as
    // corruption.
    const bool excused = ((config_.io_errors || in_doomed_phase_) && code == Errc::io_error) ||
                         (config_.latent_faults && code == Errc::corruption);
    if (!excused) fail("read(" + std::to_string(lsn) + ") failed: " + rec.status().to_string());
    return;
  }
  if (!model_.may_hold(lsn, Version{rec->stream, rec->payload}))
    fail("read(" + std::to_string(lsn) + ") returned a record never written there");
}

void CrashSim::op_truncate(SimRandom &r) {
  const std::uint64_t first = store_->first_lsn(), next = store_->next_lsn();
  if (next == first) return;
  // keep = first - 1 .. next - 1; mostly near the end.
  const std::uint64_t back = std::min<std::uint64_t>(next - first, r.chance(0.8) ? r.between(1, 8) : r.below(next - first + 1));
  const std::uint64_t keep = next - back;  // records >= keep go; truncate_after(keep - 1)
  if (keep == 0) return;
  last_op_ = "truncate_after(" + std::to_string(keep - 1) + ")";
  Status s = store_->truncate_after(keep - 1);
  result(s);
  if (s.code() == Errc::splits_batch) {  // refused, nothing changed
    if (!model_.splits_batch(keep)) fail("truncate_after refused a cut outside any batch: " + s.to_string());
    return;
  }
  model_.truncated(keep, s.ok());
  if (s.ok() && store_->next_lsn() != keep)
    fail("truncate_after(" + std::to_string(keep - 1) + ") left next_lsn() at " + std::to_string(store_->next_lsn()));
  // truncate_after reads the block holding the cut before it changes anything: injected bit rot
  // or a misdirected read there is detected as corruption, and the truncate refused.
  const bool latent_detected = config_.latent_faults && s.code() == Errc::corruption;
  if (!s.ok() && !is_io_failure(s.code()) && !latent_detected) fail("truncate_after failed: " + s.to_string());
  async_lsns_.clear();
}

void CrashSim::op_trim(SimRandom &r) {
  const std::uint64_t first = store_->first_lsn(), next = store_->next_lsn();
  const std::uint64_t lsn = r.between(first, next);
  last_op_ = "trim_before(" + std::to_string(lsn) + ")";
  Status s = store_->trim_before(lsn);
  result(s);
  model_.trimmed(lsn, s.ok());
  if (s.ok() && store_->first_lsn() < lsn)
    fail("trim_before(" + std::to_string(lsn) + ") left first_lsn() at " + std::to_string(store_->first_lsn()));
  if (!s.ok() && !is_io_failure(s.code())) fail("trim_before failed: " + s.to_string());
}

void CrashSim::op_reset(SimRandom &r) {
  const std::uint64_t next = store_->next_lsn();
  const std::uint64_t lsn = r.chance(0.7) ? next + r.below(100) : r.below(next + 1);
  last_op_ = "reset_to(" + std::to_string(lsn) + ")";
  Status s = store_->reset_to(lsn);
  result(s);
  if (s.ok()) {
    model_.reset(lsn);
    if (store_->first_lsn() != lsn || store_->next_lsn() != lsn) fail("reset_to left the log at other LSNs");
  } else {
    if (!is_io_failure(s.code())) fail("reset_to failed: " + s.to_string());
    model_.reset_failed(lsn);  // read-only now; either outcome may be on disk: the next recovery decides
  }
  async_lsns_.clear();
}

void CrashSim::op_write_snapshot(SimRandom &r, bool doomed) {
  const std::uint64_t first = store_->first_lsn(), next = store_->next_lsn();
  if (next == first) return;
  const std::uint64_t lsn = r.chance(0.6) ? next - 1 : r.between(first, next - 1);
  const std::uint64_t id = doomed ? (1ull << 61) + doomed_payload_ids_++ : payload_ids_++;
  std::vector<std::byte> state = payload(id, static_cast<std::size_t>(r.below(600)));
  last_op_ = "write_snapshot(" + std::to_string(lsn) + ")";
  model_.snapshot_written(lsn, state);
  Status s = store_->write_snapshot(lsn, state);
  result(s);
  if (s.ok()) {
    model_.snapshot_acked(lsn, options_.snapshots_kept);
    model_.ack_through(lsn + 1);  // a snapshot is written only over durable records
    if (doomed) return;
    // What was just written is the newest snapshot the log can use, or one newer is.
    Result<Snapshot> latest = store_->latest_snapshot();
    const std::uint64_t next = store_->next_lsn();
    if (!latest.ok() && latest.status().code() == Errc::io_error && config_.io_errors) return;  // injected
    if (config_.latent_faults) return;  // a rotted newer snapshot counts for the pruning
    if (!latest.ok() || latest->lsn < lsn)
      fail("write_snapshot(" + std::to_string(lsn) + ") returned ok, then latest_snapshot() gave " +
           (latest.ok() ? "LSN " + std::to_string(latest->lsn) : latest.status().to_string()) + " (next LSN " +
           std::to_string(next) + ")");
    return;
  }
  model_.snapshot_failed(lsn, options_.snapshots_kept);
  if (!is_io_failure(s.code())) fail("write_snapshot(" + std::to_string(lsn) + ") failed: " + s.to_string());
}

void CrashSim::op_check_snapshot() {
  last_op_ = "latest_snapshot()";
  Result<Snapshot> snap = store_->latest_snapshot();
  result(snap.status());
  if (snap.ok()) last_result_ = "LSN " + std::to_string(snap->lsn);
  if (!snap.ok()) {
    if (snap.status().code() != Errc::not_found && !is_io_failure(snap.status().code()))
      fail("latest_snapshot() failed: " + snap.status().to_string());
    return;
  }
  if (snap->lsn >= store_->next_lsn()) fail("latest_snapshot() is past the end of the log");
  const SnapshotVerdict verdict = model_.judge_snapshot(snap->lsn, snap->state);
  if (verdict == SnapshotVerdict::never_written) fail("latest_snapshot() holds a state never written");
  if (verdict == SnapshotVerdict::stale) stale_snapshot_returned(snap->lsn);
}

// The next data sync of a segment fails; a sync append must fail and the store refuse appends
// from then on (read-only until reopened), while reads keep working.
void CrashSim::op_fsync_failure() {
  disk_->arm({testing::SimOp::sync, 1, SimFault::sync_eio, ".seg"});
  last_op_ = "sync append with an injected fdatasync failure";
  std::vector<std::byte> bytes = payload(payload_ids_++, 64);
  const std::uint64_t before = store_->next_lsn();
  Result<std::uint64_t> got = store_->append(bytes, 0, Durability::sync);
  result(got.status());
  if (store_->next_lsn() == before + 1) {
    model_.appended(before, Version{0, bytes});
    live_.set(before, Version{0, bytes});
  }
  if (got.ok()) {
    stats_.records_appended++;
    model_.ack_through(*got + 1);
  }
  disk_->clear_targets();
  after_op();
}

void CrashSim::one_op(SimRandom &r, bool doomed) {
  last_op_.clear();
  last_result_.clear();
  one_op_inner(r, doomed);
  if (!last_op_.empty())
    trace(std::string(doomed ? "[doomed] " : "") + last_op_ + " -> " + last_result_ + "; durable_lsn " +
          std::to_string(store_->durable_lsn()) + ", acked_end " + std::to_string(model_.acked_end));
}

void CrashSim::one_op_inner(SimRandom &r, bool doomed) {
  const std::uint64_t u = r.below(1000);
  if (u < 420) {
    op_append(r, doomed, 1, r.chance(0.2) ? std::optional<Durability>(pick_durability(r)) : std::nullopt);
  } else if (u < 520) {
    op_append(r, doomed, static_cast<unsigned>(r.between(2, 6)), std::nullopt);
  } else if (u < 580) {
    if (!doomed) op_wait_durable(r);
  } else if (u < 640) {
    op_sync();
  } else if (u < 730) {
    op_read(r);
  } else if (u < 790) {
    op_write_snapshot(r, doomed);
  } else if (u < 830) {
    op_check_snapshot();
  } else if (u < 870) {
    op_truncate(r);
  } else if (u < 920) {
    op_trim(r);
  } else if (u < 926) {
    if (!doomed) op_reset(r);
  } else if (u < 950) {
    if (!doomed && config_.io_errors) op_fsync_failure();
  } else {
    op_append(r, doomed, 1, Durability::sync);
  }
  if (!doomed) after_op();
}

void CrashSim::workload(unsigned ops) {
  for (unsigned i = 0; i < ops && !failed(); ++i) {
    one_op(rnd_, false);
    stats_.ops++;
    if (!failed()) step_readers();
  }
}

// Power cut. With hold_in_flight, queued groups stop completing and a second thread keeps
// operating until one is stuck in flight (or it finished), then the power goes.
void CrashSim::crash_now(bool hold_in_flight) {
  std::thread doomed;
  std::atomic<bool> doomed_done{false};
  if (hold_in_flight) {
    disk_->hold_writes(true);
    const std::uint64_t ops = rnd_.between(1, 6);
    SimRandom r(rnd_.next());
    in_doomed_phase_ = true;
    doomed = std::thread([this, ops, r, &doomed_done]() mutable {
      for (std::uint64_t i = 0; i < ops; ++i) one_op(r, true);
      doomed_done = true;
      disk_->poke();
    });
    disk_->wait_for_in_flight(1, [&] { return doomed_done.load(); });
  }
  trace(hold_in_flight ? "power cut with groups held in flight" : "power cut between operations");
  disk_->crash();
  stats_.crashes++;
  if (doomed.joinable()) doomed.join();
  in_doomed_phase_ = false;
  // The old store is abandoned: every handle it holds fails now; destroying it (and the
  // iterators on it) must not hang.
  drop_readers();
  store_.reset();
  async_lsns_.clear();
  read_only_expected_ = false;
  store_failed_ = false;
  (void)disk_->take_fault_events();
}

bool CrashSim::clean_reopen() {
  const std::uint64_t next = store_->next_lsn();
  last_op_ = "close()";
  Status closed = store_->close();
  if (closed.ok()) {
    model_.ack_through(next);
  } else if (!read_only_expected_ && !is_io_failure(closed.code())) {
    fail("close() failed: " + closed.to_string());
  }
  // Iterators that outlive close() answer store_closed.
  for (LiveReader &reader : readers_)
    reader.after_close(closed.code(), stats_.readers, [this](const std::string &what) { fail(what); });
  store_.reset();
  async_lsns_.clear();
  read_only_expected_ = false;
  store_failed_ = false;
  (void)disk_->take_fault_events();
  return true;
}

void CrashSim::run() {
  disk_ = SimDisk::make(config_.seed, config_.host_dir);
  store_dir_ = config_.host_dir + "/store";  // on the simulated disk, events.log included
  testing::SimCrashModel crash_model;
  if (config_.latent_faults) crash_model.bit_flips_per_crash = 0.5;
  disk_->set_crash_model(crash_model);
  disk_->set_sync_writes(config_.linked_sync ? io::SyncWrites::linked : io::SyncWrites::dsync);
  testing::SimFaultRates rates;
  if (config_.io_errors) {
    rates.write_eio = 0.002;
    rates.write_enospc = 0.001;
    rates.short_write = 0.001;
    rates.sync_eio = 0.002;
    rates.sync_dir_eio = 0.001;
    rates.allocate_enospc = 0.01;
    rates.read_eio = 0.001;
  }
  if (config_.latent_faults) rates.misdirected_read = 0.002;
  stats_.seeds++;
  // Store::open() creates the store's directory on the simulated disk, durably in its parent.
  if (!open_store()) return;
  if (!check_recovered(false)) return;
  if (config_.threads) {
    for (cycle_ = 1; cycle_ <= config_.cycles && !failed() && store_; ++cycle_) run_threaded_cycle();
    if (store_) {
      (void)store_->close();
      store_.reset();
    }
    const testing::SimFaultCounts counts = disk_->faults();
    for (std::size_t i = 0; i < counts.size(); ++i) stats_.faults[i] += counts[i];
    return;
  }
  for (cycle_ = 1; cycle_ <= config_.cycles && !failed(); ++cycle_) {
    if (cycle_ > 1 || true) {
      std::vector<std::string> keep;
      if (!trace_.empty()) keep.push_back(trace_.back());
      trace_ = std::move(keep);
    }
    const unsigned ops = static_cast<unsigned>(rnd_.between(1, config_.ops_per_cycle_max));
    rates_ = rnd_.chance(0.6) ? rates : testing::SimFaultRates{};
    disk_->set_fault_rates(rates_);
    workload(ops);
    if (failed()) break;
    const std::uint64_t end = rnd_.below(10);
    const bool clean = end == 0;
    if (clean) {
      clean_reopen();
    } else {
      crash_now(end >= 5);
    }
    disk_->set_fault_rates(testing::SimFaultRates{});
    if (!open_store()) break;
    stats_.cycles++;
    if (!check_recovered(!clean)) break;
    if (config_.verbose)
      std::fprintf(stderr, "seed %llu cycle %u: %u ops, log [%llu, %llu)\n", static_cast<unsigned long long>(config_.seed),
                   cycle_, ops, static_cast<unsigned long long>(store_->first_lsn()),
                   static_cast<unsigned long long>(store_->next_lsn()));
  }
  drop_readers();
  if (store_) {
    disk_->set_fault_rates(testing::SimFaultRates{});
    (void)store_->close();
    store_.reset();
  }
  const testing::SimFaultCounts counts = disk_->faults();
  for (std::size_t i = 0; i < counts.size(); ++i) stats_.faults[i] += counts[i];
}

// Real appender threads, crashed at a moment chosen by the seed (the interleaving is not):
// acknowledged records must survive with their payloads, the log must stay a dense prefix, and
// every record must be one a thread appended (payloads name their writer and sequence number).
// 16 to 64 writers mix every way of appending, so that many threads wait for durability at
// once in every role of group commit (leader, follower, reaper thread): sync appends, async
// appends followed by wait_durable, appends in none and interval mode acknowledged by a later
// sync() of the same thread.
const char *append_kind_name(std::uint64_t how) {
  switch (how) {
    case 1: return "async + wait_durable";
    case 2: return "none + sync()";
    case 3: return "interval + sync()";
    default: return "sync append";
  }
}

// Threads mode: one removal racing the writers and readers: trim_before, truncate_after of
// the newest 1-20 records, or (rarely) reset_to just past the end.
void CrashSim::remove_racing(SimRandom &r, RaceLog &race) {
  const std::uint64_t first = store_->first_lsn(), next = store_->next_lsn();
  const std::uint64_t u = r.below(10);
  if (u < 5) {
    const std::uint64_t lsn = r.between(first, next);
    race.trim_asked(lsn);
    const Status s = store_->trim_before(lsn);
    trace("[remover] trim_before(" + std::to_string(lsn) + ") in [" + std::to_string(first) + ", " +
          std::to_string(next) + ") -> " + (s.ok() ? "ok" : s.to_string()));
    return;
  }
  const std::uint64_t keep = u < 9 ? next - std::min<std::uint64_t>(next - first, r.between(1, 20)) : 0;
  if (u < 9 && keep == 0) return;
  race.removal_began();
  const std::uint64_t start = race.tick();
  const Status s = u < 9 ? store_->truncate_after(keep - 1) : store_->reset_to(next + r.below(4));
  race.removal_ended(keep, start, race.tick(), s.ok());
  trace(std::string("[remover] ") + (u < 9 ? "truncate_after(" + std::to_string(keep - 1) + ")" : "reset_to") +
        " in [" + std::to_string(first) + ", " + std::to_string(next) + ") -> " + (s.ok() ? "ok" : s.to_string()) +
        "; log now [" + std::to_string(store_->first_lsn()) + ", " + std::to_string(store_->next_lsn()) + ")");
}

void CrashSim::run_threaded_cycle() {
  const unsigned writers = static_cast<unsigned>(rnd_.between(16, 64));
  struct Acked {
    std::uint64_t lsn;
    std::vector<std::byte> payload;
    std::uint32_t stream;
    std::uint64_t began;  // RaceLog tick before the append
  };
  RaceLog race;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Acked> acked;
  std::map<std::uint32_t, std::vector<Acked>> unsynced;  // none/interval appends, acknowledged by a later sync()
  std::map<std::pair<std::uint32_t, std::uint64_t>, bool> attempted;  // (writer, seq)
  unsigned done = 0;
  const std::uint64_t ops_each = rnd_.between(3, config_.ops_per_cycle_max / 8 + 3);
  const std::uint64_t crash_after = rnd_.below(ops_each * writers);
  const std::uint64_t base_id = payload_ids_;
  payload_ids_ += 1ull << 20;
  auto body = [&](std::uint32_t w, std::uint64_t seq) {
    std::vector<std::byte> bytes = payload(base_id + (std::uint64_t{w} << 16) + seq, 8 + static_cast<std::size_t>((seq * 131 + w * 17) % 900));
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<std::byte>(w >> (8 * i));
    for (int i = 0; i < 4; ++i) bytes[4 + i] = static_cast<std::byte>(seq >> (8 * i));
    return bytes;
  };
  std::vector<std::thread> threads;
  for (std::uint32_t w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (std::uint64_t seq = 0; seq < ops_each; ++seq) {
        std::vector<std::byte> bytes = body(w, seq);
        {
          std::lock_guard lock(mu);
          attempted[{w, seq}] = true;
        }
        const std::uint64_t how = (seq + w) % 5;
        const std::uint64_t began = race.tick();
        Result<std::uint64_t> got = how == 0   ? store_->append(bytes, w, Durability::sync)
                                    : how == 1 ? store_->append_async(bytes, w)
                                    : how == 2 ? store_->append(bytes, w, Durability::none)
                                    : how == 3 ? store_->append(bytes, w, Durability::interval)
                                               : store_->append(bytes, w, Durability::sync);
        if (!got.ok()) break;
        race.appended(w, seq, *got, race.tick());
        if (how == 1 && !store_->wait_durable(*got).ok()) continue;
        std::lock_guard lock(mu);
        if (how == 2 || how == 3) {
          unsynced[w].push_back({*got, std::move(bytes), w, began});
          continue;
        }
        acked.push_back({*got, std::move(bytes), w, began});
        cv.notify_all();
      }
      // sync() makes every record appended so far durable: this writer's none and interval
      // appends are acknowledged once it returns ok.
      const bool synced = store_->sync().ok();
      std::lock_guard lock(mu);
      if (synced)
        for (Acked &a : unsynced[w]) acked.push_back(std::move(a));
      done++;
      cv.notify_all();
    });
  }
  // Readers of the live log and a remover race the writers (threaded_readers below).
  std::atomic<bool> crashing{false}, stop_readers{false};
  ThreadedReaders readers(*store_, race, crashing, stop_readers, body, writers, threaded_next_, rnd_.next());
  std::thread remover;
  if (rnd_.chance(0.7)) {
    const std::uint64_t removals = rnd_.between(1, 4);
    SimRandom r(rnd_.next());
    remover = std::thread([&, removals, r]() mutable {
      for (std::uint64_t k = 1; k <= removals; ++k) {
        {
          // The k-th removal once the writers acknowledged k / (removals + 1) of the records
          // before the crash: spread over the cycle, not timed.
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return acked.size() * (removals + 1) >= crash_after * k || done == writers || crashing.load(); });
          if (done == writers || crashing.load()) return;
        }
        remove_racing(r, race);
      }
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return acked.size() >= crash_after || done == writers; });
  }
  const bool hold = rnd_.chance(0.5);
  crashing = true;
  cv.notify_all();
  if (hold) disk_->hold_writes(true);
  disk_->crash();
  stats_.crashes++;
  for (std::thread &t : threads) t.join();
  if (remover.joinable()) remover.join();
  readers.stop();
  for (const std::string &f : readers.failures()) fail("threads: " + f);
  stats_.readers.records += readers.records();
  store_.reset();
  disk_->take_fault_events();
  if (!open_store()) return;
  stats_.cycles++;
  const std::uint64_t first = store_->first_lsn(), next = store_->next_lsn();
  std::map<std::uint64_t, Acked> want;
  for (Acked &a : acked) want[a.lsn] = std::move(a);
  const std::uint64_t trim_max = race.trim_max();
  for (const auto &[lsn, a] : want) {
    Result<Record> rec = store_->read(lsn);
    const bool intact = rec.ok() && rec->payload == a.payload && rec->stream == a.stream;
    // Gone by a removal that had not returned when the append began, or trimmed away.
    if (!intact && (race.may_be_removed(lsn, a.began) || (lsn < trim_max && lsn < first))) continue;
    if (!intact) {
      stats_.records_lost++;
      std::uint64_t seq = 0;
      for (int i = 0; i < 4; ++i) seq |= std::to_integer<std::uint64_t>(a.payload[4 + i]) << (8 * i);
      fail("threads: acknowledged LSN " + std::to_string(lsn) + " (" + append_kind_name((seq + a.stream) % 5) +
           (hold ? ", crash with writes held" : ", crash") + ") " +
           (rec.ok() ? "holds other bytes" : rec.status().to_string()) + "; log [" + std::to_string(first) + ", " +
           std::to_string(next) + "); " + store_->recovery_report().to_string());
      if (config_.verbose)
        for (const std::string &line : disk_->last_crash_log()) std::fprintf(stderr, "  crash: %s\n", line.c_str());
      return;
    }
    stats_.acked_checked++;
  }
  Result<Iterator> it = store_->scan(first);
  if (!it.ok()) return fail("threads: scan failed: " + it.status().to_string());
  std::uint64_t expect = first;
  while (true) {
    Result<bool> more = it->next();
    if (!more.ok()) return fail("threads: reading LSN " + std::to_string(expect) + ": " + more.status().to_string());
    if (!*more) break;
    const RecordView &rec = it->record();
    if (rec.lsn != expect) return fail("threads: LSN " + std::to_string(rec.lsn) + " where " + std::to_string(expect) + " was expected");
    bool known = false;
    if (rec.payload.size() >= 8 && rec.stream < writers) {
      std::uint32_t w = 0;
      std::uint64_t seq = 0;
      for (int i = 0; i < 4; ++i) w |= std::to_integer<std::uint32_t>(rec.payload[i]) << (8 * i);
      for (int i = 0; i < 4; ++i) seq |= std::to_integer<std::uint64_t>(rec.payload[4 + i]) << (8 * i);
      const std::vector<std::byte> expected = body(w, seq);
      known = w == rec.stream && attempted.count({w, seq}) &&
              std::equal(expected.begin(), expected.end(), rec.payload.begin(), rec.payload.end());
    }
    // Records from earlier cycles carry other payload ids: accept those below this cycle's start.
    if (!known && rec.lsn >= threaded_next_) return fail("threads: LSN " + std::to_string(rec.lsn) + " holds a record no writer appended");
    stats_.records_checked++;
    expect++;
  }
  if (expect != next) return fail("threads: the log ends at " + std::to_string(expect) + ", next_lsn() is " + std::to_string(next));
  // What a durable_only reader returned was durable: it survived the crash unless removed.
  for (const ThreadedReaders::Durable &d : readers.durable_returned()) {
    if (race.may_be_removed(d.lsn, 0) || (d.lsn < trim_max && d.lsn < first)) continue;
    Result<Record> rec = store_->read(d.lsn);
    if (!rec.ok() || rec->payload != d.payload || rec->stream != d.stream)
      return fail("threads: LSN " + std::to_string(d.lsn) + " that a durable_only reader returned is " +
                  (rec.ok() ? "other bytes" : rec.status().to_string()) + " after the crash; " +
                  store_->recovery_report().to_string());
    stats_.acked_checked++;
  }
  threaded_next_ = next;
}

}  // namespace

void CrashSimStats::add(const CrashSimStats &o) {
  seeds += o.seeds;
  cycles += o.cycles;
  crashes += o.crashes;
  interrupted_recoveries += o.interrupted_recoveries;
  ops += o.ops;
  records_appended += o.records_appended;
  acked_checked += o.acked_checked;
  records_checked += o.records_checked;
  records_lost += o.records_lost;
  lost_to_latent += o.lost_to_latent;
  lost_to_failed_open_cut += o.lost_to_failed_open_cut;
  losses_accepted += o.losses_accepted;
  read_only_checks += o.read_only_checks;
  stale_snapshots += o.stale_snapshots;
  known_bug_hits += o.known_bug_hits;
  latent_detected += o.latent_detected;
  readers.records += o.readers.records;
  readers.ends += o.readers.ends;
  readers.errors += o.readers.errors;
  readers.closed_checks += o.readers.closed_checks;
  for (std::size_t i = 0; i < faults.size(); ++i) faults[i] += o.faults[i];
  failures.insert(failures.end(), o.failures.begin(), o.failures.end());
}

std::string CrashSimStats::summary() const {
  std::ostringstream out;
  out << "seeds " << seeds << "\ncycles " << cycles << "\ncrashes " << crashes << "\ninterrupted recoveries "
      << interrupted_recoveries << "\noperations " << ops << "\nrecords appended " << records_appended
      << "\nrecords checked " << records_checked << "\nacknowledged records checked " << acked_checked
      << "\nacknowledged records lost " << records_lost << "\nlost to injected bit rot (reported by recovery) "
      << lost_to_latent << "\n  of which reported only by an open that failed (events.log) " << lost_to_failed_open_cut
      << "\nlosses reported, writes refused, then accepted " << losses_accepted
      << "\nappends refused read-only after a failed data sync " << read_only_checks
      << "\nstale snapshots returned " << stale_snapshots
      << "\nseeds stopped by a known bug (see crash_sim.cc) " << known_bug_hits
      << "\nseeds stopped by injected bit rot, detected as corruption " << latent_detected
      << "\nlive readers (tailers, scan): records checked " << readers.records << ", ends checked " << readers.ends
      << ", documented errors " << readers.errors << ", store_closed after close() " << readers.closed_checks
      << "\nfaults:";
  for (std::size_t i = 0; i < faults.size(); ++i)
    out << " " << testing::sim_fault_name(static_cast<SimFault>(i)) << "=" << faults[i];
  out << "\nfailures " << failures.size() << "\n";
  return out.str();
}

CrashSimStats run_crash_sim(const CrashSimConfig &config) {
  CrashSimStats stats;
  CrashSim sim(config, stats);
  sim.run();
  return stats;
}

}  // namespace segstore::sim
