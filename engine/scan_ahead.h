// engine/scan_ahead.h — the windows a sequential scan reads ahead of its cursor.
//
// A scan decoding one window and only then reading the next keeps the device idle while it
// decodes and one request in flight while it reads; the device's sequential bandwidth needs
// several. A ScanAhead keeps several reads of the segment's next windows in flight on the
// store's io::ReadAhead (scan_ahead_windows: its io_uring's, else its threads'), started together
// (ReadAhead::submit_batch), and the cursor takes each one whole when it reaches it, decoding it
// while the later ones are read. Once every readable byte of a sealed segment is in flight, the
// windows of the segment after it follow (its header checked and its index loaded first, as the
// cursor would when it got there): a scan crossing a segment boundary finds its first window
// read, and the device's queue does not run dry at every boundary (the last windows with fewer
// and fewer in flight, then one synchronous read, then the queue filling again).
//
// What a window may hold (the safety rules):
//   - Only bytes on the file for good: below the segment's end and below every group of it
//     that is open, in flight or failed, as Store::Impl::read_ahead_bound says when the read is
//     issued (those blocks are read the ordinary way, fill_window, from memory or not at all).
//   - Only bytes of the log generation it was issued in: truncate_after and reset_to count
//     generations, and a window issued in an older one is dropped unread, never decoded (its
//     bytes may be records truncate removed, or zeros of its rewrite). A cursor's own window is
//     dropped likewise by the iterator (engine/store_api.cc).
//   - Trusted only up to the segment's end at issue and at take, whichever is lower.
// A read-ahead that failed or came back short is dropped too: the cursor then reads
// synchronously, which reports the error or the short file as it always did.
//
// Memory: one buffer per window in flight, of scan_ahead_head_bytes + the window size, allocated
// on first use and reused: a taken window's buffer is swapped with the cursor's old one; freed
// by release() (a tailer that caught up with the head).
// Thread-safety: none; one per iterator. Destroying it waits for its reads in flight.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "engine/store_impl.h"
#include "io/read_ahead.h"

namespace segstore::engine {

// Windows in flight at once for a plain scan on worker threads (the env has no ring): four
// 1 MiB reads keep as many bytes in flight as 32 reads of 128 KiB, the job that reaches the
// device's sequential bandwidth; each costs a thread hand-off, and more would cost more threads.
inline constexpr std::size_t scan_ahead_thread_windows = 4;
// ... and on the store's io_uring, where a window costs one SQE and one CQE and no thread: eight
// (8 MiB in flight, twice fio's 32 x 128 KiB, so that the device still has a queue while the
// cursor decodes a window and the next one's completion waits to be reaped). The depth was
// compared at 4, 8 and 16 on the shared, loaded machine (indications only: a quiet bench run is
// to confirm it); 16 showed no gain over 8 and holds twice the memory.
inline constexpr std::size_t scan_ahead_ring_windows = 8;
inline constexpr std::size_t scan_ahead_windows(bool on_ring) {
  return on_ring ? scan_ahead_ring_windows : scan_ahead_thread_windows;
}
// Room in front of each window for the tail of the one before it: a record that straddles two
// windows is decoded from one buffer without reading its first part again. A straddling record
// larger than this is read synchronously.
inline constexpr std::size_t scan_ahead_head_bytes = 128u << 10;
static_assert(scan_ahead_head_bytes % format::block_size_bytes == 0);
// Reads in flight at once for a one-stream walk (ranges mode): its reads are small (a candidate
// block or a short run of them), so the device's time per read is mostly its fixed cost, which
// only several reads in flight overlap. On worker threads, one thread per read:
inline constexpr std::size_t stream_ahead_thread_reads = 8;
// ... and on the store's io_uring: 64 (a one-stream walk of 1 % of a log's records reads two
// blocks ~25 blocks apart per record; at 8 in flight it reached 49k-82k reads/s, and 0.15x the
// full scan's time needs ~113k). Compared at 16, 32 and 64 on the loaded machine: 64 gave the
// shortest walks (indications). Half the ring: another walk or scan still finds room.
inline constexpr std::size_t stream_ahead_ring_reads = 64;
inline constexpr std::size_t stream_ahead_reads(bool on_ring) {
  return on_ring ? stream_ahead_ring_reads : stream_ahead_thread_reads;
}
// ... and at most this many bytes in flight (a busy stream's runs are up to 1 MiB each).
inline constexpr std::uint64_t stream_ahead_bytes_max = 4u << 20;
// ... and at most this many bytes of buffers kept by its slots, in flight or idle: a slot's
// buffer grows to the longest run it read and the walk uses every slot in turn, so without a
// bound 64 slots would each keep their longest run (up to 64 MiB for one walk; the soak's
// one-stream tailers held ~10 MiB each, still growing). Idle buffers go first.
inline constexpr std::uint64_t stream_ahead_buffers_max = 2 * stream_ahead_bytes_max;

// A byte range of a segment to read ahead (ranges mode): block aligned.
struct AheadRange {
  std::uint64_t start = 0;
  std::uint64_t bytes = 0;
};

class ScanAhead {
 public:
  enum class Mode {
    sequential,  // a plain scan: `window_bytes` windows one after the other, from issue()'s `from`
    ranges,      // a one-stream walk: the ranges of issue_ranges() only
  };
  // Keeps up to `windows` reads in flight.
  ScanAhead(Store::Impl &store, io::ReadAhead &reads, std::size_t window_bytes, std::size_t windows,
            Mode mode = Mode::sequential);
  ~ScanAhead();
  ScanAhead(const ScanAhead &) = delete;
  ScanAhead &operator=(const ScanAhead &) = delete;

