// inspect/inspect_reader.cc — LogReader (segstore/inspect.h): records straight from the segment
// files, without the store's lock, following a writer in another process.
//
// The walk keeps two positions: expected_ (the LSN of the next record in the file, records of
// an unfinished batch included) and committed_ (the LSN after the last record that counts: a
// full record, or a batch whose batch_last was seen). Records are handed out only once
// committed. At the end of a segment's records the reader looks for a newer segment starting
// at committed_: if there is one, the writer has moved on and this segment is sealed;
// otherwise this is the end for now, and the same position is read again on the next call.
#include <deque>
#include <thread>

#include "base/assert.h"
#include "base/deadline.h"
#include "base/try.h"
#include "format/layout.h"
#include "format/store_dir.h"
#include "inspect/inspect_env.h"
#include "log/batch_rules.h"
#include "log/segment_reader.h"
#include "segstore/inspect.h"

namespace segstore::inspect {

namespace {
// How often next_wait() looks at the files again: polling (rather than inotify) works on every
// file system and with every writer. The interval starts short after a record arrived and
// doubles while nothing does, so an idle follower costs a few small reads a second and a busy
// one lags by milliseconds.
constexpr std::chrono::milliseconds tail_poll_min_ms{2};
constexpr std::chrono::milliseconds tail_poll_max_ms{100};
}  // namespace

class LogReader::Impl {
 public:
  Impl(std::string dir, std::uint64_t from_lsn, std::optional<std::uint32_t> stream)
      : env_(inspection_env()), dir_(std::move(dir)), deliver_from_(from_lsn), stream_(stream) {}

  Status start() {
    Result<StoreFiles> files = list_store_files(*env_, dir_);
    if (!files.ok()) return files.status();
    if (files->meta_error != format::SmallFileError::none)
      return Status(files->meta_error == format::SmallFileError::unsupported_version ? Errc::unsupported_version
                                                                                       : Errc::corruption,
                    files->meta_path + " at offset 0: " + format::small_file_error_name(files->meta_error));
    store_id_ = files->meta.store_id;
    min_segment_id_ = files->meta.min_segment_id;
    deliver_from_ = std::max(deliver_from_, files->meta.first_lsn);
    return Status();
  }

  Result<bool> next() {
    tail_damage_.reset();
    // Bounded: every round either hands out a record, makes the walk advance by a whole record,
    // moves to a newer segment, or returns.
    while (true) {
      if (!ready_.empty()) {
        poll_interval_ = tail_poll_min_ms;
        held_ = std::move(ready_.front());
        ready_.pop_front();
        view_ = RecordView{held_.lsn, held_.stream, held_.type, held_.payload};
        return true;
      }
      if (!seg_) {
        Result<bool> found = open_first_segment();
        if (found.ok() && !*found) tail_damage_ = blocked_by_;
        if (!found.ok() || !*found) return found;
      }
      Result<bool> progressed = step();
      if (!progressed.ok()) return progressed.status();
      if (!*progressed && ready_.empty()) {
        // Read the same position afresh next time (the writer may add to it), with small reads.
        walk_.reset();
        tailing_ = true;
        return false;
      }
    }
  }

  Result<bool> next_wait(std::chrono::milliseconds timeout) {
    // Capped as the engine's waits are: milliseconds::max() added to now() would overflow.
    const auto deadline = base::deadline_after(timeout);
    while (true) {
      Result<bool> got = next();
      if (!got.ok() || *got) return got;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(poll_interval_, deadline - now));
      poll_interval_ = std::min(poll_interval_ * 2, tail_poll_max_ms);
    }
  }

  const RecordView &record() const { return view_; }
  std::uint64_t next_lsn() const { return seg_ ? committed_ : deliver_from_; }
  std::uint64_t bytes_read() const { return bytes_read_; }
  const std::optional<Problem> &tail_damage() const { return tail_damage_; }

 private:
  struct OpenSegment {
    std::uint64_t id = 0;
    std::string path;
    SegmentFileHeader file;
  };

