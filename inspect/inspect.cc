// inspect/inspect.cc — describe_store and dump_segment (segstore/inspect.h); verify_store is in
// inspect_verify.cc. Reads only, takes no lock.
#include "segstore/inspect.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/try.h"
#include "log/snapshot_file.h"
#include "format/index_snapshot.h"
#include "format/layout.h"
#include "format/store_dir.h"
#include "inspect/inspect_env.h"
#include "inspect/inspect_walk.h"
#include "log/segment_reader.h"

namespace segstore::inspect {

using format::join_path;

const char *segment_state_name(SegmentState state) noexcept {
  switch (state) {
    case SegmentState::sealed: return "sealed";
    case SegmentState::active: return "active";
    case SegmentState::unused: return "unused";
    case SegmentState::deleting: return "deleting";
    case SegmentState::unreadable: return "unreadable";
  }
  return "unknown";
}

const char *problem_kind_name(ProblemKind kind) noexcept {
  switch (kind) {
    case ProblemKind::meta: return "meta";
    case ProblemKind::clean_marker: return "clean_marker";
    case ProblemKind::segment_header: return "segment_header";
    case ProblemKind::segment_identity: return "segment_identity";
    case ProblemKind::segment_size: return "segment_size";
    case ProblemKind::record: return "record";
    case ProblemKind::nonzero_after_end: return "nonzero_after_end";
    case ProblemKind::batch: return "batch";
    case ProblemKind::lsn_sequence: return "lsn_sequence";
    case ProblemKind::index_snapshot: return "index_snapshot";
    case ProblemKind::index_mismatch: return "index_mismatch";
    case ProblemKind::snapshot: return "snapshot";
    case ProblemKind::unreadable: return "unreadable";
  }
  return "unknown";
}

const char *record_type_name(std::uint8_t type) noexcept {
  switch (static_cast<format::RecordType>(type)) {
    case format::RecordType::zero: return "zero";
    case format::RecordType::full: return "full";
    case format::RecordType::batch_first: return "batch_first";
    case format::RecordType::batch_middle: return "batch_middle";
    case format::RecordType::batch_last: return "batch_last";
    case format::RecordType::padding: return "padding";
  }
  return "unknown";
}

namespace {

struct DiskSize {
  std::uint64_t apparent = 0;
  std::uint64_t allocated = 0;
};

// Sizes of a file, or of a directory's files recursively (a bounded walk: quarantine/ holds at
// most a couple of levels). `files` (may be nullptr) gets each file's path relative to `base`.
DiskSize disk_size(io::Env &env, const std::string &path, const std::string &relative,
                   std::vector<FileInfo> *files, int depth = 0) {
  DiskSize size;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return size;
  if (S_ISDIR(st.st_mode)) {
    if (depth > 8) return size;
    Result<std::vector<std::string>> names = env.list_dir(path);
    if (!names.ok()) return size;
    for (const std::string &name : *names) {
      DiskSize inner = disk_size(env, format::join_path(path, name), relative.empty() ? name : relative + "/" + name,
                                 files, depth + 1);
      size.apparent += inner.apparent;
      size.allocated += inner.allocated;
    }
    return size;
  }
  size.apparent = static_cast<std::uint64_t>(st.st_size);
  size.allocated = static_cast<std::uint64_t>(st.st_blocks) * 512;  // st_blocks is in 512-byte units
  if (files != nullptr) files->push_back(FileInfo{relative, size.apparent});
  return size;
}

// Who holds the flock() on LOCK, from /proc/locks ("1: FLOCK  ADVISORY  WRITE <pid>
// <major:minor hex>:<inode> 0 EOF"): looking never takes the lock, so a writer is never refused.
std::int64_t lock_holder(const std::string &lock_path) {
  struct stat st {};
  if (::stat(lock_path.c_str(), &st) != 0) return 0;
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string number, kind, mode, access, device;
    std::int64_t pid = 0;
    if (!(fields >> number >> kind >> mode >> access >> pid >> device)) continue;
    if (kind != "FLOCK") continue;  // also skips "->" lines (waiters)
    unsigned major_id = 0, minor_id = 0;
    unsigned long long inode = 0;
    if (std::sscanf(device.c_str(), "%x:%x:%llu", &major_id, &minor_id, &inode) != 3) continue;
    if (major_id == major(st.st_dev) && minor_id == minor(st.st_dev) && inode == st.st_ino) return pid;
  }
  return 0;
}

// Records and streams of a sealed segment from its .idx, when the .idx is valid and matches.
bool summary_from_index(io::Env &env, const std::string &path, const format::SegmentHeader &header,
                        std::uint64_t segment_limit_bytes, SegmentInfo &info) {
  // Bounded by the format for the segment's real bytes, not by its header's claim.
  Result<std::vector<std::byte>> bytes =
      io::read_whole_file(env, path, format::index_snapshot_max_bytes(segment_limit_bytes));
  if (!bytes.ok()) return false;
  format::IndexHeader index_header;
  format::IndexBody body;
  if (format::decode_index_snapshot(*bytes, &index_header, &body) != format::IndexError::none) return false;
  if (index_header.segment_id != header.segment_id || index_header.base_lsn != header.base_lsn ||
      index_header.store_id != header.store_id)
    return false;
  info.records = index_header.record_count;
  info.end_offset = index_header.end_offset;
  for (const format::StreamEntry &s : body.streams) info.records_per_stream[s.stream] = s.record_count;
  info.index_used = true;
  return true;
}

Status fill_from_walk(io::File &file, std::uint64_t limit, const format::SegmentHeader &header, SegmentInfo &info) {
  WalkOptions options;
  options.record_seed = format::record_crc_seed_of(header);
  options.recycled = header.recycled();
  options.path = info.file;
  options.base_lsn = info.base_lsn;
  options.limit = limit;
  Result<SegmentSummary> summary = walk_segment(file, options);
  if (!summary.ok()) return summary.status();
  info.records = summary->records;
  info.end_offset = summary->end_offset;
  for (const auto &[stream, blocks] : summary->index.streams()) info.records_per_stream[stream] = blocks.records;
  if (summary->damaged)
    info.problem = summary->reason + " at offset " + std::to_string(summary->damage_offset) + ": " +
                   summary->detail;
  return Status();
}

// Header, state and records of one segment file (the state of the last one is settled later).
Result<SegmentInfo> describe_segment(io::Env &env, const StoreFiles &files, std::uint64_t id,
                                     const std::string &path) {
  SegmentInfo info;
  info.id = id;
  info.file = path;
  info.has_index = files.indexes.count(id) != 0;
  Result<SegmentFileHeader> read = read_segment_header(env, path);
  if (!read.ok() && read.status().code() == Errc::not_a_regular_file) {
    info.state = SegmentState::unreadable;  // a FIFO or link under a segment's name: described, not read
    info.problem = read.status().message();
    return info;
  }
  if (!read.ok()) return read.status();
  info.file_bytes = read->file_bytes;
  if (id < files.meta.min_segment_id) {
    info.state = SegmentState::deleting;
    return info;
  }
  if (read->error == format::SegmentHeaderError::unused) {
    info.state = SegmentState::unused;
    return info;
  }
  if (read->error != format::SegmentHeaderError::none) {
    info.state = SegmentState::unreadable;
    info.problem = std::string("segment header: ") + format::segment_header_error_name(read->error);
    return info;
  }
  const format::SegmentHeader &h = read->header;
  info.base_lsn = h.base_lsn;
  info.segment_bytes = h.segment_bytes;
  info.created_unix_ms = h.created_unix_ms;
  if (h.segment_id != id || h.store_id != files.meta.store_id) {
    info.state = SegmentState::unreadable;
    info.problem = h.segment_id != id ? "the header names segment " + std::to_string(h.segment_id)
                                      : "the header's store_id is not META's: a segment of another store";
    return info;
  }
  info.state = SegmentState::sealed;
  info.end_offset = format::segment_data_offset_bytes;
  // Sealed segments are summarised from their .idx when it is valid; the active one (and any
  // without a usable .idx) is walked. Which one is active is known only after the listing, so
  // the caller re-walks it if it was summarised from an .idx.
  if (!(info.has_index && summary_from_index(env, files.indexes.at(id), h, read->limit(), info)))
    SEGSTORE_TRY(fill_from_walk(*read->file, read->limit(), h, info));
  return info;
}

void describe_snapshots(io::Env &env, const StoreFiles &files, StoreDescription &desc) {
  for (const auto &[lsn, path] : files.snapshots) {
    SnapshotInfo snap;
    snap.lsn = lsn;
    snap.file = path;
    // Checked by streaming its state: the file's size is a claim, never an allocation.
    Result<log::SnapshotFileCheck> check = log::check_snapshot_file(env, path);
    format::SnapshotHeader header;
    if (!check.ok()) {
      snap.problem = check.status().to_string();
    } else if (check->error != format::SmallFileError::none) {
      snap.problem = format::small_file_error_name(check->error);
    } else {
      header = check->header;
      if (header.store_id != desc.store_id) snap.problem = "store_id is not META's";
      else if (header.lsn != lsn) snap.problem = "the file holds LSN " + std::to_string(header.lsn);
    }
    snap.state_bytes = header.state_bytes;
    desc.snapshots.push_back(std::move(snap));
  }
}

void describe_disk_usage(io::Env &env, const StoreFiles &files, StoreDescription &desc) {
  Result<std::vector<std::string>> names = env.list_dir(files.dir);
  if (!names.ok()) return;
  for (const std::string &name : *names) {
    const std::string path = format::join_path(files.dir, name);
    const bool quarantine = name == format::quarantine_dir_name;
    DiskSize size = disk_size(env, path, quarantine ? "" : name, quarantine ? &desc.quarantine : nullptr);
    desc.total_file_bytes += size.apparent;
    desc.allocated_bytes += size.allocated;
    if (format::parse_numbered_name(name, format::segment_suffix)) desc.segment_file_bytes += size.apparent;
    if (format::parse_numbered_name(name, format::index_suffix)) desc.index_file_bytes += size.apparent;
    if (name == format::snapshots_dir_name) desc.snapshot_file_bytes += size.apparent;
    if (quarantine) desc.quarantine_file_bytes += size.apparent;
  }
}

}  // namespace

