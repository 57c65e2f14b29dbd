// log/window_reads.h — a segment's windows read ahead: the next few windows of a sequential walk
// in flight on an io::ReadAhead while the walk decodes the current one.
//
// Recovery's scan (and verify_on_open's scan of every segment) reads a segment front to back.
// With one synchronous read at a time the device idles while the scan decodes and has one
// request in flight while it reads; keeping `depth` windows in flight lets it stream. The
// SegmentReader asks for its bytes through read_at, with the same contract as File::read_at, so
// its window overlap, bounds and error messages stay its own:
//   - take_window: a read at the stream's position that starts a window and fits in it is served
//     without a copy: the few bytes the reader keeps from its old window (a record straddling
//     its end) are copied into the head room in front of the window, and the window's buffer
//     is swapped with the reader's (which becomes a window buffer);
//   - read_at: any other read at the stream's position is served from the windows read ahead
//     (copied into the reader's buffer); any other read restarts the stream there;
//   - a window that failed or came back short is not interpreted: every window in flight is
//     waited for and the exact read asked for is made synchronously, so a read error or the end
//     of the file is reported as File::read_at reports it (file, offset, cause);
//   - nothing is read at or past the stream's end (the segment's limit rounded up to a block,
//     the same bound the reader's own reads have).
//
// Without a ReadAhead (the simulated disk's env has none: reads it did not ask for would change
// a seed's run) the reader reads synchronously and this class is not used.
//
// Lifetime: one per walker, reused across segments (its buffers are allocated once, on first use). Every
// window in flight is waited for by drain(), by start() and by the destructor, before its buffer
// or its file can go away. Thread-safety: none; one walk at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "io/aligned_buffer.h"
#include "io/env.h"
#include "io/read_ahead.h"

namespace segstore::log {

// Windows in flight during a scan on the thread read-ahead: four 1 MiB reads keep an NVMe device
// near its sequential bandwidth (each worker has one positional read outstanding).
inline constexpr std::size_t window_reads_thread_depth = 4;
// ... and on an io_uring read-ahead, where a window costs one SQE and one CQE and no thread: 4
// as well (4 MiB in flight, as fio's 32 x 128 KiB job). 8 was tried: an unclean open of a 200 MiB
// log took 51-64 ms against 38-41 ms before (the 4 more MiB of windows cost their page faults on
// the shared VM), 41-46 ms at 4; verify_on_open showed no difference (indications, load 5-7).
inline constexpr std::size_t window_reads_ring_depth = 4;

// Room in front of each window for the bytes a reader keeps from its previous window (a record
// straddling the end of that window). A reader keeping more reads through read_at (a copy).
inline constexpr std::size_t window_head_bytes = 128u << 10;
static_assert(window_head_bytes % format::block_size_bytes == 0);

class WindowReads {
 public:
  // `window_bytes`: a whole number of blocks. Each window's buffer is allocated when it is first
  // submitted and then reused; later only a reader's buffer that take_window swapped in and is
  // too small to be a window is replaced.
  WindowReads(io::ReadAhead &reads, std::size_t window_bytes, std::size_t depth = window_reads_thread_depth);
  ~WindowReads();
  WindowReads(const WindowReads &) = delete;
  WindowReads &operator=(const WindowReads &) = delete;

  // Starts a new stream over `file`, whose reads stay below `end` (block aligned). Waits for the
  // previous stream's reads first. Nothing is read until the first read_at. When `file` and
  // `end` are those follow_with() named, the follower's windows in flight are kept: the stream
  // stands at its `from`, where they start.
  void start(io::File &file, std::uint64_t end);
  // The stream read next (recovery scanning every segment front to back), from `from`; named
  // before or after the current stream's start(). Once every window of the current stream is
  // submitted, the follower's windows follow in the free slots, so the device keeps its queue
  // across the end of a segment instead of draining it and then waiting for one synchronous
  // read of the next. Named while the follower's own windows are submitted, it comes after that
  // one; else a later follow_with replaces it. start() of its file takes it over. The
  // file must stay open until then, or until drain() or the destructor returned.
  void follow_with(io::File &file, std::uint64_t end, std::uint64_t from);
  // The current stream is done: its windows still in flight are waited for and forgotten; the
  // follower's stay in flight.
  void finish();
  // File::read_at(offset, out) of the stream's file: bytes read, fewer only at the end of the
  // file, or the read's error.
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out);
  // The window at `offset` without a copy, when the stream stands there on a window's first
  // byte, that window came back whole and holds at least `needed` bytes, and `kept` (bytes of
  // `buffer`, which the caller needs in front of offset) fits in the head room: copies `kept`
  // in front of the window, swaps the window's buffer with `buffer`, sets *skip to where kept's
  // first byte now lies in `buffer` and returns the bytes there (kept + the window). Else 0 and
  // nothing changed but the stream's position (the caller then uses read_at).
  std::size_t take_window(std::uint64_t offset, std::uint64_t needed, std::span<const std::byte> kept,
                          io::AlignedBuffer &buffer, std::size_t *skip);
  // Waits for every window in flight, the follower's too; the next read_at starts the stream
  // again.
  void drain();

  // The SegmentReader's own buffer, kept here between segments so that it is allocated once.
  io::AlignedBuffer take_buffer() { return std::move(reader_buffer_); }
  void give_back(io::AlignedBuffer buffer) { reader_buffer_ = std::move(buffer); }

  // Windows submitted so far (for tests: that reads were made ahead at all), and windows served
  // by take_window (without a copy).
  std::uint64_t windows_submitted() const { return windows_submitted_; }
  std::uint64_t windows_taken() const { return windows_taken_; }

 private:
  struct Window {
    io::AheadRead read;
    io::AlignedBuffer buffer;  // window_head_bytes of head room, then the window's bytes
  };
  void restart(std::uint64_t offset);
  void fill();
  Window &head() { return windows_[head_]; }
  void pop_head();

  io::ReadAhead &reads_;
  const std::size_t window_bytes_;
  std::vector<Window> windows_;  // a ring: in_flight_ windows from head_ on, in file order
  std::size_t head_ = 0;
  std::size_t in_flight_ = 0;    // submitted and not yet consumed (waited for or not)
  io::File *file_ = nullptr;
  std::uint64_t end_ = 0;
  // What fill() submits: the stream's file up to its end, then the follower's.
  io::File *submit_file_ = nullptr;
  std::uint64_t submit_end_ = 0;
  std::uint64_t next_submit_ = 0;  // offset in submit_file_ of the next window to submit
  struct Follower {
    io::File *file = nullptr;
    std::uint64_t end = 0;
    std::uint64_t from = 0;
  };
  Follower follower_;  // file == nullptr: none
  Follower queued_;    // named while follower_'s windows were being submitted: follows it
  bool submitting_follower_ = false;  // windows after the stream's are the follower's
  std::uint64_t position_ = 0;     // the next byte the stream serves (head window's offset + used)
  std::size_t head_used_ = 0;      // bytes of the head window already served
  bool streaming_ = false;         // position_ is meaningful
  std::uint64_t windows_submitted_ = 0;
  std::uint64_t windows_taken_ = 0;
  io::AlignedBuffer reader_buffer_;
};

}  // namespace segstore::log
