/* segstore/segstore.h — the C API of libsegstore.
 *
 * The whole C++ Store (segstore/store.h) for C, Rust, Zig, Python and any language with a C FFI:
 * appends (single, batch, async, with a durability of their own), reads, scans (of a stream, of
 * durable records only), tailing waits with a timeout and a cancel, application snapshots,
 * statistics, recovery figures, retention, preallocation and a logging callback. Pure C11: only
 * <stdint.h> and <stddef.h>.
 *
 * Names: every function and type starts with segstore_. The store handle is `segstore_handle`
 * in C and C++ alike (C++ cannot use the shorter `segstore`: it is the library's namespace).
 * C code may also spell it `segstore`, the name of the first releases, kept as an alias of the
 * same struct: the ABI is one.
 *
 * Errors: every function that can fail returns 0 on success or a negative code,
 * -(int)segstore::Errc (SEGSTORE_E_* below, stable numbers). segstore_strerror(code) describes a
 * code; segstore_last_error_message() gives the message of the calling thread's last failure,
 * which names the file, the offset and the cause ("io_error: read /data/s/0001.seg at offset
 * 8192: ..."). No C++ exception ever crosses this boundary: an allocation failure returns
 * SEGSTORE_E_NO_MEMORY. A NULL where a pointer is required is SEGSTORE_E_INVALID_ARGUMENT.
 *
 * Ownership: the library owns what it hands out until the matching close/destroy call: a
 * segstore_options until segstore_options_destroy(), a handle until segstore_close(), an
 * iterator until segstore_iter_close(), a canceller until segstore_canceller_destroy(). Every
 * buffer, entry array and string passed in stays the caller's: the library copies what it keeps
 * (segstore_open copies the options; an append copies the payload before it returns).
 * Pointers handed out (a record's data, segstore_dir(), messages) are borrowed, valid as each
 * function says.
 *
 * Lifetime:
 *   - segstore_options: create, set, pass to segstore_open (which copies it), destroy.
 *   - segstore_handle: segstore_open() returns a handle; segstore_close() flushes every record
 *     appended, writes the clean-shutdown marker, releases the directory lock and frees the
 *     handle (also when it returns an error: the handle is gone either way).
 *   - segstore_iter: opened on a store, closed with segstore_iter_close(). An iterator may
 *     outlive its store's handle; it then returns SEGSTORE_E_STORE_CLOSED. The data pointer
 *     that segstore_iter_next() hands out stays valid until the next call on that iterator.
 *   - segstore_canceller: taken from an iterator; may outlive the iterator and the store
 *     (cancelling then does nothing); destroyed with segstore_canceller_destroy().
 *
 * Thread-safety: a segstore_handle may be used from any number of threads at once (appends are
 * serialised inside, each gets the next LSN), except that segstore_close() must not run
 * concurrently with any other call on the same handle, nor be followed by one. An iterator
 * belongs to one thread at a time; only segstore_iter_cancel() and its cancellers may be used
 * from other threads meanwhile. A segstore_options is not synchronised: set it from one thread,
 * then any number of threads may open stores with it. segstore_last_error_message() is per
 * thread. Callbacks (logger, snapshot due) run on the library's threads: see each.
 *
 * Durability: a record is durable (survives a crash or power cut) once segstore_durable_lsn()
 * has passed its LSN. With SEGSTORE_DURABILITY_SYNC (the default) segstore_append() returns
 * only after that; with _INTERVAL within the flush interval (10 ms by default); with _NONE only
 * after segstore_sync(), segstore_wait_durable() or segstore_close(). truncate/trim/reset are
 * durable when they return. A failed device sync is never retried: the store turns read-only
 * (SEGSTORE_E_READ_ONLY) until it is reopened, which runs recovery.
 */
