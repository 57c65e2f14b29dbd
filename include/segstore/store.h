// segstore/store.h — the durable log.
//
// A Store is a directory of preallocated segment files holding length-prefixed, CRC32C-checked
// records with dense 64-bit LSNs. See docs/ENGINE.md for the design and docs/FORMAT.md for bytes.
//
// Lifetime: Store::open() returns a unique_ptr; close() (or the destructor) flushes everything
// appended, writes the clean-shutdown marker and releases the directory lock. From the moment
// close() begins, appends (and sync(), truncate, snapshots) return Errc::store_closed; an append
// that returned an LSN before is made durable by close(). After close() every call returns
// Errc::store_closed. Iterators may outlive close(); they then return store_closed.
//
// Thread-safety: every member function may be called from any number of threads at once.
// Appends are serialised internally (each gets the next LSN); readers never block appenders
// for longer than a memory copy.
//
// Durability promise: a record is durable (survives a crash or power cut) once durable_lsn() has
// passed its LSN. In Durability::sync mode append() returns only after that; in interval mode at
// most flush_interval_ms after it was appended (if the device keeps up); in none mode after
// sync() or close(). A failed device sync is never retried: the store turns read-only
// (Errc::read_only) until it is reopened, which runs recovery (docs/RECOVERY.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "segstore/export.h"
#include "segstore/log.h"
#include "segstore/status.h"
#include "segstore/version.h"  // SEGSTORE_VERSION_*, segstore::version()

namespace segstore {

namespace io {
class Env;  // the I/O environment (real disk or the simulated disk of the tests)
}

// The largest payload one record may hold, in bytes (docs/FORMAT.md, record_payload_max_bytes;
// engine/append.cc ties it to the format's constant). A store whose segments are small holds
// less: one record must fit the data area of one segment, min(8 MiB, segment_bytes - 4096 - 32).
// Larger appends fail with Errc::record_too_large.
inline constexpr std::uint32_t record_payload_max_bytes = 8u << 20;

// The largest application metadata record (Store::write_metadata), in bytes.
inline constexpr std::uint32_t metadata_bytes_max = 64u << 10;

enum class Durability : std::uint8_t {
  sync,      // append returns once the record is on stable storage (group commit)
  interval,  // a background flush makes records durable every flush_interval_ms
  none,      // durable only after sync() or close()
};

enum class IoBackendKind : std::uint8_t {
  automatic,  // io_uring when the kernel allows it, else a thread doing pwrite/fdatasync
  uring,
  thread,
};

// How segment files are prepared ahead of the writer (docs/ENGINE.md, "Preallocation").
enum class PreallocMode : std::uint8_t {
  zero_fill,  // write zeros over the whole file: later data syncs need no extent conversion
  fallocate,  // fallocate() only: cheap to create, but each data sync converts unwritten extents
  automatic,  // zero_fill while data syncs are small (under 128 KiB on average), else fallocate
};

// Space: a store takes about (segments holding records + 1 spare) * segment_bytes on disk, the
// spare being the next segment prepared ahead of the writer (preallocate_next_segment). Each
// device sync writes at least one 4 KiB block, so many small synced appends take 4 KiB each
// until a block fills (README, "How much space a store takes").
struct Options {
  std::uint64_t segment_bytes = 64ull << 20;  // size of each segment file (multiple of 4 KiB)
  Durability durability = Durability::sync;
  std::uint32_t flush_interval_ms = 10;  // Durability::interval
  IoBackendKind io_backend = IoBackendKind::automatic;  // env SEGSTORE_IO_BACKEND overrides
  bool direct_io = true;  // O_DIRECT; buffered automatically if the file system refuses it
  std::uint32_t file_mode = 0640;  // permission bits of the files the store creates (less the umask)
  PreallocMode prealloc = PreallocMode::automatic;
  // Prepare the next segment file while the active one fills, so a roll never waits for a file
  // to be created (and zero-filled). false: a small store keeps one segment file, and the append
  // that rolls creates the next one itself.
  bool preallocate_next_segment = true;
  // Segment recycling: up to this many segment files that trim_before or retention frees are
  // kept ("<id>.free") and reused as later segments instead of new files. A recycled file's
  // blocks are already written, so appends into it pay neither zero-filling nor the file
  // system's conversion of unwritten extents (docs/ENGINE.md "Segment recycling"). Such a
  // segment's header carries format version 2 (docs/FORMAT.md): a store that used recycling
  // opens only with a build that knows it. 0 (the default): freed files are deleted.
  std::uint32_t recycled_segments_max = 0;
  std::uint32_t write_group_bytes_max = 1u << 20;  // one device write at most this large
  std::uint32_t inflight_groups_max = 4;            // write groups in flight at once
  bool create_if_missing = true;

