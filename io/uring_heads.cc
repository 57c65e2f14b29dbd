// io/uring_heads.cc — batched openat / statx / read / close (io/uring_heads.h).
#include "io/uring_heads.h"

#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "base/assert.h"

namespace segstore::io {

namespace {

// Files per batch: each step submits at most this many requests.
constexpr unsigned heads_batch_files = 64;

// What the kernel writes into (statx results and read buffers) while a batch is in flight.
// If a batch has to be given up with requests still in flight, its memory is left allocated
// for good (a few KiB, at most once per open): freed memory must never be written by a late
// completion.
struct BatchMemory {
  BatchMemory(unsigned files, std::size_t bytes) : stats(files), heads(static_cast<std::size_t>(files) * bytes) {}
  std::vector<struct statx> stats;
  std::vector<std::byte> heads;  // file i's head at i * bytes
};

// The ring of one read_heads_uring call.
class HeadsRing {
 public:
  bool init() { return io_uring_queue_init(heads_batch_files, &ring_, 0) == 0 && (ready_ = true); }
  ~HeadsRing() {
    if (ready_) io_uring_queue_exit(&ring_);
  }
  io_uring_sqe *sqe(std::size_t slot) {
    io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
    SEGSTORE_ASSERT(sqe != nullptr, "a batch never holds more requests than the ring's entries");
    io_uring_sqe_set_data64(sqe, slot);
    return sqe;
  }
  // Submits the `count` requests prepared and collects their results by slot. False when the
  // ring failed: results[slot] of a request not seen is -ECANCELED, and in_flight() says
  // whether any may still complete.
  bool run(unsigned count, std::vector<int> &results) {
    for (unsigned i = 0; i < count; ++i) results[i] = -ECANCELED;
    unsigned submitted = 0;
    for (unsigned tries = 0; submitted < count && tries < ring_retries_max; ++tries) {
      const int n = io_uring_submit(&ring_);
      if (n > 0) submitted += static_cast<unsigned>(n);
      else if (n != -EINTR && n != -EAGAIN && n != -EBUSY) break;
    }
    unsigned seen = 0;
    for (unsigned failures = 0; seen < submitted && failures < ring_retries_max;) {
      io_uring_cqe *cqe = nullptr;
      if (io_uring_wait_cqe(&ring_, &cqe) != 0) {
        ++failures;
        continue;
      }
      const std::uint64_t slot = io_uring_cqe_get_data64(cqe);
      SEGSTORE_ASSERT(slot < count, "a completion names a slot of this batch");
      results[slot] = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      ++seen;
    }
    in_flight_ = seen < submitted || submitted < count;  // unsubmitted SQEs would go with the next submit
    return !in_flight_ && submitted == count;
  }
  bool in_flight() const { return in_flight_; }
  // Tears the ring down now (after a failure): nothing submitted to it runs after this.
  void abandon() {
    if (ready_) io_uring_queue_exit(&ring_);
    ready_ = false;
  }

 private:
  static constexpr unsigned ring_retries_max = 1000;
  io_uring ring_{};
  bool ready_ = false;
  bool in_flight_ = false;
};

// One batch of up to heads_batch_files names. False if the ring failed: the batch's files not
// read are left nullopt, and the caller stops using the ring.
bool read_batch(HeadsRing &ring, int dir_fd, std::span<const std::string> names, std::size_t bytes,
                std::span<std::optional<std::vector<std::byte>>> out) {
  const unsigned n = static_cast<unsigned>(names.size());
  auto memory = std::make_unique<BatchMemory>(n, bytes);
  std::vector<int> fds(n), results(n);
  for (unsigned i = 0; i < n; ++i)
    io_uring_prep_openat(ring.sqe(i), dir_fd, names[i].c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0);
  bool ok = ring.run(n, fds);
  std::vector<unsigned> open;  // slots with a descriptor
  for (unsigned i = 0; i < n; ++i)
    if (fds[i] >= 0) open.push_back(i);
  if (ok) {
    for (unsigned k = 0; k < open.size(); ++k)
      io_uring_prep_statx(ring.sqe(k), fds[open[k]], "", AT_EMPTY_PATH, STATX_TYPE, &memory->stats[k]);
    ok = ring.run(static_cast<unsigned>(open.size()), results);
  }
  std::vector<unsigned> regular;  // slots of regular files
  for (unsigned k = 0; ok && k < open.size(); ++k) {
    const struct statx &st = memory->stats[k];
    if (results[k] == 0 && (st.stx_mask & STATX_TYPE) && S_ISREG(st.stx_mode)) regular.push_back(open[k]);
  }
  if (ok) {
    for (unsigned r = 0; r < regular.size(); ++r)
      io_uring_prep_read(ring.sqe(r), fds[regular[r]], memory->heads.data() + regular[r] * bytes,
                         static_cast<unsigned>(bytes), 0);
    ok = ring.run(static_cast<unsigned>(regular.size()), results);
    for (unsigned r = 0; ok && r < regular.size(); ++r) {
      if (results[r] < 0) continue;
      const std::byte *head = memory->heads.data() + regular[r] * bytes;
      out[regular[r]].emplace(head, head + results[r]);
    }
  }
  // Every descriptor seen is closed: through the ring while it works, else one by one once the
  // ring is gone (so no request of it can still use a descriptor number closed here). A close
  // submitted but not seen is left alone: closing twice could close a descriptor reused since.
  bool closed = false;
  if (ok) {
    for (unsigned k = 0; k < open.size(); ++k) io_uring_prep_close(ring.sqe(k), fds[open[k]]);
    closed = ring.run(static_cast<unsigned>(open.size()), results);
  }
  if (ring.in_flight()) (void)memory.release();  // a late completion may still write it
  if (!closed) {
    ring.abandon();
    if (!ok)
      for (unsigned slot : open) ::close(fds[slot]);
  }
  return closed;
}

}  // namespace

std::optional<FileHeads> read_heads_uring(int dir_fd, std::span<const std::string> names, std::size_t bytes) {
  HeadsRing ring;
  if (!ring.init()) return std::nullopt;
  FileHeads heads(names.size());
  for (std::size_t first = 0; first < names.size(); first += heads_batch_files) {
    const std::size_t count = std::min<std::size_t>(heads_batch_files, names.size() - first);
    if (!read_batch(ring, dir_fd, names.subspan(first, count), bytes,
                    std::span<std::optional<std::vector<std::byte>>>(heads).subspan(first, count)))
      break;  // the ring is gone: the rest are read one by one by the caller
  }
  return heads;
}

}  // namespace segstore::io