#ifndef SEGSTORE_SEGSTORE_H
#define SEGSTORE_SEGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "segstore/export.h"
#include "segstore/version.h" /* SEGSTORE_VERSION_*, SEGSTORE_FORMAT_VERSION, segstore_version() */

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: 0 or the negated segstore::Errc (segstore/status.h). Never renumbered. */
#define SEGSTORE_OK 0
#define SEGSTORE_E_INVALID_ARGUMENT (-1)     /* a parameter is out of its documented range */
#define SEGSTORE_E_RECORD_TOO_LARGE (-2)     /* payload (or batch) exceeds the maximum record size */
#define SEGSTORE_E_LSN_OUT_OF_RANGE (-3)     /* LSN below first_lsn or at/after next_lsn */
#define SEGSTORE_E_STORE_CLOSED (-4)         /* the store was closed */
#define SEGSTORE_E_STORE_IN_USE (-5)         /* another open holds the directory's LOCK */
#define SEGSTORE_E_NOT_A_STORE (-6)          /* the directory holds files that are no segstore */
#define SEGSTORE_E_PERMISSION_DENIED (-7)    /* the OS refused access */
#define SEGSTORE_E_IO_ERROR (-8)             /* the OS reported an I/O error */
#define SEGSTORE_E_NO_SPACE (-9)             /* ENOSPC / EDQUOT */
#define SEGSTORE_E_READ_ONLY (-10)           /* a data sync failed earlier; reopen the store */
#define SEGSTORE_E_CORRUPTION (-11)          /* bytes on disk fail their checks */
#define SEGSTORE_E_BUFFER_TOO_SMALL (-12)    /* the caller's buffer cannot hold the record */
#define SEGSTORE_E_NOT_FOUND (-13)           /* nothing of that kind exists */
#define SEGSTORE_E_RECOVERY_REQUIRED (-14)   /* strict recovery refused to cut the log */
#define SEGSTORE_E_UNSUPPORTED_VERSION (-15) /* on-disk format version this build cannot read */
#define SEGSTORE_E_END_OF_LOG (-16)          /* an iterator is past the last record */
#define SEGSTORE_E_NOT_A_DIRECTORY (-17)     /* the path exists but is not a directory */
#define SEGSTORE_E_BUSY (-18)                /* conflicts with another operation in progress */
#define SEGSTORE_E_LOG_FULL (-19)            /* next_lsn reached 2^64 - 1: no LSN is left to append */
#define SEGSTORE_E_TRUNCATED (-20)           /* truncate/reset removed the record before it was durable */
#define SEGSTORE_E_SPLITS_BATCH (-21)        /* truncate_after's cut point is inside an atomic batch */
#define SEGSTORE_E_CANCELLED (-22)           /* a waiting iterator was cancelled */
#define SEGSTORE_E_TIMED_OUT (-23)           /* a wait's timeout passed first */
#define SEGSTORE_E_DATA_LOSS (-24)           /* acknowledged records were lost: writes refused until accepted */
#define SEGSTORE_E_NOT_A_REGULAR_FILE (-25)  /* a store file is a FIFO, device, directory or symlink */
/* Codes of the C layer only (no segstore::Errc counterpart). */
#define SEGSTORE_E_NO_MEMORY (-100)          /* an allocation failed */
#define SEGSTORE_E_INTERNAL (-101)           /* an unexpected C++ exception was caught */

/* The largest payload one record may hold, in bytes (segstore::record_payload_max_bytes): 8 MiB,
 * or less when segments are small (min(8 MiB, segment_bytes - 4096 - 32)). Larger appends fail
 * with SEGSTORE_E_RECORD_TOO_LARGE. */
#define SEGSTORE_RECORD_PAYLOAD_MAX_BYTES 8388608u

/* Durability modes (segstore::Durability). */
#define SEGSTORE_DURABILITY_SYNC 0     /* append returns once the record is on stable storage */
#define SEGSTORE_DURABILITY_INTERVAL 1 /* a background flush makes records durable periodically */
#define SEGSTORE_DURABILITY_NONE 2     /* durable only after sync, wait_durable or close */

/* The store handle (see "Names" above): `segstore_handle` everywhere, `segstore` in C too. */
typedef struct segstore_handle segstore_handle;
#ifndef __cplusplus
typedef struct segstore_handle segstore;
#endif
typedef struct segstore_options segstore_options;
typedef struct segstore_iter segstore_iter;
typedef struct segstore_canceller segstore_canceller;

/* One record of a batch (segstore_append_batch). */
typedef struct segstore_batch_entry {
  uint32_t stream;
  const void *data; /* may be NULL when len == 0 */
  size_t len;
} segstore_batch_entry;

