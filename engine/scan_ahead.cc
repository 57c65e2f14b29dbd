// engine/scan_ahead.cc — see engine/scan_ahead.h; also the store's side of it (its bound and
// its shared io::ReadAhead).
#include "engine/scan_ahead.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/assert.h"

namespace segstore {

using namespace engine;

namespace {
// Worker threads of the store's read-ahead: one per read a one-stream walk keeps in flight (a
// plain scan keeps fewer; several scans at once share them).
constexpr unsigned read_ahead_threads = stream_ahead_thread_reads;
static_assert(stream_ahead_thread_reads >= scan_ahead_thread_windows);
// Reads in flight at once on the store's ring, shared by its scans and one-stream walks (more
// are read on their caller's thread): one walk's reads and a few scans' windows.
constexpr unsigned ring_read_ahead_depth = 128;
static_assert(ring_read_ahead_depth >= stream_ahead_ring_reads + 4 * scan_ahead_ring_windows);
}  // namespace

Store::Impl::ReadAheadBound Store::Impl::read_ahead_bound(const Segment &seg) const {
  std::lock_guard lock(mu_);
  ReadAheadBound bound;
  bound.generation = log_generation_;
  bound.end_offset = seg.end_offset;
  bound.readable_end = seg.end_offset;
  bound.rewrite_running = log_rewrite_running_;
  for (const auto &g : groups_) {
    if (g->segment.get() != &seg) continue;
    if (g->state == GroupState::open || g->state == GroupState::inflight || g->state == GroupState::failed)
      bound.readable_end = std::min(bound.readable_end, g->file_offset);
  }
  return bound;
}

io::ReadAhead *Store::Impl::read_ahead() {
  std::lock_guard lock(read_ahead_mu_);
  if (!read_ahead_made_) {
    read_ahead_ = env_->make_read_ahead(read_ahead_threads);
    read_ahead_made_ = true;
  }
  return read_ahead_.get();
}

io::ReadAhead *Store::Impl::scan_read_ahead(bool *on_ring) {
  {
    std::lock_guard lock(read_ahead_mu_);
    if (!ring_read_ahead_made_) {
      ring_read_ahead_ = env_->make_ring_read_ahead(ring_read_ahead_depth);
      ring_read_ahead_made_ = true;
    }
    *on_ring = ring_read_ahead_ != nullptr;
    if (ring_read_ahead_) return ring_read_ahead_.get();
  }
  return read_ahead();
}

ScanAhead::ScanAhead(Store::Impl &store, io::ReadAhead &reads, std::size_t window_bytes, std::size_t windows,
                     Mode mode)
    : store_(store), reads_(reads), window_bytes_(window_bytes), slots_(windows), ranges_mode_(mode == Mode::ranges) {
  batch_.reserve(windows);
  SEGSTORE_ASSERT(window_bytes % format::block_size_bytes == 0 && window_bytes != 0,
                  "read-ahead window of " + std::to_string(window_bytes) + " bytes is not whole blocks");
  SEGSTORE_ASSERT(windows != 0, "a read-ahead of no windows");
}

ScanAhead::~ScanAhead() { drop(); }

// Waits for `slot`'s read, counts its blocks and lets go of its segment and file.
void ScanAhead::forget(Slot &slot) {
  reads_.wait(slot.read);
  count_blocks(slot);
  slot.file.reset();
  slot.seg.reset();
}

void ScanAhead::drop() {
  for (std::size_t i = 0; i < inflight_; ++i) forget(slot_at(i));
  inflight_ = 0;
  seg_.reset();
  ranges_.clear();
}

void ScanAhead::release() {
  drop();
  for (Slot &slot : slots_) slot.buffer = io::AlignedBuffer();
  windows_taken_ = 0;
}

// Waits for the oldest read in flight and forgets it.
void ScanAhead::forget_oldest() {
  forget(slot_at(0));
  head_ = (head_ + 1) % slots_.size();
  inflight_--;
}

void ScanAhead::issue_ranges(const std::shared_ptr<Segment> &seg, std::vector<AheadRange> ranges) {
  SEGSTORE_ASSERT(ranges_mode_, "issue_ranges on a sequential read-ahead");
  drop();
  seg_ = seg;
  ranges_.assign(ranges.begin(), ranges.end());
  issue(seg, 0);
}

void ScanAhead::issue(const std::shared_ptr<Segment> &seg, std::uint64_t from) {
  if (inflight_ == slots_.size()) return;
  if (ranges_mode_) {
    if (seg == seg_) issue_ranges_queued();
    return;
  }
  if (inflight_ == 0) {
    if (from % format::block_size_bytes != 0) return;  // a window ending in a partial block: the file's end
    seg_ = seg;
    next_offset_ = from;
  }
  issue_sequential();
}

void ScanAhead::issue_sequential() {
  while (inflight_ < sequential_depth()) {
    const Store::Impl::ReadAheadBound bound = store_.read_ahead_bound(*seg_);
    if (bound.rewrite_running) break;
    // Whole blocks through the readable end: the last may be partly past the segment's end (its
    // bytes there are not trusted, take() bounds them).
    const std::uint64_t read_end =
        std::min<std::uint64_t>(format::align_up(bound.readable_end, format::block_size_bytes), seg_->segment_bytes);
    while (inflight_ < sequential_depth() && next_offset_ < read_end && next_offset_ < bound.readable_end) {
      const std::uint64_t length = std::min<std::uint64_t>(window_bytes_, read_end - next_offset_);
      submit_next(seg_, bound, next_offset_, length);
      next_offset_ += length;
    }
    if (inflight_ == sequential_depth()) break;
    std::shared_ptr<Segment> next = segment_to_follow(bound, read_end);
    if (!next) break;
    seg_ = std::move(next);
    next_offset_ = format::segment_data_offset_bytes;
  }
  submit_batch();
}

std::shared_ptr<Segment> ScanAhead::segment_to_follow(const Store::Impl::ReadAheadBound &bound,
                                                      std::uint64_t read_end) {
  // All of seg_ in flight: every byte up to its end is on the file (no group of it unwritten)
  // and read. A later segment exists only once seg_ is sealed, whose end does not move again.
  if (bound.readable_end != bound.end_offset || next_offset_ < read_end) return nullptr;
  std::shared_ptr<Segment> next = store_.segment_after(*seg_);
  if (!next) return nullptr;
  // The cursor checks a segment's header and loads its index before it reads the segment; done
  // here, the windows read ahead are of a checked file. A failure is left for the cursor to meet
  // and report.
  if (!store_.ensure_index(*next).ok()) return nullptr;
  return next;
}

void ScanAhead::issue_ranges_queued() {
  if (ranges_.empty()) return;
  // Topped up in batches, not one read per read taken: each io_uring_submit (and the device
  // notification behind it) then carries several reads (a profile of a walk showed the
  // virtio notification as a fifth of its CPU time with one read per submit).
  const std::size_t free_slots = slots_.size() - inflight_;
  if (inflight_ != 0 && free_slots < std::min(ranges_.size(), std::max<std::size_t>(1, slots_.size() / 4))) return;
  const Store::Impl::ReadAheadBound bound = store_.read_ahead_bound(*seg_);
  if (bound.rewrite_running) return;
  const std::uint64_t read_end =
      std::min<std::uint64_t>(format::align_up(bound.readable_end, format::block_size_bytes), seg_->segment_bytes);
  std::uint64_t inflight_bytes = 0;
  for (std::size_t i = 0; i < inflight_; ++i) inflight_bytes += slot_at(i).read.out.size();
  while (inflight_ < slots_.size() && !ranges_.empty()) {
    const AheadRange range = ranges_.front();
    if (inflight_ != 0 && inflight_bytes + range.bytes > stream_ahead_bytes_max) break;
    SEGSTORE_ASSERT(range.start % format::block_size_bytes == 0 && range.bytes % format::block_size_bytes == 0 &&
                        range.bytes != 0,
                    "read-ahead range at " + std::to_string(range.start) + " of " + std::to_string(range.bytes) +
                        " bytes is not whole blocks");
    // A range past what is on the file for good is left to the walk's own reads (fill_window),
    // and so is every range after it.
    if (range.start >= bound.readable_end || range.start >= read_end) {
      ranges_.clear();
      break;
    }
    ranges_.pop_front();
    const std::uint64_t length = std::min<std::uint64_t>(range.bytes, read_end - range.start);
    submit_next(seg_, bound, range.start, length);
    inflight_bytes += length;
  }
  submit_batch();
}

// Starts the read of [start, start + length) of `seg` in the next free slot.
void ScanAhead::submit_next(const std::shared_ptr<Segment> &seg, const Store::Impl::ReadAheadBound &bound,
                            std::uint64_t start, std::uint64_t length) {
  SEGSTORE_ASSERT(inflight_ < slots_.size(), "read-ahead submitted with every slot in flight");
  Slot &slot = slot_at(inflight_);
  const std::size_t head = head_bytes();
  if (slot.buffer.size() < head + length) grow_buffer(slot, head + std::max<std::uint64_t>(length, window_bytes_));
  slot.seg = seg;
  slot.file = seg->file;
  slot.start = start;
  slot.trusted_end = bound.readable_end;
  slot.generation = bound.generation;
  slot.read.file = slot.file.get();
  slot.read.offset = start;
  slot.read.out = std::span<std::byte>(slot.buffer.data() + head, length);
  batch_.push_back(&slot.read);
  inflight_++;
}

void ScanAhead::grow_buffer(Slot &slot, std::size_t wanted) {
  if (!ranges_mode_) {
    slot.buffer.reset(wanted);
    return;
  }
  // slot_at(inflight_) is the one growing; the slots after it are idle. An idle buffer large
  // enough is moved over (no allocation); else idle buffers go while all would hold too much.
  for (std::size_t i = inflight_ + 1; i < slots_.size(); ++i) {
    if (slot_at(i).buffer.size() >= wanted) {
      std::swap(slot.buffer, slot_at(i).buffer);
      return;
    }
  }
  std::uint64_t held = wanted - slot.buffer.size();
  for (const Slot &s : slots_) held += s.buffer.size();
  for (std::size_t i = inflight_ + 1; i < slots_.size() && held > stream_ahead_buffers_max; ++i) {
    held -= slot_at(i).buffer.size();
    slot_at(i).buffer = io::AlignedBuffer();
  }
  slot.buffer.reset(wanted);
}

// Starts the reads submit_next prepared, together (one system call on the ring).
void ScanAhead::submit_batch() {
  if (batch_.empty()) return;
  reads_.submit_batch(batch_);
  batch_.clear();
}

// Stats::blocks_read counts the blocks read from the device, used or dropped; read_requests the
// reads that brought them.
void ScanAhead::count_blocks(const Slot &slot) {
  if (!slot.read.status.ok()) return;
  store_.blocks_read_.fetch_add(format::align_up(slot.read.bytes, format::block_size_bytes) / format::block_size_bytes,
                                std::memory_order_relaxed);
  store_.read_requests_.fetch_add(1, std::memory_order_relaxed);
}

// Whether `slot` (its read done or not) serves [offset, offset + needed), and how many bytes of
// `window` (from offset's block to the slot's start) must go in front of it.
bool ScanAhead::serves(const Slot &slot, std::uint64_t offset, std::uint64_t needed, const ReadWindow &window,
                       std::uint64_t window_trusted_end, std::uint64_t *tail) const {
  const std::uint64_t block = format::align_down(offset, format::block_size_bytes);
  if (offset + needed > slot.start + slot.read.out.size()) return false;
  if (block >= slot.start) {
    *tail = 0;
    return true;
  }
  // The record starts in the window before: its blocks from `block` on must be there, right
  // before the slot's first byte, trusted (a window read when the segment ended earlier holds
  // zeros where later appends wrote) and fit in the head room.
  *tail = slot.start - block;
  return window.start + window.valid == slot.start && block >= window.start && slot.start <= window_trusted_end &&
         *tail <= scan_ahead_head_bytes;
}

bool ScanAhead::take(const std::shared_ptr<Segment> &seg, std::uint64_t offset, std::uint64_t needed,
                     ReadWindow &window, std::uint64_t *trusted_end) {
  // Windows of a segment the walk has left (read past its records' end) are not needed.
  while (!ranges_mode_ && inflight_ != 0 && slot_at(0).seg != seg && slot_at(0).seg->base_lsn < seg->base_lsn)
    forget_oldest();
  if (inflight_ != 0 && slot_at(0).seg != seg) drop();
  if (inflight_ == 0) return false;
  std::uint64_t tail = 0;
  if (ranges_mode_) {
    // Reads the walk went past are forgotten; one ahead of it stays for later. Only a read
    // starting at or before the asked block can serve it (tail == 0: no head room is used).
    const std::uint64_t block = format::align_down(offset, format::block_size_bytes);
    while (inflight_ != 0 && slot_at(0).start <= block && !serves(slot_at(0), offset, needed, window, *trusted_end, &tail))
      forget_oldest();
    if (inflight_ == 0 || slot_at(0).start > block) return false;
  } else if (!serves(slot_at(0), offset, needed, window, *trusted_end, &tail)) {
    drop();
    return false;
  }
  Slot &slot = slot_at(0);
  reads_.wait(slot.read);
  // Checked after the read completed: a truncate that committed while it was in flight (or
  // before) makes its bytes another generation's, never decoded; a group failed since may have
  // had its pages dropped by the failed sync (its bytes are read from nowhere, fill_window says
  // why). A failure the store has not marked yet is caught when its bytes fail to decode
  // (Store::Impl::damage_or_dropped_write).
  const Store::Impl::ReadAheadBound now = store_.read_ahead_bound(*seg);
  const std::uint64_t trusted = std::min(slot.trusted_end, now.readable_end);
  if (!slot.read.status.ok() || now.generation != slot.generation || now.rewrite_running ||
      offset + needed > std::min(slot.start + slot.read.bytes, trusted)) {
    drop();
    return false;
  }
  count_blocks(slot);  // (drop() counts those it drops)
  windows_taken_++;
  const std::size_t head = head_bytes();
  SEGSTORE_ASSERT(tail <= head, "record tail of " + std::to_string(tail) + " bytes past the head room");
  if (tail != 0)
    std::memcpy(slot.buffer.data() + head - tail, window.data() + (slot.start - tail - window.start), tail);
  std::swap(window.buffer, slot.buffer);
  window.skip = head - tail;
  window.start = slot.start - tail;
  window.valid = tail + slot.read.bytes;
  *trusted_end = trusted;
  slot.file.reset();
  slot.seg.reset();
  head_ = (head_ + 1) % slots_.size();
  inflight_--;
  return true;
}

}  // namespace segstore
