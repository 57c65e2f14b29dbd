// tests/soak/ack_ledger.cc — see ack_ledger.h.
#include "ack_ledger.h"

#include <variant>

#include "payload.h"

namespace segstore::soak {

AckLedger::AckLedger(std::uint32_t writers) {
  for (std::uint32_t w = 0; w < writers; ++w) writers_.push_back(std::make_unique<WriterLedger>());
}

void AckLedger::acknowledge(std::uint32_t writer, std::uint64_t lsn) {
  WriterLedger &ledger = *writers_.at(writer);
  {
    std::lock_guard lock(ledger.mu);
    ledger.unchecked_lsns.push_back(lsn);
    ++ledger.acknowledged;
  }
  ledger.reported.notify_all();
}

std::optional<std::string> AckLedger::check(std::uint64_t lsn, std::span<const std::byte> payload,
                                            std::chrono::milliseconds patience) {
  std::variant<PayloadId, std::string> parsed = parse_payload(payload);
  const std::string at = "LSN " + std::to_string(lsn) + ": ";
  if (const std::string *why = std::get_if<std::string>(&parsed)) return at + *why;
  PayloadId id = std::get<PayloadId>(parsed);
  if (id.writer >= writers_.size()) return at + "writer " + std::to_string(id.writer) + " does not exist";

  WriterLedger &ledger = *writers_[id.writer];
  std::unique_lock lock(ledger.mu);
  if (!ledger.reported.wait_for(lock, patience, [&] { return !ledger.unchecked_lsns.empty(); }))
    return at + "writer " + std::to_string(id.writer) + " seq " + std::to_string(id.seq) +
           " is in the log but the writer was never given an LSN for it";
  const std::uint64_t expected_lsn = ledger.unchecked_lsns.front();
  const std::string who = "writer " + std::to_string(id.writer) + " ";
  if (id.seq != ledger.checked)
    return at + who + "seq " + std::to_string(id.seq) + " found where seq " + std::to_string(ledger.checked) +
           " (acknowledged at LSN " + std::to_string(expected_lsn) + ") was due";
  if (lsn != expected_lsn)
    return at + who + "seq " + std::to_string(id.seq) + " was acknowledged at LSN " + std::to_string(expected_lsn);
  ledger.unchecked_lsns.pop_front();
  ++ledger.checked;
  return std::nullopt;
}

std::uint64_t AckLedger::acknowledged() const {
  std::uint64_t total = 0;
  for (const auto &ledger : writers_) {
    std::lock_guard lock(ledger->mu);
    total += ledger->acknowledged;
  }
  return total;
}

std::uint64_t AckLedger::checked() const {
  std::uint64_t total = 0;
  for (const auto &ledger : writers_) {
    std::lock_guard lock(ledger->mu);
    total += ledger->checked;
  }
  return total;
}

std::string AckLedger::unchecked() const {
  std::string named;
  std::uint64_t total = 0;
  for (std::size_t w = 0; w < writers_.size(); ++w) {
    std::lock_guard lock(writers_[w]->mu);
    const auto &lsns = writers_[w]->unchecked_lsns;
    total += lsns.size();
    if (!lsns.empty() && named.size() < 200)
      named += " writer " + std::to_string(w) + " seq " + std::to_string(writers_[w]->checked) + " at LSN " +
               std::to_string(lsns.front()) + ";";
  }
  if (total == 0) return "";
  return std::to_string(total) + " acknowledged records never read back:" + named;
}

}  // namespace segstore::soak