Result<StoreDescription> describe_store(const std::string &dir) {
  std::shared_ptr<io::Env> env = inspection_env();
  Result<StoreFiles> listed = list_store_files(*env, dir);
  if (!listed.ok()) return listed.status();
  const StoreFiles &files = *listed;
  if (files.meta_error != format::SmallFileError::none)
    return Status(files.meta_error == format::SmallFileError::unsupported_version ? Errc::unsupported_version
                                                                                  : Errc::corruption,
                  files.meta_path + " at offset 0: " + format::small_file_error_name(files.meta_error));
  StoreDescription desc;
  desc.dir = dir;
  desc.store_id = files.meta.store_id;
  desc.min_segment_id = files.meta.min_segment_id;
  desc.lock_holder_pid = lock_holder(format::join_path(dir, format::lock_file_name));
  desc.in_use = desc.lock_holder_pid != 0;
  if (files.has_clean) {
    Result<std::vector<std::byte>> bytes =
        io::read_whole_file(*env, format::join_path(dir, format::clean_file_name), format::block_size_bytes);
    format::CleanFile clean;
    desc.clean_shutdown = bytes.ok() && format::decode_clean(*bytes, &clean) == format::SmallFileError::none &&
                          clean.store_id == desc.store_id;
  }

  for (const auto &[id, path] : files.segments) {
    Result<SegmentInfo> info = describe_segment(*env, files, id, path);
    if (!info.ok()) return info.status();
    desc.segments.push_back(std::move(*info));
  }
  // The newest segment with a readable header receives the appends: it is the active one, and
  // its records are counted from the file (an .idx beside it would be stale).
  SegmentInfo *active = nullptr;
  for (SegmentInfo &seg : desc.segments)
    if (seg.state == SegmentState::sealed) active = &seg;
  if (active != nullptr) {
    active->state = SegmentState::active;
    if (active->index_used) {
      Result<SegmentFileHeader> read = read_segment_header(*env, active->file);
      if (!read.ok()) return read.status();
      active->records_per_stream.clear();
      active->index_used = false;
      SEGSTORE_TRY(fill_from_walk(*read->file, read->limit(), read->header, *active));
    }
  }

  desc.next_lsn = files.meta.first_lsn;
  bool any = false;
  for (const SegmentInfo &seg : desc.segments) {
    if (seg.state != SegmentState::sealed && seg.state != SegmentState::active) continue;
    if (!any) desc.first_lsn = seg.base_lsn;
    any = true;
    desc.next_lsn = seg.end_lsn();
    desc.log_bytes += seg.end_offset;
    for (const auto &[stream, count] : seg.records_per_stream) desc.records_per_stream[stream] += count;
  }
  // As the engine does at open: META's trim point, within the records present.
  desc.first_lsn = any ? std::min(std::max(files.meta.first_lsn, desc.first_lsn), desc.next_lsn)
                       : files.meta.first_lsn;
  if (!any) desc.next_lsn = desc.first_lsn;

  describe_snapshots(*env, files, desc);
  describe_disk_usage(*env, files, desc);
  desc.other_files = files.others;
  return desc;
}

