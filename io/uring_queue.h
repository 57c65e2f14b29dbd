// io/uring_queue.h — a WriteQueue on io_uring (liburing).
//
// A WriteGroup with group.sync becomes one IORING_OP_WRITE with rw_flags RWF_DSYNC (SyncWrites::
// dsync; the default, automatic, chooses it where the device needs no flush after it:
// io/device_cache.h): the write returns once its bytes are durable, one request per group.
// With SyncWrites::linked (automatic's choice elsewhere, and the way once the kernel refused
// the flag) it is an IORING_OP_WRITE linked (IOSQE_IO_LINK) to an IORING_OP_FSYNC with
// IORING_FSYNC_DATASYNC: one io_uring_enter() starts both, and the kernel starts the sync only
// after the write completed. Short writes, -EAGAIN, a refused flag and the sync cancelled behind
// them are handled in rounds (io/uring_round.h). The groups' files must come from the posix env
// (PosixFile): the queue writes their descriptors directly.
//
// Lifetime: the destructor waits for every request still in the kernel (which may be reading
// the groups' memory) before it closes the ring. Thread-safety: one thread (the WriteQueue
// contract).
#pragma once

#include <memory>

#include "io/env.h"

struct io_uring;

namespace segstore::io {

// The io_uring_queue_init to call: the real one in production; tests pass a stand-in that
// plays a kernel refusing io_uring (seccomp, kernel.io_uring_disabled).
using UringInit = int (*)(unsigned entries, io_uring *ring, unsigned flags);

// The largest depth: the ring holds two SQEs per group and the kernel allows 32768 entries.
inline constexpr unsigned uring_depth_max = 4096;

struct UringQueueOptions {
  UringInit init = nullptr;  // nullptr: io_uring_queue_init
  SyncWrites sync_writes = SyncWrites::automatic;
  // The rw_flags of a dsync write: RWF_DSYNC (0: the default). Tests add a bit no kernel knows to
  // make the kernel refuse it (EOPNOTSUPP) as one without RWF_DSYNC would.
  int dsync_rw_flags = 0;
};

// A queue for `depth` groups in flight. A failing io_uring_queue_init is returned as its errno
// (ENOSYS: no io_uring in this kernel; EPERM/EACCES: forbidden by seccomp or sysctl).
Result<std::unique_ptr<WriteQueue>> make_uring_queue(unsigned depth, const UringQueueOptions &options = {});

}  // namespace segstore::io
