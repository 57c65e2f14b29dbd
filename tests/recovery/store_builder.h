// tests/recovery/store_builder.h — builds store directories byte by byte with the format
// encoders, laid out the way engine/append.cc writes them: block 0 the segment header,
// records from 4096, a padding record at every flush point so the next group starts on a block
// boundary, never-written space zero, an index snapshot beside every sealed segment. Tests then
// damage the files (recovery/damage.h) and run recover_log on them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

#include "log/segment_index.h"
#include "format/store_dir.h"
#include "format/index_snapshot.h"
#include "format/layout.h"
#include "format/record.h"
#include "format/segment_header.h"
#include "format/small_files.h"

namespace segstore::recovery::testing {

using Bytes = std::vector<std::byte>;

inline constexpr std::uint64_t test_store_id = 0x5e65'7a0c'1d2e'3f40ull;
inline constexpr std::uint64_t test_segment_bytes = 64 * 1024;

// Deterministic payload bytes of the record with LSN `lsn`.
inline Bytes payload_of(std::uint64_t lsn, std::size_t size) {
  Bytes bytes(size);
  std::uint64_t x = lsn * 0x9E3779B97F4A7C15ull + 7;
  for (auto &b : bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::byte>(x);
  }
  return bytes;
}

inline Bytes read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes bytes(all.size());
  if (!all.empty()) std::memcpy(bytes.data(), all.data(), all.size());
  return bytes;
}