/* I/O backends (segstore::IoBackendKind). */
#define SEGSTORE_IO_BACKEND_AUTOMATIC 0 /* io_uring when the kernel allows it, else a thread */
#define SEGSTORE_IO_BACKEND_URING 1
#define SEGSTORE_IO_BACKEND_THREAD 2    /* a thread doing pwrite + fdatasync */

/* How segment files are prepared (segstore::PreallocMode; docs/ENGINE.md "Preallocation"). */
#define SEGSTORE_PREALLOC_ZERO_FILL 0 /* zeros over the whole file: later syncs convert no extents */
#define SEGSTORE_PREALLOC_FALLOCATE 1 /* fallocate() only: cheap to create, costlier syncs */
#define SEGSTORE_PREALLOC_AUTOMATIC 2 /* zero_fill while syncs are small, else fallocate */

/* Log levels (segstore::LogLevel). */
#define SEGSTORE_LOG_DEBUG 0
#define SEGSTORE_LOG_INFO 1
#define SEGSTORE_LOG_WARNING 2
#define SEGSTORE_LOG_ERROR 3

/* A timeout that never passes (the waits below take milliseconds; any negative value works). */
#define SEGSTORE_WAIT_FOREVER (-1)

/* Flags of segstore_scan (segstore::ScanOptions). */
#define SEGSTORE_SCAN_STREAM 1u       /* only records of the `stream` argument */
#define SEGSTORE_SCAN_DURABLE_ONLY 2u /* stop at durable_lsn; waits wait for durability */

/* Called with one message (valid during the call only) at `level` (SEGSTORE_LOG_*). Runs on
 * any of the library's threads, possibly several at once; must not call into the store. */
typedef void (*segstore_log_fn)(void *context, int level, const char *message);
/* Called on the appending thread, inside the append that made next_lsn cross a multiple of the
 * snapshot interval, with the LSN of that append's last record: a snapshot of the application's
 * state as of `lsn` is due (segstore_write_snapshot). */
typedef void (*segstore_snapshot_due_fn)(void *context, uint64_t lsn);

/* --- options ------------------------------------------------------------------------------- */
/* Thread-safety: a segstore_options is plain data; no two threads may set the same one at once.
 * Every setter returns 0, or SEGSTORE_E_INVALID_ARGUMENT for a NULL opts or a value out of its
 * listed set; ranges (sizes, counts) are checked by segstore_open. */

/* Defaults: 64 MiB segments, SEGSTORE_DURABILITY_SYNC, 10 ms flush interval, create if missing,
 * automatic I/O backend with O_DIRECT, automatic preallocation with a spare segment, 1 MiB
 * write groups, 4 groups in flight, no retention, 3 snapshots kept, logging to stderr.
 * Returns NULL when memory is exhausted. The caller owns it: segstore_options_destroy(). */
SEGSTORE_API segstore_options *segstore_options_create(void);
SEGSTORE_API void segstore_options_destroy(segstore_options *opts); /* NULL is fine */
/* A multiple of 4096 between 16 KiB and 1 GiB. The largest record is a little smaller than a
 * segment (SEGSTORE_RECORD_PAYLOAD_MAX_BYTES). */
SEGSTORE_API int segstore_options_set_segment_bytes(segstore_options *opts, uint64_t bytes);
/* SEGSTORE_DURABILITY_*. */
SEGSTORE_API int segstore_options_set_durability(segstore_options *opts, int durability);
SEGSTORE_API int segstore_options_set_flush_interval_ms(segstore_options *opts, uint32_t ms);
/* 0: segstore_open fails with SEGSTORE_E_NOT_FOUND when the directory does not exist. */
SEGSTORE_API int segstore_options_set_create_if_missing(segstore_options *opts, int create);
/* SEGSTORE_IO_BACKEND_* (the environment variable SEGSTORE_IO_BACKEND overrides it). */
SEGSTORE_API int segstore_options_set_io_backend(segstore_options *opts, int backend);
/* 0: buffered I/O. 1 (default): O_DIRECT, buffered anyway where the file system refuses it. */
SEGSTORE_API int segstore_options_set_direct_io(segstore_options *opts, int direct);
/* SEGSTORE_PREALLOC_*. */
SEGSTORE_API int segstore_options_set_prealloc_mode(segstore_options *opts, int mode);
/* 1 (default): the next segment file is prepared while the active one fills (a store takes one
 * segment more on disk). 0: no spare; the append that fills a segment creates the next. */