  // Segments with id > after_id (and >= META's min_segment_id) that have a valid header, in id
  // order. Unused (preallocated) ones are skipped; the list ends before a segment whose header
  // fails its checks (or that is not a regular file), which is kept in blocked_by_ unless it is
  // the newest file (a segment being activated): the records before it are still served, as
  // verify reads them, and the damage is reported where they end.
  Result<std::vector<OpenSegment>> segments_after(std::uint64_t after_id, bool first_only) {
    blocked_by_.reset();
    Result<std::vector<std::string>> names = env_->list_dir(dir_);
    if (!names.ok()) return names.status();
    std::vector<std::pair<std::uint64_t, std::string>> ids;
    for (const std::string &name : *names)
      if (auto id = format::parse_numbered_name(name, format::segment_suffix))
        if (*id > after_id && *id >= min_segment_id_ && *id <= format::segment_id_max)
          ids.emplace_back(*id, format::join_path(dir_, name));
    std::sort(ids.begin(), ids.end());
    std::vector<OpenSegment> out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      Result<SegmentFileHeader> read = read_segment_header(*env_, ids[i].second);
      if (!read.ok()) {
        if (read.status().code() == Errc::not_found) continue;  // removed by a trim meanwhile
        if (read.status().code() != Errc::not_a_regular_file) return read.status();
        blocked_by_ = Problem{ProblemKind::unreadable, ids[i].second, 0, std::nullopt,
                              errc_name(read.status().code()), read.status().message()};
        break;
      }
      if (read->error == format::SegmentHeaderError::unused) continue;
      const bool bad = read->error != format::SegmentHeaderError::none || read->header.segment_id != ids[i].first ||
                       read->header.store_id != store_id_;
      if (bad) {
        if (i + 1 < ids.size())
          blocked_by_ = Problem{ProblemKind::segment_header, ids[i].second, 0, std::nullopt,
                                read->error != format::SegmentHeaderError::none
                                    ? format::segment_header_error_name(read->error)
                                    : (read->header.segment_id != ids[i].first ? "segment_id" : "store_id"),
                                "the segment header fails its checks: no record from here on can be trusted"};
        break;
      }
      out.push_back(OpenSegment{ids[i].first, ids[i].second, std::move(*read)});
      if (first_only) break;
    }
    return out;
  }

  // Opens the segment holding deliver_from_ (or the oldest one). false: no segment yet.
  Result<bool> open_first_segment() {
    Result<std::vector<OpenSegment>> all = segments_after(0, false);
    if (!all.ok()) return all.status();
    if (all->empty()) return false;
    std::size_t pick = 0;
    for (std::size_t i = 0; i < all->size(); ++i)
      if ((*all)[i].file.header.base_lsn <= deliver_from_) pick = i;
    enter((*all)[pick]);
    return true;
  }

  void enter(OpenSegment &seg) {
    seg_ = std::move(seg);
    expected_ = committed_ = seg_->file.header.base_lsn;
    offset_ = format::segment_data_offset_bytes;
    batch_.clear();
    batch_rules_ = log::BatchRules();
    walk_.reset();
    tailing_ = false;
  }

  Status ensure_walk() {
    if (walk_) return Status();
    // The file's size now: a segment being created may still be growing to its full size.
    Result<std::uint64_t> size = seg_->file.file->size();
    if (!size.ok()) return size.status();
    const std::uint64_t limit = std::min(*size, seg_->file.header.segment_bytes);
    walk_ = std::make_unique<log::SegmentReader>(*seg_->file.file, std::max(limit, offset_),
                                                 tailing_ ? format::block_size_bytes : log::read_window_bytes,
                                                 [this](std::uint64_t bytes) { bytes_read_ += bytes; });
    walk_->set_record_seed(format::record_crc_seed_of(seg_->file.header));
    return Status();
  }

  bool wanted(const log::RecordAt &step) const {
    return step.header.lsn >= deliver_from_ && (!stream_ || *stream_ == step.header.stream);
  }
  Record copy_of(const log::RecordAt &step) const {
    return Record{step.header.lsn, step.header.stream, static_cast<std::uint8_t>(step.header.type),
                  std::vector<std::byte>(step.payload.begin(), step.payload.end())};
  }

  // One record position. true: the walk advanced (or moved segment); false: the end for now.
  Result<bool> step() {
    SEGSTORE_TRY(ensure_walk());
    if (offset_ >= walk_->limit()) return end_of_records(nullptr);
    Result<log::RecordAt> got = walk_->read_record(offset_, &expected_);
    if (!got.ok()) return got.status();
    const log::RecordAt &s = *got;
    if (s.error != format::RecordError::none) return end_of_records(&s);
    const log::BatchVerdict verdict = batch_rules_.take(s.header.type);
    if (verdict == log::BatchVerdict::violation)
      return Status(Errc::corruption, seg_->path + " at offset " + std::to_string(s.offset) + " (LSN " +
                                          std::to_string(s.header.lsn) + "): batch_sequence: " +
                                          batch_rules_.violation());
    if (s.header.type != format::RecordType::padding) {
      if (wanted(s)) batch_.push_back(copy_of(s));
      ++expected_;
    }
    if (verdict == log::BatchVerdict::complete) {
      for (Record &r : batch_) ready_.push_back(std::move(r));
      batch_.clear();
      committed_ = expected_;
    }
    offset_ += s.disk_bytes;
    return true;
  }

  // The records of the current segment stop at offset_ (`s` is null at the segment's limit).
  Result<bool> end_of_records(const log::RecordAt *s) {
    Result<std::vector<OpenSegment>> newer = segments_after(seg_->id, true);
    if (!newer.ok()) return newer.status();
    if (!newer->empty() && newer->front().file.header.base_lsn == committed_) {
      // The writer moved on: this segment is sealed, and a batch unfinished here never counts.
      enter(newer->front());
      return true;
    }
    const bool clean = s == nullptr || s->error == format::RecordError::zero_header ||
                       (s->error == format::RecordError::truncated_header && s->tail_zero);
    if (clean && newer->empty() && blocked_by_) {
      tail_damage_ = blocked_by_;  // a damaged segment follows: the records stop here
    } else if (!clean) {
      tail_damage_ = Problem{ProblemKind::record, seg_->path, s->offset, expected_,
                             format::record_error_name(s->error),
                             "the records of the newest segment end in damage, not in never-written space"};
    } else if (!newer->empty()) {
      // Transient while the writer's last write to this segment is in flight; lasting damage
      // (a lost write) otherwise.
      tail_damage_ = Problem{ProblemKind::lsn_sequence, newer->front().path, 24, committed_, "lsn_gap",
                             seg_->path + " ends before LSN " + std::to_string(committed_) +
                                 " but the next segment starts at LSN " +
                                 std::to_string(newer->front().file.header.base_lsn)};
    }
    return false;
  }

  std::shared_ptr<io::Env> env_;
  const std::string dir_;
  std::uint64_t deliver_from_;
  const std::optional<std::uint32_t> stream_;
  std::uint64_t store_id_ = 0;
  std::uint64_t min_segment_id_ = 0;

  std::optional<OpenSegment> seg_;
  std::unique_ptr<log::SegmentReader> walk_;  // reset at the end for now: re-reads then
  std::uint64_t offset_ = 0;                  // where the walk continues in seg_
  std::uint64_t expected_ = 0;
  std::uint64_t committed_ = 0;
  log::BatchRules batch_rules_;
  std::vector<Record> batch_;  // wanted records read but not committed (a full record's, or the open batch's)
  std::deque<Record> ready_;
  Record held_;
  RecordView view_;
  std::uint64_t bytes_read_ = 0;
  std::optional<Problem> tail_damage_;
  std::optional<Problem> blocked_by_;  // the segment that ended the last segments_after() list
  bool tailing_ = false;  // the walk reached the end before: re-read with small windows
  std::chrono::milliseconds poll_interval_ = tail_poll_min_ms;
};

LogReader::LogReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LogReader::LogReader(LogReader &&) noexcept = default;
LogReader &LogReader::operator=(LogReader &&) noexcept = default;
LogReader::~LogReader() = default;

Result<LogReader> LogReader::open(const std::string &dir, std::uint64_t from_lsn,
                                  std::optional<std::uint32_t> stream) {
  auto impl = std::make_unique<Impl>(dir, from_lsn, stream);
  SEGSTORE_TRY(impl->start());
  return LogReader(std::move(impl));
}

Result<bool> LogReader::next() { return impl_->next(); }
Result<bool> LogReader::next_wait(std::chrono::milliseconds timeout) { return impl_->next_wait(timeout); }
const RecordView &LogReader::record() const { return impl_->record(); }
std::uint64_t LogReader::next_lsn() const { return impl_->next_lsn(); }
std::uint64_t LogReader::bytes_read() const { return impl_->bytes_read(); }
std::optional<Problem> LogReader::tail_damage() const { return impl_->tail_damage(); }

}  // namespace segstore::inspect