  // Retention, applied when a segment is sealed; 0 = no limit. The active segment is never
  // removed by retention.
  std::uint64_t retain_bytes_max = 0;
  std::uint64_t retain_segments_max = 0;
  std::uint64_t retain_age_ms_max = 0;

  // Recovery (docs/RECOVERY.md).
  bool verify_on_open = false;   // scan every segment, trusting no index snapshot
  bool strict_recovery = false;  // refuse to open if recovery would cut the log
  // When recovery finds that acknowledged records are missing (docs/RECOVERY.md, "Acknowledged
  // data lost"), it records the loss in META and the store refuses writes (Errc::data_loss)
  // until it is opened with accept_data_loss: the operator's decision that the log continues
  // after the loss, handing the lost LSNs out again. Reads are served either way.
  bool accept_data_loss = false;

  // Application snapshots.
  std::uint32_t snapshots_kept = 3;
  // When set, called (on the appending thread, after the append returned its LSN to the
  // store) each time next_lsn crosses a multiple of snapshot_every_records.
  std::uint64_t snapshot_every_records = 0;
  std::function<void(std::uint64_t lsn)> on_snapshot_due;

  // Where the library's messages go (segstore/log.h); empty: stderr.
  Logger logger;

  // Not for applications: the library's own tests put the simulated disk here. io::Env is an
  // internal interface (io/env.h, not installed with these headers), so nothing outside the
  // library's source tree can make one; leave it nullptr (the real disk).
  std::shared_ptr<io::Env> env;
};

// A record as returned by reads. `type` is the on-disk record type (docs/FORMAT.md).
struct Record {
  std::uint64_t lsn = 0;
  std::uint32_t stream = 0;
  std::uint8_t type = 0;
  std::vector<std::byte> payload;
};

// A view valid until the iterator moves on.
struct RecordView {
  std::uint64_t lsn = 0;
  std::uint32_t stream = 0;
  std::uint8_t type = 0;
  std::span<const std::byte> payload;
};

struct BatchEntry {
  std::uint32_t stream = 0;
  std::span<const std::byte> payload;
};

struct Snapshot {
  std::uint64_t lsn = 0;  // the application state includes every record up to and including lsn
  std::vector<std::byte> state;
};

// A distribution of values recorded since open. Percentiles are the upper bound of the bucket
// holding them: at most 6.25% above the true value, never above max. All zero when count is 0.
struct Distribution {
  std::uint64_t count = 0;
  std::uint64_t p50 = 0;
  std::uint64_t p99 = 0;
  std::uint64_t p999 = 0;
  std::uint64_t max = 0;
};

// A snapshot of the store's figures (Store::stats()); counters and distributions since open.
struct Stats {
  std::uint64_t first_lsn = 0;
  std::uint64_t next_lsn = 0;
  std::uint64_t durable_lsn = 0;
  std::uint64_t segment_count = 0;
  std::uint64_t log_bytes = 0;        // bytes of records and padding in all segments
  std::uint64_t disk_bytes = 0;       // segment files on disk, the preallocated spare included
  std::uint64_t appends = 0;          // records appended since open
  std::uint64_t flushes = 0;          // device data syncs since open
  std::uint64_t bytes_written = 0;    // bytes submitted to the device since open
  std::uint64_t segments_recycled = 0;  // segments made from freed files since open (recycled_segments_max)
  std::uint64_t free_files = 0;       // freed segment files kept for recycling now
  double average_group_records = 0;   // records made durable per data sync
  std::uint64_t blocks_read = 0;      // 4 KiB blocks read from segment files since open
  std::uint64_t read_requests = 0;    // device reads of segment files that made up blocks_read
  std::uint64_t index_bytes = 0;      // memory held by the sparse index and stream bitmaps
  std::map<std::uint32_t, std::uint64_t> records_per_stream;
  std::string io_backend;             // "uring", "thread"; "+buffered" when O_DIRECT was refused

