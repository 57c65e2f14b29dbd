// tests/soak/final_check.h — after the load: reopen the store, read every record still in the
// log back through the AckLedger, settle the accounting, and run the full verify.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "segstore/store.h"
#include "ack_ledger.h"

namespace segstore::soak {

struct FinalCheck {
  bool reopen_ran_recovery = false;  // a clean close should let the open skip recovery
  std::uint64_t first_lsn = 0, next_lsn = 0;
  std::uint64_t records_read_back = 0;     // checked against the ledger after the reopen
  std::uint64_t verify_records = 0, verify_segments = 0, verify_snapshots = 0;
  std::vector<std::string> failures;
};

// `records_trimmed`: what retention checked and removed during the run; `start_lsn`: the store's
// next_lsn when the run began. Every acknowledged record must be either trimmed or read back,
// and the log must hold nothing else.
FinalCheck check_store_after_run(const std::string &dir, const Options &options, AckLedger &ledger,
                                 std::uint64_t start_lsn, std::uint64_t records_trimmed);

}  // namespace segstore::soak
