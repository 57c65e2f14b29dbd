// engine/tail_feed.h — what the store publishes for the readers that follow its head (tailing
// iterators, wait_until_durable): the durable end, the first LSN, and the bytes of the last write
// groups it wrote, behind a small mutex of their own, never the store's.
//
// Why (docs/ENGINE.md "Tailing readers"): a durable_only tailer at the head used to sleep on the
// store's progress condition (woken under the store's mutex by every completed group, with every
// other waiter of it), take the store's mutex again per record to place itself, and read each new
// group back from the device (O_DIRECT: the group's bytes had left memory when its write
// completed). With four such tailers, 16 sync appenders kept 0.40x of their rate alone. Here:
//   - A group whose write completed is handed over (its buffer moved, not copied) to the feed
//     while a tailing reader exists; the feed keeps the newest ones, at most tail_feed_bytes_max
//     of buffers (always the newest one), and gives an evicted buffer back to the store's spare
//     buffers unless a reader still holds it. A reader at the head decodes from these bytes.
//   - The durable end is published here by the write path (an atomic store; the feed's mutex
//     only while a tail wait sleeps, and a wake-up, sent after the store's mutex is released,
//     only when a sleeping wait's LSN became durable); tail waits sleep on this feed's condition.
//
// The safety rules (each has a test in tests/engine/tail_feed_test.cc):
//   - Removed records are never handed out: truncate_after and reset_to call invalidate() when
//     they commit (under the store's mutex, as they change the log's ends), which drops every
//     kept group and counts a feed generation; a reader checks, under this mutex, that the
//     group it decodes is of the current generation before each record, so a record it returns
//     existed at that moment. Trims move first_lsn (trimmed_to): records below it are not
//     served from here.
//   - A durable_only reader is served records below the published durable end only; it is
//     published under the store's mutex right after durable_lsn_ advances (and lowered with
//     invalidate()), so it is never above the store's.
//   - Bytes are served only of groups whose write completed: they are what the file holds
//     (failed groups are never kept).
//
// Lock order: the store's mutex, then this feed's mutex. Nothing is called with this mutex held.
// Thread-safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "engine/segment.h"
#include "io/aligned_buffer.h"
#include "segstore/status.h"
#include "segstore/store.h"

namespace segstore::engine {

// Buffers of kept groups held at most (the newest group is kept even when it alone is larger):
// 4 groups at the default write_group_bytes_max of 1 MiB. A tailer more than that behind the
// head reads from the device as any scan does.
inline constexpr std::uint64_t tail_feed_bytes_max = 4u << 20;
// ... and at most this many groups (small groups of many sync appenders).
inline constexpr std::size_t tail_feed_groups_max = 16;

// One write group's bytes, as written to its segment from file_offset.
struct TailGroup {
  std::shared_ptr<Segment> segment;
  io::AlignedBuffer buffer;
  std::uint64_t file_offset = 0;
  std::size_t records_offset = 0;  // where the group's first record starts in buffer
  std::size_t used = 0;            // bytes of buffer written (records and padding)
  std::uint64_t first_lsn = 0;     // records [first_lsn, end_lsn)
  std::uint64_t end_lsn = 0;
  std::uint64_t generation = 0;  // the feed's generation when it was kept
  std::uint32_t record_seed = 0;  // the segment's (Segment::record_seed): its records' checksum seed
};

// A reader's place in the kept groups: the group and the record at `offset`.
struct TailCursor {
  std::shared_ptr<const TailGroup> group;
  std::size_t offset = 0;          // in group->buffer, of the record expected_lsn
  std::uint64_t expected_lsn = 0;
};

enum class TailLook : std::uint8_t {
  record,  // the record was decoded from memory
  end,     // a durable_only walk is at the durable end: nothing at or past the LSN may be returned
  miss,    // not kept here (or the feed cannot tell): ask the store
};

enum class TailWaited : std::uint8_t {
  reached,    // the LSN is durable
  cancelled,  // *cancel was set (and is cleared)
  ended,      // the store stopped taking writes (closing, closed, failed, a loss not accepted)
  timed_out,
};

class TailFeed {
 public:
  // --- the store's side (called under the store's mutex) ---
  // The store opened: its first and durable ends, and whether it takes writes.
  void open(std::uint64_t first_lsn, std::uint64_t durable_lsn, bool writable);
  // durable_lsn_ advanced to `durable_lsn`. Returns whether a wait it satisfies sleeps: then the
  // caller calls wake_durable_waiters(), after releasing the store's mutex.
  bool advance_durable(std::uint64_t durable_lsn);
  void wake_durable_waiters() const { durable_cv_.notify_all(); }
  // A completed group's bytes, while readers tail. Returns a buffer for the store's spare
  // buffers (`group`'s own when it is not kept, or one evicted), possibly empty.
  io::AlignedBuffer keep(TailGroup group);
  // truncate_after/reset_to committed: no kept byte is served again, the ends are these.
  void invalidate(std::uint64_t first_lsn, std::uint64_t durable_lsn);
  void trimmed_to(std::uint64_t first_lsn);
  // The store stopped taking writes (closing, closed or failed): waits end, nothing is served.
  void end_writes();
  // Wakes every wait so that it looks at its cancel flag.
  void wake_all();

