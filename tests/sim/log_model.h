// tests/sim/log_model.h — the crash simulation's oracle: what the log may hold and what it must
// hold, from what the store's calls returned.
//
// A record is acknowledged once the store promised it durable; every LSN in
// [required_from(), acked_end) must then survive any crash. An LSN may hold any version that
// was appended there since the last recovery (a failed truncate_after leaves both the old and
// the new records possible), never anything else. After each recovery the model takes the
// recovered log as its new truth: open() made all of it durable (durable_lsn() == next_lsn()).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace segstore::sim {

struct Version {
  std::uint32_t stream = 0;
  std::vector<std::byte> payload;
  bool operator==(const Version &) const = default;
};

enum class SnapshotVerdict : std::uint8_t {
  valid,          // a state written for that LSN, the records up to it unchanged since
  stale,          // written for that LSN, but truncate_after/reset_to rewrote records up to it
  never_written,  // garbage: no such state was ever written for that LSN
};

class LogModel {
 public:
  std::uint64_t acked_end = 0;  // acknowledged: every LSN below (from required_from()) is durable
  std::uint64_t floor = 0;      // completed trims/resets: first_lsn() may not be below
  std::uint64_t first_max = 0;  // trims attempted: first_lsn() may have moved up to here

  std::uint64_t required_from() const { return std::max(floor, first_max); }

  void ack_through(std::uint64_t end) { acked_end = std::max(acked_end, end); }

  void appended(std::uint64_t lsn, Version v) { candidates_[lsn].push_back(std::move(v)); }
  // The record at lsn is (or may be) a batch's second or later record: a cut there splits it.
  void batch_continues_at(std::uint64_t lsn) { batch_inner_.insert(lsn); }
  bool splits_batch(std::uint64_t lsn) const { return batch_inner_.count(lsn) != 0; }

  bool may_hold(std::uint64_t lsn, const Version &v) const {
    auto it = candidates_.find(lsn);
    return it != candidates_.end() && std::find(it->second.begin(), it->second.end(), v) != it->second.end();
  }

  // truncate_after(keep - 1) returned (ok or not).
  void truncated(std::uint64_t keep, bool ok) {
    acked_end = std::min(acked_end, keep);
    if (ok) {
      candidates_.erase(candidates_.lower_bound(keep), candidates_.end());
      batch_inner_.erase(batch_inner_.lower_bound(keep), batch_inner_.end());
    }
    stale_from(keep, ok);
    snapshots_past_end(keep, ok);
  }

  void trimmed(std::uint64_t lsn, bool ok) {
    first_max = std::max(first_max, lsn);
    if (ok) floor = std::max(floor, lsn);
  }

  void reset(std::uint64_t lsn) {
    candidates_.clear();
    batch_inner_.clear();
    floor = first_max = acked_end = lsn;
    stale_from(lsn, true);
    snapshots_past_end(lsn, true);
    reset_alternatives_.clear();
  }
  // A failed reset_to: the next recovery finds either the old log or an empty one at lsn. The
  // store is read-only then, and refuses further resets; each failed one is an alternative.
  void reset_failed(std::uint64_t lsn) {
    reset_alternatives_.insert(lsn);
    snapshots_past_end(lsn, false);
  }
  bool is_failed_reset_outcome(std::uint64_t first, std::uint64_t next) const {
    return first == next && reset_alternatives_.count(first) != 0;
  }

