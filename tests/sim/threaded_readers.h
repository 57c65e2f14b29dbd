// tests/sim/threaded_readers.h — readers of the live log on threads of their own, for the crash
// simulation's threads mode (docs/TESTING.md "Readers of a live log").
//
// A durable_only tailer, a plain tailer (Iterator::next_wait with short timeouts) and a plain
// scan (Iterator::next, reopened at a random LSN at each end) follow the log while 16-64
// writers append and a remover trims, truncates and resets, until the crash. The interleaving
// is the machine's, so the checks use what the threads recorded (race_log.h):
//   - every record returned is one a writer appended, whole, at the LSN its append returned,
//     and none a removal took before the call began (truncate_after/reset_to);
//   - LSNs strictly increase; a walk skips only LSNs that were below first_lsn() (trims,
//     resets); with no removal overlapping the call, "no record within the timeout" means the
//     walk had reached next_lsn() (durable_lsn()) when the call began, or first_lsn() after it
//     (a trim during the call may take every record), and a durable_only
//     tailer's record is below durable_lsn() when it returns;
//   - errors: corruption only while a removal overlapped the call (iterators do not retry a
//     read that raced a truncate's rewrite, docs/ENGINE.md), anything once the crash began;
//   - after the crash and recovery (crash_sim.cc), every record a durable_only tailer returned
//     is there with its payload unless a removal or trim took its LSN.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "segstore/store.h"
#include "sim/race_log.h"
#include "testing/sim_env.h"

namespace segstore::sim {

class ThreadedReaders {
 public:
  using Body = std::function<std::vector<std::byte>(std::uint32_t writer, std::uint64_t seq)>;
  struct Durable {
    std::uint64_t lsn;
    std::uint32_t stream;
    std::vector<std::byte> payload;
  };

  // `cycle_start`: next_lsn() after the last checked recovery (records below it are older
  // cycles', with other payloads).
  ThreadedReaders(Store &store, RaceLog &race, const std::atomic<bool> &crashing, std::atomic<bool> &stop,
                  Body body, std::uint32_t writers, std::uint64_t cycle_start, std::uint64_t seed)
      : store_(store), race_(race), crashing_(crashing), stop_(stop), body_(std::move(body)), writers_(writers),
        cycle_start_(cycle_start) {
    for (int kind = 0; kind < 3; ++kind)
      threads_.emplace_back([this, kind, seed] { run(static_cast<Kind>(kind), testing::SimRandom(seed + kind)); });
  }
  ~ThreadedReaders() { stop(); }

  // Ends the readers' waits and joins them (after the crash).
  void stop() {
    stop_ = true;
    {
      std::lock_guard lock(mu_);
      for (const IteratorCanceller &c : cancellers_) c.cancel();
    }
    for (std::thread &t : threads_)
      if (t.joinable()) t.join();
  }

  std::vector<std::string> failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }
  std::vector<Durable> durable_returned() const {
    std::lock_guard lock(mu_);
    return durable_;
  }
  std::uint64_t records() const { return records_.load(); }

 private:
  enum class Kind { durable_tailer, plain_tailer, scanner };

  void fail(const std::string &what) {
    std::lock_guard lock(mu_);
    if (failures_.size() < 8) failures_.push_back(what);
  }

