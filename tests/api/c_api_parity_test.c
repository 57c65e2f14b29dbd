/* tests/api/c_api_parity_test.c — the parts of the C API (segstore/segstore.h) beyond the
 * basics of tests/cli/c_api_test.c: every option setter, appends with their own durability,
 * async appends, durable-only and stream scans, tailing waits with a timeout and a cancel (from
 * another thread), the store's waits, application snapshots, statistics, stream counts, the
 * logger, the snapshot-due callback, the spare segment switched off, and recovery. A C11 program
 * linked against the shared library. Exits non-zero on the first failure of a scenario.
 *
 * Usage: c_api_parity_test SCRATCH_DIR (stores are made below SCRATCH_DIR/c_api_parity). */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "segstore/segstore.h"

static int failures = 0;

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__,     \
              #cond, segstore_last_error_message());                                        \
      failures++;                                                                           \
      return;                                                                               \
    }                                                                                       \
  } while (0)

#define CHECK_RC(expr, want)                                                                \
  do {                                                                                      \
    int rc_ = (expr);                                                                       \
    if (rc_ != (want)) {                                                                    \
      fprintf(stderr, "%s:%d: %s returned %d (%s), wanted %d; last error: %s\n", __FILE__,  \
              __LINE__, #expr, rc_, segstore_strerror(rc_), (want),                         \
              segstore_last_error_message());                                               \
      failures++;                                                                           \
      return;                                                                               \
    }                                                                                       \
  } while (0)

enum { segment_bytes_small = 65536 };

static char scratch[4096];

/* SCRATCH/c_api_parity/<name>, removed first: each scenario has a fresh store. */
static const char *fresh_dir(const char *name) {
  static char dir[4200];
  snprintf(dir, sizeof dir, "%s/%s", scratch, name);
  char command[4400];
  snprintf(command, sizeof command, "rm -rf '%s'", dir);
  if (system(command) != 0) return NULL;
  return dir;
}

/* Small segments, no durability wait per append unless asked, no spare segment. */
static segstore_options *small_options(int durability) {
  segstore_options *opts = segstore_options_create();
  if (opts == NULL) return NULL;
  segstore_options_set_segment_bytes(opts, segment_bytes_small);
  segstore_options_set_durability(opts, durability);
  segstore_options_set_preallocate_next_segment(opts, 0);
  segstore_options_set_prealloc_mode(opts, SEGSTORE_PREALLOC_FALLOCATE);
  return opts;
}

static segstore_handle *open_small(const char *dir, int durability) {
  segstore_options *opts = small_options(durability);
  segstore_handle *s = NULL;
  if (opts != NULL && segstore_open(dir, opts, &s) != 0)
    fprintf(stderr, "segstore_open(%s): %s\n", dir, segstore_last_error_message());
  segstore_options_destroy(opts);
  return s;
}

/* Files in `dir` whose names end in `suffix`. */
static int count_files(const char *dir, const char *suffix) {
  DIR *d = opendir(dir);
  if (d == NULL) return -1;
  int n = 0;
  size_t suffix_len = strlen(suffix);
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    size_t len = strlen(e->d_name);
    if (len >= suffix_len && strcmp(e->d_name + len - suffix_len, suffix) == 0) n++;
  }
  closedir(d);
  return n;
}

