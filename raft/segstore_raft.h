/* segstore_raft.h — a raft_io for canonical raft (libraft 0.15) whose log, term, vote and
 * snapshots live in a segstore store (libsegstore-raft; docs/REPLICATION.md).
 *
 * Network and timers are raft_uv's own (raft_uv_init with raft_uv_tcp_init): this io delegates
 * init's transport part, start, send, time, random and async_work to an inner raft_uv io and
 * serves every storage call from segstore.
 *
 * Lifetime: segstore_raft_io_init() fills `io`; pass it to raft_init(); after raft_close()'s
 * callback has run, segstore_raft_io_close() releases it. The store is opened by io->init and
 * closed by io->close.
 *
 * Threads: every raft_io call is made on the loop thread, as raft does. Appends, truncations,
 * syncs and snapshot writes run on one worker thread per io; their callbacks run on the loop
 * thread. set_term, set_vote, load and bootstrap block the loop for their write or read, as the
 * raft_io interface (which has no callback for them) requires.
 *
 * Durability: an append's callback reports success only once its entries are durable; set_term
 * and set_vote are durable on return; a snapshot_put's callback once the snapshot is. */
#ifndef SEGSTORE_RAFT_H
#define SEGSTORE_RAFT_H

#include <stdint.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {  /* raft.h declares its functions without C linkage for C++ */
#endif

#include <raft.h>

struct segstore_raft_options {
  /* Size of each segment file of the store, in bytes (multiple of 4096); 0 = segstore's default
   * (64 MiB). Small values keep test clusters light. */
  uint64_t segment_bytes;
  /* Application snapshots kept on disk; 0 = 2. */
  uint32_t snapshots_kept;
  /* NULL (the normal case): network and timers are raft_uv's over TCP. Otherwise an io whose
   * init, start, send, time, random (and async_work when its version is 2) serve them instead,
   * and close ends them; its storage calls are never made. The adapter sets its `data`. It must
   * outlive this io. The crash simulation passes an in-process network here. */
  struct raft_io *transport;
  /* Not for applications: the library's own tests put a segstore::io::Env * here (the
   * simulated disk, testing/sim_env.h) to run the store on it; it must outlive this io. NULL:
   * the real disk. */
  void *env;
};

/* Fills `io` (a raft_io of version 2) for a server whose data lives under `dir`: the store in
 * dir/log, raft_uv's probe files in dir/net. `options` may be NULL (defaults). Returns 0 or a
 * RAFT_* code (RAFT_NOMEM, RAFT_INVALID). Nothing is opened until io->init. */
int segstore_raft_io_init(struct raft_io *io, uv_loop_t *loop, const char *dir,
                          const struct segstore_raft_options *options);

/* For tests that drive time themselves: blocks until the storage worker has run every
 * request submitted so far. Returns 1 when callbacks wait for the loop's next turn, else 0.
 * Loop thread only, after io->init. */
int segstore_raft_io_wait_idle(struct raft_io *io);

/* Releases what segstore_raft_io_init allocated. Only after io->close's callback has run (or when
 * io->init was never called). */
void segstore_raft_io_close(struct raft_io *io);

#ifdef __cplusplus
}
#endif

#endif /* SEGSTORE_RAFT_H */
