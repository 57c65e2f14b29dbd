#include "io/uring_round.h"

#include <algorithm>
#include <cerrno>

#include "base/assert.h"
#include "io/env.h"

namespace segstore::io {

namespace {

bool is_transient(int res) { return res == -EAGAIN || res == -EINTR; }
// A request that io_uring failed without running it because the task that submitted it had
// exited: a linked sync (or a reissued request) is started from the submitter's task, and the
// kernel fails it with -EFAULT when that task is gone, or cancels it (-ECANCELED) with the
// task's pending work. A data sync has no user pointer, so -EFAULT cannot be its own error.
bool sync_not_run(int res) { return res == -EFAULT || res == -ECANCELED; }
// The same for a write that io_uring reissued (after -EAGAIN from the block layer) from a task
// that had exited. Writing the same bytes at the same offset again is harmless, and the
// group's buffers are the engine's own, so a genuine -EFAULT only costs the bounded retries
// before it is reported.
bool write_not_run(int res) { return res == -EFAULT || res == -ECANCELED; }
// The submit checked alignment, so EINVAL on a dsync write is the flag (older kernels), as is
// EOPNOTSUPP (a file system or kernel without RWF_DSYNC for this file).
bool is_dsync_refusal(int res) { return res == -EOPNOTSUPP || res == -EINVAL; }

void count_retry(GroupProgress &progress, const char *what, const std::string &path, int res) {
  if (++progress.retries <= round_retries_max) return;
  progress.error = errno_status(-res, std::string(what) + " (still refused after " +
                                          std::to_string(round_retries_max) + " retries)",
                                path,
                                static_cast<std::int64_t>(progress.offset + progress.bytes_done));
}

}  // namespace

bool group_finished(const GroupProgress &progress) {
  if (!progress.error.ok()) return true;
  return progress.bytes_done == progress.bytes_total &&
         (!progress.sync_wanted || progress.synced);
}

RoundRequest plan_round(const GroupProgress &progress) {
  RoundRequest request;
  if (group_finished(progress)) return request;
  const std::uint64_t remaining = progress.bytes_total - progress.bytes_done;
  request.write_bytes =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(remaining, write_chunk_max_bytes));
  if (progress.sync_wanted && progress.dsync && request.write_bytes > 0) {
    request.dsync = true;  // each part durable by its own write; no separate sync
    return request;
  }
  // The sync goes with the write that covers the rest of the group: one sync per group.
  request.sync = progress.sync_wanted && request.write_bytes == remaining;
  return request;
}

void apply_round(GroupProgress &progress, const RoundRequest &request, int write_res,
                 int sync_res, const std::string &path) {
  bool write_complete = true;
  if (request.write_bytes > 0) {
    const auto at = static_cast<std::int64_t>(progress.offset + progress.bytes_done);
    // The kernel never reports more bytes than it was asked to write; if it does, the counts
    // that decide what is durable can no longer be trusted.
    SEGSTORE_ASSERT(write_res <= 0 || static_cast<std::uint32_t>(write_res) <= request.write_bytes,
                    "io_uring write of " + std::to_string(request.write_bytes) + " bytes to " +
                        path + " completed with res " + std::to_string(write_res));
    if (write_res > 0) {
      progress.bytes_done += static_cast<std::uint32_t>(write_res);
      progress.retries = 0;
      write_complete = static_cast<std::uint32_t>(write_res) == request.write_bytes;
    } else if (write_res == 0) {
      progress.error = Status(Errc::io_error, "write " + path + " at offset " +
                                                  std::to_string(at) + ": the OS wrote 0 of " +
                                                  std::to_string(request.write_bytes) + " bytes");
      return;
    } else if (request.dsync && is_dsync_refusal(write_res)) {
      // Nothing is lost by asking again without the flag: the same bytes at the same offset.
      progress.dsync = false;
      progress.dsync_refused = true;
      return;
    } else if (is_transient(write_res) || write_not_run(write_res)) {
      write_complete = false;
      count_retry(progress, "write", path, write_res);
      if (!progress.error.ok()) return;
    } else {
      // The linked sync was cancelled (-ECANCELED) because of this error; the write's error is
      // the one that says why.
      progress.error = errno_status(-write_res, "write", path, at);
      return;
    }
  }
  if (request.dsync) {
    // Every part of the group was written with RWF_DSYNC (a group that went linked on the way
    // ends with a linked sync instead), so its last byte makes it whole and durable.
    if (progress.bytes_done == progress.bytes_total) progress.synced = true;
    return;
  }
  if (!request.sync) return;
  if (sync_res == 0) {
    // A sync that ran while part of the group was still unwritten covers nothing the caller
    // needs (only with links that do not break on a short write); the next round redoes it.
    if (write_complete) progress.synced = true;
  } else if (sync_res == -ECANCELED && !write_complete) {
    // The link is cancelled when the write before it failed or came back short.
  } else if (is_transient(sync_res) || sync_not_run(sync_res)) {
    // The sync did not run, so nothing was dropped: asking again (from the thread reaping now,
    // which is alive) is safe, unlike after a sync that failed.
    if (write_complete) count_retry(progress, "fdatasync", path, sync_res);
  } else {
    SEGSTORE_ASSERT(sync_res < 0, "io_uring data sync of " + path + " completed with res " +
                                      std::to_string(sync_res));
    // Never retried: after a failed data sync the kernel may have marked the unwritten pages
    // clean, and a second sync would succeed without them (see PosixFile::sync_data).
    progress.error = errno_status(-sync_res, "fdatasync", path);
  }
}

}  // namespace segstore::io
