#include "io/uring_queue.h"

#include <liburing.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/try.h"
#include "io/device_cache.h"
#include "io/direct_alignment.h"
#include "io/posix_file.h"
#include "io/uring_round.h"

namespace segstore::io {

namespace {

// user_data of a request: the slot of its group and which request of the round it is.
enum class Op : std::uint64_t { write = 0, sync = 1 };
constexpr std::uint64_t encode_user_data(std::uint32_t slot, Op op) {
  return (static_cast<std::uint64_t>(slot) << 1) | static_cast<std::uint64_t>(op);
}
constexpr std::uint32_t user_data_slot(std::uint64_t user_data) {
  return static_cast<std::uint32_t>(user_data >> 1);
}
constexpr Op user_data_op(std::uint64_t user_data) { return static_cast<Op>(user_data & 1); }

// CQEs taken from the ring per peek.
constexpr unsigned cqe_batch_max = 64;

class UringQueue final : public WriteQueue {
 public:
  UringQueue(unsigned depth, SyncWrites sync_writes, int dsync_rw_flags)
      : slots_(depth), sync_writes_(sync_writes), dsync_rw_flags_(dsync_rw_flags) {
    free_slots_.reserve(depth);
    for (unsigned i = depth; i > 0; --i) free_slots_.push_back(i - 1);
  }
  ~UringQueue() override;
  UringQueue(const UringQueue &) = delete;
  UringQueue &operator=(const UringQueue &) = delete;

  // Two SQEs per group (write + sync); the CQ ring is twice the SQ ring, so the completions of
  // all requests in flight always fit and never overflow.
  Status init_ring(UringInit init) {
    const int res = init(2 * static_cast<unsigned>(slots_.size()), &ring_, 0);
    if (res < 0) return errno_status(-res, "io_uring_queue_init", "write queue");
    ring_ready_ = true;
    return Status();
  }

  Status submit(const WriteGroup &group) override;
  Status reap(std::vector<GroupCompletion> *out, bool wait) override;
  std::size_t inflight() const override {
    std::lock_guard lock(mu_);
    return inflight_;
  }
  const char *name() const override { return "uring"; }
  SyncWrites sync_writes() const override {
    std::lock_guard lock(mu_);
    return sync_writes_ == SyncWrites::automatic ? SyncWrites::linked : sync_writes_;
  }
  WriteQueueCounts counts() const override {
    std::lock_guard lock(mu_);
    return counts_;
  }

 private:
  struct Slot {
    PosixFile *file = nullptr;
    PosixFile::Pinned pinned;  // the descriptor, held open until the group completes
    const std::byte *data = nullptr;
    std::uint64_t token = 0;
    GroupProgress progress;
    RoundRequest round;
    int write_res = 0;
    int sync_res = 0;
    unsigned cqes_pending = 0;  // of the current round
  };

  io_uring_sqe *get_sqe();
  void start_round(std::uint32_t slot_index);
  Status submit_pending();
  void drain_cqes(std::vector<GroupCompletion> *out);
  void handle_cqe(std::uint64_t user_data, int res, std::vector<GroupCompletion> *out);

  // submit() (appenders) and reap() (the reaper) run on two threads at once. mu_ guards the
  // slots and the submission ring; reap() releases it only while it blocks in
  // io_uring_wait_cqe, which touches nothing but the completion ring (read by reap() alone).
  mutable std::mutex mu_;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<GroupCompletion> ready_;  // finished without the kernel (empty groups)
  std::size_t inflight_ = 0;            // submitted and not yet handed out by reap()
  // automatic until the first group (then dsync or linked by its device, io/device_cache.h);
  // linked for good once the kernel refused RWF_DSYNC.
  SyncWrites sync_writes_;
  const int dsync_rw_flags_;
  WriteQueueCounts counts_;
};

// The kernel may still be reading a group's memory after the ring is closed (its requests are
// cancelled asynchronously), and the caller frees that memory once we return: wait for all.
UringQueue::~UringQueue() {
  if (!ring_ready_) return;
  std::vector<GroupCompletion> discarded;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (free_slots_.size() >= slots_.size()) break;
    }
    if (!reap(&discarded, true).ok()) break;
    discarded.clear();
  }
  io_uring_queue_exit(&ring_);
}

