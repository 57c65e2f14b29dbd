// io/posix_env.h — the real Env: POSIX files, and io_uring or worker threads for queued writes.
//
// The backend and O_DIRECT are chosen when the env is made:
//   backend  EnvOptions.backend, overridden by SEGSTORE_IO_BACKEND=uring|thread|auto.
//            automatic: io_uring if io_uring_queue_init works; the thread backend if it fails
//            with ENOSYS (no io_uring), EPERM or EACCES (seccomp, kernel.io_uring_disabled).
//   direct   EnvOptions.direct, turned off by SEGSTORE_DIRECT_IO=0. Each file opened with
//            OpenFlags.direct tries O_DIRECT and is reopened buffered if its file system
//            refuses (EINVAL).
//   sync     EnvOptions.sync_writes, overridden by SEGSTORE_SYNC_WRITES=dsync|linked|auto: how a
//            queue makes a sync group durable (io/env.h SyncWrites; auto, the default, looks at
//            the device's cache: io/device_cache.h). A refused RWF_DSYNC falls back to linked
//            once per queue, silently (nothing is lost but one request).
// Each fallback is logged once per process (base::log, through the logger of the store that met it). docs/IO.md has the details.
//
// Lifetime: files, queues and locks made by the env do not need the env to outlive them.
// Thread-safety: every Env method may be called from any thread.
#pragma once

#include <memory>

#include "io/env.h"
#include "io/posix_file.h"
#include "io/uring_queue.h"

namespace segstore::io {

inline constexpr const char *backend_env_var = "SEGSTORE_IO_BACKEND";
inline constexpr const char *direct_io_env_var = "SEGSTORE_DIRECT_IO";
inline constexpr const char *sync_writes_env_var = "SEGSTORE_SYNC_WRITES";

// The system calls whose refusal decides a fallback. nullptr: the real one. Tests pass stand-ins
// to play a kernel without io_uring or a file system without O_DIRECT.
struct PosixSyscalls {
  OpenSyscall open = nullptr;
  UringInit uring_init = nullptr;
};

std::shared_ptr<Env> make_posix_env(EnvOptions options, const PosixSyscalls &syscalls);

}  // namespace segstore::io