SEGSTORE_API int segstore_options_set_preallocate_next_segment(segstore_options *opts, int enabled);
/* Segment recycling: up to `files` segment files freed by trim or retention are kept and reused
 * as later segments (their blocks already written). 0 (default): freed files are deleted. A store
 * that recycled holds segments of format version 2 (docs/FORMAT.md "Recycled segments"). */
SEGSTORE_API int segstore_options_set_recycled_segments_max(segstore_options *opts, uint32_t files);
/* The largest single device write, 8 KiB .. 64 MiB (default 1 MiB). */
SEGSTORE_API int segstore_options_set_write_group_bytes_max(segstore_options *opts, uint32_t bytes);
/* Write groups in flight at once, 1 .. 256 (default 4). */
SEGSTORE_API int segstore_options_set_inflight_groups_max(segstore_options *opts, uint32_t groups);
/* Retention, applied when a segment is sealed (the active segment is never removed); 0 = no
 * limit on that measure. */
SEGSTORE_API int segstore_options_set_retention(segstore_options *opts, uint64_t bytes_max,
                                                uint64_t segments_max, uint64_t age_ms_max);
/* 1: open scans every segment, trusting no index snapshot (default 0). */
SEGSTORE_API int segstore_options_set_verify_on_open(segstore_options *opts, int verify);
/* 1: open fails with SEGSTORE_E_RECOVERY_REQUIRED rather than cut the log (default 0). */
SEGSTORE_API int segstore_options_set_strict_recovery(segstore_options *opts, int strict);
/* 1: a store whose recovery found acknowledged records lost accepts writes again (the
 * operator's decision; SEGSTORE_E_DATA_LOSS otherwise). Default 0. */
SEGSTORE_API int segstore_options_set_accept_data_loss(segstore_options *opts, int accept);
/* Application snapshots kept by segstore_write_snapshot (default 3). */
SEGSTORE_API int segstore_options_set_snapshots_kept(segstore_options *opts, uint32_t kept);
/* Calls fn(context, lsn) each time next_lsn crosses a multiple of every_records
 * (0 or fn NULL: never). `context` is the caller's, passed through untouched; it must stay valid
 * while a store opened with these options is open. */
SEGSTORE_API int segstore_options_set_snapshot_due(segstore_options *opts, uint64_t every_records,
                                                   segstore_snapshot_due_fn fn, void *context);
/* Sends the library's messages of `min_level` (SEGSTORE_LOG_*) and above to fn(context, level,
 * message). fn NULL: back to the default, "segstore <level>: <message>" lines on stderr (which
 * SEGSTORE_QUIET=1 silences). `context` must stay valid while a store opened with these options
 * is open (and for the first open's I/O backend messages, which are logged once per process). */
SEGSTORE_API int segstore_options_set_logger(segstore_options *opts, int min_level,
                                             segstore_log_fn fn, void *context);

/* --- open / close -------------------------------------------------------------------------- */
/* Opens (or creates) the store in `dir`, running recovery if needed. `opts` may be NULL
 * (defaults); it is copied. On success *out is the handle (the caller's, until segstore_close);
 * on failure *out is NULL. Thread-safety: any thread; a second open of the same directory, in
 * this process or another, fails with SEGSTORE_E_STORE_IN_USE. */
SEGSTORE_API int segstore_open(const char *dir, const segstore_options *opts,
                               segstore_handle **out);
/* Flushes, closes and frees `s` (NULL is fine). Returns the close's status. Thread-safety: no
 * other call on `s` may run meanwhile or follow; waits on `s` in other threads must have ended
 * (segstore_iter_next_wait may still run: it then returns SEGSTORE_E_STORE_CLOSED). */
SEGSTORE_API int segstore_close(segstore_handle *s);
/* The directory `s` was opened on; valid until segstore_close(s). "" for a NULL handle. */
SEGSTORE_API const char *segstore_dir(const segstore_handle *s);

