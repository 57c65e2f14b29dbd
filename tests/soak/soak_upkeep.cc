// tests/soak/soak_upkeep.cc — the soak's retention (check, then trim) and snapshots (soak_run.h).
#include "pacing.h"
#include "payload.h"
#include "soak_run.h"

namespace segstore::soak {
namespace {

// A snapshot's state follows from its LSN, so any later read can check it.
std::vector<std::byte> snapshot_state(std::uint64_t lsn) {
  std::vector<std::byte> state;
  make_payload(PayloadId{~0u, lsn}, 1024 + lsn % (60 << 10), state);
  return state;
}

}  // namespace

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

}  // namespace segstore::soak
