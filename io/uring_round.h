// io/uring_round.h — what one round of a group's io_uring requests came to, and what comes next.
//
// The uring queue sends a WriteGroup to the kernel in rounds. A round is a write of the bytes
// not yet written (at most write_chunk_max_bytes), linked (IOSQE_IO_LINK) to a data sync when the
// group wants one and this write covers the rest of the group. A round is over when the CQEs of
// all its requests arrived; only then is its outcome decided, from both results together,
// because a sync counts only if the write before it completed in full.
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
//   0 (nothing, no error)        | -ECANCELED         | io_error: retrying could spin forever
//   other negative               | -ECANCELED         | the write's error (errno_status), done
//   > requested                  | any                | impossible: SEGSTORE_ASSERT
//   == requested                 | -EAGAIN / -EINTR   | the sync is retried (it did not run)
//   == requested                 | other negative     | the sync's error, done, never retried
//   == requested                 | -ECANCELED or > 0  | impossible: SEGSTORE_ASSERT
//   (no write: sync-only round)  | as the rows above  |
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
  bool synced = false;            // a sync completed after all bytes were written
  unsigned retries = 0;           // rounds in a row without progress
  Status error;                   // the first error; ends the group
};

struct RoundRequest {
  std::uint32_t write_bytes = 0;  // at offset + bytes_done; 0: no write in this round
  bool sync = false;              // a data sync linked after the write (or alone)
};

// The round to submit next; {0, false} when the group is finished.
RoundRequest plan_round(const GroupProgress &progress);
bool group_finished(const GroupProgress &progress);
// Applies the CQE results of `request` (write_res ignored without a write, sync_res without a
// sync). `path` names the file in error messages.
void apply_round(GroupProgress &progress, const RoundRequest &request, int write_res,
                 int sync_res, const std::string &path);

}  // namespace segstore::io
