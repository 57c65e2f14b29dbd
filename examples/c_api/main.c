/* examples/c_api/main.c — libsegstore from C: append, read back, iterate one stream.
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
  segstore *s = NULL;
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

  /* Every record of stream 1 from `first` on. */
  segstore_iter *it = NULL;
  if (check(segstore_iter_open_stream(s, first, 1, &it), "iter_open_stream")) return 1;
  uint64_t lsn = 0;
  const void *data = NULL;
  int n = 0;
  while ((rc = segstore_iter_next(it, &lsn, &stream, &data, &len)) == 1) {
    printf("stream 1, LSN %llu: %.*s\n", (unsigned long long)lsn, (int)len, (const char *)data);
    n++;
  }
  segstore_iter_close(it);
  if (check(rc, "iter_next") || n != 2) return 1;

  printf("first LSN %llu, next LSN %llu, durable LSN %llu\n", (unsigned long long)segstore_first_lsn(s),
         (unsigned long long)segstore_next_lsn(s), (unsigned long long)segstore_durable_lsn(s));
  return check(segstore_close(s), "close");
}
