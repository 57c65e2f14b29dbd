// tests/soak/soak_readers.cc — the soak's tailing iterators and random readers (soak_run.h).
#include <random>
#include <variant>

#include "pacing.h"
#include "payload.h"
#include "soak_run.h"

namespace segstore::soak {

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

}  // namespace segstore::soak