Status UringQueue::submit(const WriteGroup &group) {
  std::lock_guard lock(mu_);
  if (inflight_ >= slots_.size()) {
    return Status(Errc::busy, "uring write queue: " + std::to_string(inflight_) +
                                  " groups in flight, the depth is " +
                                  std::to_string(slots_.size()));
  }
  auto *file = dynamic_cast<PosixFile *>(group.file);
  if (file == nullptr) {
    return Status(Errc::invalid_argument, "uring write queue: the group's file is not a file "
                                          "of the posix env");
  }
  if (file->direct()) {
    SEGSTORE_TRY(check_direct_alignment("write", file->path(), group.offset, group.data.data(),
                                        group.data.size()));
  }
  if (group.data.empty() && !group.sync) {
    ++inflight_;
    ready_.push_back(GroupCompletion{group.token, Status(), false});
    return Status();
  }
  Result<PosixFile::Pinned> pinned = file->pin_for_write();
  if (!pinned.ok()) return pinned.status();
  if (sync_writes_ == SyncWrites::automatic)
    sync_writes_ = dsync_needs_no_flush(pinned->fd).value_or(false) ? SyncWrites::dsync : SyncWrites::linked;
  ++inflight_;
  const std::uint32_t slot_index = free_slots_.back();
  free_slots_.pop_back();
  Slot &slot = slots_[slot_index];
  slot = Slot{};
  slot.file = file;
  slot.pinned = *pinned;
  slot.data = group.data.data();
  slot.token = group.token;
  slot.progress.offset = group.offset;
  slot.progress.bytes_total = group.data.size();
  slot.progress.sync_wanted = group.sync;
  // An empty group has nothing to write the flag on: its sync is a data sync alone.
  slot.progress.dsync = group.sync && !group.data.empty() && sync_writes_ == SyncWrites::dsync;
  start_round(slot_index);
  // The group is queued in the ring whatever io_uring_enter() says now: a transient refusal
  // is retried by the next submit() or reap().
  (void)submit_pending();
  return Status();
}

io_uring_sqe *UringQueue::get_sqe() {
  io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    (void)submit_pending();
    sqe = io_uring_get_sqe(&ring_);
  }
  // The ring has two SQEs per slot and a slot has at most two requests queued at a time.
  SEGSTORE_ASSERT(sqe != nullptr, "io_uring submission queue full with " +
                                      std::to_string(io_uring_sq_ready(&ring_)) +
                                      " entries not taken by the kernel");
  return sqe;
}