/* --- appends (thread-safe: any number of threads at once; each record gets the next LSN) --- */
/* Appends one record (len may be 0; data may then be NULL), with the store's durability.
 * *lsn_out (may be NULL) gets its LSN. SEGSTORE_E_LOG_FULL when no LSN is left,
 * SEGSTORE_E_READ_ONLY after a failed write or sync. */
SEGSTORE_API int segstore_append(segstore_handle *s, uint32_t stream, const void *data,
                                 size_t len, uint64_t *lsn_out);
/* Like segstore_append, with `durability` (SEGSTORE_DURABILITY_*) for this record only. */
SEGSTORE_API int segstore_append_durability(segstore_handle *s, uint32_t stream, const void *data,
                                            size_t len, int durability, uint64_t *lsn_out);
/* Appends `count` >= 1 records atomically (after a crash all or none are there); they get dense
 * LSNs from *first_lsn_out (may be NULL). The batch must fit in one segment. */
SEGSTORE_API int segstore_append_batch(segstore_handle *s, const segstore_batch_entry *entries,
                                       size_t count, uint64_t *first_lsn_out);
/* Like segstore_append_batch, with `durability` for this batch only. */
SEGSTORE_API int segstore_append_batch_durability(segstore_handle *s,
                                                  const segstore_batch_entry *entries, size_t count,
                                                  int durability, uint64_t *first_lsn_out);
/* Queues the record and returns its LSN at once, without waiting for the device;
 * segstore_wait_durable(lsn) waits for it. */
SEGSTORE_API int segstore_append_async(segstore_handle *s, uint32_t stream, const void *data,
                                       size_t len, uint64_t *lsn_out);
/* Makes every record appended so far durable. */
SEGSTORE_API int segstore_sync(segstore_handle *s);
/* Returns once record `lsn` is durable (starting a device sync if none is due);
 * SEGSTORE_E_TRUNCATED when truncate/reset removed it meanwhile. */
SEGSTORE_API int segstore_wait_durable(segstore_handle *s, uint64_t lsn);

/* --- waits (thread-safe; timeout in milliseconds, negative: SEGSTORE_WAIT_FOREVER) ---------- */
/* Waits until record `lsn` exists (next_lsn > lsn). 0 when it does; otherwise, as soon as it is
 * known, SEGSTORE_E_TIMED_OUT, SEGSTORE_E_STORE_CLOSED or SEGSTORE_E_READ_ONLY (the store failed:
 * nothing more will be appended). */
SEGSTORE_API int segstore_wait_for_lsn(const segstore_handle *s, uint64_t lsn, int64_t timeout_ms);
/* Waits, starting no device sync, until record `lsn` is durable (durable_lsn > lsn). 0, or
 * SEGSTORE_E_TIMED_OUT, SEGSTORE_E_STORE_CLOSED, SEGSTORE_E_READ_ONLY as for segstore_wait_for_lsn.
 * For writers in interval mode and readers that hand out durable records only. */
SEGSTORE_API int segstore_wait_until_durable(const segstore_handle *s, uint64_t lsn,
                                             int64_t timeout_ms);

/* --- reads (thread-safe) ------------------------------------------------------------------- */
/* Copies record `lsn` into buf[0..cap). *len_out (required) gets the payload size; when it is
 * larger than cap the call returns SEGSTORE_E_BUFFER_TOO_SMALL and copies nothing (call again
 * with a buffer of *len_out bytes; buf may be NULL when cap is 0). *stream_out may be NULL. */
SEGSTORE_API int segstore_read(segstore_handle *s, uint64_t lsn, void *buf, size_t cap,
                               size_t *len_out, uint32_t *stream_out);
/* Opens an iterator over records in LSN order from `from_lsn` (first_lsn .. next_lsn;
 * SEGSTORE_E_LSN_OUT_OF_RANGE otherwise). `flags`: SEGSTORE_SCAN_STREAM (only records of
 * `stream`; ignored otherwise), SEGSTORE_SCAN_DURABLE_ONLY (never a record a crash could take
 * back: the iterator ends at durable_lsn). The caller owns *out: segstore_iter_close(). */
SEGSTORE_API int segstore_scan(segstore_handle *s, uint64_t from_lsn, uint32_t flags,
                               uint32_t stream, segstore_iter **out);