  void run(Kind kind, testing::SimRandom r) {
    const char *name = kind == Kind::durable_tailer ? "durable_only tailer" : kind == Kind::plain_tailer ? "plain tailer" : "scan";
    std::optional<Iterator> it;
    std::uint64_t want = 0;
    for (unsigned calls = 0; !stop_.load() && calls < 20000; ++calls) {
      if (!it) {
        const std::uint64_t first = store_.first_lsn(), next = store_.next_lsn();
        ScanOptions options;
        options.durable_only = kind == Kind::durable_tailer;
        want = kind != Kind::scanner && r.chance(0.5) ? next : r.between(first, next);
        Result<Iterator> opened = store_.scan(want, options);
        if (!opened.ok()) {
          // A racing truncate or reset may have moved next_lsn() below `want`.
          if (opened.status().code() != Errc::lsn_out_of_range && !crashing_.load())
            fail(std::string(name) + ": scan(" + std::to_string(want) + "): " + opened.status().to_string());
          if (crashing_.load()) return;
          continue;
        }
        it.emplace(std::move(*opened));
        std::lock_guard lock(mu_);
        cancellers_.push_back(it->canceller());
      }
      const std::uint64_t removals_before = race_.removals_done();
      const bool removal_before = race_.removal_running();
      const std::uint64_t call = race_.tick();
      const std::uint64_t first_before = store_.first_lsn(), next_before = store_.next_lsn();
      const std::uint64_t durable_before = store_.durable_lsn();
      Result<bool> got = kind == Kind::scanner ? it->next() : it->next_wait(std::chrono::milliseconds(5));
      const std::uint64_t first_after = store_.first_lsn(), durable_after = store_.durable_lsn();
      const bool raced = removal_before || race_.removal_running() || race_.removals_done() != removals_before;
      const std::string who = std::string(name) + " at LSN " + std::to_string(want) + ": ";
      if (crashing_.load()) return;  // the store is being abandoned: any answer goes
      if (!got.ok()) {
        if (got.status().code() == Errc::cancelled && stop_.load()) return;
        if (!(raced && got.status().code() == Errc::corruption)) fail(who + got.status().to_string());
        it.reset();
        continue;
      }
      if (!*got) {
        // A trim_before overlapping the call (not a removal: it takes no LSN at or past the new
        // first_lsn()) may have moved the walk up to its new first LSN, as far as next_lsn()
        // when it trimmed everything: only LSNs at or past first_lsn() after the call were
        // still to return.
        const std::uint64_t end = kind == Kind::durable_tailer ? durable_before : next_before;
        const std::uint64_t from = std::max({want, first_before, first_after});
        if (!raced && from < end)
          fail(who + "'at the end' with LSNs [" + std::to_string(from) + ", " + std::to_string(end) + ") to return");
        want = from;
        if (kind == Kind::scanner) it.reset();  // start again somewhere else
        continue;
      }
      check(kind, who, it->record(), want, std::max(first_before, first_after), durable_after, raced, call);
      want = it->record().lsn + 1;
    }
  }

  void check(Kind kind, const std::string &who, const RecordView &rec, std::uint64_t want, std::uint64_t first_seen,
             std::uint64_t durable_after, bool raced, std::uint64_t call) {
    const std::string at = who + "returned LSN " + std::to_string(rec.lsn);
    if (rec.lsn < want) fail(at + ": LSNs went back");
    if (rec.lsn > want && rec.lsn > first_seen)
      fail(at + ": skipped LSNs [" + std::to_string(want) + ", " + std::to_string(rec.lsn) + "), first_lsn() " +
           std::to_string(first_seen));
    if (kind == Kind::durable_tailer && !raced && rec.lsn >= durable_after)
      fail(at + ", not durable: durable_lsn() is " + std::to_string(durable_after));
    records_++;
    std::uint32_t writer = 0;
    std::uint64_t seq = 0;
    if (rec.payload.size() >= 8) {
      for (int i = 0; i < 4; ++i) writer |= std::to_integer<std::uint32_t>(rec.payload[i]) << (8 * i);
      for (int i = 0; i < 4; ++i) seq |= std::to_integer<std::uint64_t>(rec.payload[4 + i]) << (8 * i);
    }
    const bool ours = rec.payload.size() >= 8 && writer < writers_ && writer == rec.stream;
    if (!ours) {
      if (rec.lsn >= cycle_start_) fail(at + ": a record no writer appended");
      return;  // an older cycle's record
    }
    const std::vector<std::byte> expected = body_(writer, seq);
    if (!std::equal(expected.begin(), expected.end(), rec.payload.begin(), rec.payload.end())) {
      if (rec.lsn >= cycle_start_) fail(at + ": other bytes than writer " + std::to_string(writer) + " appended");
      return;
    }
    std::uint64_t lsn = 0, returned = 0;
    if (race_.append_of(writer, seq, &lsn, &returned)) {
      if (lsn != rec.lsn && rec.lsn >= cycle_start_)
        fail(at + ": writer " + std::to_string(writer) + "'s append " + std::to_string(seq) + " returned LSN " +
             std::to_string(lsn));
      if (race_.removed_before(rec.lsn, returned, call))
        fail(at + ": a record truncate_after/reset_to removed before the call began");
    }
    if (kind == Kind::durable_tailer) {
      std::lock_guard lock(mu_);
      durable_.push_back({rec.lsn, rec.stream, std::vector<std::byte>(rec.payload.begin(), rec.payload.end())});
    }
  }

  Store &store_;
  RaceLog &race_;
  const std::atomic<bool> &crashing_;
  std::atomic<bool> &stop_;
  Body body_;
  const std::uint32_t writers_;
  const std::uint64_t cycle_start_;
  mutable std::mutex mu_;
  std::vector<std::string> failures_;
  std::vector<Durable> durable_;
  std::vector<IteratorCanceller> cancellers_;
  std::atomic<std::uint64_t> records_{0};
  std::vector<std::thread> threads_;
};

}  // namespace segstore::sim
