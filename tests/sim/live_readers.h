// tests/sim/live_readers.h — readers of a live log, kept open across the crash simulation's
// operations (docs/TESTING.md "Readers of a live log").
//
// Three iterators follow the log between the workload's operations, each a few records per
// step: a durable_only tailer and a plain tailer (Iterator::next_wait, served from the tail
// feed near the head) and a plain scan (Iterator::next, reading windows ahead through the
// disk's read-ahead when the seed turned it on). Every answer is checked against what the
// store holds in memory at that moment (LiveLog: the version appended at each LSN since, with
// the LSNs truncate_after/reset_to removed dropped):
//   - a record returned is the one at its LSN now: never bytes of a record truncate_after or
//     reset_to removed, never another stream's or another LSN's;
//   - LSNs strictly increase, and the walk skips nothing it should return: the first record
//     after x is x itself unless every LSN in between was below first_lsn() meanwhile (a trim,
//     a reset or retention moved the walk up); "at the end" means the walk reached next_lsn()
//     (durable_lsn() for a durable_only tailer), or stands past it (a truncate cut below it);
//   - a durable_only tailer never returns a record at or above durable_lsn();
//   - an error is one the API documents for what the disk did (io_error naming a failed write,
//     read_only once the store failed, corruption only for injected bit rot); the iterator is
//     then dropped and a new one opened at the next step.
// The store's calls all come from the simulation's one thread between operations, so the
// store's in-memory log cannot change during a reader's call except by its own threads:
// retention and the interval flush (first_lsn() and durable_lsn() only move up then).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "segstore/store.h"
#include "sim/crash_sim.h"
#include "sim/log_model.h"
#include "testing/sim_env.h"

namespace segstore::sim {

// What the store holds in memory: the version appended at each LSN of [first_lsn, next_lsn).
// LSNs at or past next_lsn() are dropped after every operation (truncate_after, reset_to).
class LiveLog {
 public:
  void set(std::uint64_t lsn, Version v) { versions_[lsn] = std::move(v); }
  void drop_from(std::uint64_t next) { versions_.erase(versions_.lower_bound(next), versions_.end()); }
  void replace(const std::map<std::uint64_t, Version> &log) { versions_ = log; }
  const Version *at(std::uint64_t lsn) const {
    auto it = versions_.find(lsn);
    return it == versions_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::uint64_t, Version> versions_;
};

using LiveReaderStats = CrashSimStats::Readers;

// Which errors the disk's faults excuse for a read at this moment.
struct ReadExcuses {
  bool io_error = false;    // injected I/O errors: a record whose write failed reads as io_error
  bool read_only = false;   // the store failed: a tail wait answers read_only
  bool corruption = false;  // injected bit rot or misdirected reads
};

class LiveReader {
 public:
  enum class Kind { durable_tailer, plain_tailer, scanner };

  explicit LiveReader(Kind kind) : kind_(kind) {}

  const char *name() const {
    return kind_ == Kind::durable_tailer ? "durable_only tailer" : kind_ == Kind::plain_tailer ? "plain tailer" : "scan";
  }

  // After every operation: a trim, a reset or retention moved first_lsn(). A reset may move it
  // down: LSNs below the new first may be skipped, no others.
  void first_moved(std::uint64_t first) {
    first_seen_ = first < last_first_ ? first : std::max(first_seen_, first);
    last_first_ = first;
  }

  // Reads up to `count` records (fewer at the end of the walk). `fail` reports a violation.
  void step(Store &store, const LiveLog &live, testing::SimRandom &r, unsigned count, const ReadExcuses &excuses,
            LiveReaderStats &stats, const std::function<void(const std::string &)> &fail) {
    if (!it_ && !open(store, r, fail)) return;
    for (unsigned i = 0; i < count; ++i)
      if (!one(store, live, r, excuses, stats, fail)) return;
  }

  // The store was closed under the iterator: it must answer store_closed (or the failure that
  // closed it), never a record. Then it is dropped.
  void after_close(Errc close_code, LiveReaderStats &stats, const std::function<void(const std::string &)> &fail) {
    if (!it_) return;
    Result<bool> got = tailing() ? it_->next_wait(std::chrono::milliseconds(0)) : it_->next();
    if (got.ok()) {
      fail(std::string(name()) + ": after close() it answered " +
           (*got ? "LSN " + std::to_string(it_->record().lsn) : std::string("'at the end'")) + ", not store_closed");
    } else if (got.status().code() != Errc::store_closed && got.status().code() != close_code) {
      fail(std::string(name()) + ": after close() it answered " + got.status().to_string());
    } else {
      stats.closed_checks++;
    }
    drop();
  }

  // A crash: the store is abandoned with every iterator on it.
  void drop() { it_.reset(); }

 private:
  bool tailing() const { return kind_ != Kind::scanner; }

