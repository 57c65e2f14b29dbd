// io/uring_round.h — what one round of a group's io_uring requests came to, and what comes next.
//
// The uring queue sends a WriteGroup to the kernel in rounds. A round is a write of the bytes
// not yet written (at most write_chunk_max_bytes). A group that wants a sync gets it one of two
// ways (SyncWrites in io/env.h):
//   dsync   every write of the group carries RWF_DSYNC: one request per round, and the group is
//           synced once its last byte was written so (each part, a short write's rest too,
//           made durable by its own write);
//   linked  the write that covers the rest of the group is linked (IOSQE_IO_LINK) to a data
//           sync. A round is over when the CQEs of all its requests arrived; only then is its
//           outcome decided, from both results together, because a sync counts only if the
//           write before it completed in full.
// A dsync write refused by the kernel (EOPNOTSUPP, EINVAL: an old kernel, a file system without
// the flag) switches the group to linked for the rest of it, and the queue for good.
//
// Every cqe->res is mapped here, in one place:
//
//   write res                    | linked sync res    | what the group does
//   -----------------------------+--------------------+-----------------------------------------
//   == requested                 | 0                  | written; synced (if a sync was linked)
//   0 < res < requested (short)  | -ECANCELED or 0    | progress; next round writes the rest and
//                                |                    | links the sync after it (a sync that ran
//                                |                    | before the rest was written covers nothing)
//   -EAGAIN / -EINTR             | -ECANCELED         | retried; gives up after retries_max rounds
//                                |                    | in a row without progress (io_error)
//   -EFAULT / -ECANCELED         | -ECANCELED         | not run: its submitter's task exited
//                                |                    | before io_uring reissued it; retried as
//                                |                    | -EAGAIN (same bytes, same offset)
//   0 (nothing, no error)        | -ECANCELED         | io_error: retrying could spin forever
//   other negative               | -ECANCELED         | the write's error (errno_status), done
//   > requested                  | any                | impossible: SEGSTORE_ASSERT
//   == requested                 | -EAGAIN / -EINTR   | the sync is retried (it did not run)
//   == requested                 | -EFAULT/-ECANCELED | the sync did not run: its submitter's task
//                                |                    | exited (io_uring starts a linked request
//                                |                    | from it); retried alone, as -EAGAIN
//   == requested                 | other negative     | the sync's error, done, never retried
//   == requested                 | > 0                | impossible: SEGSTORE_ASSERT
//   (no write: sync-only round)  | as the rows above  |
//
//   dsync write res (no sync)    | what the group does
//   -----------------------------+-----------------------------------------------------------
//   == requested                 | written; synced when it was the group's last byte
//   0 < res < requested (short)  | progress; the next round writes the rest with RWF_DSYNC
//   -EOPNOTSUPP / -EINVAL        | flag refused (the alignment was checked at submit): no
//                                | progress, no retry counted; the group goes linked
//   others                       | as a write in the table above
#pragma once

#include <cstdint>
#include <string>

#include "segstore/status.h"

namespace segstore::io {

// One SQE carries a 32-bit length; a bigger group is written in chunks of this size (a block
// multiple, so every chunk of a direct group stays aligned).
inline constexpr std::uint32_t write_chunk_max_bytes = 1u << 30;
// Rounds in a row that made no progress (-EAGAIN, -EINTR) before the group fails.
inline constexpr unsigned round_retries_max = 64;

struct GroupProgress {
  std::uint64_t offset = 0;       // of the group in the file
  std::uint64_t bytes_total = 0;  // of the group
  std::uint64_t bytes_done = 0;   // written so far
  bool sync_wanted = false;
  bool dsync = false;             // sync_wanted, by RWF_DSYNC writes (false: by a linked sync)
  bool dsync_refused = false;     // a dsync write was refused: the group went linked
  bool synced = false;            // all bytes written and made durable
  unsigned retries = 0;           // rounds in a row without progress
  Status error;                   // the first error; ends the group
};

struct RoundRequest {
  std::uint32_t write_bytes = 0;  // at offset + bytes_done; 0: no write in this round
  bool sync = false;              // a data sync linked after the write (or alone)
  bool dsync = false;             // the write carries RWF_DSYNC (never with sync)
};

// The round to submit next; {0, false} when the group is finished.
RoundRequest plan_round(const GroupProgress &progress);
bool group_finished(const GroupProgress &progress);
// Applies the CQE results of `request` (write_res ignored without a write, sync_res without a
// sync). `path` names the file in error messages.
void apply_round(GroupProgress &progress, const RoundRequest &request, int write_res,
                 int sync_res, const std::string &path);

}  // namespace segstore::io
