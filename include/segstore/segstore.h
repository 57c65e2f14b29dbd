/* segstore/segstore.h — the C API of libsegstore.
 *
 * A thin layer over the C++ Store (segstore/store.h) so that C, Rust, Zig, Python (ctypes) and
 * any language with a C FFI can keep a durable log. Pure C11: only <stdint.h> and <stddef.h>.
 *
 * Errors: every function that can fail returns 0 on success or a negative code,
 * -(int)segstore::Errc (SEGSTORE_E_* below, stable numbers). segstore_strerror(code) describes a
 * code; segstore_last_error_message() gives the message of the calling thread's last failure,
 * which names the file, the offset and the cause ("io_error: read /data/s/0001.seg at offset
 * 8192: ..."). No C++ exception ever crosses this boundary: an allocation failure returns
 * SEGSTORE_E_NO_MEMORY.
 *
 * Lifetime:
 *   - segstore_options: create, set, pass to segstore_open (which copies it), destroy.
 *   - segstore: segstore_open() returns a handle; segstore_close() flushes every record
 *     appended, writes the clean-shutdown marker, releases the directory lock and frees the
 *     handle (also when it returns an error: the handle is gone either way).
 *   - segstore_iter: opened on a store, closed with segstore_iter_close(). An iterator may
 *     outlive its store's handle; it then returns SEGSTORE_E_STORE_CLOSED. The data pointer
 *     that segstore_iter_next() hands out stays valid until the next call on that iterator.
 *
 * Thread-safety: a segstore handle may be used from any number of threads at once (appends are
 * serialised inside, each gets the next LSN), except that segstore_close() must not run
 * concurrently with any other call on the same handle. An iterator belongs to one thread at a
 * time. segstore_last_error_message() is per thread.
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

/* The store handle. In C its type is spelled `segstore`; in C++ that name is the library's
 * namespace, so C++ code spells it `segstore_handle` (C++ programs normally use
 * segstore/store.h instead). Both name the same struct, so the ABI is one. */
typedef struct segstore_handle segstore_handle;
#ifndef __cplusplus
typedef struct segstore_handle segstore;
#endif
typedef struct segstore_options segstore_options;
typedef struct segstore_iter segstore_iter;

/* One record of a batch (segstore_append_batch). */
typedef struct segstore_batch_entry {
  uint32_t stream;
  const void *data; /* may be NULL when len == 0 */
  size_t len;
} segstore_batch_entry;

/* --- options ------------------------------------------------------------------------------- */
/* Defaults: 64 MiB segments, SEGSTORE_DURABILITY_SYNC, 10 ms flush interval, create if missing.
 * Returns NULL when memory is exhausted. */
SEGSTORE_API segstore_options *segstore_options_create(void);
SEGSTORE_API void segstore_options_destroy(segstore_options *opts); /* NULL is fine */
/* A multiple of 4096 between 16 KiB and 1 GiB (checked by segstore_open). */
SEGSTORE_API int segstore_options_set_segment_bytes(segstore_options *opts, uint64_t bytes);
/* SEGSTORE_DURABILITY_*; anything else is SEGSTORE_E_INVALID_ARGUMENT. */
SEGSTORE_API int segstore_options_set_durability(segstore_options *opts, int durability);
SEGSTORE_API int segstore_options_set_flush_interval_ms(segstore_options *opts, uint32_t ms);
/* 0: segstore_open fails with SEGSTORE_E_NOT_FOUND when the directory does not exist. */
SEGSTORE_API int segstore_options_set_create_if_missing(segstore_options *opts, int create);

/* --- open / close -------------------------------------------------------------------------- */
/* Opens (or creates) the store in `dir`, running recovery if needed. `opts` may be NULL
 * (defaults). On success *out is the handle; on failure *out is NULL. */
SEGSTORE_API int segstore_open(const char *dir, const segstore_options *opts,
                               segstore_handle **out);
/* Flushes, closes and frees `s` (NULL is fine). Returns the close's status. */
SEGSTORE_API int segstore_close(segstore_handle *s);