void UringQueue::start_round(std::uint32_t slot_index) {
  Slot &slot = slots_[slot_index];
  slot.round = plan_round(slot.progress);
  slot.cqes_pending = 0;
  slot.write_res = 0;
  slot.sync_res = 0;
  SEGSTORE_ASSERT(slot.round.write_bytes > 0 || slot.round.sync,
                  "a round started for a finished group");
  if (slot.round.write_bytes > 0) {
    io_uring_sqe *sqe = get_sqe();
    io_uring_prep_write(sqe, slot.pinned.fd, slot.data + slot.progress.bytes_done,
                        slot.round.write_bytes, slot.progress.offset + slot.progress.bytes_done);
    io_uring_sqe_set_data64(sqe, encode_user_data(slot_index, Op::write));
    if (slot.round.dsync) {
      // The write returns once its bytes are durable: on O_DIRECT a FUA write (or the write and
      // a cache flush where the device has no FUA or the file's metadata changed).
      sqe->rw_flags = dsync_rw_flags_;
      ++counts_.dsync_writes;
    } else {
      ++counts_.writes;
    }
    // The link makes the kernel start the sync only after this write completed in full; a
    // failed or short write cancels the sync (-ECANCELED).
    if (slot.round.sync) sqe->flags |= IOSQE_IO_LINK;
    ++slot.cqes_pending;
  }
  if (slot.round.sync) {
    io_uring_sqe *sqe = get_sqe();
    io_uring_prep_fsync(sqe, slot.pinned.fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(sqe, encode_user_data(slot_index, Op::sync));
    ++slot.cqes_pending;
    ++counts_.syncs;
  }
}

// Hands the prepared SQEs to the kernel. EAGAIN/EBUSY/ENOMEM leave them in the ring for the
// next call; EINTR is retried; anything else means the ring itself is broken.
Status UringQueue::submit_pending() {
  while (io_uring_sq_ready(&ring_) > 0) {
    const int res = io_uring_submit(&ring_);
    if (res > 0) continue;  // an SQE that failed to start posts its CQE; go on with the rest
    if (res == -EINTR) continue;
    if (res == 0 || res == -EAGAIN || res == -EBUSY || res == -ENOMEM) {
      return errno_status(res == 0 ? EAGAIN : -res, "io_uring_enter (submit)", "write queue");
    }
    SEGSTORE_ASSERT(false, std::string("io_uring_enter (submit) failed: ") + std::strerror(-res));
  }
  return Status();
}

void UringQueue::handle_cqe(std::uint64_t user_data, int res, std::vector<GroupCompletion> *out) {
  const std::uint32_t slot_index = user_data_slot(user_data);
  SEGSTORE_ASSERT(slot_index < slots_.size() && slots_[slot_index].cqes_pending > 0,
                  "io_uring completion for slot " + std::to_string(slot_index) +
                      " which has no request in flight");
  Slot &slot = slots_[slot_index];
  if (user_data_op(user_data) == Op::write) {
    slot.write_res = res;
  } else {
    slot.sync_res = res;
  }
  if (--slot.cqes_pending > 0) return;
  apply_round(slot.progress, slot.round, slot.write_res, slot.sync_res, slot.file->path());
  if (slot.round.dsync && !slot.progress.dsync) {
    // Refused once, refused always (same kernel, and a store's files share a file system):
    // later groups go linked from the start instead of paying a refused request each.
    ++counts_.dsync_refusals;
    sync_writes_ = SyncWrites::linked;
  }
  if (!group_finished(slot.progress)) {
    start_round(slot_index);
    return;
  }
  const bool synced = slot.progress.error.ok() && slot.progress.synced;
  // A group still dsync at its end was made durable by its own writes only.
  const PosixFile::SyncedBy synced_by = !synced              ? PosixFile::SyncedBy::nothing
                                        : slot.progress.dsync ? PosixFile::SyncedBy::own_write
                                                              : PosixFile::SyncedBy::file_sync;
  slot.file->unpin(slot.pinned, synced_by);
  out->push_back(GroupCompletion{slot.token, slot.progress.error, synced});
  --inflight_;
  slot = Slot{};
  free_slots_.push_back(slot_index);
}

void UringQueue::drain_cqes(std::vector<GroupCompletion> *out) {
  io_uring_cqe *cqes[cqe_batch_max];
  for (;;) {
    const unsigned count = io_uring_peek_batch_cqe(&ring_, cqes, cqe_batch_max);
    if (count == 0) return;
    for (unsigned i = 0; i < count; ++i) {
      handle_cqe(io_uring_cqe_get_data64(cqes[i]), cqes[i]->res, out);
    }
    io_uring_cq_advance(&ring_, count);
  }
}

Status UringQueue::reap(std::vector<GroupCompletion> *out, bool wait) {
  std::unique_lock lock(mu_);
  const std::size_t count_before = out->size();
  inflight_ -= ready_.size();
  out->insert(out->end(), ready_.begin(), ready_.end());
  ready_.clear();
  SEGSTORE_TRY(submit_pending());
  drain_cqes(out);
  SEGSTORE_TRY(submit_pending());  // rounds started by the completions just handled
  // A CQE may only start another round of its group (a short write), so wait until a group
  // actually finished.
  while (wait && out->size() == count_before && inflight_ > 0) {
    io_uring_cqe *cqe = nullptr;
    lock.unlock();
    const int res = io_uring_wait_cqe(&ring_, &cqe);
    lock.lock();
    if (res == -EINTR) continue;
    if (res < 0) return errno_status(-res, "io_uring_wait_cqe", "write queue");
    drain_cqes(out);
    SEGSTORE_TRY(submit_pending());
  }
  return Status();
}

}  // namespace

Result<std::unique_ptr<WriteQueue>> make_uring_queue(unsigned depth, const UringQueueOptions &options) {
  if (depth == 0 || depth > uring_depth_max) {
    return Status(Errc::invalid_argument, "uring write queue depth " + std::to_string(depth) +
                                              " is outside 1.." + std::to_string(uring_depth_max));
  }
  const int dsync_rw_flags = options.dsync_rw_flags != 0 ? options.dsync_rw_flags : RWF_DSYNC;
  auto queue = std::make_unique<UringQueue>(depth, options.sync_writes, dsync_rw_flags);
  SEGSTORE_TRY(queue->init_ring(options.init != nullptr ? options.init : &io_uring_queue_init));
  return std::unique_ptr<WriteQueue>(std::move(queue));
}

}  // namespace segstore::io
