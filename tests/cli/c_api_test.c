/* tests/cli/c_api_test.c — the C API (segstore/segstore.h) from a C11 program linked against
 * the shared library: a round trip, iteration, stream iteration, a buffer too small, LSNs out of
 * range, truncate/trim/reset, and errors with messages. Exits non-zero on the first failure.
 *
 * Usage: c_api_test SCRATCH_DIR (a fresh store is made in SCRATCH_DIR/c_api_store). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static char store_dir[4096];

/* A store with small segments so that a few hundred records span several of them. */
static segstore *open_store(void) {
  segstore_options *opts = segstore_options_create();
  if (opts == NULL) return NULL;
  segstore_options_set_segment_bytes(opts, 16384);
  segstore_options_set_durability(opts, SEGSTORE_DURABILITY_NONE);
  segstore *s = NULL;
  int rc = segstore_open(store_dir, opts, &s);
  segstore_options_destroy(opts);
  if (rc != 0) fprintf(stderr, "segstore_open(%s): %s\n", store_dir, segstore_last_error_message());
  return s;
}

static void payload_of(uint64_t i, char *out, size_t cap) { snprintf(out, cap, "record-%llu", (unsigned long long)i); }

static void test_options(void) {
  segstore_options *opts = segstore_options_create();
  CHECK(opts != NULL);
  CHECK_RC(segstore_options_set_durability(opts, 42), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK(strstr(segstore_last_error_message(), "durability") != NULL);
  CHECK_RC(segstore_options_set_durability(opts, SEGSTORE_DURABILITY_INTERVAL), 0);
  CHECK_RC(segstore_options_set_segment_bytes(opts, 12345), 0); /* checked at open */
  segstore *s = NULL;
  CHECK_RC(segstore_open(store_dir, opts, &s), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK(s == NULL);
  CHECK(strstr(segstore_last_error_message(), "segment_bytes") != NULL);
  segstore_options_destroy(opts);
  segstore_options_destroy(NULL);
  CHECK_RC(segstore_open(NULL, NULL, &s), SEGSTORE_E_INVALID_ARGUMENT);
}

static void test_round_trip_and_iteration(void) {
  segstore *s = open_store();
  CHECK(s != NULL);
  CHECK(segstore_first_lsn(s) == 0 && segstore_next_lsn(s) == 0);
  char payload[64];
  const int n = 300;
  for (int i = 0; i < n; i++) {
    payload_of((uint64_t)i, payload, sizeof payload);
    uint64_t lsn = 999;
    CHECK_RC(segstore_append(s, (uint32_t)(i % 3), payload, strlen(payload), &lsn), 0);
    CHECK(lsn == (uint64_t)i);
  }
  uint64_t empty_lsn = 0;
  CHECK_RC(segstore_append(s, 7, NULL, 0, &empty_lsn), 0); /* an empty record is valid */
  CHECK(empty_lsn == (uint64_t)n);
  CHECK_RC(segstore_sync(s), 0);
  CHECK(segstore_durable_lsn(s) == (uint64_t)n + 1);

  /* read: exact bytes and stream; the empty record reads back empty */
  char buf[64];
  size_t len = 0;
  uint32_t stream = 0;
  CHECK_RC(segstore_read(s, 123, buf, sizeof buf, &len, &stream), 0);
  payload_of(123, payload, sizeof payload);
  CHECK(len == strlen(payload) && memcmp(buf, payload, len) == 0 && stream == 123 % 3);
  CHECK_RC(segstore_read(s, empty_lsn, buf, sizeof buf, &len, &stream), 0);
  CHECK(len == 0 && stream == 7);

  /* buffer too small: a distinct code, the size needed, nothing copied */
  memset(buf, 'x', sizeof buf);
  CHECK_RC(segstore_read(s, 123, buf, 3, &len, NULL), SEGSTORE_E_BUFFER_TOO_SMALL);
  CHECK(len == strlen(payload) && buf[0] == 'x');
  CHECK_RC(segstore_read(s, 123, NULL, 0, &len, NULL), SEGSTORE_E_BUFFER_TOO_SMALL);
  CHECK(len == strlen(payload));

  /* LSNs that do not exist */
  CHECK_RC(segstore_read(s, (uint64_t)n + 1, buf, sizeof buf, &len, NULL), SEGSTORE_E_LSN_OUT_OF_RANGE);
  CHECK(strlen(segstore_last_error_message()) > 0);
  CHECK_RC(segstore_read(s, UINT64_MAX, buf, sizeof buf, &len, NULL), SEGSTORE_E_LSN_OUT_OF_RANGE);

  /* iteration from the start: every record once, in order */
  segstore_iter *it = NULL;
  CHECK_RC(segstore_iter_open(s, 0, &it), 0);
  uint64_t lsn = 0, expected = 0;
  const void *data = NULL;
  int rc;
  while ((rc = segstore_iter_next(it, &lsn, &stream, &data, &len)) == 1) {
    CHECK(lsn == expected);
    if (lsn < (uint64_t)n) {
      payload_of(lsn, payload, sizeof payload);
      CHECK(len == strlen(payload) && memcmp(data, payload, len) == 0 && stream == lsn % 3);
    }
    expected++;
  }
  CHECK(rc == 0 && expected == (uint64_t)n + 1);
  /* tailing: a record appended later is returned by the same iterator */
  CHECK_RC(segstore_append(s, 1, "late", 4, &lsn), 0);
  CHECK(segstore_iter_next(it, &lsn, &stream, &data, &len) == 1 && len == 4 && memcmp(data, "late", 4) == 0);
  segstore_iter_close(it);

  /* one stream, from the middle */
  CHECK_RC(segstore_iter_open_stream(s, 100, 2, &it), 0);
  expected = 101; /* the first LSN >= 100 with lsn % 3 == 2 */
  while ((rc = segstore_iter_next(it, &lsn, &stream, NULL, NULL)) == 1) {
    CHECK(stream == 2 && lsn == expected);
    expected += 3;
  }
  CHECK(rc == 0 && expected == 302);
  segstore_iter_close(it);
  CHECK_RC(segstore_iter_open(s, segstore_next_lsn(s) + 5, &it), SEGSTORE_E_LSN_OUT_OF_RANGE);
  CHECK(it == NULL);
  CHECK_RC(segstore_close(s), 0);
}

static void test_truncate_trim_reset(void) {
  segstore *s = open_store(); /* reopens the store of the previous test: 302 records */
  CHECK(s != NULL);
  CHECK(segstore_next_lsn(s) == 302);
  char buf[64];
  size_t len = 0;

  CHECK_RC(segstore_truncate_after(s, 199), 0);
  CHECK(segstore_next_lsn(s) == 200);
  CHECK_RC(segstore_read(s, 200, buf, sizeof buf, &len, NULL), SEGSTORE_E_LSN_OUT_OF_RANGE);
  uint64_t lsn = 0;
  CHECK_RC(segstore_append(s, 0, "again", 5, &lsn), 0);
  CHECK(lsn == 200);
  CHECK_RC(segstore_read(s, 200, buf, sizeof buf, &len, NULL), 0);
  CHECK(len == 5 && memcmp(buf, "again", 5) == 0);
  CHECK_RC(segstore_truncate_after(s, 1000), SEGSTORE_E_LSN_OUT_OF_RANGE);

  CHECK_RC(segstore_trim_before(s, 150), 0);
  CHECK(segstore_first_lsn(s) == 150);
  CHECK_RC(segstore_read(s, 149, buf, sizeof buf, &len, NULL), SEGSTORE_E_LSN_OUT_OF_RANGE);
  CHECK_RC(segstore_read(s, 150, buf, sizeof buf, &len, NULL), 0);

  CHECK_RC(segstore_reset_to(s, 5000), 0);
  CHECK(segstore_first_lsn(s) == 5000 && segstore_next_lsn(s) == 5000);
  CHECK_RC(segstore_append(s, 0, "after reset", 11, &lsn), 0);
  CHECK(lsn == 5000);

  /* a batch: dense LSNs */
  segstore_batch_entry batch[3] = {{1, "a", 1}, {2, "bb", 2}, {1, NULL, 0}};
  uint64_t first = 0;
  CHECK_RC(segstore_append_batch(s, batch, 3, &first), 0);
  CHECK(first == 5001 && segstore_next_lsn(s) == 5004);
  CHECK_RC(segstore_wait_durable(s, 5003), 0);
  CHECK(segstore_durable_lsn(s) >= 5004);
  CHECK_RC(segstore_close(s), 0);
}

static void test_errors(void) {
  CHECK(strcmp(segstore_strerror(0), "ok") == 0);
  CHECK(strstr(segstore_strerror(SEGSTORE_E_BUFFER_TOO_SMALL), "buffer") != NULL);
  CHECK(strstr(segstore_strerror(-9999), "unknown") != NULL);
  /* a second open of an open store is refused at once */
  segstore *s = open_store();
  CHECK(s != NULL);
  segstore *again = NULL;
  CHECK_RC(segstore_open(store_dir, NULL, &again), SEGSTORE_E_STORE_IN_USE);
  CHECK(again == NULL);
  CHECK_RC(segstore_close(s), 0);
  CHECK_RC(segstore_close(NULL), 0);
  CHECK_RC(segstore_append(NULL, 0, "x", 1, NULL), SEGSTORE_E_INVALID_ARGUMENT);
  CHECK(segstore_next_lsn(NULL) == 0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  snprintf(store_dir, sizeof store_dir, "%s/c_api_store", argv[1]);
  char command[4200];
  snprintf(command, sizeof command, "rm -rf '%s'", store_dir);
  if (system(command) != 0) return 2;
  test_options();
  if (failures == 0) test_round_trip_and_iteration();
  if (failures == 0) test_truncate_trim_reset();
  if (failures == 0) test_errors();
  if (failures != 0) {
    fprintf(stderr, "c_api_test: FAILED\n");
    return 1;
  }
  printf("c_api_test: all checks passed\n");
  return 0;
}
