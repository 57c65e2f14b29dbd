// engine/tail_feed.cc — see engine/tail_feed.h.
#include "engine/tail_feed.h"

#include <algorithm>
#include <string>

#include "base/assert.h"
#include "format/record.h"

namespace segstore::engine {

void TailFeed::open(std::uint64_t first_lsn, std::uint64_t durable_lsn, bool writable) {
  std::lock_guard lock(mu_);
  first_lsn_ = first_lsn;
  durable_lsn_ = durable_lsn;
  live_ = writable;
  writes_ended_ = !writable;
}

bool TailFeed::advance_durable(std::uint64_t durable_lsn) {
  // Only the store advances it, under its mutex: no two advances race.
  if (durable_lsn <= durable_lsn_.load()) return false;
  durable_lsn_.store(durable_lsn);
  // The store above and the load below pair with a waiter's increment of waiters_ and its look
  // at durable_lsn_ after it (wait_durable): either this sees the waiter, or the waiter sees
  // the new end. Without waiters the write path takes no lock here.
  if (waiters_.load() == 0) return false;
  std::lock_guard lock(mu_);
  // Only when some wait's LSN is now durable. A waiter that must wait on lowers the mark again
  // before it sleeps; one that went to sleep since this look saw the new end first.
  if (durable_lsn <= lowest_wait_lsn_) return false;
  lowest_wait_lsn_ = UINT64_MAX;
  return true;
}

io::AlignedBuffer TailFeed::keep(TailGroup group) {
  if (!keeping() || group.first_lsn == group.end_lsn) return std::move(group.buffer);
  auto kept = std::make_shared<TailGroup>(std::move(group));
  std::lock_guard lock(mu_);
  if (!live_) return std::move(kept->buffer);
  kept->generation = generation_;
  // Completions may arrive out of order (several groups in flight): keep groups_ sorted.
  auto at = std::upper_bound(groups_.begin(), groups_.end(), kept->first_lsn,
                             [](std::uint64_t lsn, const auto &g) { return lsn < g->first_lsn; });
  kept_bytes_ += kept->buffer.size();
  groups_.insert(at, std::move(kept));
  io::AlignedBuffer spare;
  // Memory bound: the oldest go first; the newest stays even when it alone exceeds the bound.
  while (groups_.size() > 1 && (kept_bytes_ > tail_feed_bytes_max || groups_.size() > tail_feed_groups_max)) {
    io::AlignedBuffer evicted = evict_oldest_locked();
    if (evicted.size() != 0) spare = std::move(evicted);  // one goes back; more are freed
  }
  return spare;
}

io::AlignedBuffer TailFeed::evict_oldest_locked() {
  std::shared_ptr<TailGroup> oldest = std::move(groups_.front());
  groups_.pop_front();
  kept_bytes_ -= oldest->buffer.size();
  // Readers take a copy of the pointer only under mu_: one that is alone now stays alone, and
  // its buffer may serve a new group. A reader's copy keeps its buffer until it lets it go.
  if (oldest.use_count() == 1) return std::move(oldest->buffer);
  return io::AlignedBuffer();
}

void TailFeed::invalidate(std::uint64_t first_lsn, std::uint64_t durable_lsn) {
  std::lock_guard lock(mu_);
  groups_.clear();
  kept_bytes_ = 0;
  // The generation first: a reader that still sees the old one read the old ends before it
  // (it loads the ends first and the generation last), so what it returns existed then.
  generation_++;
  first_lsn_ = first_lsn;
  durable_lsn_ = durable_lsn;
}

void TailFeed::trimmed_to(std::uint64_t first_lsn) {
  std::lock_guard lock(mu_);
  if (first_lsn > first_lsn_) first_lsn_ = first_lsn;
}

void TailFeed::end_writes() {
  {
    std::lock_guard lock(mu_);
    live_ = false;
    writes_ended_ = true;
    groups_.clear();
    kept_bytes_ = 0;
  }
  durable_cv_.notify_all();
}

void TailFeed::wake_all() {
  // Taking mu_ orders the caller's cancel flag before a waiter's next look at it: a waiter
  // between its look and its sleep holds mu_.
  { std::lock_guard lock(mu_); }
  durable_cv_.notify_all();
}

void TailFeed::remove_tailer() {
  if (tailers_.fetch_sub(1, std::memory_order_relaxed) != 1) return;
  // The last tailer went: the kept buffers are freed rather than held for nobody.
  std::lock_guard lock(mu_);
  if (keeping()) return;  // another came meanwhile
  groups_.clear();
  kept_bytes_ = 0;
}

std::uint64_t TailFeed::durable_lsn() const { return durable_lsn_.load(); }

std::shared_ptr<const TailGroup> TailFeed::group_of_locked(std::uint64_t lsn) const {
  for (auto it = groups_.rbegin(); it != groups_.rend(); ++it) {
    if (lsn >= (*it)->end_lsn) return nullptr;  // past the newest at or below it: a gap
    if (lsn >= (*it)->first_lsn) return *it;
  }
  return nullptr;
}

bool TailFeed::cursor_serves(std::uint64_t lsn, const TailCursor &cursor) const {
  // The ends before the generation (invalidate() writes them in the other order).
  if (!cursor.group || !live_.load() || lsn < first_lsn_.load()) return false;
  if (lsn >= cursor.group->end_lsn || lsn < cursor.expected_lsn) return false;
  return cursor.group->generation == generation_.load();
}

TailLook TailFeed::read(std::uint64_t lsn, bool durable_only, TailCursor &cursor, RecordView *out,
                        Status *error) const {
  // A durable_only reader stops at the durable end, loaded before the generation is checked.
  const std::uint64_t durable_end = durable_lsn_.load();
  // The common case, a reader inside its group, takes no lock: the group is still of this
  // generation (not removed since), and holds lsn at or after the cursor.
  if (cursor_serves(lsn, cursor)) {
    if (durable_only && lsn >= durable_end) return TailLook::end;
    return decode(lsn, cursor, out, error);
  }
  {
    std::lock_guard lock(mu_);
    // Not live: not yet opened, or closing/closed/failed: the store answers (store_closed...).
    if (!live_.load() || lsn < first_lsn_.load()) return TailLook::miss;
    if (durable_only && lsn >= durable_lsn_.load()) return TailLook::end;
    // The kept group holding lsn, read from its start.
    std::shared_ptr<const TailGroup> group = group_of_locked(lsn);
    if (!group) {
      cursor.group.reset();
      return TailLook::miss;
    }
    cursor.group = std::move(group);
    cursor.offset = cursor.group->records_offset;
    cursor.expected_lsn = cursor.group->first_lsn;
  }
  return decode(lsn, cursor, out, error);
}

TailLook TailFeed::decode(std::uint64_t lsn, TailCursor &cursor, RecordView *out, Status *error) const {
  // Decoded without mu_: a kept group's bytes never change, and the reader's pointer keeps them.
  const TailGroup &group = *cursor.group;
  while (cursor.offset < group.used) {
    const std::span<const std::byte> rest(group.buffer.data() + cursor.offset, group.used - cursor.offset);
    const format::DecodeOutcome outcome =
        format::decode_record(rest, &cursor.expected_lsn, group.record_seed);
    if (outcome.error != format::RecordError::none) {
      *error = Status(Errc::corruption, "segment " + group.segment->path + " at offset " +
                                            std::to_string(group.file_offset + cursor.offset) +
                                            " (kept in memory for tailing readers): " +
                                            format::record_error_name(outcome.error));
      cursor.group.reset();
      return TailLook::record;
    }
    cursor.offset += outcome.record.disk_bytes;
    if (outcome.record.header.type == format::RecordType::padding) continue;
    const std::uint64_t found = cursor.expected_lsn++;
    if (found < lsn) continue;  // walking forward from the group's first record
    out->lsn = outcome.record.header.lsn;
    out->stream = outcome.record.header.stream;
    out->type = static_cast<std::uint8_t>(outcome.record.header.type);
    out->payload = outcome.record.payload;
    return TailLook::record;
  }
  // Invariant: a kept group holds its records [first_lsn, end_lsn) within its used bytes.
  SEGSTORE_ASSERT(false, "kept group of LSNs " + std::to_string(group.first_lsn) + ".." +
                             std::to_string(group.end_lsn) + " ends before LSN " + std::to_string(lsn));
  return TailLook::miss;
}

TailWaited TailFeed::wait_durable(std::uint64_t lsn, std::chrono::steady_clock::time_point deadline,
                                  std::atomic<bool> *cancel) const {
  std::unique_lock lock(mu_);
  while (true) {
    // What the wait is for comes first: a record that became durable as the store closed is
    // delivered.
    if (durable_lsn_.load() > lsn) return TailWaited::reached;
    if (cancel != nullptr && cancel->exchange(false)) return TailWaited::cancelled;
    if (writes_ended_) return TailWaited::ended;
    if (std::chrono::steady_clock::now() >= deadline) return TailWaited::timed_out;
    ++waiters_;
    lowest_wait_lsn_ = std::min(lowest_wait_lsn_, lsn);
    // Looked at again after counting itself (advance_durable stores the end, then loads
    // waiters_): an advance that saw no waiter is seen here, one that saw it notifies after
    // this thread sleeps (it takes mu_ first).
    if (durable_lsn_.load() <= lsn) durable_cv_.wait_until(lock, deadline);
    --waiters_;
  }
}

}  // namespace segstore::engine
