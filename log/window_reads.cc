// log/window_reads.cc — see log/window_reads.h.
#include "log/window_reads.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "base/assert.h"
#include "format/layout.h"

namespace segstore::log {

WindowReads::WindowReads(io::ReadAhead &reads, std::size_t window_bytes, std::size_t depth)
    : reads_(reads), window_bytes_(window_bytes) {
  SEGSTORE_ASSERT(window_bytes % format::block_size_bytes == 0 && window_bytes != 0 && depth != 0,
                  "window reads of " + std::to_string(window_bytes) + " bytes, depth " + std::to_string(depth));
  // Buffers are allocated when a window is first submitted (fill): a pass that scans only a
  // short tail allocates (and page-faults) only the few windows it reads.
  windows_.resize(depth);
}

WindowReads::~WindowReads() { drain(); }

void WindowReads::start(io::File &file, std::uint64_t end) {
  SEGSTORE_ASSERT(end % format::block_size_bytes == 0, "window stream ends inside a block: " + std::to_string(end));
  if (submitting_follower_ && follower_.file == &file && follower_.end == end) {
    // The previous stream's windows (if finish() was not called) go; the follower's become the
    // stream's, which stands where they start.
    finish();
    file_ = &file;
    end_ = end;
    position_ = follower_.from;
    head_used_ = 0;
    streaming_ = true;
    submitting_follower_ = false;
    follower_ = std::exchange(queued_, Follower{});
    return;
  }
  drain();
  if (follower_.file == &file) follower_ = std::exchange(queued_, Follower{});  // started before it was read
  file_ = &file;
  end_ = end;
}

void WindowReads::follow_with(io::File &file, std::uint64_t end, std::uint64_t from) {
  SEGSTORE_ASSERT(end % format::block_size_bytes == 0 && from % format::block_size_bytes == 0,
                  "follower stream from " + std::to_string(from) + " to " + std::to_string(end));
  SEGSTORE_ASSERT(!(streaming_ && &file == file_), "a stream cannot follow itself");
  // Named while the follower's windows are submitted (the walk names segment k + 1 before it
  // starts segment k, whose windows are the follower's then): it follows that one.
  (submitting_follower_ ? queued_ : follower_) = Follower{&file, end, from};
}

void WindowReads::finish() {
  while (in_flight_ != 0 && !(submitting_follower_ && head().read.file == follower_.file)) {
    reads_.wait(head().read);
    pop_head();
  }
  streaming_ = false;
}

void WindowReads::drain() {
  // Every window in flight is waited for, consumed or not: its buffer must outlive its read.
  while (in_flight_ != 0) {
    reads_.wait(head().read);
    pop_head();
  }
  streaming_ = false;
  submitting_follower_ = false;
}

void WindowReads::pop_head() {
  head_ = (head_ + 1) % windows_.size();
  in_flight_--;
  head_used_ = 0;
}

void WindowReads::restart(std::uint64_t offset) {
  drain();
  submit_file_ = file_;
  submit_end_ = end_;
  next_submit_ = offset;
  position_ = offset;
  streaming_ = true;
}

// Submits windows until depth are in flight or the stream's end is reached, and then the
// follower's.
void WindowReads::fill() {
  while (in_flight_ < windows_.size()) {
    if (next_submit_ >= submit_end_) {
      if (submitting_follower_ || follower_.file == nullptr) break;
      submitting_follower_ = true;
      submit_file_ = follower_.file;
      submit_end_ = follower_.end;
      next_submit_ = follower_.from;
      continue;
    }
    Window &w = windows_[(head_ + in_flight_) % windows_.size()];
    const std::size_t bytes =
        static_cast<std::size_t>(std::min<std::uint64_t>(window_bytes_, submit_end_ - next_submit_));
    w.read.file = submit_file_;
    w.read.offset = next_submit_;
    // Allocated on first use; and a reader's buffer swapped in by take_window may be smaller
    // than a window's (its first).
    if (w.buffer.size() < window_head_bytes + window_bytes_) w.buffer = io::AlignedBuffer(window_head_bytes + window_bytes_);
    w.read.out = std::span<std::byte>(w.buffer.data() + window_head_bytes, bytes);
    reads_.submit(w.read);
    in_flight_++;
    windows_submitted_++;
    next_submit_ += bytes;
  }
}

Result<std::size_t> WindowReads::read_at(std::uint64_t offset, std::span<std::byte> out) {
  SEGSTORE_ASSERT(file_ != nullptr, "window read before start");
  const bool aligned = offset % format::block_size_bytes == 0;
  if (!streaming_ || offset != position_) {
    if (aligned && offset < end_) restart(offset);
    else drain();
  }
  std::size_t copied = 0;
  // Bounded: each turn serves at least one byte of a window or leaves the loop.
  while (streaming_ && copied < out.size()) {
    fill();
    // Past the stream's end (nothing in flight, or only the follower's): the synchronous read
    // below decides.
    if (in_flight_ == 0 || head().read.file != file_) break;
    Window &w = head();
    reads_.wait(w.read);
    if (!w.read.status.ok() || w.read.bytes != w.read.out.size()) break;  // not interpreted: see below
    const std::size_t n = std::min(w.read.bytes - head_used_, out.size() - copied);
    std::memcpy(out.data() + copied, w.read.out.data() + head_used_, n);
    copied += n;
    head_used_ += n;
    position_ += n;
    if (head_used_ == w.read.bytes) pop_head();
  }
  if (copied == out.size()) return copied;
  // An error, a short window or a read past the stream: the exact read asked for, made
  // synchronously after everything in flight is waited for, reports as before.
  drain();
  return file_->read_at(offset, out);
}

}  // namespace segstore::log

namespace segstore::log {

std::size_t WindowReads::take_window(std::uint64_t offset, std::uint64_t needed, std::span<const std::byte> kept,
                                     io::AlignedBuffer &buffer, std::size_t *skip) {
  SEGSTORE_ASSERT(file_ != nullptr, "window take before start");
  if (offset % format::block_size_bytes != 0 || offset >= end_ || kept.size() > window_head_bytes) return 0;
  if (!streaming_ || offset != position_) restart(offset);
  if (head_used_ != 0) return 0;  // a window read_at served part of: the rest is copied
  fill();
  if (in_flight_ == 0 || head().read.file != file_) return 0;
  Window &w = head();
  reads_.wait(w.read);
  // A window that failed or came back short is not interpreted (read_at reports it), and one
  // too small for the caller is copied with the next.
  if (!w.read.status.ok() || w.read.bytes != w.read.out.size() || w.read.bytes < needed) return 0;
  // Invariant: the window's bytes sit right behind the head room, where kept goes.
  SEGSTORE_ASSERT(w.read.out.data() == w.buffer.data() + window_head_bytes, "window read outside its buffer's window");
  const std::size_t front = window_head_bytes - kept.size();
  if (!kept.empty()) std::memcpy(w.buffer.data() + front, kept.data(), kept.size());
  const std::size_t served = kept.size() + w.read.bytes;
  std::swap(w.buffer, buffer);
  position_ += w.read.bytes;
  pop_head();
  windows_taken_++;
  fill();  // the freed slot reads the next window at once
  *skip = front;
  return served;
}

}  // namespace segstore::log