// ---------------------------------------------------------------------------------------------
// dump

namespace {

DumpEntry entry_of(const log::RecordAt &step, const std::uint64_t *expected) {
  DumpEntry e;
  e.offset = step.offset;
  e.header_ok = step.header_ok;
  if (step.error != format::RecordError::none) e.error = format::record_error_name(step.error);
  if (!step.header_ok) return e;
  e.lsn = step.header.lsn;
  e.stream = step.header.stream;
  e.type = static_cast<std::uint8_t>(step.header.type);
  e.payload_bytes = step.header.payload_bytes;
  e.disk_bytes = step.disk_bytes;
  e.durable_lag = step.header.durable_lag;
  e.payload_ok = step.error == format::RecordError::none || step.error == format::RecordError::lsn_out_of_order;
  e.lsn_expected = expected == nullptr || *expected == step.header.lsn;
  return e;
}

}  // namespace

namespace {

// The path of segment `segment_id` of the store at `dir`. Errors: not_found naming the
// segments there are, and list_store_files' errors.
Result<std::string> segment_path_of(io::Env &env, const std::string &dir, std::uint64_t segment_id) {
  Result<StoreFiles> files = list_store_files(env, dir);
  if (!files.ok()) return files.status();
  auto found = files->segments.find(segment_id);
  if (found != files->segments.end()) return found->second;
  std::string known;
  for (const auto &[id, path] : files->segments) known += (known.empty() ? "" : ", ") + std::to_string(id);
  return Status(Errc::not_found, "store " + dir + " has no segment " + std::to_string(segment_id) +
                                     " (segments: " + (known.empty() ? "none" : known) + ")");
}

// Hands every record from `start` to on_record until the records end, damage whose extent is
// unknown stops the walk, or on_record says stop. `expected`: the LSN expected at `start`,
// when known.
Result<DumpEnd> dump_records(io::File &file, std::uint64_t limit, std::uint64_t start,
                             std::optional<std::uint64_t> expected, std::uint32_t record_seed,
                             const std::function<bool(const DumpEntry &)> &on_record) {
  DumpEnd end;
  log::SegmentReader reader(file, limit);
  reader.set_record_seed(record_seed);
  std::uint64_t offset = start;
  end.next_lsn = expected.value_or(0);
  // Bounded: each step advances by a whole record (>= 32 bytes) or stops.
  while (true) {
    end.offset = offset;
    if (offset == limit) {
      end.reason = "end_of_segment";
      return end;
    }
    const std::uint64_t *want = expected ? &*expected : nullptr;
    Result<log::RecordAt> got = reader.read_record(offset, want);
    if (!got.ok()) return got.status();
    const log::RecordAt &step = *got;
    if (step.error == format::RecordError::zero_header) {
      end.reason = "clean_end";
      return end;
    }
    if (step.error == format::RecordError::truncated_header && step.tail_zero) {
      end.reason = "end_of_segment";
      return end;
    }
    const DumpEntry entry = entry_of(step, want);
    if (!on_record(entry)) {
      end.reason = "stopped";
      return end;
    }
    if (!step.header_ok || step.error == format::RecordError::length_past_end) {
      end.reason = entry.error;  // the next record cannot be located
      return end;
    }
    if (step.header.type == format::RecordType::padding) {
      expected = step.header.lsn;
    } else {
      expected = step.header.lsn + 1;
      end.records++;
    }
    end.next_lsn = *expected;
    offset += step.disk_bytes;
  }
}

// Whether the segment to dump has a usable header: false for a preallocated segment
// (block 0 all zero). A header that fails its checks is corruption at offset 0.
Result<bool> dump_header_usable(const std::string &path, const SegmentFileHeader &read) {
  if (read.error == format::SegmentHeaderError::unused) return false;
  if (read.error != format::SegmentHeaderError::none)
    return Status(Errc::corruption, path + " at offset 0: segment header fails its checks: " +
                                        format::segment_header_error_name(read.error));
  return true;
}

// Where the dump starts: the first record for offset 0, else `from_offset`, which must be a
// record position inside the segment's records.
Result<std::uint64_t> dump_start_offset(const std::string &path, std::uint64_t from_offset, std::uint64_t limit) {
  const std::uint64_t start = from_offset == 0 ? format::segment_data_offset_bytes : from_offset;
  if (start % format::record_alignment_bytes != 0 || start < format::segment_data_offset_bytes ||
      start > limit)
    return Status(Errc::invalid_argument, "offset " + std::to_string(from_offset) + " in " + path +
                                              " is not a record position (a multiple of " +
                                              std::to_string(format::record_alignment_bytes) + " from " +
                                              std::to_string(format::segment_data_offset_bytes) + " to " +
                                              std::to_string(limit) + ")");
  return start;
}

}  // namespace

