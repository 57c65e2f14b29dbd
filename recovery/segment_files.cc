// recovery/segment_files.cc — see recovery/segment_files.h.
#include "recovery/segment_files.h"

#include <algorithm>
#include <vector>

#include "base/assert.h"
#include "format/store_dir.h"
#include "format/endian.h"
#include "format/index_snapshot.h"
#include "format/layout.h"
#include "log/segment_file.h"
#include "log/segment_scan.h"

namespace segstore::recovery {
namespace {

// Classifies a segment whose header decoded: this store's, named as its file, and long enough.
void classify_decoded(SegmentFile &seg, std::uint64_t store_id) {
  seg.header_decoded = true;
  seg.limit = std::min(seg.file_bytes, seg.header.segment_bytes);
  // Invariant: every read of the segment's records is bounded by the file as it is now.
  SEGSTORE_ASSERT(seg.limit <= seg.file_bytes, "segment limit past the file's end");
  if (seg.header.store_id != store_id) {
    seg.bad.reason = CutReason::store_id_mismatch;
    seg.bad.detail = "store_id " + std::to_string(seg.header.store_id) + ", META says " + std::to_string(store_id);
  } else if (seg.header.segment_id != seg.id) {
    seg.bad.reason = CutReason::segment_id_mismatch;
    seg.bad.detail = "its header says segment " + std::to_string(seg.header.segment_id);
  } else if (seg.limit < format::segment_data_offset_bytes) {
    seg.bad.reason = CutReason::segment_header_damaged;
    seg.bad.header_error = format::SegmentHeaderError::too_short;
    seg.bad.detail = "the file holds " + std::to_string(seg.file_bytes) + " bytes, less than its header block";
  } else if (seg.header.spare()) {
    seg.state = FileState::unused;
    seg.spare = true;
  } else {
    seg.state = FileState::used;
  }
}

// The snapshot's body must fit what the scan adds after it: entries ending before end_offset
// and below record_count (log::SegmentIndex's order invariant), stream counts adding up.
// A segment's names and paths, before anything of it is read.
SegmentFile named_segment_file(const std::string &dir, std::uint64_t id) {
  SegmentFile seg;
  seg.id = id;
  seg.name = format::numbered_name(id, format::segment_suffix);
  seg.path = format::join_path(dir, seg.name);
  seg.index_path = format::join_path(dir, format::numbered_name(id, format::index_suffix));
  seg.bad.file = seg.name;
  return seg;
}

bool body_consistent(const format::IndexHeader &h, const format::IndexBody &body) {
  std::uint64_t stream_records = 0;
  for (const auto &s : body.streams) stream_records += s.record_count;
  if (stream_records != h.record_count || body.entries.empty() != (h.record_count == 0)) return false;
  return body.entries.empty() ||
         (body.entries.back().lsn_delta < h.record_count && body.entries.back().offset < h.end_offset &&
          body.entries.front().offset >= format::segment_data_offset_bytes);
}

}  // namespace

Result<SegmentFile> open_segment_file(io::Env &env, const std::string &dir, std::uint64_t id,
                                      std::uint64_t store_id) {
  SegmentFile seg = named_segment_file(dir, id);
  Result<log::SegmentFileHeader> opened = log::open_segment_file(env, seg.path, log::checking_open_flags());
  if (!opened.ok()) return opened.status();
  seg.file = std::move(opened->file);
  seg.file_bytes = opened->file_bytes;
  if (opened->block0_all_zero) {
    seg.state = FileState::unused;
    return seg;
  }
  const format::SegmentHeaderError error = opened->error;
  seg.header = opened->header;
  // A newer format is not damage: cutting or quarantining it would destroy data this build
  // merely cannot read.
  if (error == format::SegmentHeaderError::unsupported_version)
    return Status(Errc::unsupported_version,
                  "segment " + seg.path + ": format version not supported by this build (block 0)");
  if (error != format::SegmentHeaderError::none) {
    seg.bad.reason = CutReason::segment_header_damaged;
    seg.bad.header_error = error;
    return seg;
  }
  classify_decoded(seg, store_id);
  return seg;
}

namespace {

// The header of an index snapshot from its first bytes (fewer than 80 if the file is shorter).
IndexProbe probe_index_head(std::span<const std::byte> head) {
  IndexProbe probe;
  probe.present = true;
  probe.error = format::decode_index_header(head.first(std::min<std::size_t>(head.size(), format::index_header_bytes)), &probe.header);
  return probe;
}

// The header of an opened index snapshot: one read of its first 80 bytes.
Result<IndexProbe> probe_open_index(io::File &file) {
  std::vector<std::byte> bytes(format::index_header_bytes);
  Result<std::size_t> got = file.read_at(0, bytes);
  if (!got.ok()) return got.status();
  return probe_index_head(std::span<const std::byte>(bytes.data(), *got));
}

}  // namespace

Result<std::optional<SegmentFile>> defer_segment_file(io::Env &env, const std::string &dir, std::uint64_t id,
                                                      std::uint64_t store_id, std::uint64_t next_base_lsn,
                                                      const std::vector<std::byte> *index_head) {
  SegmentFile seg = named_segment_file(dir, id);
  Result<IndexProbe> probe = IndexProbe{};
  if (index_head != nullptr) {
    probe = probe_index_head(*index_head);
  } else {
    // The listing named the .idx: it is opened straight away (O_NOFOLLOW, a regular file only).
    // If that fails, whatever the reason, the segment is opened as after a crash, whose probe
    // reports what is wrong.
    Result<std::unique_ptr<io::File>> file = env.open_file(seg.index_path, io::OpenFlags{});
    if (!file.ok()) return std::optional<SegmentFile>();
    probe = probe_open_index(**file);
    if (!probe.ok()) return probe.status();
  }
  const format::IndexHeader &h = probe->header;
  if (probe->error != format::IndexError::none) return std::optional<SegmentFile>();
  // The identity recovery would have read from block 0 is taken from the snapshot; the limit
  // is its own end (the file's size and the header's segment_bytes are checked at first use).
  seg.deferred = true;
  seg.deferred_probe = *probe;
  seg.header.segment_id = id;
  seg.header.store_id = store_id;
  seg.header.base_lsn = h.base_lsn;
  seg.header_decoded = true;
  seg.limit = h.end_offset;
  seg.state = FileState::used;
  if (index_distrust(*probe, segment_identity(seg, store_id), &next_base_lsn)) return std::optional<SegmentFile>();
  return std::optional<SegmentFile>(std::move(seg));
}

SegmentIdentity segment_identity(const SegmentFile &seg, std::uint64_t store_id) {
  return {seg.id, seg.header.base_lsn, store_id, seg.limit};
}

Result<IndexProbe> probe_index(io::Env &env, const std::string &path) {
  Result<io::FileKind> kind = env.file_kind(path);
  if (!kind.ok()) return kind.status();
  if (*kind != io::FileKind::regular) return IndexProbe{};
  Result<std::unique_ptr<io::File>> file = env.open_file(path, io::OpenFlags{});
  if (!file.ok()) return file.status();
  return probe_open_index(**file);
}

Result<std::optional<LoadedIndex>> load_last_index(io::Env &env, const SegmentFile &seg,
                                                   std::uint64_t store_id) {
  Result<IndexProbe> probe = probe_index(env, seg.index_path);
  if (!probe.ok()) return probe.status();
  if (index_distrust(*probe, segment_identity(seg, store_id), nullptr)) return std::optional<LoadedIndex>();
  const format::IndexHeader &h = probe->header;
  // Bounded before allocating: a snapshot's body is a few bytes per block and stream, never
  // more than the segment it describes.
  if (h.body_bytes > seg.limit) return std::optional<LoadedIndex>();
  Result<std::unique_ptr<io::File>> file = env.open_file(seg.index_path, io::OpenFlags{});
  if (!file.ok()) return file.status();
  Result<std::uint64_t> size = (*file)->size();
  if (!size.ok()) return size.status();
  if (*size != format::index_header_bytes + h.body_bytes) return std::optional<LoadedIndex>();
  std::vector<std::byte> bytes(*size);
  Result<std::size_t> got = (*file)->read_at(0, bytes);
  if (!got.ok()) return got.status();
  format::IndexHeader header;
  format::IndexBody body;
  if (*got != bytes.size() || format::decode_index_snapshot(bytes, &header, &body) != format::IndexError::none ||
      !body_consistent(h, body))
    return std::optional<LoadedIndex>();
  Result<log::SegmentIndex> index = log::SegmentIndex::from_body(header, body, seg.index_path);
  if (!index.ok()) return std::optional<LoadedIndex>();
  LoadedIndex loaded;
  // The snapshot must still describe the bytes: walk from its last entry to its end_offset.
  // A tail zeroed after the snapshot was written (a crash inside truncate_after, or inside a
  // cut, between the zeroing and the snapshot's removal) would otherwise be believed, and the
  // scan from end_offset would find only zeros.
  if (h.record_count != 0) {
    log::ScanRequest check;
    check.file = seg.file.get();
    check.limit = h.end_offset;
    check.base_lsn = seg.header.base_lsn;
    check.start_offset = body.entries.back().offset;
    check.start_lsn = seg.header.base_lsn + body.entries.back().lsn_delta;
    check.record_seed = seg.record_seed();
    check.recycled = seg.header.recycled();
    Result<log::ScanResult> walked = log::scan_segment(check);
    if (!walked.ok()) return walked.status();
    loaded.bytes_read = walked->bytes_read;
    if (walked->damaged() || walked->end_offset != h.end_offset ||
        walked->next_lsn != seg.header.base_lsn + h.record_count)
      return std::optional<LoadedIndex>();
  }
  loaded.index = std::move(*index);
  loaded.record_count = h.record_count;
  loaded.end_offset = h.end_offset;
  return std::optional<LoadedIndex>(std::move(loaded));
}

}  // namespace segstore::recovery
