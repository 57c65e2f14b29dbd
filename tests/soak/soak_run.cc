// tests/soak/soak_run.cc — the soak's lifecycle and its appenders (see soak_run.h).
#include "soak_run.h"

#include <random>

#include "pacing.h"
#include "payload.h"

namespace segstore::soak {
namespace {

// Mostly small records, some of a few KiB, a few large ones (a batch of group commit then
// mixes sizes, and large records cross write-group and block boundaries).
std::size_t payload_size(std::mt19937_64 &rng) {
  std::uint64_t pick = rng() % 100;
  if (pick < 80) return 24 + rng() % 488;
  if (pick < 99) return 512 + rng() % 3584;
  return (16 << 10) + rng() % (48 << 10);
}

}  // namespace

const char *append_mode_name(unsigned mode) {
  static const char *const names[append_mode_count] = {"sync", "interval", "none", "async"};
  return mode < append_mode_count ? names[mode] : "?";
}

SoakRun::SoakRun(SoakConfig config) : config_(std::move(config)), ledger_(config_.writers) {
  for (std::uint32_t w = 0; w < config_.writers; ++w) writer_states_.push_back(std::make_unique<WriterState>());
}

SoakRun::~SoakRun() = default;

Options SoakRun::store_options() const {
  Options options;
  options.segment_bytes = config_.segment_bytes;
  options.durability = Durability::sync;  // each append names its own durability
  options.flush_interval_ms = 10;
  options.snapshots_kept = 3;
  return options;
}

void SoakRun::fail(const std::string &what) {
  {
    std::lock_guard lock(mu_);
    ++totals_.hard_failures;
    if (failures_.size() < 20) failures_.push_back(what);
  }
  std::fprintf(stderr, "soak: FAILURE at %.1f s: %s\n", elapsed_s(), what.c_str());
  request_stop();
}

void SoakRun::record_stall(const std::string &what, std::int64_t started_ns, std::int64_t ended_ns) {
  const std::string message = what + in_flight_now() + probe_syncs_during(started_ns, ended_ns);
  {
    std::lock_guard lock(mu_);
    ++totals_.stalls;
    if (failures_.size() < 20) failures_.push_back(message);
  }
  std::fprintf(stderr, "soak: STALL at %.1f s: %s\n", elapsed_s(), message.c_str());
}

std::string SoakRun::in_flight_now() const {
  const std::int64_t now = now_ns();
  std::string running;
  auto note = [&](const std::atomic<std::int64_t> &started, const char *what) {
    const std::int64_t since = started.load();
    if (since != 0) running += std::string(running.empty() ? "" : ", ") + what + " for " +
                               std::to_string((now - since) / 1'000'000) + " ms";
  };
  note(trim_started_ns_, "trim_before");
  note(snapshot_started_ns_, "write_snapshot");
  note(probe_started_ns_, "a disk probe's fdatasync");
  return running.empty() ? " (nothing else in flight at its end" : " (in flight at its end: " + running;
}

std::vector<std::string> SoakRun::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

void SoakRun::request_stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_requested_.notify_all();
}

bool SoakRun::wait_for_stop(std::chrono::milliseconds period) {
  std::unique_lock lock(mu_);
  return stop_requested_.wait_for(lock, period, [&] { return stopping(); });
}

double SoakRun::elapsed_s() const {
  return std::chrono::duration<double>(Clock::now() - started_).count();
}

void SoakRun::run() {
  started_ = Clock::now();
  Result<std::unique_ptr<Store>> opened = Store::open(config_.dir, store_options());
  if (!opened.ok()) return fail("open " + config_.dir + ": " + opened.status().to_string());
  store_ = std::move(*opened);
  start_lsn_ = store_->next_lsn();

  std::vector<std::thread> threads;
  for (std::uint32_t w = 0; w < config_.writers; ++w) threads.emplace_back([this, w] { run_writer(w); });
  for (std::uint32_t t = 0; t < config_.tailers; ++t) threads.emplace_back([this, t] { run_tailer(t); });
  for (std::uint32_t r = 0; r < config_.readers; ++r) threads.emplace_back([this, r] { run_reader(r); });
  threads.emplace_back([this] { run_retention(); });
  threads.emplace_back([this] { run_snapshots(); });
  threads.emplace_back([this] { run_sampler(); });
  threads.emplace_back([this] { run_disk_probe(); });

  wait_for_stop(std::chrono::milliseconds(static_cast<std::int64_t>(config_.seconds * 1000)));
  totals_.ran_s = elapsed_s();
  request_stop();
  for (std::thread &thread : threads) thread.join();

  for (std::uint32_t w = 0; w < config_.writers; ++w) {
    totals_.latency_by_mode[w % append_mode_count].merge(writer_states_[w]->latency);
    totals_.latency_all.merge(writer_states_[w]->latency);
  }
  Status synced = store_->sync();
  if (!synced.ok()) fail("sync at the end: " + synced.to_string());
  Status closed = store_->close();
  if (!closed.ok()) fail("close: " + closed.to_string());
  store_.reset();
}

// --- writers -----------------------------------------------------------------------------------

void SoakRun::run_writer(std::uint32_t writer) {
  const unsigned mode = writer % append_mode_count;
  WriterState &state = *writer_states_[writer];
  std::mt19937_64 rng(writer * 7919ull + 1);
  std::vector<std::byte> payload;
  Pacer pacer(config_.appends_per_writer_per_s);
  const auto stall_limit_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(config_.stall_limit).count();
  for (std::uint64_t seq = 0; !stopping(); ++seq) {
    pacer.pace();
    make_payload(PayloadId{writer, seq}, payload_size(rng), payload);
    const std::int64_t started = now_ns();
    state.append_started_ns.store(started);
    Status appended = append_one(writer, mode, payload);
    const std::int64_t latency_ns = now_ns() - started;
    state.append_started_ns.store(0);
    if (!appended.ok())
      return fail("writer " + std::to_string(writer) + " (" + append_mode_name(mode) + ") seq " +
                  std::to_string(seq) + ": " + appended.to_string());
    state.latency.add(static_cast<std::uint64_t>(latency_ns));
    if (latency_ns > stall_limit_ns)
      record_stall("writer " + std::to_string(writer) + " (" + append_mode_name(mode) + "): an append took " +
                       std::to_string(latency_ns / 1'000'000) + " ms (stall limit " +
                       std::to_string(config_.stall_limit.count()) + " ms)",
                   started, started + latency_ns);
  }
}

Status SoakRun::append_one(std::uint32_t writer, unsigned mode, std::span<const std::byte> payload) {
  static constexpr Durability durability_of_mode[] = {Durability::sync, Durability::interval, Durability::none};
  const std::uint32_t stream = writer % config_.streams;
  if (mode < 3) {
    Result<std::uint64_t> lsn = store_->append(payload, stream, durability_of_mode[mode]);
    if (!lsn.ok()) return lsn.status();
    ledger_.acknowledge(writer, *lsn);
    return Status();
  }
  // async: the LSN comes back at once; the acknowledgement is wait_durable's return.
  Result<std::uint64_t> lsn = store_->append_async(payload, stream);
  if (!lsn.ok()) return lsn.status();
  ledger_.acknowledge(writer, *lsn);
  return store_->wait_durable(*lsn);
}

}  // namespace segstore::soak