Result<DumpEnd> dump_segment(const std::string &dir, std::uint64_t segment_id, std::uint64_t from_offset,
                             const std::function<bool(const DumpEntry &)> &on_record,
                             const std::function<void(const SegmentHeaderInfo &)> &on_header) {
  std::shared_ptr<io::Env> env = inspection_env();
  Result<std::string> found = segment_path_of(*env, dir, segment_id);
  if (!found.ok()) return found.status();
  const std::string &path = *found;
  Result<SegmentFileHeader> read = read_segment_header(*env, path);
  if (!read.ok()) return read.status();
  Result<bool> usable = dump_header_usable(path, *read);
  if (!usable.ok()) return usable.status();
  if (!*usable) {
    DumpEnd end;
    end.reason = "unused";  // block 0 all zero: preallocated, never activated
    return end;
  }
  const format::SegmentHeader &h = read->header;
  if (on_header)
    on_header(SegmentHeaderInfo{segment_id, path, h.base_lsn, h.segment_bytes, read->file_bytes, h.store_id,
                                h.created_unix_ms});
  Result<std::uint64_t> start = dump_start_offset(path, from_offset, read->limit());
  if (!start.ok()) return start.status();
  // The LSN expected next is known from the segment's start; from elsewhere, from the first record.
  std::optional<std::uint64_t> expected;
  if (*start == format::segment_data_offset_bytes) expected = h.base_lsn;
  return dump_records(*read->file, read->limit(), *start, expected, format::record_crc_seed_of(h), on_record);
}

}  // namespace segstore::inspect
