// inspect/inspect_verify.cc — verify_store (segstore/inspect.h): read every byte of every
// segment, index snapshot and application snapshot and check it, changing nothing.
#include <sys/stat.h>

#include <optional>

#include "base/try.h"
#include "log/snapshot_file.h"
#include "format/index_snapshot.h"
#include "format/layout.h"
#include "format/store_dir.h"
#include "inspect/inspect_env.h"
#include "inspect/inspect_walk.h"
#include "recovery/cut_decision.h"
#include "segstore/inspect.h"

namespace segstore::inspect {

namespace {

using format::join_path;

// Index snapshots hold 8 bytes per 4 KiB block plus bitmaps: far below this for any segment.

std::uint64_t file_size(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

class Verifier {
 public:
  Verifier(io::Env &env, const StoreFiles &files,
           const std::function<void(const VerifyProgress &)> &progress)
      : env_(env), files_(files), progress_(progress) {}

  Result<VerifyReport> run();

 private:
  void problem(ProblemKind kind, const std::string &file, std::uint64_t offset,
               std::optional<std::uint64_t> lsn, std::string reason, std::string detail) {
    report_.problems.push_back(Problem{kind, file, offset, lsn, std::move(reason), std::move(detail)});
  }
  void read_bytes(std::uint64_t bytes, const std::string &file) {
    report_.bytes_read += bytes;
    progress_state_.bytes_done += bytes;
    progress_state_.file = file;
    if (progress_) progress_(progress_state_);
  }

  Status check_segment(std::uint64_t id, const std::string &path, bool last);
  // `compare`: also check the .idx against the records (not when damage cut the walk short:
  // every difference would then only repeat that damage).
  Status check_index(const std::string &path, const format::SegmentHeader &header, std::uint64_t segment_limit_bytes,
                     const SegmentSummary &summary, bool compare);
  void compare_streams(const std::string &path, const format::IndexBody &body,
                       const log::SegmentIndex &stored, const log::SegmentIndex &rebuilt);
  void check_clean();
  void check_snapshots();

  io::Env &env_;
  const StoreFiles &files_;
  const std::function<void(const VerifyProgress &)> &progress_;
  VerifyProgress progress_state_;
  VerifyReport report_;
  std::optional<std::uint64_t> store_id_;  // META's, when META is readable
  // The end of the previous segment with readable records (file, LSN after its last record).
  std::optional<std::pair<std::string, std::uint64_t>> previous_;
  std::uint64_t last_segment_id_ = 0;
  std::uint64_t last_end_offset_ = 0;
  bool any_segment_ = false;
  bool damage_seen_ = false;  // some segment's records stop at damage
  std::uint64_t first_base_lsn_ = 0;
};

Result<VerifyReport> Verifier::run() {
  if (files_.meta_error != format::SmallFileError::none) {
    problem(ProblemKind::meta, files_.meta_path, 0, std::nullopt,
            format::small_file_error_name(files_.meta_error),
            "META fails its checks: the store cannot be opened until it is restored");
  } else {
    store_id_ = files_.meta.store_id;
    if (files_.meta.has_unaccepted_loss())
      problem(ProblemKind::meta, files_.meta_path, 0, files_.meta.lost_lsn_first, "data_loss",
              "recovery recorded that acknowledged records LSN " + std::to_string(files_.meta.lost_lsn_first) + ".." +
                  std::to_string(files_.meta.lost_lsn_end - 1) +
                  " were lost; writes are refused until the loss is accepted (segstore recover --accept-loss)");
  }
  const std::uint64_t min_segment_id = store_id_ ? files_.meta.min_segment_id : 0;
  for (const auto &[id, path] : files_.segments) progress_state_.bytes_total += file_size(path);
  for (const auto &[id, path] : files_.indexes) progress_state_.bytes_total += file_size(path);
  for (const auto &[lsn, path] : files_.snapshots) progress_state_.bytes_total += file_size(path);

  std::uint64_t last_used = 0;
  for (const auto &[id, path] : files_.segments)
    if (id >= min_segment_id) last_used = id;
  for (const auto &[id, path] : files_.segments) {
    if (id < min_segment_id) {
      report_.notes.push_back(path + ": below META's min_segment_id " + std::to_string(min_segment_id) +
                              " (an interrupted trim or reset; the next open removes it)");
      continue;
    }
    SEGSTORE_TRY(check_segment(id, path, id == last_used));
  }
  for (const auto &[id, path] : files_.indexes)
    if (files_.segments.count(id) == 0)
      report_.notes.push_back(path + ": an index snapshot without its segment (the next open removes it)");
  // As the engine computes them at open: META's trim point, within the records present.
  const std::uint64_t meta_first = store_id_ ? files_.meta.first_lsn : 0;
  if (any_segment_) {
    report_.first_lsn = std::min(std::max(meta_first, first_base_lsn_), report_.next_lsn);
  } else {
    report_.first_lsn = report_.next_lsn = meta_first;
  }
  check_clean();
  check_snapshots();
  return std::move(report_);
}

Status Verifier::check_segment(std::uint64_t id, const std::string &path, bool last) {
  Result<SegmentFileHeader> read = read_segment_header(env_, path);
  if (!read.ok() && read.status().code() == Errc::not_a_regular_file) {
    // A FIFO, device or symbolic link under a segment's name: reported, and the walk goes on.
    problem(ProblemKind::unreadable, path, 0, std::nullopt, errc_name(read.status().code()), read.status().message());
    previous_.reset();
    damage_seen_ = true;
    return Status();
  }
  if (!read.ok()) return read.status();
  report_.segments_checked++;
  if (read->error == format::SegmentHeaderError::unused) {
    read_bytes(std::min<std::uint64_t>(read->file_bytes, format::block_size_bytes), path);
    if (!last) report_.notes.push_back(path + ": unused (preallocated) segment before a used one");
    return Status();
  }
  if (read->error != format::SegmentHeaderError::none) {
    recovery::Finding finding;
    finding.reason = recovery::CutReason::segment_header_damaged;
    finding.header_error = read->error;
    problem(ProblemKind::segment_header, path, 0, std::nullopt, finding.reason_name(),
            "the segment header fails its checks; none of its records can be trusted");
    previous_.reset();  // the LSN chain cannot be followed across this segment
    return Status();
  }
  const format::SegmentHeader &h = read->header;
  if (h.segment_id != id || (store_id_ && h.store_id != *store_id_)) {
    // Named and placed as recovery's finding: the whole file is rejected, from offset 0.
    recovery::Finding finding;
    finding.reason = h.segment_id != id ? recovery::CutReason::segment_id_mismatch
                                        : recovery::CutReason::store_id_mismatch;
    problem(ProblemKind::segment_identity, path, 0, h.base_lsn, finding.reason_name(),
            h.segment_id != id ? "the header names segment " + std::to_string(h.segment_id)
                               : "the header's store_id is not META's: a segment of another store");
    previous_.reset();
    return Status();
  }
  if (read->file_bytes != h.segment_bytes)
    problem(ProblemKind::segment_size, path, std::min(read->file_bytes, h.segment_bytes), std::nullopt,
            read->file_bytes < h.segment_bytes ? "file_truncated" : "file_too_long",
            "the file is " + std::to_string(read->file_bytes) + " bytes, its header says " +
                std::to_string(h.segment_bytes));
  if (previous_ && h.base_lsn != previous_->second) {
    recovery::Finding finding;
    finding.reason = recovery::judge_join(previous_->second, h.base_lsn) == recovery::Join::gap
                         ? recovery::CutReason::lsn_gap
                         : recovery::CutReason::lsn_overlap;
    problem(ProblemKind::lsn_sequence, path, 0, h.base_lsn, finding.reason_name(),
            "the segment starts at LSN " + std::to_string(h.base_lsn) + " but " + previous_->first +
                " ends before LSN " + std::to_string(previous_->second));
  }

  WalkOptions options;
  options.path = path;
  options.base_lsn = h.base_lsn;
  options.limit = read->limit();
  options.check_zeros_after_end = true;
  options.record_seed = format::record_crc_seed_of(h);
  options.recycled = h.recycled();
  options.on_read = [&](std::uint64_t bytes) { read_bytes(bytes, path); };
  Result<SegmentSummary> summary = walk_segment(*read->file, options);
  if (!summary.ok()) return summary.status();
  report_.records_checked += summary->records;
  if (summary->damaged) {
    problem(summary->kind, path, summary->damage_offset, summary->damage_lsn, summary->reason, summary->detail);
    damage_seen_ = true;
  }
  previous_.emplace(path, summary->next_lsn);
  report_.next_lsn = summary->next_lsn;
  if (!any_segment_) first_base_lsn_ = h.base_lsn;
  any_segment_ = true;
  last_segment_id_ = id;
  last_end_offset_ = summary->end_offset;

  auto index = files_.indexes.find(id);
  if (index != files_.indexes.end()) {
    SEGSTORE_TRY(check_index(index->second, h, read->limit(), *summary, !summary->damaged));
  } else if (!last) {
    report_.notes.push_back(path + ": sealed without an index snapshot (open rebuilds it by a scan)");
  }
  return Status();
}

Status Verifier::check_index(const std::string &path, const format::SegmentHeader &header,
                             std::uint64_t segment_limit_bytes, const SegmentSummary &summary, bool compare) {
  report_.index_snapshots_checked++;
  // Bounded by what the format allows for this segment's bytes (not by the header's claim
  // alone, nor by the .idx's own size): a huge or sparse file is reported, not read.
  Result<std::vector<std::byte>> bytes =
      io::read_whole_file(env_, path, format::index_snapshot_max_bytes(segment_limit_bytes));
  if (!bytes.ok()) {
    const Errc code = bytes.status().code();
    if (code == Errc::not_a_regular_file) {
      problem(ProblemKind::unreadable, path, 0, std::nullopt, errc_name(code), bytes.status().message());
      return Status();
    }
    if (code != Errc::corruption) return bytes.status();
    problem(ProblemKind::index_snapshot, path, 0, std::nullopt, "too_large", bytes.status().message());
    return Status();
  }
  read_bytes(bytes->size(), path);
  format::IndexHeader ih;
  format::IndexBody body;
  const format::IndexError error = format::decode_index_snapshot(*bytes, &ih, &body);
  if (error != format::IndexError::none) {
    // Header checks (magic..reserved) fail at offset 0, body checks in the body.
    const bool in_header = format::decode_index_header(*bytes, &ih) != format::IndexError::none;
    problem(ProblemKind::index_snapshot, path, in_header ? 0 : format::index_header_bytes, std::nullopt,
            format::index_error_name(error), "the index snapshot fails its checks (open rebuilds it)");
    return Status();
  }
  if (!compare) {
    report_.notes.push_back(path + ": not compared with its segment, whose records stop at damage");
    return Status();
  }
  // Each header field against what the segment's header and records say (offsets: the table
  // in format/index_snapshot.h).
  struct Field {
    const char *name;
    std::uint64_t offset, stored, actual;
  };
  const Field fields[] = {
      {"segment_id", format::index_segment_id_offset, ih.segment_id, header.segment_id},
      {"base_lsn", format::index_base_lsn_offset, ih.base_lsn, header.base_lsn},
      {"store_id", format::index_store_id_offset, ih.store_id, header.store_id},
      {"record_count", format::index_record_count_offset, ih.record_count, summary.records},
      {"end_offset", format::index_end_offset_offset, ih.end_offset, summary.end_offset},
  };
  for (const Field &f : fields)
    if (f.stored != f.actual)
      problem(ProblemKind::index_mismatch, path, f.offset, std::nullopt, f.name,
              std::string("the index snapshot says ") + f.name + " " + std::to_string(f.stored) +
                  ", the segment gives " + std::to_string(f.actual));

  Result<log::SegmentIndex> stored = log::SegmentIndex::from_body(ih, body, path);
  if (!stored.ok()) {
    problem(ProblemKind::index_snapshot, path, format::index_header_bytes, std::nullopt, "bitmap",
            stored.status().message());
    return Status();
  }
  const auto &have = stored->entries();
  const auto &want = summary.index.entries();
  for (std::size_t i = 0; i < std::max(have.size(), want.size()); ++i) {
    if (i < have.size() && i < want.size() && have[i] == want[i]) continue;
    auto text = [&](const std::vector<format::IndexEntry> &v) {
      return i < v.size() ? "(lsn " + std::to_string(header.base_lsn + v[i].lsn_delta) + " at offset " +
                                std::to_string(v[i].offset) + ")"
                          : std::string("nothing");
    };
    problem(ProblemKind::index_mismatch, path, format::index_header_bytes + format::index_entry_bytes * i, std::nullopt, "entries",
            "sparse index entry " + std::to_string(i) + ": the index snapshot has " + text(have) +
                ", the records give " + text(want));
    break;  // the first difference locates the damage; the rest usually follow from it
  }
  compare_streams(path, body, *stored, summary.index);
  return Status();
}

void Verifier::compare_streams(const std::string &path, const format::IndexBody &body,
                               const log::SegmentIndex &stored, const log::SegmentIndex &rebuilt) {
  // Byte offset of each stream entry in the .idx file, for the report.
  std::map<std::uint32_t, std::uint64_t> entry_offset;
  std::uint64_t offset = format::index_header_bytes + format::index_entry_bytes * body.entries.size();
  for (const format::StreamEntry &s : body.streams) {
    entry_offset[s.stream] = offset;
    offset += format::index_stream_fixed_bytes + s.bitmap.size();
  }
  std::map<std::uint32_t, int> ids;
  for (const auto &[stream, blocks] : stored.streams()) ids[stream] |= 1;
  for (const auto &[stream, blocks] : rebuilt.streams()) ids[stream] |= 2;
  for (const auto &[stream, where] : ids) {
    const std::uint64_t at = entry_offset.count(stream) ? entry_offset[stream] : offset;
    const std::string name = "stream " + std::to_string(stream);
    if (where != 3) {
      problem(ProblemKind::index_mismatch, path, at, std::nullopt, "streams",
              name + (where == 1 ? " is in the index snapshot but has no record in the segment"
                                 : " has records in the segment but is missing from the index snapshot"));
      continue;
    }
    const log::StreamBlocks &s = stored.streams().at(stream);
    const log::StreamBlocks &r = rebuilt.streams().at(stream);
    if (s.records != r.records)
      problem(ProblemKind::index_mismatch, path, at + format::index_stream_record_count_offset, std::nullopt,
              "stream_record_count",
              name + ": the index snapshot counts " + std::to_string(s.records) + " records, the segment has " +
                  std::to_string(r.records));
    if (s.blocks == r.blocks) continue;
    if (r.blocks.isSubset(s.blocks)) {
      // Extra blocks cost a read and are filtered by stream (truncate_after keeps the bit of a
      // block that still holds earlier records): allowed, but worth saying.
      report_.notes.push_back(path + ": " + name + "'s bitmap names " +
                              std::to_string((s.blocks - r.blocks).cardinality()) +
                              " block(s) without a record of it (harmless: such blocks are read and filtered)");
      continue;
    }
    const Roaring missing = r.blocks - s.blocks;
    problem(ProblemKind::index_mismatch, path, at + format::index_stream_bitmap_offset, std::nullopt, "stream_bitmap",
            name + "'s bitmap lacks block " + std::to_string(missing.minimum()) + " (segment offset " +
                std::to_string(std::uint64_t{missing.minimum()} * format::block_size_bytes) +
                "), where a record of it starts: a stream scan would skip it");
  }
}

void Verifier::check_clean() {
  if (!files_.has_clean) return;
  const std::string path = format::join_path(files_.dir, format::clean_file_name);
  Result<std::vector<std::byte>> bytes = io::read_whole_file(env_, path, format::block_size_bytes);
  format::CleanFile clean;
  format::SmallFileError error = format::SmallFileError::length_mismatch;
  if (bytes.ok()) error = format::decode_clean(*bytes, &clean);
  if (error != format::SmallFileError::none) {
    problem(ProblemKind::clean_marker, path, 0, std::nullopt, format::small_file_error_name(error),
            "the clean-shutdown marker fails its checks (open ignores it and scans)");
    return;
  }
  if (damage_seen_) {
    report_.notes.push_back(path + ": not compared with the segments, whose records stop at damage");
    return;
  }
  std::string detail;
  if (store_id_ && clean.store_id != *store_id_) detail = "its store_id is not META's";
  else if (any_segment_ && clean.next_lsn != report_.next_lsn)
    detail = "it says next LSN " + std::to_string(clean.next_lsn) + ", the segments end before LSN " +
             std::to_string(report_.next_lsn);
  else if (any_segment_ && clean.active_segment_id == last_segment_id_ && clean.active_end_offset != last_end_offset_)
    detail = "it says segment " + std::to_string(clean.active_segment_id) + " ends at offset " +
             std::to_string(clean.active_end_offset) + ", its records end at " + std::to_string(last_end_offset_);
  if (!detail.empty()) problem(ProblemKind::clean_marker, path, 0, clean.next_lsn, "clean_mismatch", detail);
}

void Verifier::check_snapshots() {
  for (const auto &[lsn, path] : files_.snapshots) {
    report_.snapshots_checked++;
    Result<log::SnapshotFileCheck> check = log::check_snapshot_file(env_, path);
    if (!check.ok()) {
      problem(ProblemKind::unreadable, path, 0, lsn, errc_name(check.status().code()), check.status().message());
      continue;
    }
    read_bytes(check->bytes_read, path);
    const format::SnapshotHeader &header = check->header;
    if (check->error != format::SmallFileError::none) {
      problem(ProblemKind::snapshot, path, check->error_offset, lsn, format::small_file_error_name(check->error),
              "the application snapshot fails its checks (" + std::to_string(check->file_bytes) + " bytes)");
    } else if (store_id_ && header.store_id != *store_id_) {
      problem(ProblemKind::snapshot, path, format::snapshot_store_id_offset, lsn, "store_id", "the snapshot's store_id is not META's");
    } else if (header.lsn != lsn) {
      problem(ProblemKind::snapshot, path, format::snapshot_lsn_offset, header.lsn, "lsn",
              "the file is named for LSN " + std::to_string(lsn) + " but holds LSN " + std::to_string(header.lsn));
    }
  }
  for (const std::string &name : files_.others) {
    if (log::classify_store_name(name).kind == log::StoreNameKind::id_out_of_range)
      report_.notes.push_back(format::join_path(files_.dir, name) + ": its id lies above the largest segment id " +
                              std::to_string(format::segment_id_max) + ": not a file of the store (left alone)");
  }
  for (const std::string &name : files_.snapshot_others)
    report_.notes.push_back(format::join_path(format::join_path(files_.dir, format::snapshots_dir_name), name) +
                            ": not an application snapshot");
}

}  // namespace

Result<VerifyReport> verify_store(const std::string &dir,
                                  const std::function<void(const VerifyProgress &)> &progress) {
  std::shared_ptr<io::Env> env = inspection_env();
  Result<StoreFiles> files = list_store_files(*env, dir);
  if (!files.ok()) return files.status();
  Verifier verifier(*env, *files, progress);
  return verifier.run();
}

}  // namespace segstore::inspect
