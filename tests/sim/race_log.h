// tests/sim/race_log.h — what the crash simulation's threads mode needs to judge readers and
// acknowledged records while truncate_after, reset_to and trim_before race the appenders.
//
// One clock orders the threads' events: a writer ticks before an append and after it returned,
// a remover before and after each removal, a reader before each call. "Removal r took the
// record" is then decidable afterwards: the record's append returned before r began, r removed
// its LSN (truncate_after: LSNs from the cut; reset_to: all), and r returned before the reader's
// call began — such a record must never be returned. An acknowledged record is excused from the
// check after a crash only by a removal of its LSN that had not returned before its append began.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace segstore::sim {

class RaceLog {
 public:
  std::uint64_t tick() { return clock_.fetch_add(1) + 1; }

  // A removal of every LSN at or past `keep` (reset_to: keep 0) ran from tick `start` to `end`.
  void removal_began() { removals_running_++; }
  // `done`: it returned ok (a failed one may have removed them or not).
  void removal_ended(std::uint64_t keep, std::uint64_t start, std::uint64_t end, bool done) {
    {
      std::lock_guard lock(mu_);
      removals_.push_back({keep, start, end, done});
    }
    removals_done_++;
    removals_running_--;
  }
  // trim_before(lsn) was asked (it may have moved first_lsn() up to lsn).
  void trim_asked(std::uint64_t lsn) {
    std::lock_guard lock(mu_);
    trim_max_ = std::max(trim_max_, lsn);
  }
  std::uint64_t trim_max() const {
    std::lock_guard lock(mu_);
    return trim_max_;
  }

  // How many removals returned, and whether one runs: a reader compares them around its call
  // to know whether a removal overlapped it.
  std::uint64_t removals_done() const { return removals_done_.load(); }
  bool removal_running() const { return removals_running_.load() != 0; }

  // The append of (writer, seq) returned `lsn` at tick `returned`.
  void appended(std::uint32_t writer, std::uint64_t seq, std::uint64_t lsn, std::uint64_t returned) {
    std::lock_guard lock(mu_);
    appends_[{writer, seq}] = {lsn, returned};
  }
  // The LSN and return tick of (writer, seq)'s append, if it returned one.
  bool append_of(std::uint32_t writer, std::uint64_t seq, std::uint64_t *lsn, std::uint64_t *returned) const {
    std::lock_guard lock(mu_);
    auto it = appends_.find({writer, seq});
    if (it == appends_.end()) return false;
    *lsn = it->second.first;
    *returned = it->second.second;
    return true;
  }

  // A removal that began after `appended` (the record's append returned) and returned before
  // `call` (a reader's call began) took `lsn`.
  bool removed_before(std::uint64_t lsn, std::uint64_t appended, std::uint64_t call) const {
    std::lock_guard lock(mu_);
    for (const Removal &r : removals_)
      if (r.done && r.keep <= lsn && r.start > appended && r.end < call) return true;
    return false;
  }
  // A removal of `lsn` had not returned before tick `since`: a record appended from then on may
  // be gone.
  bool may_be_removed(std::uint64_t lsn, std::uint64_t since) const {
    std::lock_guard lock(mu_);
    for (const Removal &r : removals_)
      if (r.keep <= lsn && r.end > since) return true;
    return false;
  }

 private:
  struct Removal {
    std::uint64_t keep, start, end;
    bool done;
  };
  std::atomic<std::uint64_t> clock_{0};
  std::atomic<std::uint64_t> removals_done_{0};
  std::atomic<unsigned> removals_running_{0};
  mutable std::mutex mu_;
  std::vector<Removal> removals_;
  std::uint64_t trim_max_ = 0;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::pair<std::uint64_t, std::uint64_t>> appends_;
};

}  // namespace segstore::sim