  bool open(Store &store, testing::SimRandom &r, const std::function<void(const std::string &)> &fail) {
    const std::uint64_t first = store.first_lsn(), next = store.next_lsn();
    // Tailers mostly start at the head (they follow it); scans anywhere in the log.
    const std::uint64_t from = tailing() && r.chance(0.6) ? next : r.between(first, next);
    ScanOptions options;
    options.durable_only = kind_ == Kind::durable_tailer;
    Result<Iterator> it = store.scan(from, options);
    if (!it.ok()) {
      fail(std::string(name()) + ": scan(" + std::to_string(from) + ") in [" + std::to_string(first) + ", " +
           std::to_string(next) + "] failed: " + it.status().to_string());
      return false;
    }
    it_.emplace(std::move(*it));
    want_ = from;
    first_seen_ = last_first_ = first;
    return true;
  }

  // One call; false when the walk is at its end or the iterator was dropped.
  bool one(Store &store, const LiveLog &live, testing::SimRandom &r, const ReadExcuses &excuses,
           LiveReaderStats &stats, const std::function<void(const std::string &)> &fail) {
    const std::uint64_t first_before = store.first_lsn(), next_before = store.next_lsn();
    const std::uint64_t durable_before = store.durable_lsn();
    // A short wait now and then: a durable_only tailer in interval mode is woken by the flush.
    const bool wait = kind_ == Kind::durable_tailer && durable_before < next_before && r.chance(0.05);
    Result<bool> got = !tailing() ? it_->next() : it_->next_wait(std::chrono::milliseconds(wait ? 2 : 0));
    const std::uint64_t first_after = store.first_lsn(), durable_after = store.durable_lsn();
    first_seen_ = std::max(first_seen_, first_after);
    const std::string who = std::string(name()) + " at LSN " + std::to_string(want_) + ": ";
    if (!got.ok()) {
      const Errc code = got.status().code();
      const bool excused = (excuses.io_error && code == Errc::io_error) ||
                           ((excuses.read_only || excuses.io_error) && code == Errc::read_only) ||
                           (excuses.corruption && code == Errc::corruption) ||
                           // bit rot cost acknowledged records: the store refuses writes, and
                           // a tail wait that nothing can end any more says why
                           (excuses.corruption && code == Errc::data_loss);
      if (!excused) fail(who + got.status().to_string());
      stats.errors++;
      drop();
      return false;
    }
    if (!*got) {
      // At the end: nothing the walk should return is left (durable_lsn() only grew meanwhile).
      const std::uint64_t end = kind_ == Kind::durable_tailer ? durable_before : next_before;
      if (std::max(want_, first_after) < end)
        fail(who + "'at the end' with LSNs [" + std::to_string(std::max(want_, first_after)) + ", " +
             std::to_string(end) + ") to return" + (kind_ == Kind::durable_tailer ? " (durable)" : ""));
      stats.ends++;
      want_ = std::max(want_, first_before);  // the walk moved up to the first LSN if it was below
      return false;
    }
    const RecordView &rec = it_->record();
    const std::string at = who + "returned LSN " + std::to_string(rec.lsn);
    if (rec.lsn < want_) {
      fail(at + ": LSNs went back");
    } else if (rec.lsn > want_ && rec.lsn > first_seen_) {
      fail(at + ": skipped LSNs [" + std::to_string(want_) + ", " + std::to_string(rec.lsn) +
           ") though only LSNs below " + std::to_string(first_seen_) + " were trimmed or reset away");
    }
    if (kind_ == Kind::durable_tailer && rec.lsn >= durable_after)
      fail(at + ", not durable: durable_lsn() is " + std::to_string(durable_after));
    const Version *expected = live.at(rec.lsn);
    if (expected == nullptr) {
      fail(at + ", an LSN the store does not hold (log [" + std::to_string(first_after) + ", " +
           std::to_string(store.next_lsn()) + "))");
    } else if (expected->stream != rec.stream ||
               !std::equal(expected->payload.begin(), expected->payload.end(), rec.payload.begin(), rec.payload.end())) {
      fail(at + ": other bytes than the record appended there last (stream " + std::to_string(rec.stream) + ", " +
           std::to_string(rec.payload.size()) + " bytes; appended stream " + std::to_string(expected->stream) +
           ", " + std::to_string(expected->payload.size()) + " bytes): a record truncate_after or reset_to removed?");
    }
    stats.records++;
    want_ = rec.lsn + 1;
    return true;
  }

  Kind kind_;
  std::optional<Iterator> it_;
  std::uint64_t want_ = 0;        // the LSN the walk returns next, unless it was trimmed away
  std::uint64_t first_seen_ = 0;  // LSNs below it were below first_lsn() since the last record
  std::uint64_t last_first_ = 0;  // first_lsn() when last looked at
};

}  // namespace segstore::sim
