// tests/soak/ack_ledger.h — exact accounting of acknowledged records, in bounded memory.
//
// Each writer reports the LSN the store gave each of its records, in the order it appended them
// (acknowledge). A checker walking the log in LSN order (the retention thread before it trims,
// the final read-back after reopening) hands every record to check(): the record must carry the
// writer's next unchecked sequence number and sit at the very LSN that writer was given. So a
// record lost, moved, duplicated or handed to two writers is caught, and the ledger holds only
// the LSNs between the trim point and the end of the log (the retention window), not one entry
// per record of the run.
//
// Thread-safety: acknowledge() from each writer's own thread, check() and the counters from
// any thread; check() is meant for one checker at a time (records are checked in LSN order).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace segstore::soak {

class AckLedger {
 public:
  explicit AckLedger(std::uint32_t writers);

  // Writer `writer`'s next record got `lsn`.
  void acknowledge(std::uint32_t writer, std::uint64_t lsn);

  // Checks the record read at `lsn`. A writer may not have reported the LSN yet (its append
  // returned a moment ago): check waits up to `patience` for it. nullopt when the record is the
  // one acknowledged there; otherwise what is wrong.
  std::optional<std::string> check(std::uint64_t lsn, std::span<const std::byte> payload,
                                   std::chrono::milliseconds patience);

  std::uint64_t acknowledged() const;  // records acknowledged by all writers
  std::uint64_t checked() const;       // records check() accepted
  // The acknowledged records no check() has seen yet (the first few named); "" when none.
  std::string unchecked() const;

 private:
  struct WriterLedger {
    std::mutex mu;
    std::condition_variable reported;
    std::deque<std::uint64_t> unchecked_lsns;  // acknowledged, not checked yet, ascending
    std::uint64_t acknowledged = 0;
    std::uint64_t checked = 0;  // == the seq the next checked record must carry
  };
  std::vector<std::unique_ptr<WriterLedger>> writers_;
};

}  // namespace segstore::soak
