// io/uring_read_ahead.cc — a ReadAhead on an io_uring of its own (io/read_ahead.h,
// make_uring_read_ahead): many small reads in flight without a thread of ours per read.
//
// The worker-thread ReadAhead costs two thread hand-offs per read (to a worker, and back to the
// waiter); a one-stream walk's reads are small and many, and on a loaded machine each hand-off
// can wait for a time slice. Here a read is one SQE submitted by the caller and one CQE reaped
// by whichever waiter is in the kernel at the time; the reads of a submit_batch share one
// io_uring_submit (and the kernel's plug: one device notification for several requests).
//
// Concurrency: the SQ is touched only under mu_. The CQ is consumed only under mu_ and only
// while no thread is blocked in io_uring_wait_cqe (reaping_): one waiter blocks in the kernel,
// the others sleep on done_cv_ and are woken after each reap. io_uring_wait_cqe only looks at
// the CQ (it consumes nothing), so a submit under mu_ meanwhile is safe.
#include <liburing.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "base/assert.h"
#include "format/layout.h"
#include "io/posix_file.h"
#include "io/read_ahead.h"

namespace segstore::io {

namespace {

class UringReadAhead final : public ReadAhead {
 public:
  explicit UringReadAhead(unsigned depth) : depth_(depth) {}

  // Errors: the errno of io_uring_queue_init (the caller falls back to threads).
  int init() {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = 2 * depth_;  // at most depth_ in flight: the CQ never overflows
    const int res = io_uring_queue_init_params(depth_, &ring_, &params);
    ring_made_ = res == 0;
    return res;
  }

  ~UringReadAhead() override {
    // Invariant (the header's lifetime rule): every read was waited for.
    SEGSTORE_ASSERT(inflight_ == 0, "uring read-ahead destroyed with " + std::to_string(inflight_) + " reads in flight");
    if (ring_made_) io_uring_queue_exit(&ring_);
  }

  void submit(AheadRead &read) override {
    AheadRead *const one = &read;
    submit_batch(std::span<AheadRead *const>(&one, 1));
  }

  // The reads the ring has room for go to the kernel with one io_uring_submit; the others are
  // read on the caller's thread after that (read_now).
  void submit_batch(std::span<AheadRead *const> reads) override {
    // Only a PosixFile has a descriptor to give the ring; its descriptor stays open (the
    // descriptor cache cannot close it) until the read completed. Pinned outside mu_: pinning
    // may open the file.
    for (AheadRead *read : reads) {
      SEGSTORE_ASSERT(read->file != nullptr, "read-ahead of no file");
      read->done = false;
      read->bytes = 0;
      read->status = Status();
      read->fd = -1;
      auto *file = dynamic_cast<PosixFile *>(read->file);
      Result<int> fd = file != nullptr ? file->pin_for_read() : Result<int>(-1);
      if (file != nullptr && fd.ok()) read->fd = *fd;
    }
    {
      std::lock_guard lock(mu_);
      unsigned prepared = 0;
      for (AheadRead *read : reads) {
        if (read->fd < 0) continue;
        if (inflight_ == depth_) {
          static_cast<PosixFile *>(read->file)->unpin_read();
          read->fd = -1;
          continue;
        }
        prepare_locked(*read);
        inflight_++;
        prepared++;
      }
      submit_prepared_locked(prepared);
    }
    // Only this thread writes read->fd: reading it while another thread reaps the read is safe.
    for (AheadRead *read : reads)
      if (read->fd < 0) read_now(*read);  // reports an open failure too, as a read would
  }

  void wait(AheadRead &read) override {
    std::unique_lock lock(mu_);
    while (!read.done) {
      if (reaping_) {
        done_cv_.wait(lock);
        continue;
      }
      reap_locked();
      if (read.done) break;
      reaping_ = true;
      lock.unlock();
      io_uring_cqe *cqe = nullptr;
      const int res = io_uring_wait_cqe(&ring_, &cqe);  // consumes nothing
      lock.lock();
      reaping_ = false;
      SEGSTORE_ASSERT(res == 0 || res == -EINTR || res == -EAGAIN,
                      "uring read-ahead: io_uring_wait_cqe returned " + std::to_string(res));
      reap_locked();
      done_cv_.notify_all();
    }
  }

 private:
  static constexpr int submit_tries_max = 1000;