static void test_option_setters(void) {
  segstore_options *opts = segstore_options_create();
  CHECK(opts != NULL);
  CHECK_RC(segstore_options_set_io_backend(opts, SEGSTORE_IO_BACKEND_URING), 0);
  CHECK_RC(segstore_options_set_io_backend(opts, SEGSTORE_IO_BACKEND_AUTOMATIC), 0);
  CHECK_RC(segstore_options_set_io_backend(opts, SEGSTORE_IO_BACKEND_THREAD), 0);
  CHECK_RC(segstore_options_set_io_backend(opts, 7), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK(strstr(segstore_last_error_message(), "backend 7") != NULL);
  CHECK_RC(segstore_options_set_prealloc_mode(opts, SEGSTORE_PREALLOC_ZERO_FILL), 0);
  CHECK_RC(segstore_options_set_prealloc_mode(opts, SEGSTORE_PREALLOC_AUTOMATIC), 0);
  CHECK_RC(segstore_options_set_prealloc_mode(opts, -1), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_direct_io(opts, 0), 0);
  CHECK_RC(segstore_options_set_write_group_bytes_max(opts, 1u << 16), 0);
  CHECK_RC(segstore_options_set_retention(opts, 0, 0, 0), 0);
  CHECK_RC(segstore_options_set_verify_on_open(opts, 1), 0);
  CHECK_RC(segstore_options_set_strict_recovery(opts, 1), 0);
  CHECK_RC(segstore_options_set_accept_data_loss(opts, 0), 0);
  CHECK_RC(segstore_options_set_snapshots_kept(opts, 2), 0);
  CHECK_RC(segstore_options_set_snapshot_due(opts, 0, NULL, NULL), 0);
  CHECK_RC(segstore_options_set_logger(opts, SEGSTORE_LOG_ERROR + 1, NULL, NULL), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_logger(opts, SEGSTORE_LOG_INFO, NULL, NULL), 0);
  CHECK_RC(segstore_options_set_flush_interval_ms(opts, 5), 0);
  CHECK_RC(segstore_options_set_create_if_missing(opts, 1), 0);
  /* ranges are checked by open, with the option's name in the message */
  CHECK_RC(segstore_options_set_inflight_groups_max(opts, 0), 0);
  segstore_handle *s = NULL;
  const char *dir = fresh_dir("options");
  CHECK(dir != NULL);
  CHECK_RC(segstore_open(dir, opts, &s), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK(strstr(segstore_last_error_message(), "inflight_groups_max") != NULL);
  CHECK_RC(segstore_options_set_inflight_groups_max(opts, 2), 0);
  CHECK_RC(segstore_options_set_write_group_bytes_max(opts, 4096), 0);
  CHECK_RC(segstore_open(dir, opts, &s), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK(strstr(segstore_last_error_message(), "write_group_bytes_max") != NULL);
  CHECK_RC(segstore_options_set_write_group_bytes_max(opts, 1u << 16), 0);
  /* every setter refuses a NULL options object */
  CHECK_RC(segstore_options_set_io_backend(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_direct_io(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_prealloc_mode(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_preallocate_next_segment(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_recycled_segments_max(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_write_group_bytes_max(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_inflight_groups_max(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_retention(NULL, 0, 0, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_verify_on_open(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_strict_recovery(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_accept_data_loss(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_snapshots_kept(NULL, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_snapshot_due(NULL, 0, NULL, NULL), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_options_set_logger(NULL, 0, NULL, NULL), SEGSTORE_E_INVALID_ARGUMENT);
  /* the valid set opens: thread backend, buffered, 2 groups of 64 KiB, verify on open */
  CHECK_RC(segstore_open(dir, opts, &s), 0);
  segstore_stats st;
  CHECK_RC(segstore_get_stats(s, &st, sizeof st), 0);
  CHECK(strncmp(st.io_backend, "thread", 6) == 0);
  CHECK(strcmp(segstore_dir(s), dir) == 0);
  CHECK_RC(segstore_close(s), 0);
  segstore_options_destroy(opts);
}

static void test_durability_per_append_and_async(void) {
  const char *dir = fresh_dir("durability");
  CHECK(dir != NULL);
  segstore_handle *s = open_small(dir, SEGSTORE_DURABILITY_NONE);
  CHECK(s != NULL);
  uint64_t lsn = 0;
  /* a none-mode store: a record appended with SYNC is durable on return */
  CHECK_RC(segstore_append(s, 0, "lazy", 4, &lsn), 0);
  CHECK_RC(segstore_append_durability(s, 0, "now", 3, SEGSTORE_DURABILITY_SYNC, &lsn), 0);
  CHECK(lsn == 1 && segstore_durable_lsn(s) == 2);
  CHECK_RC(segstore_append_durability(s, 0, "x", 1, 9, &lsn), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK(strstr(segstore_last_error_message(), "durability 9") != NULL);
  /* a batch with SYNC: all durable */
  segstore_batch_entry batch[2] = {{3, "b1", 2}, {4, "b2", 2}};
  uint64_t first = 0;
  CHECK_RC(segstore_append_batch_durability(s, batch, 2, SEGSTORE_DURABILITY_SYNC, &first), 0);
  CHECK(first == 2 && segstore_durable_lsn(s) == 4);
  CHECK_RC(segstore_append_batch_durability(s, batch, 2, -1, NULL), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_append_batch_durability(s, NULL, 2, 0, NULL), SEGSTORE_E_INVALID_ARGUMENT);
  /* async: the LSN at once; the store's wait makes it durable */
  CHECK_RC(segstore_append_async(s, 5, "async", 5, &lsn), 0);
  CHECK(lsn == 4);
  CHECK_RC(segstore_wait_until_durable(s, lsn, 0), SEGSTORE_E_TIMED_OUT); /* nobody syncs a none store */
  CHECK_RC(segstore_wait_durable(s, lsn), 0);
  CHECK(segstore_durable_lsn(s) == 5);
  CHECK_RC(segstore_wait_until_durable(s, lsn, 0), 0);
  CHECK_RC(segstore_append_async(NULL, 0, "x", 1, &lsn), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_append_async(s, 0, NULL, 1, &lsn), SEGSTORE_E_INVALID_ARGUMENT);
  char buf[8];
  size_t len = 0;
  uint32_t stream = 0;
  CHECK_RC(segstore_read(s, 4, buf, sizeof buf, &len, &stream), 0);
  CHECK(len == 5 && memcmp(buf, "async", 5) == 0 && stream == 5);
  CHECK_RC(segstore_close(s), 0);
}

/* --- tailing: a writer thread appends while the test waits ------------------------------------ */

struct appender {
  segstore_handle *s;
  uint64_t after_lsn; /* appends once the store holds this many records... */
  int records;        /* ...this many more */
};

static void *append_later(void *arg) {
  struct appender *a = arg;
  /* waits for the reader's cue (the store's own wait: no sleep), then appends */
  if (segstore_wait_for_lsn(a->s, a->after_lsn - 1, SEGSTORE_WAIT_FOREVER) != 0) return NULL;
  for (int i = 0; i < a->records; i++) segstore_append(a->s, 9, "tail", 4, NULL);
  return NULL;
}

static void test_tailing_waits(void) {
  const char *dir = fresh_dir("tailing");
  CHECK(dir != NULL);
  segstore_handle *s = open_small(dir, SEGSTORE_DURABILITY_SYNC);
  CHECK(s != NULL);
  CHECK_RC(segstore_append(s, 0, "first", 5, NULL), 0);
  segstore_iter *it = NULL;
  CHECK_RC(segstore_scan(s, 0, 0, 0, &it), 0);
  uint64_t lsn = 0;
  const void *data = NULL;
  size_t len = 0;
  CHECK_RC(segstore_iter_next_wait(it, 1000, &lsn, NULL, &data, &len), 1);
  CHECK(lsn == 0 && len == 5);
  /* nothing more: a short timeout passes, reported as 0 (not an error) */
  CHECK_RC(segstore_iter_next_wait(it, 20, &lsn, NULL, NULL, NULL), 0);
  CHECK_RC(segstore_wait_for_lsn(s, 1, 10), SEGSTORE_E_TIMED_OUT);
  /* a record appended by another thread ends a wait without timeout */
  struct appender a = {s, 2, 3};
  pthread_t writer;
  CHECK(pthread_create(&writer, NULL, append_later, &a) == 0);
  CHECK_RC(segstore_append(s, 0, "cue", 3, NULL), 0); /* the writer's cue: 2 records */
  CHECK_RC(segstore_iter_next_wait(it, SEGSTORE_WAIT_FOREVER, &lsn, NULL, NULL, NULL), 1);
  CHECK(lsn == 1);
  uint32_t stream = 0;
  for (uint64_t want = 2; want < 5; want++) {
    CHECK_RC(segstore_iter_next_wait(it, SEGSTORE_WAIT_FOREVER, &lsn, &stream, NULL, NULL), 1);
    CHECK(lsn == want && stream == 9);
  }
  CHECK(pthread_join(writer, NULL) == 0);
  CHECK_RC(segstore_wait_for_lsn(s, 4, 0), 0);
  CHECK_RC(segstore_wait_until_durable(s, 4, SEGSTORE_WAIT_FOREVER), 0);
  segstore_iter_close(it);
  CHECK_RC(segstore_wait_for_lsn(NULL, 0, 0), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_iter_next_wait(NULL, 0, NULL, NULL, NULL, NULL), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_close(s), 0);
}

struct waiter {
  segstore_iter *it;
  int rc;
};

static void *wait_forever(void *arg) {
  struct waiter *w = arg;
  w->rc = segstore_iter_next_wait(w->it, SEGSTORE_WAIT_FOREVER, NULL, NULL, NULL, NULL);
  return NULL;
}

static void test_cancel(void) {
  const char *dir = fresh_dir("cancel");
  CHECK(dir != NULL);
  segstore_handle *s = open_small(dir, SEGSTORE_DURABILITY_SYNC);
  CHECK(s != NULL);
  segstore_iter *it = NULL;
  CHECK_RC(segstore_iter_open(s, 0, &it), 0);
  /* a cancel with nobody waiting ends the next wait at once */
  segstore_iter_cancel(it);
  CHECK_RC(segstore_iter_next_wait(it, SEGSTORE_WAIT_FOREVER, NULL, NULL, NULL, NULL), SEGSTORE_E_CANCELLED);
  /* a canceller ends a wait without timeout running on another thread */
  segstore_canceller *c = NULL;
  CHECK_RC(segstore_iter_canceller(it, &c), 0);
  struct waiter w = {it, 99};
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, wait_forever, &w) == 0);
  segstore_canceller_cancel(c); /* before or during the wait: either way it ends it */
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK_RC(w.rc, SEGSTORE_E_CANCELLED);
  /* the canceller outlives its iterator: cancelling then does nothing */
  segstore_iter_close(it);
  segstore_canceller_cancel(c);
  segstore_canceller_destroy(c);
  segstore_canceller_destroy(NULL);
  segstore_canceller_cancel(NULL);
  segstore_iter_cancel(NULL);
  CHECK_RC(segstore_iter_canceller(NULL, &c), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK(c == NULL);
  /* closing the store ends a reader's wait with store_closed */
  CHECK_RC(segstore_iter_open(s, 0, &it), 0);
  CHECK_RC(segstore_close(s), 0);
  CHECK_RC(segstore_iter_next_wait(it, SEGSTORE_WAIT_FOREVER, NULL, NULL, NULL, NULL), SEGSTORE_E_STORE_CLOSED);
  segstore_iter_close(it);
}

static void test_durable_only_and_stream_scans(void) {
  const char *dir = fresh_dir("scans");
  CHECK(dir != NULL);
  segstore_handle *s = open_small(dir, SEGSTORE_DURABILITY_NONE);
  CHECK(s != NULL);
  for (uint32_t i = 0; i < 6; i++) CHECK_RC(segstore_append(s, i % 2, "r", 1, NULL), 0);
  CHECK_RC(segstore_sync(s), 0);
  CHECK_RC(segstore_append(s, 1, "not yet durable", 15, NULL), 0); /* LSN 6 */
  segstore_iter *it = NULL;
  CHECK_RC(segstore_scan(s, 0, SEGSTORE_SCAN_DURABLE_ONLY | SEGSTORE_SCAN_STREAM, 1, &it), 0);
  uint64_t lsn = 0, seen = 0;
  int rc;
  while ((rc = segstore_iter_next(it, &lsn, NULL, NULL, NULL)) == 1) {
    CHECK(lsn % 2 == 1 && lsn < 6);
    seen++;
  }
  CHECK(rc == 0 && seen == 3); /* LSN 6 is not durable: not shown */
  CHECK_RC(segstore_iter_next_wait(it, 0, &lsn, NULL, NULL, NULL), 0);
  CHECK_RC(segstore_sync(s), 0);
  CHECK_RC(segstore_iter_next_wait(it, 1000, &lsn, NULL, NULL, NULL), 1);
  CHECK(lsn == 6);
  segstore_iter_close(it);
  CHECK_RC(segstore_scan(s, 0, 4u, 0, &it), SEGSTORE_E_INVALID_ARGUMENT); /* unknown flag */
  CHECK(it == NULL);
  CHECK_RC(segstore_scan(s, 99, 0, 0, &it), SEGSTORE_E_LSN_OUT_OF_RANGE);
  /* stream counts */
  uint32_t streams[1];
  uint64_t records[1];
  size_t count = 0;
  CHECK_RC(segstore_get_stream_records(s, streams, records, 1, &count), 0);
  CHECK(count == 2 && streams[0] == 0 && records[0] == 3);
  CHECK_RC(segstore_get_stream_records(s, NULL, NULL, 0, &count), 0);
  CHECK(count == 2);
  CHECK_RC(segstore_get_stream_records(s, NULL, NULL, 1, &count), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_close(s), 0);
}

static uint64_t snapshot_due_lsns[8];
static int snapshot_due_calls = 0;

static void on_snapshot_due(void *context, uint64_t next_lsn) {
  (void)context;
  if (snapshot_due_calls < 8) snapshot_due_lsns[snapshot_due_calls] = next_lsn;
  snapshot_due_calls++;
}

static void test_snapshots(void) {
  const char *dir = fresh_dir("snapshots");
  CHECK(dir != NULL);
  segstore_options *opts = small_options(SEGSTORE_DURABILITY_NONE);
  CHECK(opts != NULL);
  CHECK_RC(segstore_options_set_snapshot_due(opts, 4, on_snapshot_due, NULL), 0);
  segstore_handle *s = NULL;
  CHECK_RC(segstore_open(dir, opts, &s), 0);
  segstore_options_destroy(opts);
  uint64_t lsn = 0;
  size_t len = 0;
  char buf[32];
  CHECK_RC(segstore_latest_snapshot(s, &lsn, buf, sizeof buf, &len), SEGSTORE_E_NOT_FOUND);
  for (int i = 0; i < 9; i++) CHECK_RC(segstore_append(s, 0, "e", 1, NULL), 0);
  /* next_lsn crossed 4 and 8: the appends of LSN 3 and 7 made a snapshot due */
  CHECK(snapshot_due_calls == 2 && snapshot_due_lsns[0] == 3 && snapshot_due_lsns[1] == 7);
  CHECK_RC(segstore_write_snapshot(s, 7, "state@7", 7), 0);
  CHECK_RC(segstore_write_snapshot(s, 9, "x", 1), SEGSTORE_E_LSN_OUT_OF_RANGE);
  CHECK_RC(segstore_latest_snapshot(s, &lsn, buf, 3, &len), SEGSTORE_E_BUFFER_TOO_SMALL);
  CHECK(len == 7);
  CHECK_RC(segstore_latest_snapshot(s, &lsn, buf, sizeof buf, &len), 0);
  CHECK(lsn == 7 && len == 7 && memcmp(buf, "state@7", 7) == 0);
  CHECK_RC(segstore_write_snapshot(s, 8, NULL, 0), 0); /* an empty state is a state */
  CHECK_RC(segstore_latest_snapshot(s, NULL, NULL, 0, &len), 0);
  CHECK(len == 0);
  CHECK_RC(segstore_latest_snapshot(s, &lsn, NULL, 0, NULL), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_write_snapshot(s, 1, NULL, 5), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_close(s), 0);
}

static void test_stats(void) {
  const char *dir = fresh_dir("stats");
  CHECK(dir != NULL);
  segstore_handle *s = open_small(dir, SEGSTORE_DURABILITY_SYNC);
  CHECK(s != NULL);
  const int appends = 50;
  for (int i = 0; i < appends; i++) CHECK_RC(segstore_append(s, 0, "0123456789", 10, NULL), 0);
  segstore_stats st;
  memset(&st, 0xff, sizeof st);
  CHECK_RC(segstore_get_stats(s, &st, sizeof st), 0);
  CHECK(st.next_lsn == (uint64_t)appends && st.durable_lsn == (uint64_t)appends && st.first_lsn == 0);
  /* each synced append writes (at least) a 4 KiB block: 50 of them fill 4 segments of 64 KiB */
  CHECK(st.appends == (uint64_t)appends && st.segment_count == 4);
  CHECK(st.syncs >= 1 && st.bytes_written >= 4096 && st.log_bytes > (uint64_t)appends * 10);
  CHECK(st.disk_bytes == st.segment_count * segment_bytes_small); /* no spare */
  CHECK(count_files(dir, ".seg") == (int)st.segment_count);
  CHECK(st.append_latency_us.count == (uint64_t)appends);
  CHECK(st.append_latency_us.p50 <= st.append_latency_us.p99 && st.append_latency_us.p99 <= st.append_latency_us.p999 &&
        st.append_latency_us.p999 <= st.append_latency_us.max && st.append_latency_us.max > 0);
  CHECK(st.sync_latency_us.count >= 1 && st.sync_latency_us.count <= st.syncs);
  CHECK(st.group_records.count >= 1 && st.group_records.max >= 1 && st.group_records.max <= (uint64_t)appends);
  CHECK(st.group_bytes.count == st.group_records.count && st.group_bytes.p50 >= 4096 && st.group_bytes.max % 4096 == 0);
  CHECK(st.recovery_cut == 0 && st.recovery_bytes_quarantined == 0);
  CHECK(strlen(st.io_backend) > 0);
  CHECK(st.read_requests <= st.blocks_read && (st.read_requests == 0) == (st.blocks_read == 0));
  /* a caller with an older, shorter struct gets its fields only */
  segstore_stats small;
  memset(&small, 0xee, sizeof small);
  CHECK_RC(segstore_get_stats(s, &small, 3 * sizeof(uint64_t)), 0);
  CHECK(small.first_lsn == 0 && small.next_lsn == (uint64_t)appends && small.segment_count == 0xeeeeeeeeeeeeeeeeull);
  /* a caller with a newer, longer one gets zeros past the library's fields */
  unsigned char larger[sizeof(segstore_stats) + 16];
  memset(larger, 0xee, sizeof larger);
  CHECK_RC(segstore_get_stats(s, (segstore_stats *)(void *)larger, sizeof larger), 0);
  CHECK(larger[sizeof(segstore_stats)] == 0 && larger[sizeof larger - 1] == 0);
  CHECK_RC(segstore_get_stats(NULL, &st, sizeof st), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK_RC(segstore_get_stats(s, NULL, sizeof st), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK(strcmp(segstore_recovery_text(NULL), "") == 0);
  CHECK_RC(segstore_close(s), 0);
}

/* No spare segment: the store keeps only the segments that hold records, and disk_bytes says
 * what the files take. */
static void test_no_spare_segment(void) {
  const char *dir = fresh_dir("no_spare");
  CHECK(dir != NULL);
  segstore_handle *s = open_small(dir, SEGSTORE_DURABILITY_NONE);
  CHECK(s != NULL);
  char payload[1000];
  memset(payload, 'p', sizeof payload);
  for (int i = 0; i < 150; i++) CHECK_RC(segstore_append(s, 0, payload, sizeof payload, NULL), 0); /* ~2.3 segments */
  CHECK_RC(segstore_sync(s), 0);
  segstore_stats st;
  CHECK_RC(segstore_get_stats(s, &st, sizeof st), 0);
  CHECK(st.segment_count == 3);
  CHECK(st.disk_bytes == 3 * (uint64_t)segment_bytes_small);
  CHECK(count_files(dir, ".seg") == 3);
  CHECK_RC(segstore_close(s), 0);
  CHECK(count_files(dir, ".seg") == 3);
}

struct log_capture {
  int calls;
  int level;
  char message[512];
};

static void capture_log(void *context, int level, const char *message) {
  struct log_capture *c = context;
  c->calls++;
  c->level = level;
  snprintf(c->message, sizeof c->message, "%s", message);
}

/* The logger gets recovery's warning about a torn tail: bytes that are no record past the
 * records of a store that did not shut down cleanly. segstore_recover cuts them; the records
 * stay. */
static void test_logger_and_recovery(void) {
  const char *dir = fresh_dir("logger");
  CHECK(dir != NULL);
  char path[4400];
  uint64_t end_offset = 0;
  {
    segstore_handle *s = open_small(dir, SEGSTORE_DURABILITY_SYNC);
    CHECK(s != NULL);
    for (int i = 0; i < 3; i++) CHECK_RC(segstore_append(s, 0, "kept", 4, NULL), 0);
    segstore_stats st;
    CHECK_RC(segstore_get_stats(s, &st, sizeof st), 0);
    end_offset = st.log_bytes; /* one segment: its end, block aligned after a sync */
    CHECK_RC(segstore_close(s), 0);
  }
  CHECK(end_offset % 4096 == 0 && end_offset + 4096 <= segment_bytes_small);
  snprintf(path, sizeof path, "%s/00000000000000000001.seg", dir);
  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL);
  CHECK(fseek(f, (long)end_offset, SEEK_SET) == 0);
  const char garbage[64] = "this is not a record header, nor padding, nor zeros";
  CHECK(fwrite(garbage, 1, sizeof garbage, f) == sizeof garbage);
  CHECK(fclose(f) == 0);
  snprintf(path, sizeof path, "%s/CLEAN", dir);
  CHECK(remove(path) == 0); /* as after a crash */

  struct log_capture capture = {0, -1, ""};
  segstore_options *opts = small_options(SEGSTORE_DURABILITY_SYNC);
  CHECK(opts != NULL);
  CHECK_RC(segstore_options_set_logger(opts, SEGSTORE_LOG_INFO, capture_log, &capture), 0);
  CHECK_RC(segstore_recover(dir, opts), 0);
  CHECK(capture.calls == 1 && capture.level == SEGSTORE_LOG_WARNING);
  CHECK(strstr(capture.message, dir) != NULL);
  /* a logger that takes errors only hears nothing of the (already repaired) store */
  CHECK_RC(segstore_options_set_logger(opts, SEGSTORE_LOG_ERROR, capture_log, &capture), 0);
  CHECK_RC(segstore_options_set_verify_on_open(opts, 1), 0);
  segstore_handle *s = NULL;
  CHECK_RC(segstore_open(dir, opts, &s), 0);
  segstore_options_destroy(opts);
  CHECK(capture.calls == 1);
  CHECK(segstore_next_lsn(s) == 3);
  char buf[8];
  size_t len = 0;
  CHECK_RC(segstore_read(s, 2, buf, sizeof buf, &len, NULL), 0);
  CHECK(len == 4 && memcmp(buf, "kept", 4) == 0);
  segstore_stats st;
  CHECK_RC(segstore_get_stats(s, &st, sizeof st), 0);
  CHECK(st.recovery_ran == 1 && st.recovery_segments_scanned == 1 && st.recovery_records_scanned == 3);
  CHECK(st.recovery_cut == 0 && st.recovery_bytes_scanned > 0);
  CHECK(strlen(segstore_recovery_text(s)) > 0);
  CHECK_RC(segstore_close(s), 0);
  CHECK_RC(segstore_recover(NULL, NULL), SEGSTORE_E_INVALID_ARGUMENT);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  snprintf(scratch, sizeof scratch, "%s/c_api_parity", argv[1]);
  mkdir(scratch, 0755);
  void (*const scenarios[])(void) = {test_option_setters, test_durability_per_append_and_async,
                                     test_tailing_waits,  test_cancel,
                                     test_durable_only_and_stream_scans, test_snapshots,
                                     test_stats, test_no_spare_segment, test_logger_and_recovery};
  for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) scenarios[i]();
  if (failures != 0) {
    fprintf(stderr, "c_api_parity_test: %d scenario(s) FAILED\n", failures);
    return 1;
  }
  printf("c_api_parity_test: all checks passed\n");
  return 0;
}
