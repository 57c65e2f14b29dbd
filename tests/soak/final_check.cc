// tests/soak/final_check.cc — see final_check.h.
#include "final_check.h"

#include <chrono>

#include "segstore/inspect.h"

namespace segstore::soak {
namespace {

// Walks [first_lsn, next_lsn) of the reopened store; every record must be the acknowledged one.
void read_back(Store &store, AckLedger &ledger, FinalCheck &check) {
  Result<Iterator> it = store.scan(check.first_lsn);
  if (!it.ok()) return check.failures.push_back("scan from " + std::to_string(check.first_lsn) + ": " + it.status().to_string());
  for (std::uint64_t lsn = check.first_lsn; lsn < check.next_lsn; ++lsn) {
    Result<bool> more = it->next();
    if (!more.ok() || !*more || it->record().lsn != lsn)
      return check.failures.push_back(
          "read-back at LSN " + std::to_string(lsn) + ": " +
          (more.ok() ? (*more ? "got LSN " + std::to_string(it->record().lsn) : "end of log") : more.status().to_string()));
    // Every writer has stopped: no acknowledgement is on its way, so no patience.
    if (std::optional<std::string> wrong = ledger.check(lsn, it->record().payload, std::chrono::milliseconds(0)))
      return check.failures.push_back("read-back: " + *wrong);
    ++check.records_read_back;
  }
}

void verify_files(const std::string &dir, FinalCheck &check) {
  Result<inspect::VerifyReport> verified = inspect::verify_store(dir);
  if (!verified.ok()) return check.failures.push_back("verify: " + verified.status().to_string());
  check.verify_records = verified->records_checked;
  check.verify_segments = verified->segments_checked;
  check.verify_snapshots = verified->snapshots_checked;
  for (const inspect::Problem &problem : verified->problems)
    check.failures.push_back("verify: " + std::string(inspect::problem_kind_name(problem.kind)) + " in " + problem.file +
                             " at offset " + std::to_string(problem.offset) + ": " + problem.reason + " " + problem.detail);
  if (verified->first_lsn != check.first_lsn || verified->next_lsn != check.next_lsn)
    check.failures.push_back("verify sees LSN " + std::to_string(verified->first_lsn) + ".." +
                             std::to_string(verified->next_lsn) + ", the store " + std::to_string(check.first_lsn) +
                             ".." + std::to_string(check.next_lsn));
}

}  // namespace

FinalCheck check_store_after_run(const std::string &dir, const Options &options, AckLedger &ledger,
                                 std::uint64_t start_lsn, std::uint64_t records_trimmed) {
  FinalCheck check;
  {
    Result<std::unique_ptr<Store>> reopened = Store::open(dir, options);
    if (!reopened.ok()) {
      check.failures.push_back("reopen: " + reopened.status().to_string());
      return check;
    }
    Store &store = **reopened;
    check.reopen_ran_recovery = store.recovery_report().ran;
    check.first_lsn = store.first_lsn();
    check.next_lsn = store.next_lsn();
    read_back(store, ledger, check);
    Status closed = store.close();
    if (!closed.ok()) check.failures.push_back("close after the read-back: " + closed.to_string());
  }
  if (check.reopen_ran_recovery) check.failures.push_back("the reopen after a clean close ran recovery");
  if (std::string left = ledger.unchecked(); !left.empty()) check.failures.push_back(left);
  const std::uint64_t acknowledged = ledger.acknowledged();
  if (records_trimmed + check.records_read_back != acknowledged)
    check.failures.push_back("accounting: " + std::to_string(records_trimmed) + " trimmed + " +
                             std::to_string(check.records_read_back) + " read back != " + std::to_string(acknowledged) +
                             " acknowledged");
  if (check.next_lsn - start_lsn != acknowledged)
    check.failures.push_back("the log grew by " + std::to_string(check.next_lsn - start_lsn) + " LSNs for " +
                             std::to_string(acknowledged) + " acknowledged records");
  verify_files(dir, check);
  return check;
}

}  // namespace segstore::soak