inline void write_file(const std::string &path, const Bytes &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

// One record or padding as laid out in a segment.
struct Extent {
  std::uint64_t segment_id = 0;
  std::uint64_t offset = 0;
  std::uint64_t disk_bytes = 0;
  format::RecordType type = format::RecordType::full;
  std::uint64_t lsn = 0;  // padding: the LSN of the next record
  std::uint32_t stream = 0;
  std::uint32_t durable_lag = 0;
  std::uint64_t payload_bytes = 0;
  bool is_padding() const { return type == format::RecordType::padding; }
  std::uint64_t end() const { return offset + disk_bytes; }
};

struct BuiltSegment {
  std::uint64_t id = 0;
  std::uint64_t base_lsn = 0;
  Bytes data;
  std::uint64_t end_offset = format::segment_data_offset_bytes;
  std::uint64_t record_count = 0;
  log::SegmentIndex index;
  bool unused = false;  // preallocated, never activated (all zero)
  std::uint64_t end_lsn() const { return base_lsn + record_count; }
};

class StoreBuilder {
 public:
  explicit StoreBuilder(std::string dir, std::uint64_t segment_bytes = test_segment_bytes,
                        std::uint64_t first_lsn = 0)
      : dir_(std::move(dir)), segment_bytes_(segment_bytes), next_lsn_(first_lsn), durable_lsn_(first_lsn) {
    meta_.store_id = test_store_id;
    meta_.first_lsn = first_lsn;
    meta_.min_segment_id = 1;
  }

  // Appends a `full` record; returns its LSN. Rolls to a new segment when it does not fit.
  std::uint64_t append(std::size_t payload_bytes, std::uint32_t stream = 0) {
    return append_typed(payload_bytes, stream, format::RecordType::full);
  }
  // Appends an atomic batch of `count` >= 2 records; returns the first LSN.
  std::uint64_t append_batch(std::size_t count, std::size_t payload_bytes, std::uint32_t stream = 0) {
    ensure_room(count * format::record_disk_bytes(payload_bytes));
    const std::uint64_t first = next_lsn_;
    for (std::size_t i = 0; i < count; ++i) {
      const auto type = i == 0 ? format::RecordType::batch_first
                        : i + 1 == count ? format::RecordType::batch_last
                                         : format::RecordType::batch_middle;
      append_typed(payload_bytes, stream, type, /*check_room=*/false);
    }
    return first;
  }
  // A sync point: pads to the block boundary as pad_group_locked does; all is durable after.
  void flush() {
    if (segments_.empty() || segments_.back().unused) return;
    BuiltSegment &seg = segments_.back();
    const std::uint64_t pos = seg.end_offset;
    const std::uint64_t block_end = format::align_up(pos, format::block_size_bytes);
    std::uint64_t pad = block_end - pos;
    if (pad != 0 && pad < format::record_header_bytes) {
      if (block_end + format::block_size_bytes > segment_bytes_) pad = 0;  // zeros to the end
      else pad += format::block_size_bytes;
    }
    if (pad != 0) {
      format::encode_padding(next_lsn_, pad, seg.data.data() + pos);
      extents_.push_back({seg.id, pos, pad, format::RecordType::padding, next_lsn_, 0, 0, pad - 32});
      seg.end_offset += pad;
    }
    durable_lsn_ = next_lsn_;
  }
  // Flushes and starts the next segment (its header is written with its first record).
  void roll() {
    flush();
    start_segment();
  }
  // Adds a preallocated, never-activated segment (all zero) with the next id.
  void add_unused() {
    flush();
    BuiltSegment seg;
    seg.id = next_id_++;
    seg.unused = true;
    seg.data.assign(segment_bytes_, std::byte{0});
    segments_.push_back(std::move(seg));
  }
  void skip_segment_id() { next_id_++; }

  // Writes META and every segment file; an index snapshot for each sealed segment (and for the
  // last one too with index_last, as a clean close does).
  void write(bool index_sealed = true, bool index_last = false) const {
    write_file(format::join_path(dir_, format::meta_file_name), format::encode_meta(meta_));
    std::size_t last_used = 0;
    for (std::size_t i = 0; i < segments_.size(); ++i)
      if (!segments_[i].unused) last_used = i;
    for (std::size_t i = 0; i < segments_.size(); ++i) {
      const BuiltSegment &seg = segments_[i];
      write_file(segment_path(seg.id), seg.data);
      if (seg.unused) continue;
      if ((i < last_used && index_sealed) || (i == last_used && index_last))
        write_file(index_path(seg.id), index_bytes(seg));
    }
  }

  Bytes index_bytes(const BuiltSegment &seg) const {
    format::IndexHeader header;
    header.format_version = format::format_version;
    header.segment_id = seg.id;
    header.base_lsn = seg.base_lsn;
    header.store_id = meta_.store_id;
    header.record_count = seg.record_count;
    header.end_offset = static_cast<std::uint32_t>(seg.end_offset);
    return format::encode_index_snapshot(header, seg.index.to_body());
  }

  std::string segment_path(std::uint64_t id) const {
    return format::join_path(dir_, format::numbered_name(id, format::segment_suffix));
  }
  std::string index_path(std::uint64_t id) const {
    return format::join_path(dir_, format::numbered_name(id, format::index_suffix));
  }
  static std::string segment_name(std::uint64_t id) { return format::numbered_name(id, format::segment_suffix); }

  format::MetaFile &meta() { return meta_; }
  const format::MetaFile &meta() const { return meta_; }
  const std::string &dir() const { return dir_; }
  std::uint64_t next_lsn() const { return next_lsn_; }
  std::uint64_t segment_bytes() const { return segment_bytes_; }
  const std::vector<BuiltSegment> &segments() const { return segments_; }
  const BuiltSegment &segment(std::uint64_t id) const {
    for (const auto &s : segments_)
      if (s.id == id) return s;
    throw std::runtime_error("no segment " + std::to_string(id));
  }
  const BuiltSegment &last_used() const {
    for (auto it = segments_.rbegin(); it != segments_.rend(); ++it)
      if (!it->unused) return *it;
    throw std::runtime_error("no used segment");
  }
  // Records and paddings in write order.
  const std::vector<Extent> &extents() const { return extents_; }
  std::vector<Extent> records() const {
    std::vector<Extent> out;
    for (const Extent &e : extents_)
      if (!e.is_padding()) out.push_back(e);
    return out;
  }
  std::vector<Extent> extents_of(std::uint64_t segment_id) const {
    std::vector<Extent> out;
    for (const Extent &e : extents_)
      if (e.segment_id == segment_id) out.push_back(e);
    return out;
  }
  const Extent &record(std::uint64_t lsn) const {
    for (const Extent &e : extents_)
      if (!e.is_padding() && e.lsn == lsn) return e;
    throw std::runtime_error("no record " + std::to_string(lsn));
  }

 private:
  // Room a group keeps for the padding that closes it (append.cc padding_reserve_bytes).
  static constexpr std::uint64_t padding_reserve_bytes = format::block_size_bytes + format::record_header_bytes;

  void start_segment() {
    BuiltSegment seg;
    seg.id = next_id_++;
    seg.base_lsn = next_lsn_;
    seg.data.assign(segment_bytes_, std::byte{0});
    format::SegmentHeader header;
    header.format_version = format::format_version;
    header.block_size_bytes = format::block_size_bytes;
    header.segment_id = seg.id;
    header.base_lsn = seg.base_lsn;
    header.segment_bytes = segment_bytes_;
    header.created_unix_ms = 1795000000000ull + seg.id;
    header.store_id = meta_.store_id;
    format::encode_segment_header(header, seg.data.data());
    segments_.push_back(std::move(seg));
  }
  void ensure_room(std::uint64_t disk_bytes) {
    if (segments_.empty() || segments_.back().unused) {
      start_segment();
      return;
    }
    if (segments_.back().end_offset + disk_bytes + padding_reserve_bytes > segment_bytes_) roll();
  }
  std::uint64_t append_typed(std::size_t payload_bytes, std::uint32_t stream, format::RecordType type,
                             bool check_room = true) {
    if (check_room) ensure_room(format::record_disk_bytes(payload_bytes));
    BuiltSegment &seg = segments_.back();
    const Bytes payload = payload_of(next_lsn_, payload_bytes);
    format::RecordHeader header;
    header.lsn = next_lsn_;
    header.stream = stream;
    header.type = type;
    header.durable_lag = static_cast<std::uint32_t>(std::min<std::uint64_t>(next_lsn_ - durable_lsn_, UINT32_MAX));
    const std::uint64_t disk = format::encode_record(header, payload, seg.data.data() + seg.end_offset);
    extents_.push_back({seg.id, seg.end_offset, disk, type, next_lsn_, stream, header.durable_lag, payload_bytes});
    seg.index.add_record(next_lsn_ - seg.base_lsn, static_cast<std::uint32_t>(seg.end_offset), stream);
    seg.end_offset += disk;
    seg.record_count++;
    return next_lsn_++;
  }

  std::string dir_;
  std::uint64_t segment_bytes_;
  format::MetaFile meta_;
  std::uint64_t next_lsn_;
  std::uint64_t durable_lsn_;
  std::uint64_t next_id_ = 1;
  std::vector<BuiltSegment> segments_;
  std::vector<Extent> extents_;
};

}  // namespace segstore::recovery::testing