  // --- application snapshots ---
  void snapshot_written(std::uint64_t lsn, const std::vector<std::byte> &state) { valid_[lsn].push_back(state); }
  // write_snapshot returned ok: the engine then keeps the newest `kept` snapshot files by LSN.
  // A snapshot stays required only while fewer than `kept` files that may exist are newer.
  void snapshot_acked(std::uint64_t lsn, std::size_t kept) {
    present_.insert(lsn);
    maybe_.erase(lsn);
    prune(kept);
  }
  // write_snapshot failed: the file may exist, and the pruning may have run.
  void snapshot_failed(std::uint64_t lsn, std::size_t kept) {
    if (!present_.count(lsn)) maybe_.insert(lsn);
    prune(kept);
  }
  // latest_snapshot() must return at least this LSN when the log ends at `next`.
  std::optional<std::uint64_t> required_snapshot(std::uint64_t next) const {
    auto it = present_.lower_bound(next);
    if (it == present_.begin()) return std::nullopt;
    return *std::prev(it);
  }
  // truncate_after/reset_to moved (ok) or may have moved (!ok) the snapshot files at or past
  // `end` to quarantine.
  void snapshots_past_end(std::uint64_t end, bool ok) {
    for (auto it = present_.lower_bound(end); it != present_.end(); it = present_.erase(it))
      if (!ok) maybe_.insert(*it);
    if (ok) maybe_.erase(maybe_.lower_bound(end), maybe_.end());
  }
  // The highest LSN of a snapshot file that may exist.
  std::optional<std::uint64_t> snapshot_lsn_max() const {
    std::optional<std::uint64_t> top;
    if (!present_.empty()) top = *present_.rbegin();
    if (!maybe_.empty()) top = std::max(top.value_or(0), *maybe_.rbegin());
    return top;
  }
  SnapshotVerdict judge_snapshot(std::uint64_t lsn, const std::vector<std::byte> &state) const {
    auto has = [&](const std::map<std::uint64_t, std::vector<std::vector<std::byte>>> &m) {
      auto it = m.find(lsn);
      return it != m.end() && std::find(it->second.begin(), it->second.end(), state) != it->second.end();
    };
    if (has(valid_)) return SnapshotVerdict::valid;
    if (has(stale_)) return SnapshotVerdict::stale;
    return SnapshotVerdict::never_written;
  }

  // After a checked recovery: the recovered log [first, next) is the truth.
  void rebase(std::uint64_t first, std::uint64_t next, std::map<std::uint64_t, Version> log,
              std::set<std::uint64_t> batch_inner) {
    candidates_.clear();
    batch_inner_ = std::move(batch_inner);
    for (auto &[lsn, v] : log) candidates_[lsn].push_back(std::move(v));
    acked_end = next;
    floor = first_max = first;
    reset_alternatives_.clear();
    present_.erase(present_.lower_bound(next), present_.end());  // recovery quarantines them
    maybe_.erase(maybe_.lower_bound(next), maybe_.end());
  }

  std::string describe() const {
    return "{acked_end " + std::to_string(acked_end) + ", floor " + std::to_string(floor) + ", first_max " +
           std::to_string(first_max) + ", candidate LSNs " + std::to_string(candidates_.size()) + "}";
  }

 private:
  // Snapshots at LSNs >= lsn describe records that are gone (ok) or may be gone (!ok).
  void stale_from(std::uint64_t lsn, bool ok) {
    for (auto it = valid_.lower_bound(lsn); it != valid_.end();) {
      auto &dst = stale_[it->first];
      dst.insert(dst.end(), it->second.begin(), it->second.end());
      it = ok ? valid_.erase(it) : std::next(it);
    }
  }

  std::map<std::uint64_t, std::vector<Version>> candidates_;
  std::set<std::uint64_t> batch_inner_;
  std::set<std::uint64_t> reset_alternatives_;
  std::map<std::uint64_t, std::vector<std::vector<std::byte>>> valid_, stale_;
  std::set<std::uint64_t> present_;  // snapshot files that exist for sure (written ok, not pruned)
  std::set<std::uint64_t> maybe_;    // snapshot files that may exist (failed writes, maybe pruned)

  void prune(std::size_t kept) {
    kept = std::max<std::size_t>(kept, 1);
    std::set<std::uint64_t> all(present_.begin(), present_.end());
    all.insert(maybe_.begin(), maybe_.end());
    for (auto it = present_.begin(); it != present_.end();) {
      const auto newer = static_cast<std::size_t>(std::distance(all.upper_bound(*it), all.end()));
      if (newer >= kept) {
        maybe_.insert(*it);
        it = present_.erase(it);
      } else {
        ++it;
      }
    }
  }
};

}  // namespace segstore::sim
