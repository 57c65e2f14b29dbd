// engine/store_api.cc — the public Store and Iterator: thin wrappers over Store::Impl, plus
// the iterator's walk over segments (plain and one-stream).
#include <deque>

#include "base/assert.h"
#include "base/deadline.h"
#include "base/try.h"
#include "engine/scan_ahead.h"
#include "engine/store_impl.h"
#include "format/layout.h"
#include "io/env.h"
#include "recovery/recover.h"

namespace segstore {

using engine::Segment;
using engine::SegmentCursor;

namespace {
// Sequential scans read this much per I/O.
constexpr std::size_t scan_window_bytes = 1u << 20;

std::shared_ptr<io::Env> env_for(const Options &options) {
  if (options.env) return options.env;
  io::EnvOptions env_options;
  switch (options.io_backend) {
    case IoBackendKind::automatic: env_options.backend = io::EnvOptions::Backend::automatic; break;
    case IoBackendKind::uring: env_options.backend = io::EnvOptions::Backend::uring; break;
    case IoBackendKind::thread: env_options.backend = io::EnvOptions::Backend::thread; break;
  }
  env_options.direct = options.direct_io;
  env_options.logger = options.logger;
  env_options.file_mode = options.file_mode;
  return io::make_posix_env(env_options);
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// Iterator

// A cancel request shared by an iterator and its IteratorCanceller copies. The store is held
// weakly: a canceller kept after its store is gone must not keep the store's state alive.
struct IteratorCanceller::State {
  std::weak_ptr<const Store::Impl> store;
  std::atomic<bool> requested{false};  // consumed by the wait it ends (wait_for_tail)
};

IteratorCanceller::IteratorCanceller(std::shared_ptr<State> state) : state_(std::move(state)) {}

void IteratorCanceller::cancel() const {
  if (!state_) return;
  state_->requested.store(true);
  if (std::shared_ptr<const Store::Impl> store = state_->store.lock()) store->wake_tail_waiters();
}

class Iterator::Impl {
 public:
  Impl(std::shared_ptr<Store::Impl> store, std::uint64_t from, const ScanOptions &options)
      : store_(std::move(store)), next_lsn_(from), stream_(options.stream), durable_only_(options.durable_only),
        cancel_(std::make_shared<IteratorCanceller::State>()) {
    cancel_->store = store_;
  }
  ~Impl() {
    if (tailing_) store_->tail_feed_.remove_tailer();
  }
  Impl(const Impl &) = delete;
  Impl &operator=(const Impl &) = delete;

  Result<bool> next() { return stream_ ? next_of_stream() : next_plain(); }

  Result<bool> next_wait(std::chrono::milliseconds timeout) {
    const auto deadline = base::deadline_after(timeout);
    const engine::TailTarget target = durable_only_ ? engine::TailTarget::durable : engine::TailTarget::appended;
    if (!tailing_) {
      // From now on the store keeps its newest groups' bytes for this iterator (tail_feed.h).
      tailing_ = true;
      store_->tail_feed_.add_tailer();
    }
    while (true) {
      Result<bool> got = next();
      if (!got.ok() || *got) return got;
      // next() walked to the end: next_lsn_ is the first LSN not yet seen (of any stream).
      Status waited = store_->wait_for_tail(next_lsn_, target, deadline, &cancel_->requested);
      if (waited.code() == Errc::timed_out) return false;
      if (!waited.ok()) return waited;
    }
  }

  const RecordView &record() const { return current_; }
  IteratorCanceller canceller() const { return IteratorCanceller(cancel_); }

 private:
  // Where the walk stands in the log: the segment holding next_lsn_ and its known end.
  // The walk ends at limit_lsn: next_lsn_ of the store, or durable_lsn_ for a durable_only walk.
  struct Position {
    std::shared_ptr<Segment> seg;
    std::uint64_t end_offset = 0;  // the segment's records end here (some may lie past the limit)
    std::uint64_t end_lsn = 0;     // the walk ends in this segment at this LSN: min(its end, limit)
    std::uint64_t limit_lsn = 0;
    bool is_last = false;          // no record at or past end_lsn may be returned now
    std::uint64_t generation = 0;  // the store's log generation (truncate_after, reset_to)
  };

  // Result<bool>: false when next_lsn_ is at the end of the walk.
  Result<bool> locate(Position &pos) {
    std::lock_guard lock(store_->mu_);
    if (store_->closed_) return Status(Errc::store_closed, "store " + store_->dir_ + " is closed");
    if (next_lsn_ < store_->first_lsn_) next_lsn_ = store_->first_lsn_;  // trimmed meanwhile
    // A durable_only walk ends where durability does: a record past it could be taken back by
    // a crash, and whoever reads it may not hand it out.
    pos.limit_lsn = durable_only_ ? store_->durable_lsn_ : store_->next_lsn_;
    pos.generation = store_->log_generation_;
    // Invariant: records are durable in LSN order, and only records that exist are durable.
    SEGSTORE_ASSERT(store_->durable_lsn_ <= store_->next_lsn_, "durable LSN " + std::to_string(store_->durable_lsn_) +
                                                                   " past the next LSN " + std::to_string(store_->next_lsn_));
    if (next_lsn_ >= pos.limit_lsn) return false;
    auto it = store_->segments_.upper_bound(next_lsn_);
    --it;
    pos.seg = it->second;
    pos.end_offset = pos.seg->end_offset;
    pos.end_lsn = std::min(pos.seg->end_lsn(), pos.limit_lsn);
    pos.is_last = std::next(it) == store_->segments_.end() || pos.seg->end_lsn() >= pos.limit_lsn;
    return true;
  }

  Result<format::IndexEntry> entry_for(Segment &seg, std::uint64_t lsn) {
    SEGSTORE_TRY(store_->ensure_index(seg));
    std::lock_guard lock(seg.index_mu);
    std::optional<format::IndexEntry> entry = seg.index.locate(lsn - seg.base_lsn);
    if (!entry) return engine::corruption_at(seg, 0, 0, "no index entry for an LSN in the segment");
    return *entry;
  }

  engine::ScanAhead *scan_ahead() {
    if (!ahead_) {
      bool on_ring = false;
      io::ReadAhead *reads = store_->scan_read_ahead(&on_ring);
      if (reads == nullptr) return nullptr;
      ahead_.emplace(*store_, *reads, scan_window_bytes, engine::scan_ahead_windows(on_ring));
    }
    return &*ahead_;
  }

  // A tailing iterator's next record from the groups the store keeps in memory (no store lock,
  // no device read); nullopt when they do not hold it and the store must be asked.
  std::optional<Result<bool>> next_from_tail_feed() {
    RecordView view;
    Status error;
    switch (store_->tail_feed_.read(next_lsn_, durable_only_, tail_cursor_, &view, &error)) {
      case engine::TailLook::miss: return std::nullopt;
      case engine::TailLook::end: return Result<bool>(false);
      case engine::TailLook::record: break;
    }
    if (!error.ok()) return Result<bool>(error);
    // The cursor's window stands before these records: it starts again from the index when
    // the walk next needs the store. Its buffers go (once, not on every record): an iterator
    // served from memory at the head holds none of the device reads' ~9 MiB while it waits.
    if (cursor_ && cursor_read_since_feed_) {
      cursor_->restart(nullptr, 0, 0);
      cursor_->release_buffers();
      cursor_read_since_feed_ = false;
    }
    current_ = view;
    next_lsn_ = current_.lsn + 1;
    return Result<bool>(true);
  }

  Result<bool> next_plain() {
    if (tailing_) {
      if (std::optional<Result<bool>> served = next_from_tail_feed()) return std::move(*served);
    }
    while (true) {
      Position pos;
      Result<bool> more = locate(pos);
      if (!more.ok() || !*more) return more;
      // A cursor whose window was read in another log generation starts again: its bytes may
      // be records truncate_after removed (the read-ahead drops its windows the same way).
      if (!cursor_ || cursor_->segment() != pos.seg || cursor_->expected_lsn() > next_lsn_ ||
          cursor_generation_ != pos.generation) {
        Result<format::IndexEntry> entry = entry_for(*pos.seg, next_lsn_);
        if (!entry.ok()) return entry.status();
        const std::uint64_t expected = pos.seg->base_lsn + entry->lsn_delta;
        if (cursor_) cursor_->restart(pos.seg, entry->offset, expected);
        else cursor_.emplace(*store_, pos.seg, entry->offset, expected, scan_window_bytes, scan_ahead());
        cursor_generation_ = pos.generation;
      }
      cursor_read_since_feed_ = true;
      Result<std::optional<RecordView>> got = cursor_->next(pos.end_offset);
      if (!got.ok() && got.status().code() == Errc::corruption && store_->segment_trimmed(*pos.seg)) {
        // Trimmed under the walk (its file may have been recycled): it goes on from first_lsn().
        cursor_->restart(nullptr, 0, 0);
        continue;
      }
      if (!got.ok()) return got.status();
      if (!got->has_value()) {
        // The cursor reached the segment's known end. Records below next_lsn_ are all seen.
        if (cursor_->expected_lsn() < pos.end_lsn)
          return engine::corruption_at(*pos.seg, cursor_->offset(), 0, "segment ends before its last record");
        cursor_->restart(nullptr, 0, 0);  // keeps its buffer for the next segment
        if (pos.is_last) return false;
        continue;
      }
      if ((*got)->lsn < next_lsn_) continue;  // walking forward from the index entry
      current_ = **got;
      next_lsn_ = current_.lsn + 1;
      return true;
    }
  }

  // One-stream walk: only blocks in which a record of the stream starts are read (the
  // segment's stream bitmap); segments without the stream are skipped without any I/O. A run of
  // consecutive stream blocks is read through one cursor with one window, and a pass takes a
  // bounded slice of the bitmap, so a busy stream costs about what a plain scan does.
  Result<bool> next_of_stream() {
    while (true) {
      // Records read ahead into pending_ (and the cursor's window) in another log generation
      // may be records truncate_after removed since: they are read again.
      if (pending_generation_ != log_generation()) forget_stream_reads();
      if (!pending_.empty()) {
        held_ = std::move(pending_.front());
        pending_.pop_front();
        current_ = RecordView{held_.lsn, held_.stream, held_.type, held_.payload};
        next_lsn_ = held_.lsn + 1;
        return true;
      }
      Position pos;
      Result<bool> more = locate(pos);
      if (!more.ok() || !*more) return more;
      if (pos.generation != pending_generation_) {
        forget_stream_reads();
        pending_generation_ = pos.generation;
      }
      SEGSTORE_TRY(store_->ensure_index(*pos.seg));
      std::vector<std::uint32_t> blocks;
      {
        std::lock_guard lock(pos.seg->index_mu);
        auto entry = pos.seg->index.locate(next_lsn_ - pos.seg->base_lsn);
        std::uint32_t first_block = entry ? entry->offset / format::block_size_bytes : 0;
        if (resume_seg_ == pos.seg) first_block = std::max(first_block, resume_block_);
        blocks = pos.seg->index.stream_blocks_from(*stream_, first_block, stream_blocks_per_pass);
      }
      Result<bool> walked = read_stream_blocks(pos, blocks);
      if (!walked.ok() && walked.status().code() == Errc::corruption && store_->segment_trimmed(*pos.seg)) {
        forget_stream_reads();  // trimmed under the walk: it goes on from first_lsn()
        continue;
      }
      if (!walked.ok()) return walked.status();
      // More of this segment's bitmap is left to walk when the slice was full and was walked
      // to its end: the next pass continues from resume_block_.
      if (pending_.empty() && *walked && blocks.size() == stream_blocks_per_pass) continue;
      if (pending_.empty()) {
        // Nothing more of the stream up to the segment's known end.
        next_lsn_ = std::max(next_lsn_, pos.end_lsn);
        if (pos.is_last) return false;
      }
    }
  }

  std::uint64_t log_generation() const {
    std::lock_guard lock(store_->mu_);
    return store_->log_generation_;
  }

  // Drops what the one-stream walk read ahead: its pending records, its cursor's window and
  // where it resumes (the walk continues from next_lsn_).
  void forget_stream_reads() {
    pending_.clear();
    stream_cursor_.reset();
    resume_seg_.reset();
    resume_block_ = 0;
  }

  // One pass's read of a run of candidate blocks close enough to share a window (gaps of at
  // most stream_gap_blocks_max: one read of a few more blocks costs less than another read):
  // from its first block through the end of its last block's records, as the index bounds
  // them (SegmentIndex::block_records_end), so a record crossing a block's end is read with it.
  struct StreamRun {
    std::size_t last = 0;  // index in the pass's blocks of its last block
    std::uint64_t start = 0, end = 0;  // segment offsets, block aligned
  };

  std::vector<StreamRun> stream_runs(const Position &pos, const std::vector<std::uint32_t> &blocks) {
    std::vector<StreamRun> runs;
    std::lock_guard lock(pos.seg->index_mu);
    for (std::size_t i = 0; i < blocks.size();) {
      const std::uint64_t start = std::uint64_t{blocks[i]} * format::block_size_bytes;
      if (start >= pos.end_offset) break;
      std::size_t last = i;
      while (last + 1 < blocks.size() && blocks[last + 1] - blocks[last] <= stream_gap_blocks_max + 1 &&
             blocks[last + 1] - blocks[i] < stream_run_blocks_max)
        last++;
      std::uint64_t records_end = pos.seg->index.block_records_end(blocks[last]);
      if (records_end == 0 || records_end > pos.end_offset) records_end = pos.end_offset;
      const std::uint64_t end = std::min<std::uint64_t>(format::align_up(std::max(records_end, start + 1), format::block_size_bytes),
                                                        pos.seg->segment_bytes);
      runs.push_back(StreamRun{last, start, end});
      i = last + 1;
    }
    return runs;
  }

  // The one-stream walk's read-ahead (nullptr when the env has none): its passes' runs are
  // read several at once, each taken by the cursor when it reaches it.
  engine::ScanAhead *stream_ahead() {
    if (!stream_ahead_) {
      bool on_ring = false;
      io::ReadAhead *reads = store_->scan_read_ahead(&on_ring);
      if (reads == nullptr) return nullptr;
      stream_ahead_.emplace(*store_, *reads, format::block_size_bytes, engine::stream_ahead_reads(on_ring),
                            engine::ScanAhead::Mode::ranges);
    }
    return &*stream_ahead_;
  }

  // Reads the records of the stream that start in `blocks` (ascending) into pending_, until
  // enough are pending. Returns true when every block was read whole (none past the known end
  // or the walk's limit, no early stop).
  Result<bool> read_stream_blocks(const Position &pos, const std::vector<std::uint32_t> &blocks) {
    std::optional<SegmentCursor> &cursor = stream_cursor_;
    const std::vector<StreamRun> runs = stream_runs(pos, blocks);
    engine::ScanAhead *ahead = runs.size() > 1 ? stream_ahead() : nullptr;
    if (ahead) {
      std::vector<engine::AheadRange> ranges;
      ranges.reserve(runs.size());
      for (const StreamRun &run : runs) ranges.push_back(engine::AheadRange{run.start, run.end - run.start});
      ahead->issue_ranges(pos.seg, std::move(ranges));
    }
    std::uint64_t pending_bytes = 0;
    std::uint64_t from_lsn = next_lsn_;
    std::size_t run = 0;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const std::uint32_t block = blocks[i];
      const std::uint64_t block_start = std::uint64_t{block} * format::block_size_bytes;
      if (block_start >= pos.end_offset) return false;
      if (i > runs[run].last) run++;  // every block below the known end is in a run
      std::optional<format::IndexEntry> entry;
      {
        std::lock_guard lock(pos.seg->index_mu);
        entry = pos.seg->index.entry_of_block(block);
      }
      if (!entry) return engine::corruption_at(*pos.seg, block_start, 0, "stream bitmap names a block without records");
      // The cursor (kept from the previous pass too, with its window) continues when it stands
      // on this block's first record or a few blocks before it (it walks through those, whose
      // records are of other streams; its window holds them). Otherwise it moves to the block,
      // its window the block's run.
      const bool continues = cursor && cursor->segment() == pos.seg && cursor->offset() <= entry->offset &&
                             entry->offset - cursor->offset() <= stream_gap_blocks_max * format::block_size_bytes;
      if (!continues) {
        const std::uint64_t wanted = std::max<std::uint64_t>(runs[run].end - entry->offset, format::record_header_bytes);
        const std::uint64_t expected = pos.seg->base_lsn + entry->lsn_delta;
        if (cursor) cursor->move_to(pos.seg, entry->offset, expected, wanted);
        else cursor.emplace(*store_, pos.seg, entry->offset, expected, wanted, stream_ahead());
      }
      bool at_limit = false;  // the block holds records past the walk's limit
      while (cursor->offset() < block_start + format::block_size_bytes) {
        Result<std::optional<RecordView>> got = cursor->next(pos.end_offset);
        if (!got.ok()) return got.status();
        if (!got->has_value()) break;
        const RecordView &view = **got;
        if (view.lsn >= pos.limit_lsn) {
          at_limit = true;
          break;
        }
        // Below from_lsn: returned already, or read already in this pass (a cursor skipping
        // padding at a block's end reads the next block's first record early).
        if (view.stream != *stream_ || view.lsn < from_lsn) continue;
        from_lsn = view.lsn + 1;
        pending_.push_back(Record{view.lsn, view.stream, view.type,
                                  std::vector<std::byte>(view.payload.begin(), view.payload.end())});
        pending_bytes += view.payload.size();
      }
      // A block read whole need not be read again; one the known end or the limit cuts
      // through may receive (or release) more records.
      resume_seg_ = pos.seg;
      const bool whole = !at_limit && block_start + format::block_size_bytes <= pos.end_offset;
      resume_block_ = whole ? block + 1 : block;
      if (!whole) return false;
      if (pending_.size() >= stream_pending_records_max || pending_bytes >= stream_pending_bytes_max)
        return i + 1 == blocks.size();
    }
    return true;
  }

  // Bounds of one pass of the one-stream walk: bitmap entries taken, blocks in one read
  // window, and records (and their bytes) held before they are returned.
  static constexpr std::size_t stream_blocks_per_pass = 1024;
  static constexpr std::size_t stream_run_blocks_max = 256;
  // Blocks without the stream read (and walked) between two candidate blocks rather than
  // reading each candidate alone: 8 blocks (32 KiB) take about as long to transfer as the
  // fixed cost of a separate small read on an NVMe device.
  static constexpr std::size_t stream_gap_blocks_max = 8;
  static constexpr std::size_t stream_pending_records_max = 1024;
  static constexpr std::uint64_t stream_pending_bytes_max = 1u << 20;

  std::shared_ptr<Store::Impl> store_;
  std::uint64_t next_lsn_;
  std::optional<std::uint32_t> stream_;
  bool durable_only_;
  std::shared_ptr<IteratorCanceller::State> cancel_;
  // next_wait() was called: the iterator follows the head, served from the tail feed where it
  // can be (plain walks only), and counted among the feed's tailers until it is destroyed.
  bool tailing_ = false;
  engine::TailCursor tail_cursor_;
  // The plain walk's read-ahead (nullptr until the first cursor, and when the env has none);
  // declared before cursor_, which points to it.
  std::optional<engine::ScanAhead> ahead_;
  std::optional<SegmentCursor> cursor_;
  std::uint64_t cursor_generation_ = 0;  // the log generation of cursor_'s window
  bool cursor_read_since_feed_ = false;  // cursor_ (and ahead_) read since the tail feed last served
  std::deque<Record> pending_;
  std::uint64_t pending_generation_ = 0;  // the log generation pending_ and stream_cursor_ were read in
  std::optional<engine::ScanAhead> stream_ahead_;  // declared before stream_cursor_, which points to it
  std::optional<SegmentCursor> stream_cursor_;  // the one-stream walk's, between passes
  std::shared_ptr<Segment> resume_seg_;  // blocks of it below resume_block_ were read whole
  std::uint32_t resume_block_ = 0;
  Record held_;
  RecordView current_;
};

Iterator::Iterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Iterator::Iterator(Iterator &&) noexcept = default;
Iterator &Iterator::operator=(Iterator &&) noexcept = default;
Iterator::~Iterator() = default;
Result<bool> Iterator::next() { return impl_->next(); }
Result<bool> Iterator::next_wait(std::chrono::milliseconds timeout) { return impl_->next_wait(timeout); }
const RecordView &Iterator::record() const { return impl_->record(); }
void Iterator::cancel() { impl_->canceller().cancel(); }
IteratorCanceller Iterator::canceller() const { return impl_->canceller(); }

// ---------------------------------------------------------------------------------------------
// Store

Result<std::unique_ptr<Store>> Store::open(const std::string &dir, const Options &options) {
  if (dir.empty()) return Status(Errc::invalid_argument, "store directory path is empty");
  auto impl = std::make_shared<Impl>(dir, options, env_for(options));
  Status opened = impl->open();
  if (!opened.ok()) {
    (void)impl->close();
    return opened;
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() { (void)impl_->close(); }
Status Store::close() { return impl_->close(); }

Result<std::uint64_t> Store::append(std::span<const std::byte> payload, std::uint32_t stream) {
  return append(payload, stream, impl_->options_.durability);
}
Result<std::uint64_t> Store::append(std::span<const std::byte> payload, std::uint32_t stream,
                                    Durability durability) {
  const BatchEntry one{stream, payload};
  return impl_->append_timed(std::span<const BatchEntry>(&one, 1), durability);
}
Result<std::uint64_t> Store::append_batch(std::span<const BatchEntry> records) {
  return impl_->append_timed(records, impl_->options_.durability);
}
Result<std::uint64_t> Store::append_batch(std::span<const BatchEntry> records, Durability durability) {
  return impl_->append_timed(records, durability);
}
Result<std::uint64_t> Store::append_async(std::span<const std::byte> payload, std::uint32_t stream) {
  const BatchEntry one{stream, payload};
  return impl_->append_timed(std::span<const BatchEntry>(&one, 1), Durability::none);
}
Status Store::wait_durable(std::uint64_t lsn) { return impl_->make_durable(lsn); }
Status Store::sync() { return impl_->sync_all(); }
std::uint64_t Store::first_lsn() const { return impl_->first_lsn(); }
std::uint64_t Store::next_lsn() const { return impl_->next_lsn(); }
std::uint64_t Store::durable_lsn() const { return impl_->durable_lsn(); }
Status Store::wait_for_lsn(std::uint64_t lsn, std::chrono::milliseconds timeout) const {
  return impl_->wait_for_tail(lsn, engine::TailTarget::appended, base::deadline_after(timeout), nullptr);
}
Status Store::wait_until_durable(std::uint64_t lsn, std::chrono::milliseconds timeout) const {
  return impl_->wait_for_tail(lsn, engine::TailTarget::durable, base::deadline_after(timeout), nullptr);
}
Result<Record> Store::read(std::uint64_t lsn) { return impl_->read(lsn); }

Result<Iterator> Store::scan(std::uint64_t from_lsn) { return scan(from_lsn, ScanOptions{}); }
Result<Iterator> Store::scan(std::uint64_t from_lsn, std::uint32_t stream) {
  ScanOptions options;
  options.stream = stream;
  return scan(from_lsn, options);
}
Result<Iterator> Store::scan(std::uint64_t from_lsn, const ScanOptions &options) {
  {
    std::lock_guard lock(impl_->mu_);
    if (impl_->closed_) return Status(Errc::store_closed, "store " + impl_->dir_ + " is closed");
    if (from_lsn > impl_->next_lsn_)
      return Status(Errc::lsn_out_of_range, "scan from LSN " + std::to_string(from_lsn) +
                                                " beyond the next LSN " + std::to_string(impl_->next_lsn_));
  }
  return Iterator(std::make_unique<Iterator::Impl>(impl_, from_lsn, options));
}

Status Store::truncate_after(std::uint64_t lsn) { return impl_->truncate_after(lsn); }
Status Store::trim_before(std::uint64_t lsn) { return impl_->trim_before(lsn); }
Status Store::reset_to(std::uint64_t lsn) { return impl_->reset_to(lsn); }
Status Store::write_snapshot(std::uint64_t lsn, std::span<const std::byte> state) {
  return impl_->write_snapshot(lsn, state);
}
Result<Snapshot> Store::latest_snapshot() { return impl_->latest_snapshot(); }
Status Store::install_snapshot(std::uint64_t lsn, std::span<const std::byte> state) {
  return impl_->install_snapshot(lsn, state);
}
Status Store::write_metadata(std::span<const std::byte> bytes) { return impl_->write_metadata(bytes); }
Result<std::vector<std::byte>> Store::read_metadata() { return impl_->read_metadata(); }
Stats Store::stats() const { return impl_->stats(); }
const RecoveryReport &Store::recovery_report() const { return impl_->recovery_report_; }
const std::string &Store::dir() const { return impl_->dir_; }

Result<RecoveryReport> recover(const std::string &dir, const Options &options) {
  // Opening runs the recovery pass (forced: no clean marker is trusted) and closing leaves the
  // store consistent.
  Options forced = options;
  forced.verify_on_open = true;
  Result<std::unique_ptr<Store>> store = Store::open(dir, forced);
  if (!store.ok()) return store.status();
  RecoveryReport report = (*store)->recovery_report();
  SEGSTORE_TRY((*store)->close());
  return report;
}

}  // namespace segstore