/* segstore_scan(s, from_lsn, 0, 0, out): every record. */
SEGSTORE_API int segstore_iter_open(segstore_handle *s, uint64_t from_lsn, segstore_iter **out);
/* segstore_scan(s, from_lsn, SEGSTORE_SCAN_STREAM, stream, out). */
SEGSTORE_API int segstore_iter_open_stream(segstore_handle *s, uint64_t from_lsn, uint32_t stream,
                                           segstore_iter **out);
/* 1: a record (the outputs that are not NULL are set; *data is valid until the next call on
 * this iterator), 0: at the end of the log, negative: an error. At the end, calling again later
 * returns records appended since (tailing). Thread-safety: one thread per iterator at a time. */
SEGSTORE_API int segstore_iter_next(segstore_iter *it, uint64_t *lsn, uint32_t *stream,
                                    const void **data, size_t *len);
/* Like segstore_iter_next, but at the end waits up to timeout_ms for the next record to be
 * appended (durable, in a SEGSTORE_SCAN_DURABLE_ONLY scan): 1 a record, 0 the timeout passed
 * first, negative: SEGSTORE_E_CANCELLED (segstore_iter_cancel or a canceller ended the wait),
 * SEGSTORE_E_STORE_CLOSED, SEGSTORE_E_READ_ONLY (no record can come any more) or another error. */
SEGSTORE_API int segstore_iter_next_wait(segstore_iter *it, int64_t timeout_ms, uint64_t *lsn,
                                         uint32_t *stream, const void **data, size_t *len);
/* Ends the iterator's wait in progress with SEGSTORE_E_CANCELLED at once, or, when none is
 * waiting, the next wait it begins; one cancel ends one wait. Thread-safety: any thread, while
 * the iterator is used by another; `it` must stay open during the call. NULL is fine. */
SEGSTORE_API void segstore_iter_cancel(segstore_iter *it);
/* A canceller of `it` for a thread that may outlive the iterator (segstore_canceller_cancel
 * acts as segstore_iter_cancel, and does nothing once the iterator is closed). The caller owns
 * *out: segstore_canceller_destroy(). */
SEGSTORE_API int segstore_iter_canceller(segstore_iter *it, segstore_canceller **out);
/* Thread-safety: any thread, any number at once. NULL is fine. */
SEGSTORE_API void segstore_canceller_cancel(const segstore_canceller *c);
SEGSTORE_API void segstore_canceller_destroy(segstore_canceller *c); /* NULL is fine */
SEGSTORE_API void segstore_iter_close(segstore_iter *it); /* NULL is fine */

/* --- positions (thread-safe; 0 for a NULL handle) ----------------------------------------- */
/* The oldest record present (== next LSN when the log is empty). */
SEGSTORE_API uint64_t segstore_first_lsn(const segstore_handle *s);
/* The LSN the next append receives. */
SEGSTORE_API uint64_t segstore_next_lsn(const segstore_handle *s);
/* Every record below this LSN is durable. */
SEGSTORE_API uint64_t segstore_durable_lsn(const segstore_handle *s);

/* --- removal (thread-safe; durable on return) ---------------------------------------------- */
/* Drops every record after `lsn` (first_lsn - 1 <= lsn <= next_lsn - 1); the next append gets
 * lsn + 1. SEGSTORE_E_SPLITS_BATCH (nothing changed) when lsn + 1 is inside an atomic batch. */
SEGSTORE_API int segstore_truncate_after(segstore_handle *s, uint64_t lsn);
/* Records before `lsn` are gone (first_lsn becomes lsn); whole segments below are deleted. */
SEGSTORE_API int segstore_trim_before(segstore_handle *s, uint64_t lsn);
/* Discards every record; `lsn` becomes both first_lsn and next_lsn. */
SEGSTORE_API int segstore_reset_to(segstore_handle *s, uint64_t lsn);

/* --- application snapshots (thread-safe) ----------------------------------------------------- */
/* Stores the application's state as of `lsn` (< next_lsn): data[0..len) is copied, written
 * atomically and durably; the newest segstore_options_set_snapshots_kept() are kept. */
SEGSTORE_API int segstore_write_snapshot(segstore_handle *s, uint64_t lsn, const void *data,
                                         size_t len);