  // Prepares the read of what `read` still lacks (from read.bytes on), on its pinned descriptor.
  void prepare_locked(AheadRead &read) {
    io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
    // Invariant: every SQE is submitted before mu_ is released and at most depth_ are in flight.
    SEGSTORE_ASSERT(sqe != nullptr, "uring read-ahead: no free SQE with " + std::to_string(inflight_) + " in flight");
    io_uring_prep_read(sqe, read.fd, read.out.data() + read.bytes, static_cast<unsigned>(read.out.size() - read.bytes),
                       read.offset + read.bytes);
    io_uring_sqe_set_data(sqe, &read);
  }

  // Hands the `prepared` SQEs to the kernel (io_uring_submit may take fewer at a time; the rest
  // stay in the SQ for the next call).
  void submit_prepared_locked(unsigned prepared) {
    int tries = 0;
    while (prepared != 0) {
      const int submitted = io_uring_submit(&ring_);
      if (submitted > 0) {
        SEGSTORE_ASSERT(static_cast<unsigned>(submitted) <= prepared,
                        "uring read-ahead: io_uring_submit took " + std::to_string(submitted) + " of " +
                            std::to_string(prepared) + " SQEs");
        prepared -= static_cast<unsigned>(submitted);
        continue;
      }
      SEGSTORE_ASSERT((submitted == -EINTR || submitted == -EAGAIN || submitted == 0) && ++tries < submit_tries_max,
                      "uring read-ahead: io_uring_submit returned " + std::to_string(submitted));
    }
  }

  // A read the ring does not take (not a PosixFile, its descriptor could not be opened, or the
  // ring is full) is done on the caller's thread: read_at reports what a read would.
  static void read_now(AheadRead &read) {
    Result<std::size_t> got = read.file->read_at(read.offset, read.out);
    if (got.ok()) read.bytes = *got;
    else read.status = got.status();
    read.done = true;  // the caller's own thread: nobody waits on it yet
  }

  // Every completion in the CQ, each mapped: a negative result is the read's errno, anything
  // from 0 to the length asked is the bytes read (fewer at the end of the file), more is
  // impossible.
  void reap_locked() {
    unsigned head = 0, seen = 0;
    io_uring_cqe *cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      auto *read = static_cast<AheadRead *>(io_uring_cqe_get_data(cqe));
      SEGSTORE_ASSERT(read != nullptr, "uring read-ahead: a completion of no read");
      const int res = cqe->res;
      seen++;
      if (res < 0) {
        read->status = errno_status(-res, "read", read->file->path(), static_cast<std::int64_t>(read->offset + read->bytes));
      } else {
        SEGSTORE_ASSERT(static_cast<std::size_t>(res) <= read->out.size() - read->bytes,
                        "uring read-ahead: " + std::to_string(res) + " bytes read of " +
                            std::to_string(read->out.size() - read->bytes));
        read->bytes += static_cast<std::size_t>(res);
        // A short read that ends on a block boundary may be the device's split request (the
        // kernel may complete part of an O_DIRECT read under load): the rest is asked again, as
        // File::read_at does; 0 bytes, or an end off a block boundary, is the end of the file.
        if (res > 0 && read->bytes < read->out.size() && read->bytes % format::block_size_bytes == 0) {
          resubmit.push_back(read);
          continue;
        }
      }
      static_cast<PosixFile *>(read->file)->unpin_read();
      read->done = true;
      inflight_--;
    }
    io_uring_cq_advance(&ring_, seen);
    // After the advance: the CQ entries these take are free again.
    for (AheadRead *read : resubmit) prepare_locked(*read);
    submit_prepared_locked(static_cast<unsigned>(resubmit.size()));
    resubmit.clear();
  }

  const unsigned depth_;
  io_uring ring_{};
  bool ring_made_ = false;
  std::mutex mu_;
  std::condition_variable done_cv_;
  unsigned inflight_ = 0;
  bool reaping_ = false;  // a waiter is blocked in io_uring_wait_cqe
  std::vector<AheadRead *> resubmit;  // reap_locked's, kept to allocate once
};

}  // namespace

std::unique_ptr<ReadAhead> make_uring_read_ahead(unsigned depth) {
  SEGSTORE_ASSERT(depth != 0, "a read-ahead ring of no entries");
  auto ahead = std::make_unique<UringReadAhead>(depth);
  if (ahead->init() != 0) return nullptr;
  return ahead;
}

std::unique_ptr<ReadAhead> Env::make_ring_read_ahead(unsigned /*depth*/) { return nullptr; }

}  // namespace segstore::io
