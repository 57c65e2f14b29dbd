// tests/soak/soak_run.cc — the soak's threads (see soak_run.h).
#include "soak_run.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <variant>

#include "payload.h"

namespace segstore::soak {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Mostly small records, some of a few KiB, a few large ones (a batch of group commit then
// mixes sizes, and large records cross write-group and block boundaries).
std::size_t payload_size(std::mt19937_64 &rng) {
  std::uint64_t pick = rng() % 100;
  if (pick < 80) return 24 + rng() % 488;
  if (pick < 99) return 512 + rng() % 3584;
  return (16 << 10) + rng() % (48 << 10);
}

// A snapshot's state follows from its LSN, so any later read can check it.
std::vector<std::byte> snapshot_state(std::uint64_t lsn) {
  std::vector<std::byte> state;
  make_payload(PayloadId{~0u, lsn}, 1024 + lsn % (60 << 10), state);
  return state;
}

// Each thread paces itself: it sleeps to its next due time (pacing, not waiting for an event),
// and never builds a backlog of more than a second after a slow call.
class Pacer {
 public:
  explicit Pacer(std::uint32_t per_second)
      : period_(std::chrono::nanoseconds(1'000'000'000 / std::max<std::uint32_t>(per_second, 1))),
        due_(Clock::now()) {}
  void pace() {
    due_ = std::max(due_ + period_, Clock::now() - std::chrono::seconds(1));
    std::this_thread::sleep_until(due_);
  }

 private:
  Clock::duration period_;
  Clock::time_point due_;
};

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

void SoakRun::record_stall(const std::string &what) {
  const std::string message = what + in_flight_now();
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
  note(probe_started_ns_, "the disk probe's fdatasync");
  return running.empty() ? " (nothing else in flight)" : " (in flight: " + running + ")";
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
           std::to_string(config_.stall_limit.count()) + " ms)");
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

// --- tailers -----------------------------------------------------------------------------------

void SoakRun::run_tailer(std::uint32_t tailer) {
  ScanOptions options;
  options.durable_only = tailer % 2 == 1;
  const bool one_stream = tailer + 2 >= config_.tailers;
  if (one_stream) options.stream = tailer % config_.streams;
  Result<Iterator> it = store_->scan(store_->first_lsn(), options);
  if (!it.ok()) return fail("tailer " + std::to_string(tailer) + ": scan: " + it.status().to_string());
  std::uint64_t expected_lsn = store_->first_lsn(), seen = 0, trim_skips = 0;
  std::vector<std::int64_t> last_seq(config_.writers, -1);
  std::vector<std::uint64_t> last_lsn(config_.writers, 0);
  while (!stopping()) {
    Result<bool> more = it->next_wait(std::chrono::milliseconds(200));
    if (!more.ok()) return fail("tailer " + std::to_string(tailer) + ": next_wait: " + more.status().to_string());
    if (!*more) continue;
    const RecordView &record = it->record();
    if (options.durable_only && record.lsn >= store_->durable_lsn())
      return fail("durable-only tailer " + std::to_string(tailer) + " got LSN " + std::to_string(record.lsn) +
                  " at or past durable_lsn " + std::to_string(store_->durable_lsn()));
    if (options.stream && record.stream != *options.stream)
      return fail("tailer of stream " + std::to_string(*options.stream) + " got a record of stream " +
                  std::to_string(record.stream) + " at LSN " + std::to_string(record.lsn));
    check_tailed(record, expected_lsn, !one_stream, last_seq, last_lsn, trim_skips);
    ++seen;
  }
  std::lock_guard lock(mu_);
  totals_.tailed_records += seen;
  totals_.tailer_trim_skips += trim_skips;
}

// A tailer sees every record in LSN order: the whole log without gaps, and each writer's
// records with consecutive sequence numbers, except where retention trimmed records the tailer
// had not reached yet (the iterator then moves to first_lsn).
void SoakRun::check_tailed(const RecordView &record, std::uint64_t &expected_lsn, bool whole_log,
                           std::vector<std::int64_t> &last_seq, std::vector<std::uint64_t> &last_lsn,
                           std::uint64_t &trim_skips) {
  const std::string at = "tailer at LSN " + std::to_string(record.lsn) + ": ";
  if (record.lsn < expected_lsn) return fail(at + "went back (expected " + std::to_string(expected_lsn) + ")");
  if (whole_log && record.lsn > expected_lsn) {
    if (record.lsn > store_->first_lsn())
      return fail(at + "skipped from " + std::to_string(expected_lsn) + " though nothing was trimmed there");
    ++trim_skips;
  }
  expected_lsn = record.lsn + 1;
  std::variant<PayloadId, std::string> parsed = parse_payload(record.payload);
  if (const std::string *why = std::get_if<std::string>(&parsed)) return fail(at + *why);
  const PayloadId id = std::get<PayloadId>(parsed);
  if (id.writer >= config_.writers || record.stream != id.writer % config_.streams)
    return fail(at + "writer " + std::to_string(id.writer) + " in stream " + std::to_string(record.stream));
  const std::int64_t seq = static_cast<std::int64_t>(id.seq);
  if (last_seq[id.writer] >= 0 && seq != last_seq[id.writer] + 1) {
    if (seq <= last_seq[id.writer] || store_->first_lsn() <= last_lsn[id.writer] + 1)
      return fail(at + "writer " + std::to_string(id.writer) + " seq " + std::to_string(seq) + " after seq " +
                  std::to_string(last_seq[id.writer]));
    ++trim_skips;
  }
  last_seq[id.writer] = seq;
  last_lsn[id.writer] = record.lsn;
}

// --- readers -----------------------------------------------------------------------------------

void SoakRun::run_reader(std::uint32_t reader) {
  std::mt19937_64 rng(reader * 104729ull + 7);
  Pacer pacer(config_.reads_per_reader_per_s);
  std::uint64_t reads = 0, raced_trim = 0;
  while (!stopping()) {
    pacer.pace();
    const std::uint64_t first = store_->first_lsn(), next = store_->next_lsn();
    if (next == first) continue;
    const std::uint64_t lsn = first + rng() % (next - first);
    Result<Record> read = store_->read(lsn);
    const std::string at = "read(" + std::to_string(lsn) + "): ";
    if (!read.ok()) {
      if (read.status().code() == Errc::lsn_out_of_range && lsn < store_->first_lsn()) {
        ++raced_trim;
        continue;
      }
      return fail(at + read.status().to_string() + " (first_lsn " + std::to_string(store_->first_lsn()) + ")");
    }
    if (read->lsn != lsn) return fail(at + "returned LSN " + std::to_string(read->lsn));
    std::variant<PayloadId, std::string> parsed = parse_payload(read->payload);
    if (const std::string *why = std::get_if<std::string>(&parsed)) return fail(at + *why);
    ++reads;
  }
  std::lock_guard lock(mu_);
  totals_.reads += reads;
  totals_.reads_raced_trim += raced_trim;
}

// --- retention ---------------------------------------------------------------------------------

void SoakRun::run_retention() {
  while (!wait_for_stop(std::chrono::milliseconds(1000))) {
    const std::uint64_t first = store_->first_lsn(), durable = store_->durable_lsn();
    if (durable < first + config_.retained_records + config_.trim_step_records) continue;
    // Only durable records are trimmed: their appends have returned or are about to, so the
    // ledger knows (or is about to know) every LSN in the range.
    if (!check_then_trim(first, durable - config_.retained_records)) return;
  }
}

bool SoakRun::check_then_trim(std::uint64_t first, std::uint64_t cut) {
  Result<Iterator> it = store_->scan(first);
  if (!it.ok()) return fail("retention: scan from " + std::to_string(first) + ": " + it.status().to_string()), false;
  for (std::uint64_t lsn = first; lsn < cut; ++lsn) {
    Result<bool> more = it->next();
    if (!more.ok() || !*more || it->record().lsn != lsn)
      return fail("retention: reading LSN " + std::to_string(lsn) + " before the trim: " +
                  (more.ok() ? (*more ? "got LSN " + std::to_string(it->record().lsn) : "end of log")
                             : more.status().to_string())),
             false;
    if (std::optional<std::string> wrong = ledger_.check(lsn, it->record().payload, std::chrono::seconds(10)))
      return fail("retention: " + *wrong), false;
  }
  const std::int64_t trim_started = now_ns();
  trim_started_ns_.store(trim_started);
  Status trimmed = store_->trim_before(cut);
  trim_started_ns_.store(0);
  const std::int64_t trim_ns = now_ns() - trim_started;
  if (!trimmed.ok()) return fail("trim_before(" + std::to_string(cut) + "): " + trimmed.to_string()), false;
  if (store_->first_lsn() != cut)
    return fail("trim_before(" + std::to_string(cut) + ") left first_lsn at " + std::to_string(store_->first_lsn())),
           false;
  const std::uint64_t segments = store_->stats().segment_count;
  std::lock_guard lock(mu_);
  totals_.trim_latency.add(static_cast<std::uint64_t>(trim_ns));
  ++totals_.trims;
  totals_.records_trimmed += cut - first;
  totals_.segments_min = std::min(totals_.segments_min, segments);
  totals_.segments_max = std::max(totals_.segments_max, segments);
  return true;
}

// --- snapshots ---------------------------------------------------------------------------------

void SoakRun::run_snapshots() {
  while (!wait_for_stop(std::chrono::milliseconds(500))) {
    const std::uint64_t first = store_->first_lsn(), durable = store_->durable_lsn();
    if (durable <= first) continue;
    const std::uint64_t lsn = durable - 1;
    const std::vector<std::byte> state = snapshot_state(lsn);
    const std::int64_t snapshot_started = now_ns();
    snapshot_started_ns_.store(snapshot_started);
    Status written = store_->write_snapshot(lsn, state);
    snapshot_started_ns_.store(0);
    const std::int64_t snapshot_ns = now_ns() - snapshot_started;
    if (!written.ok()) {
      if (written.code() == Errc::lsn_out_of_range && lsn < store_->first_lsn()) {
        std::lock_guard lock(mu_);
        ++totals_.snapshots_raced_trim;
        continue;
      }
      return fail("write_snapshot(" + std::to_string(lsn) + "): " + written.to_string());
    }
    Result<Snapshot> latest = store_->latest_snapshot();
    if (!latest.ok()) return fail("latest_snapshot after writing " + std::to_string(lsn) + ": " + latest.status().to_string());
    if (latest->lsn != lsn || latest->state != state)
      return fail("latest_snapshot returned LSN " + std::to_string(latest->lsn) + " (" +
                  std::to_string(latest->state.size()) + " bytes) after writing LSN " + std::to_string(lsn));
    std::lock_guard lock(mu_);
    totals_.snapshot_latency.add(static_cast<std::uint64_t>(snapshot_ns));
    ++totals_.snapshots_written;
    ++totals_.snapshots_read_back;
  }
}

// --- sampler -----------------------------------------------------------------------------------

void SoakRun::run_sampler() {
  double next_sample_s = config_.warmup_s;
  while (!wait_for_stop(std::chrono::milliseconds(1000))) {
    watch_appends_in_flight();
    if (elapsed_s() < next_sample_s) continue;
    ResourceSample sample = sample_resources(elapsed_s());
    std::fprintf(stderr, "soak: %6.0f s  RSS %7.1f MiB  fds %4llu  load %.2f  acknowledged %llu\n", sample.elapsed_s,
                 static_cast<double>(sample.rss_bytes) / (1 << 20), static_cast<unsigned long long>(sample.open_fds),
                 sample.load_average_1m, static_cast<unsigned long long>(ledger_.acknowledged()));
    std::lock_guard lock(mu_);
    totals_.samples.push_back(sample);
    next_sample_s += config_.sample_period_s;
  }
}

// An append that never returns would hang the run: past the hang limit the process ends with
// a message (the store's files stay for inspection).
void SoakRun::watch_appends_in_flight() {
  const std::int64_t now = now_ns();
  std::int64_t longest_ns = 0;
  for (const auto &state : writer_states_) {
    const std::int64_t started = state->append_started_ns.load();
    if (started != 0) longest_ns = std::max(longest_ns, now - started);
  }
  {
    std::lock_guard lock(mu_);
    totals_.longest_in_flight_ms = std::max<std::uint64_t>(totals_.longest_in_flight_ms, longest_ns / 1'000'000);
  }
  if (longest_ns > std::chrono::duration_cast<std::chrono::nanoseconds>(config_.hang_limit).count()) {
    std::fprintf(stderr, "SOAK FAILED: an append has been in flight for %lld s (hang limit %lld s); store left in %s\n",
                 static_cast<long long>(longest_ns / 1'000'000'000), static_cast<long long>(config_.hang_limit.count()),
                 config_.dir.c_str());
    std::_Exit(1);
  }
}

// --- disk probe --------------------------------------------------------------------------------

// The same device without segstore: a 4 KiB overwrite + fdatasync of one file beside the store.
// A stall of the store while the probe's sync also took long is the machine's, not the engine's.
void SoakRun::run_disk_probe() {
  const std::string path = std::filesystem::path(config_.dir).parent_path() / "disk-probe";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0640);
  if (fd < 0) return fail("disk probe: open " + path + ": " + std::strerror(errno));
  std::vector<char> block(4096, 'p');
  LatencyHistogram latency;
  while (!wait_for_stop(std::chrono::milliseconds(100))) {
    const std::int64_t started = now_ns();
    probe_started_ns_.store(started);
    const bool synced = ::pwrite(fd, block.data(), block.size(), 0) == static_cast<ssize_t>(block.size()) &&
                        ::fdatasync(fd) == 0;
    probe_started_ns_.store(0);
    if (!synced) {
      fail("disk probe: write or fdatasync of " + path + ": " + std::strerror(errno));
      break;
    }
    latency.add(static_cast<std::uint64_t>(now_ns() - started));
  }
  ::close(fd);
  ::unlink(path.c_str());
  std::lock_guard lock(mu_);
  totals_.probe_sync_latency.merge(latency);
}

}  // namespace segstore::soak