/* The newest valid snapshot, copied as segstore_read copies a record: *len_out (required) gets
 * its size, SEGSTORE_E_BUFFER_TOO_SMALL when it exceeds cap (nothing copied); *lsn_out (may be
 * NULL) its LSN. SEGSTORE_E_NOT_FOUND when there is none. */
SEGSTORE_API int segstore_latest_snapshot(segstore_handle *s, uint64_t *lsn_out, void *buf,
                                          size_t cap, size_t *len_out);

/* --- statistics (thread-safe) -------------------------------------------------------------- */
/* A distribution since open: percentiles are the upper bound of their bucket, at most 6.25%
 * above the true value and never above max; all 0 when count is 0. */
typedef struct segstore_distribution {
  uint64_t count, p50, p99, p999, max;
} segstore_distribution;

/* segstore::Stats. New fields are only ever appended: a program passes sizeof of the struct it
 * was compiled with, and the library fills that many bytes (zeros past the fields it knows). */
typedef struct segstore_stats {
  uint64_t first_lsn, next_lsn, durable_lsn;
  uint64_t segment_count;
  uint64_t log_bytes;     /* bytes of records and padding in all segments */
  uint64_t disk_bytes;    /* segment files on disk, the preallocated spare included */
  uint64_t appends;       /* records appended since open */
  uint64_t syncs;         /* device data syncs since open */
  uint64_t bytes_written; /* bytes submitted to the device since open */
  double average_group_records; /* records made durable per data sync */
  uint64_t blocks_read;   /* 4 KiB blocks read from segment files since open */
  uint64_t index_bytes;   /* memory held by the sparse index and stream bitmaps */
  segstore_distribution append_latency_us; /* one append call, entry to return: every sync call, 1 in 16 others */
  segstore_distribution sync_latency_us;   /* one device data sync */
  segstore_distribution group_records;     /* records per write group */
  segstore_distribution group_bytes;       /* bytes per write group */
  uint64_t recovery_ran;  /* 1 when open scanned (no clean shutdown, or verify_on_open) */
  uint64_t recovery_duration_us;
  uint64_t recovery_segments_scanned;
  uint64_t recovery_records_scanned;
  uint64_t recovery_bytes_scanned;
  uint64_t recovery_cut;  /* 1 when recovery cut the log (segstore_recovery_text says where) */
  uint64_t recovery_bytes_quarantined;
  char io_backend[32];    /* "uring+direct", "thread+buffered", ... (NUL-terminated) */
  uint64_t read_requests; /* device reads of segment files that made up blocks_read */
  uint64_t segments_recycled; /* segments made from freed files since open (recycling) */
  uint64_t free_files;        /* freed segment files kept for recycling now */
} segstore_stats;

/* Fills out[0..size) (size: sizeof(segstore_stats) as the caller knows it). */
SEGSTORE_API int segstore_get_stats(const segstore_handle *s, segstore_stats *out, size_t size);
/* Records per stream: up to `cap` pairs (streams[i], records[i]) in stream order, *count_out
 * (required) the number of streams holding records (call again with more room when it exceeds
 * cap; the arrays may be NULL when cap is 0). */
SEGSTORE_API int segstore_get_stream_records(const segstore_handle *s, uint32_t *streams,
                                             uint64_t *records, size_t cap, size_t *count_out);
/* What open's recovery did, in words (segstore::RecoveryReport::to_string()); valid until
 * segstore_close(s). "" for a NULL handle. */
SEGSTORE_API const char *segstore_recovery_text(const segstore_handle *s);
/* Runs the recovery pass on a store that is not open (what `segstore recover` does). `opts`
 * may be NULL. The report goes to the store's events.log and, when recovery cut the log, to
 * the logger. */
SEGSTORE_API int segstore_recover(const char *dir, const segstore_options *opts);

/* --- errors -------------------------------------------------------------------------------- */
/* A static description of a code ("lsn_out_of_range: LSN below first_lsn or at/after
 * next_lsn"); "ok" for 0; never NULL. Thread-safe. */
SEGSTORE_API const char *segstore_strerror(int code);
/* The full message of the calling thread's last failed call ("" if none yet). Valid until the
 * next failing call on this thread. */
SEGSTORE_API const char *segstore_last_error_message(void);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* SEGSTORE_SEGSTORE_H */
