/* examples/c_api/main.c — libsegstore from C: append, read back, follow one stream with a
 * durable-only scan that waits at the end, and the store's statistics.
 *
 * Build against an installed libsegstore:
 *   cc -std=c11 main.c $(pkg-config --cflags --libs segstore) -o c_example
 * Run: ./c_example /tmp/example-store
 */
#include <stdio.h>
#include <string.h>

#include <segstore/segstore.h>

static int check(int rc, const char *what) {
  if (rc < 0) fprintf(stderr, "%s: %s\n", what, segstore_last_error_message());
  return rc < 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s STORE_DIR\n", argv[0]);
    return 2;
  }
  segstore_options *opts = segstore_options_create();
  segstore_options_set_durability(opts, SEGSTORE_DURABILITY_SYNC); /* each append is durable */
  segstore_options_set_preallocate_next_segment(opts, 0);          /* a small store: no spare segment */
  segstore_handle *s = NULL;
  int rc = segstore_open(argv[1], opts, &s);
  segstore_options_destroy(opts);
  if (check(rc, "open")) return 1;

  const char *events[] = {"user 1 signed up", "user 2 signed up", "user 1 ordered a book"};
  uint64_t first = 0;
  for (int i = 0; i < 3; i++) {
    uint64_t lsn = 0;
    /* stream = the user id: one log, many streams */
    if (check(segstore_append(s, (uint32_t)(i == 1 ? 2 : 1), events[i], strlen(events[i]), &lsn), "append"))
      return 1;
    if (i == 0) first = lsn;
    printf("appended LSN %llu: %s\n", (unsigned long long)lsn, events[i]);
  }

  /* Read one record back; a buffer too small says how much is needed. */
  char small[4];
  size_t len = 0;
  uint32_t stream = 0;
  rc = segstore_read(s, first, small, sizeof small, &len, &stream);
  if (rc != SEGSTORE_E_BUFFER_TOO_SMALL) return 1;
  char buf[256];
  if (check(segstore_read(s, first, buf, sizeof buf, &len, &stream), "read")) return 1;
  printf("read LSN %llu (%zu bytes, stream %u): %.*s\n", (unsigned long long)first, len, stream, (int)len, buf);

  /* Every durable record of stream 1 from `first` on; at the end, wait up to 100 ms for more
   * (a tailing reader passes SEGSTORE_WAIT_FOREVER and ends the wait with segstore_iter_cancel). */
  segstore_iter *it = NULL;
  if (check(segstore_scan(s, first, SEGSTORE_SCAN_STREAM | SEGSTORE_SCAN_DURABLE_ONLY, 1, &it), "scan")) return 1;
  uint64_t lsn = 0;
  const void *data = NULL;
  int n = 0;
  while ((rc = segstore_iter_next_wait(it, 100, &lsn, &stream, &data, &len)) == 1) {
    printf("stream 1, LSN %llu: %.*s\n", (unsigned long long)lsn, (int)len, (const char *)data);
    n++;
  }
  segstore_iter_close(it);
  if (check(rc, "iter_next_wait") || n != 2) return 1;

  segstore_stats st;
  if (check(segstore_get_stats(s, &st, sizeof st), "get_stats")) return 1;
  printf("%llu appends, append latency p50 %llu us, p99 %llu us; %llu syncs; %llu bytes on disk\n",
         (unsigned long long)st.appends, (unsigned long long)st.append_latency_us.p50,
         (unsigned long long)st.append_latency_us.p99, (unsigned long long)st.syncs,
         (unsigned long long)st.disk_bytes);

  printf("first LSN %llu, next LSN %llu, durable LSN %llu\n", (unsigned long long)segstore_first_lsn(s),
         (unsigned long long)segstore_next_lsn(s), (unsigned long long)segstore_durable_lsn(s));
  return check(segstore_close(s), "close");
}
