// examples/event_store/event_store.h — an event-sourcing store on libsegstore's public API.
//
// Events are opaque byte strings appended to one segstore Store (stream 0); an event's offset is
// its LSN (dense, from 0). A StateMachine folds events into the application's state; the
// EventStore keeps that state current as events are appended and, every `snapshot_every_events`
// events, stores it as a segstore application snapshot so that a restart replays only the events
// after the newest snapshot (recover(): latest_snapshot(), then scan(snapshot.lsn + 1)).
//
// Lifetime: open() recovers the state and returns the store; close() (or the destructor) flushes
// and closes the log. The StateMachine passed to open() must outlive the EventStore.
//
// Thread-safety: append(), append_batch(), read_from(), snapshot_now() and with_state() may be
// called from any number of threads at once. Appends are applied to the state machine in offset
// order under one mutex (a memory copy and an apply() each); the wait for the device happens
// outside it, so concurrent appenders share device syncs (group commit).
//
// Durability promise: with Durability::sync (the default) append() returns only once the event
// is on stable storage, and then it survives any crash; after a crash recover() rebuilds exactly
// the state computed from the events that survived, which include every acknowledged one.
// read_from() delivers only durable events. A snapshot never covers an event that a crash could
// take away (segstore makes the log durable up to a snapshot's LSN before writing it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "segstore/store.h"

namespace event_store {

// The application's state, rebuilt from events. Every method is called with the EventStore's
// mutex held, so an implementation needs no locking of its own. apply() must be deterministic:
// the state after a restart is recomputed by applying the same events again.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  virtual void reset() = 0;                                                // the empty state
  virtual void apply(std::uint64_t offset, std::span<const std::byte> event) = 0;
  virtual std::vector<std::byte> snapshot() const = 0;                     // encode the state
  // Replaces the state with a decoded snapshot; on failure returns false, sets *error, and
  // leaves the state unspecified (the caller resets it).
  virtual bool restore(std::span<const std::byte> state, std::string *error) = 0;
};

struct Options {
  std::uint64_t snapshot_every_events = 1000;  // 0: never snapshot on its own
  segstore::Durability durability = segstore::Durability::sync;
  std::uint64_t segment_bytes = 64ull << 20;
  // Observers (monitoring and tests): called on the appending thread around each snapshot
  // write, outside the EventStore's mutex, with the snapshot's offset.
  std::function<void(std::uint64_t offset)> on_snapshot_start;
  std::function<void(std::uint64_t offset, const segstore::Status &status)> on_snapshot_done;
};

// What recover() did.
struct RecoveryInfo {
  bool from_snapshot = false;
  std::uint64_t snapshot_offset = 0;    // when from_snapshot: the state included events 0..this
  std::uint64_t events_replayed = 0;    // events applied after the snapshot (or all of them)
  std::uint64_t next_offset = 0;        // offset the next append receives
  std::uint64_t duration_us = 0;        // open of the log not included
  std::string note;                     // why a snapshot was not used, when one was refused
};

class EventStore {
 public:
  static segstore::Result<std::unique_ptr<EventStore>> open(const std::string &dir, StateMachine &machine,
                                                            const Options &options = {});
  ~EventStore();
  EventStore(const EventStore &) = delete;
  EventStore &operator=(const EventStore &) = delete;

  // Appends one event, applies it to the state machine, and returns its offset once it is as
  // durable as Options::durability says.
  segstore::Result<std::uint64_t> append(std::span<const std::byte> event);
  segstore::Result<std::uint64_t> append(std::string_view event);
  // Appends the events atomically (all or none survive a crash); returns the first offset, the
  // others follow densely. The batch must fit in one segment.
  segstore::Result<std::uint64_t> append_batch(std::span<const std::span<const std::byte>> events);

  // Calls `visit(offset, event)` for each durable event from `offset` on, in order, until it
  // returns false or the durable end is reached. Returns the offset to continue from.
  segstore::Result<std::uint64_t> read_from(
      std::uint64_t offset, const std::function<bool(std::uint64_t, std::span<const std::byte>)> &visit);

  // Rebuilds the state: the newest snapshot the state machine accepts, then the events after it.
  // open() calls it; calling it again recomputes the state from the log.
  segstore::Status recover();
  RecoveryInfo last_recovery() const;

  // Writes a snapshot of the current state now (at the newest applied offset).
  segstore::Status snapshot_now();

  // Runs `inspect` with the state machine under the mutex (a consistent view).
  void with_state(const std::function<void(const StateMachine &)> &inspect) const;

  std::uint64_t next_offset() const;
  segstore::Stats log_stats() const;
  segstore::Status close();

 private:
  struct PendingSnapshot {
    std::uint64_t offset = 0;
    std::vector<std::byte> state;
  };

  EventStore(StateMachine &machine, Options options);
  segstore::Result<std::uint64_t> append_entries(std::span<const segstore::BatchEntry> entries);
  // Called by the Store inside an append, on the appending thread, which holds mu_.
  void note_snapshot_due(std::uint64_t offset);
  // With mu_ held: the snapshot to write once the lock is released, if one is due.
  std::optional<PendingSnapshot> take_due_snapshot_locked(std::uint64_t applied_through);
  void write_snapshot(PendingSnapshot snapshot);

  StateMachine &machine_;
  const Options options_;
  std::unique_ptr<segstore::Store> store_;
  mutable std::mutex mu_;                  // order of appends == order of apply()
  std::uint64_t snapshot_due_offset_ = 0;  // guarded by mu_
  bool snapshot_due_ = false;              // guarded by mu_
  RecoveryInfo recovery_;                  // guarded by mu_
};

inline std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}
inline std::string_view string_of(std::span<const std::byte> b) {
  return std::string_view(reinterpret_cast<const char *>(b.data()), b.size());
}

}  // namespace event_store