  // Issues reads of `seg`'s windows from `from` (block aligned) while slots are free and bytes
  // readable, then of the segments after it (sequential mode). With reads in flight, `seg` and
  // `from` are ignored: those continue where the last one ends (the cursor calls this right after
  // take(), which either served it from the oldest read or dropped them all).
  void issue(const std::shared_ptr<Segment> &seg, std::uint64_t from);
  // Ranges mode only (a one-stream walk): forgets what is in flight or queued, then reads exactly
  // `ranges` of `seg` (ascending, block aligned), keeping up to `windows` in flight; issue()
  // tops them up and ignores its `from` (after a drop() it issues nothing until the next
  // issue_ranges()). take() then skips (waits for
  // and forgets) reads that start behind the asked offset's block, and leaves those ahead of it
  // in flight: the walk may read a range synchronously (a record longer than its range) and
  // still take the later ones.
  void issue_ranges(const std::shared_ptr<Segment> &seg, std::vector<AheadRange> ranges);
  // When the oldest read in flight serves [offset, offset + needed) of `seg` (with the tail of
  // `window`, from offset's block on, in front of it; `window`'s bytes are trusted below
  // *trusted_end): waits for it, moves it into `window`, sets *trusted_end to the new window's
  // and returns true. Otherwise drops every read in flight and returns false.
  bool take(const std::shared_ptr<Segment> &seg, std::uint64_t offset, std::uint64_t needed, ReadWindow &window,
            std::uint64_t *trusted_end);
  // Waits for every read in flight and forgets them.
  void drop();
  // drop(), then frees every window's buffer and starts the depth over (sequential_depth): for
  // a walk that stops reading the device for a while, such as a tailer served from the store's
  // memory at the head (it would otherwise hold a full depth of windows, ~9 MiB, while idle).
  void release();

 private:
  struct Slot {
    io::AlignedBuffer buffer;  // head room, then the window's bytes
    io::AheadRead read;
    std::shared_ptr<Segment> seg;    // whose bytes these are
    std::shared_ptr<io::File> file;  // kept open while the read is in flight (trim may drop the segment)
    std::uint64_t start = 0;         // segment offset of the read
    std::uint64_t trusted_end = 0;   // the segment's end when issued
    std::uint64_t generation = 0;
  };
  void count_blocks(const Slot &slot);
  void forget_oldest();
  void issue_ranges_queued();
  void issue_sequential();
  // The segment whose windows follow seg_'s once all of seg_'s (through `read_end`, computed
  // from `bound` by issue_sequential) are in flight, its header checked and its index loaded; or
  // nullptr: seg_ is the last, or not all of it is on the file yet.
  std::shared_ptr<Segment> segment_to_follow(const Store::Impl::ReadAheadBound &bound, std::uint64_t read_end);
  void forget(Slot &slot);
  // Gives `slot` (the next to submit) a buffer of at least `wanted` bytes. Ranges mode keeps
  // the slots' buffers within stream_ahead_buffers_max: an idle slot's large enough buffer is
  // moved over, else idle buffers are freed while all would hold more than the bound.
  void grow_buffer(Slot &slot, std::size_t wanted);
  void submit_next(const std::shared_ptr<Segment> &seg, const Store::Impl::ReadAheadBound &bound, std::uint64_t start,
                   std::uint64_t length);
  void submit_batch();
  // Room in front of each read for the tail of the window before it: sequential mode only (a
  // one-stream walk's ranges are not contiguous).
  std::size_t head_bytes() const { return ranges_mode_ ? 0 : scan_ahead_head_bytes; }
  Slot &slot_at(std::size_t i) { return slots_[(head_ + i) % slots_.size()]; }
  // Sequential windows in flight now: scan_ahead_thread_windows at first, one more per window
  // taken, up to every slot. A short scan (a subscriber reading a few records) then allocates and
  // page-faults the 4 windows it did before the ring, not 8 (each fresh MiB cost ~4 ms of page
  // faults at open on the shared VM); a long one reaches the full depth after 4 windows.
  std::size_t sequential_depth() const {
    return std::min<std::size_t>(slots_.size(), scan_ahead_thread_windows + windows_taken_);
  }
  bool serves(const Slot &slot, std::uint64_t offset, std::uint64_t needed, const ReadWindow &window,
              std::uint64_t window_trusted_end, std::uint64_t *tail) const;

  Store::Impl &store_;
  io::ReadAhead &reads_;
  const std::size_t window_bytes_;
  std::vector<Slot> slots_;
  std::size_t head_ = 0;      // the oldest read in flight
  std::size_t inflight_ = 0;  // reads in flight, from head_ on
  std::shared_ptr<Segment> seg_;  // whose windows are issued next (sequential), or read (ranges)
  std::uint64_t next_offset_ = 0;  // where the next read starts (sequential mode)
  const bool ranges_mode_;
  std::deque<AheadRange> ranges_;  // ranges mode: not yet issued
  std::vector<io::AheadRead *> batch_;  // prepared by submit_next, started together by submit_batch
  std::uint64_t windows_taken_ = 0;     // by take(), over the ScanAhead's life
};

}  // namespace segstore::engine