  // --- the readers' side ---
  // Whether groups are kept: only while a reader tails (the iterator counts itself once it
  // waited at the head, until it is destroyed); without one the store recycles every buffer.
  bool keeping() const { return tailers_.load(std::memory_order_relaxed) != 0; }
  void add_tailer() { tailers_.fetch_add(1, std::memory_order_relaxed); }
  void remove_tailer();
  // The record `lsn` from the kept groups (cursor is the reader's, kept between calls).
  // `error` is set (and record returned) when the kept bytes do not decode: never expected.
  TailLook read(std::uint64_t lsn, bool durable_only, TailCursor &cursor, RecordView *out, Status *error) const;
  // Waits until durable_lsn passed `lsn`, or another outcome (see TailWaited).
  TailWaited wait_durable(std::uint64_t lsn, std::chrono::steady_clock::time_point deadline,
                          std::atomic<bool> *cancel) const;
  std::uint64_t durable_lsn() const;

 private:
  // The kept group holding `lsn`, or nullptr. Caller holds mu_.
  std::shared_ptr<const TailGroup> group_of_locked(std::uint64_t lsn) const;
  io::AlignedBuffer evict_oldest_locked();

  // The record `lsn` decoded from cursor's group, which serves it. The outcome is record.
  TailLook decode(std::uint64_t lsn, TailCursor &cursor, RecordView *out, Status *error) const;
  // Whether the reader's group serves `lsn` now (read without mu_, see read()).
  bool cursor_serves(std::uint64_t lsn, const TailCursor &cursor) const;

  mutable std::mutex mu_;
  mutable std::condition_variable durable_cv_;
  std::deque<std::shared_ptr<TailGroup>> groups_;  // by first_lsn, ascending (gaps possible)
  std::uint64_t kept_bytes_ = 0;                   // sum of groups_' buffer sizes
  // The ends and the generation are written under mu_ (by the store, itself under its mutex)
  // and read with or without it: a reader inside its group checks them per record without a
  // lock. Sequentially consistent: see invalidate() and wait_durable() for the orders relied on.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> first_lsn_{0};
  std::atomic<std::uint64_t> durable_lsn_{0};
  std::atomic<bool> live_{false};  // open() ran and no end_writes() since: the ends are the store's
  bool writes_ended_ = true;       // until open(): waits go to the store, which knows why
  // Tail waits asleep (changed under mu_, read without it by advance_durable), and the lowest
  // LSN one waits for (under mu_): a durable advance below it wakes none.
  mutable std::atomic<std::size_t> waiters_{0};
  mutable std::uint64_t lowest_wait_lsn_ = UINT64_MAX;
  std::atomic<std::size_t> tailers_{0};
};

}  // namespace segstore::engine