  // Latencies in microseconds. An append call from entry to return (in sync mode it includes the
  // wait for the device): every call with Durability::sync, and one in 16 of the calls that do
  // not wait for the device (none, interval, append_async; the first of them included), so its
  // count is the number of calls timed, not of calls made; a sync: one device data sync (a group's write with its linked sync, or
  // an explicit data sync of the written groups).
  Distribution append_latency_us;
  Distribution sync_latency_us;
  // Write groups as submitted to the device: records and bytes (whole blocks) per group.
  Distribution group_records;
  Distribution group_bytes;

  // What open's recovery did (the full account: Store::recovery_report()).
  bool recovery_ran = false;
  std::uint64_t recovery_duration_us = 0;
  std::uint64_t recovery_segments_scanned = 0;
  std::uint64_t recovery_records_scanned = 0;
  std::uint64_t recovery_bytes_scanned = 0;
  bool recovery_cut = false;
  std::uint64_t recovery_bytes_quarantined = 0;
};

// What open() found and did. `ran` is false when a clean shutdown let open skip the scan.
struct RecoveryReport {
  bool ran = false;
  std::uint64_t segments_checked = 0;
  std::uint64_t segments_scanned = 0;   // read record by record
  std::uint64_t records_recovered = 0;  // records in the scanned part
  std::uint64_t bytes_scanned = 0;
  bool cut = false;
  std::string cut_file;         // segment where the log was cut
  std::uint64_t cut_offset = 0; // byte offset of the first byte cut
  std::uint64_t cut_lsn = 0;    // first LSN that is not in the log any more
  std::string cut_reason;
  // Acknowledged records are missing: proven by this recovery (damage, or a log that ends
  // before what CLEAN, an index snapshot, META or a snapshot says it reached), or recorded in
  // META by an earlier one and not yet accepted. Writes are refused (Errc::data_loss) unless
  // loss_accepted.
  bool acknowledged_data_lost = false;
  std::uint64_t lost_lsn_first = 0, lost_lsn_last = 0;  // when acknowledged_data_lost
  std::string loss_evidence;    // what proves the loss
  bool loss_accepted = false;   // opened with Options::accept_data_loss: writes continue
  std::uint64_t bytes_quarantined = 0;
  std::string quarantine_dir;
  std::uint64_t duration_us = 0;
  std::vector<std::string> notes;  // other repairs (rebuilt index snapshots, removed temp files)

  SEGSTORE_API std::string to_string() const;
};

class Store;

// What a scan walks. The defaults walk every record up to next_lsn().
struct ScanOptions {
  std::optional<std::uint32_t> stream;  // only records of this stream
  // Walk only durable records: the iterator stops at durable_lsn() rather than next_lsn(), so it
  // never returns a record a crash could take back, and next_wait() waits for the next record
  // to become durable (starting no flush: in interval mode the background flush does it, in
  // none mode only sync() or another writer's wait does).
  bool durable_only = false;
};

// Ends an Iterator's next_wait() from another thread. Copyable; every copy may be used from
// any thread at once, and it may outlive its iterator and the store (cancel() then does
// nothing). Obtained from Iterator::canceller().
class SEGSTORE_API IteratorCanceller {
 public:
  // Makes the iterator's next_wait() in progress return Errc::cancelled at once, or, when none
  // is waiting, the next wait it begins. One cancel() ends one wait.
  void cancel() const;