/* --- appends ------------------------------------------------------------------------------- */
/* Appends one record (len may be 0; data may then be NULL). *lsn_out (may be NULL) gets its LSN. */
SEGSTORE_API int segstore_append(segstore_handle *s, uint32_t stream, const void *data,
                                 size_t len, uint64_t *lsn_out);
/* Appends `count` >= 1 records atomically (after a crash all or none are there); they get dense
 * LSNs from *first_lsn_out. The batch must fit in one segment. */
SEGSTORE_API int segstore_append_batch(segstore_handle *s, const segstore_batch_entry *entries,
                                       size_t count, uint64_t *first_lsn_out);
/* Makes every record appended so far durable. */
SEGSTORE_API int segstore_sync(segstore_handle *s);
/* Returns once record `lsn` is durable (starting a device sync if none is due). */
SEGSTORE_API int segstore_wait_durable(segstore_handle *s, uint64_t lsn);

/* --- reads --------------------------------------------------------------------------------- */
/* Copies record `lsn` into buf[0..cap). *len_out (required) gets the payload size; when it is
 * larger than cap the call returns SEGSTORE_E_BUFFER_TOO_SMALL and copies nothing (call again
 * with a buffer of *len_out bytes; buf may be NULL when cap is 0). *stream_out may be NULL. */
SEGSTORE_API int segstore_read(segstore_handle *s, uint64_t lsn, void *buf, size_t cap,
                               size_t *len_out, uint32_t *stream_out);
/* Iterates records in LSN order from `from_lsn` (first_lsn .. next_lsn). At the end of the log
 * segstore_iter_next returns 0; calling it again later returns records appended since. */
SEGSTORE_API int segstore_iter_open(segstore_handle *s, uint64_t from_lsn, segstore_iter **out);
/* Like segstore_iter_open, only the records of `stream`. */
SEGSTORE_API int segstore_iter_open_stream(segstore_handle *s, uint64_t from_lsn, uint32_t stream,
                                           segstore_iter **out);
/* 1: a record (the outputs that are not NULL are set; *data is valid until the next call on
 * this iterator), 0: at the end of the log, negative: an error. */
SEGSTORE_API int segstore_iter_next(segstore_iter *it, uint64_t *lsn, uint32_t *stream,
                                    const void **data, size_t *len);
SEGSTORE_API void segstore_iter_close(segstore_iter *it); /* NULL is fine */

/* --- positions (0 for a NULL handle) ------------------------------------------------------- */
/* The oldest record present (== next LSN when the log is empty). */
SEGSTORE_API uint64_t segstore_first_lsn(const segstore_handle *s);
/* The LSN the next append receives. */
SEGSTORE_API uint64_t segstore_next_lsn(const segstore_handle *s);
/* Every record below this LSN is durable. */
SEGSTORE_API uint64_t segstore_durable_lsn(const segstore_handle *s);

/* --- removal (durable on return) ------------------------------------------------------------ */
/* Drops every record after `lsn` (first_lsn - 1 <= lsn <= next_lsn - 1); the next append gets
 * lsn + 1. */
SEGSTORE_API int segstore_truncate_after(segstore_handle *s, uint64_t lsn);
/* Records before `lsn` are gone (first_lsn becomes lsn); whole segments below are deleted. */
SEGSTORE_API int segstore_trim_before(segstore_handle *s, uint64_t lsn);
/* Discards every record; `lsn` becomes both first_lsn and next_lsn. */
SEGSTORE_API int segstore_reset_to(segstore_handle *s, uint64_t lsn);

/* --- errors -------------------------------------------------------------------------------- */
/* A static description of a code ("lsn_out_of_range: LSN below first_lsn or at/after
 * next_lsn"); "ok" for 0; never NULL. */
SEGSTORE_API const char *segstore_strerror(int code);
/* The full message of the calling thread's last failed call ("" if none yet). Valid until the
 * next failing call on this thread. */
SEGSTORE_API const char *segstore_last_error_message(void);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* SEGSTORE_SEGSTORE_H */
