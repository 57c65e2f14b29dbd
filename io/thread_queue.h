// io/thread_queue.h — a WriteQueue on a few worker threads doing pwrite + fdatasync.
//
// The fallback when io_uring is unavailable (seccomp, kernel.io_uring_disabled, old kernels).
// Each worker takes a group and writes it: a sync group with File::write_dsync_at (pwritev2 with
// RWF_DSYNC: one system call, short writes continued with the flag) under SyncWrites::dsync and
// automatic (the write and its sync finish on the worker's own thread), else (or once the file
// refused the flag) with File::write_at (short writes continued) and
// then File::sync_data; the completion goes to a queue that reap() empties.
// Several workers let the device overlap the data syncs of several groups, as io_uring does.
// Works with any File (it only calls the File interface).
//
// Lifetime: the destructor lets the workers finish every group already submitted (the kernel
// may be reading its memory) and joins them. Thread-safety: submit/reap/inflight from one
// thread (the WriteQueue contract); the workers are internal.
#pragma once

#include <memory>

#include "io/env.h"

namespace segstore::io {

// Workers per queue: min(depth, thread_workers_max). Four concurrent syncs already give most of
// the device's overlap (docs/IO.md); more threads mostly add context switches.
inline constexpr unsigned thread_workers_max = 4;
inline constexpr unsigned thread_depth_max = 4096;

Result<std::unique_ptr<WriteQueue>> make_thread_queue(unsigned depth,
                                                     SyncWrites sync_writes = SyncWrites::dsync);

}  // namespace segstore::io