  struct SEGSTORE_LOCAL State;  // not part of the ABI
  explicit IteratorCanceller(std::shared_ptr<State> state);

 private:
  std::shared_ptr<State> state_;
};

// Iterates records in LSN order, optionally of one stream, optionally durable ones only
// (ScanOptions). At the end of the log next() returns false; calling it again later returns
// records appended since (tailing).
// Thread-safety: one iterator belongs to one thread at a time; only cancel() and the
// IteratorCanceller it hands out may be used from other threads meanwhile.
class SEGSTORE_API Iterator {
 public:
  Iterator(Iterator &&) noexcept;
  Iterator &operator=(Iterator &&) noexcept;
  ~Iterator();

  // true: record() holds the next record; false: at the current end of the log.
  Result<bool> next();
  // Like next(), but at the end waits up to `timeout` for the next record to be appended (in a
  // durable_only scan: to become durable); false when the timeout passes first. A wait ends
  // early, with an error, when the store cannot bring the record any more: store_closed when it
  // was closed, read_only when it failed (a write or data sync error); and with Errc::cancelled
  // when cancel() ended it. `timeout` may be milliseconds::max(): no timeout.
  // From its first next_wait() until it is destroyed the iterator tails: the store keeps the
  // bytes of its newest write groups in memory (at most 4 MiB, or one group, per store, however
  // many iterators tail), and a walk of every stream near the head reads them from there.
  Result<bool> next_wait(std::chrono::milliseconds timeout);
  const RecordView &record() const;

  // Ends a next_wait() running on another thread (see IteratorCanceller::cancel()). The
  // iterator must outlive the call; a canceller() copy need not.
  void cancel();
  IteratorCanceller canceller() const;

  class SEGSTORE_LOCAL Impl;  // not part of the ABI

 private:
  friend class Store;  // Store::scan() makes iterators
  explicit Iterator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class SEGSTORE_API Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string &dir, const Options &options = {});
  ~Store();
  Store(const Store &) = delete;
  Store &operator=(const Store &) = delete;

  Status close();

  // Appends one record to `stream`; returns its LSN. Durability as the store's options say,
  // or as `durability` overrides for this call. Errc::log_full when no LSN is left (the limit
  // is 2^64 - 1), Errc::read_only after a failed write or sync (until reopened).
  Result<std::uint64_t> append(std::span<const std::byte> payload, std::uint32_t stream = 0);
  Result<std::uint64_t> append(std::span<const std::byte> payload, std::uint32_t stream,
                               Durability durability);
  // Appends all records atomically (after a crash all or none are there); returns the first
  // LSN, the others follow densely. The batch must fit in one segment.
  Result<std::uint64_t> append_batch(std::span<const BatchEntry> records);
  Result<std::uint64_t> append_batch(std::span<const BatchEntry> records, Durability durability);
  // Queues the record and returns its LSN at once; wait_durable(lsn) waits for it.
  Result<std::uint64_t> append_async(std::span<const std::byte> payload, std::uint32_t stream = 0);
  // Returns once the record `lsn` is durable (starting a device sync if none is due);
  // Errc::truncated if truncate_after/reset_to removed it meanwhile.
  Status wait_durable(std::uint64_t lsn);
  // Makes every record appended so far durable.
  Status sync();

  std::uint64_t first_lsn() const;    // oldest record present (== next_lsn when empty)
  std::uint64_t next_lsn() const;     // LSN the next append receives
  std::uint64_t durable_lsn() const;  // every record below this LSN is durable

  // Waits until next_lsn() > lsn (the record `lsn` exists). ok when it does; otherwise why not,
  // as soon as it is known: Errc::timed_out when the timeout passed, store_closed when the
  // store was closed, read_only when it failed (no record can be appended any more). For
  // tailing readers. `timeout` may be milliseconds::max(): no timeout.
  Status wait_for_lsn(std::uint64_t lsn, std::chrono::milliseconds timeout) const;

  // Waits (starting no flush) until durable_lsn() > lsn. ok when it is; otherwise timed_out,
  // store_closed, or read_only as soon as the store failed (a data sync error: the record will
  // never become durable in this open). For readers that hand out only durable records and for
  // writers in interval mode that must tell a slow flush from a failed one.
  Status wait_until_durable(std::uint64_t lsn, std::chrono::milliseconds timeout) const;

  Result<Record> read(std::uint64_t lsn);
  Result<Iterator> scan(std::uint64_t from_lsn);
  Result<Iterator> scan(std::uint64_t from_lsn, std::uint32_t stream);
  // from_lsn in [first_lsn(), next_lsn()]; lsn_out_of_range past next_lsn().
  Result<Iterator> scan(std::uint64_t from_lsn, const ScanOptions &options);

  // Drops every record after `lsn` (lsn = first_lsn - 1 ... next_lsn - 1); the next append
  // gets lsn + 1. Durable when it returns; snapshots past lsn are moved to quarantine/.
  // Errc::splits_batch (nothing changed) when lsn + 1 is inside an atomic batch. A failure
  // after the files began to change leaves the store read-only until reopened.
  Status truncate_after(std::uint64_t lsn);
  // Records before `lsn` are gone (first_lsn() becomes lsn); whole segments below are deleted.
  // Makes the records below `lsn` durable first. A failure writing META leaves the store
  // read-only until reopened (the trim may or may not be on disk: the reopen decides).
  Status trim_before(std::uint64_t lsn);
  // Discards every record; `lsn` becomes both first_lsn() and next_lsn(). Durable on return;
  // snapshots at or past lsn are moved to quarantine/. On failure the store is read-only.
  Status reset_to(std::uint64_t lsn);

  // Stores the application's state as of `lsn` (atomic; durable on return). lsn < next_lsn().
  Status write_snapshot(std::uint64_t lsn, std::span<const std::byte> state);
  // The newest valid snapshot; Errc::not_found when there is none.
  Result<Snapshot> latest_snapshot();
  // Replaces the whole log by a snapshot at any `lsn` (also outside [first_lsn, next_lsn)), as a
  // follower does that receives its leader's state: on return the log is empty, first_lsn() ==
  // next_lsn() == lsn + 1, and latest_snapshot() returns this state. Atomic: after a crash the
  // store holds either the old log and snapshots or the new snapshot and the empty log. Durable
  // on return; on failure after the files began to change the store is read-only until reopened
  // (reopening finds one of the two states). lsn < 2^64 - 1.
  Status install_snapshot(std::uint64_t lsn, std::span<const std::byte> state);

  // A small application record kept beside the log (a consensus module's term and vote, say),
  // at most metadata_bytes_max bytes. write_metadata replaces it atomically and durably: after a
  // crash read_metadata returns the old or the new bytes, never a mix. It is independent of the
  // log: truncate_after, trim_before and reset_to leave it alone. Errc::not_found when none was
  // ever written; corruption (file, offset, cause) when the file fails its checks.
  Status write_metadata(std::span<const std::byte> bytes);
  Result<std::vector<std::byte>> read_metadata();

  Stats stats() const;
  const RecoveryReport &recovery_report() const;
  const std::string &dir() const;

  class SEGSTORE_LOCAL Impl;  // not part of the ABI

 private:
  explicit Store(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Runs the recovery pass on a store that is not open (what `segstore recover` does).
SEGSTORE_API Result<RecoveryReport> recover(const std::string &dir, const Options &options = {});

}  // namespace segstore
