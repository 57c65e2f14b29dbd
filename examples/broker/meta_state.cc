// examples/broker/meta_state.cc — meta records and snapshots: encoding, checked decoding, apply.
#include "meta_state.h"

#include <algorithm>

namespace broker {

namespace {
constexpr char snapshot_magic[4] = {'B', 'R', 'K', '1'};
constexpr std::size_t topic_fixed_bytes = 7;    // kind, stream, name length
constexpr std::size_t commit_fixed_bytes = 15;  // kind, stream, offset, group length

class Writer {
 public:
  void u8(std::uint8_t v) { out.push_back(static_cast<std::byte>(v)); }
  void u16(std::uint16_t v) { le(v, 2); }
  void u32(std::uint32_t v) { le(v, 4); }
  void u64(std::uint64_t v) { le(v, 8); }
  void name(const std::string &s) {
    u16(static_cast<std::uint16_t>(s.size()));
    for (char c : s) out.push_back(static_cast<std::byte>(c));
  }
  std::vector<std::byte> out;

 private:
  void le(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
  }
};

// Reads fields in order; the first read past the end sets `short_` and every later read gives 0.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(le(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  // A name: its length is checked against the bytes left before it is used.
  std::string name() {
    const std::size_t len = u16();
    if (short_ || in_.size() - at_ < len) {
      short_ = true;
      return std::string();
    }
    std::string s(reinterpret_cast<const char *>(in_.data() + at_), len);
    at_ += len;
    return s;
  }
  bool cut_short() const { return short_; }
  std::size_t left() const { return in_.size() - at_; }

 private:
  std::uint64_t le(std::size_t bytes) {
    if (short_ || in_.size() - at_ < bytes) {
      short_ = true;
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(in_[at_ + i]) << (8 * i);
    at_ += bytes;
    return v;
  }
  std::span<const std::byte> in_;
  std::size_t at_ = 0;
  bool short_ = false;
};
}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > name_bytes_max) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  return true;
}

std::vector<std::byte> encode_meta_record(const MetaRecord &record) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(record.kind));
  w.u32(record.stream);
  if (record.kind == MetaRecord::Kind::commit) w.u64(record.offset);
  w.name(record.name);
  return std::move(w.out);
}

std::optional<MetaRecord> decode_meta_record(std::span<const std::byte> bytes, std::string *why) {
  Reader r(bytes);
  MetaRecord record;
  const char kind = static_cast<char>(r.u8());
  if (kind != 'T' && kind != 'C') {
    *why = bytes.empty() ? "empty record" : "unknown kind " + std::to_string(static_cast<unsigned char>(kind));
    return std::nullopt;
  }
  record.kind = static_cast<MetaRecord::Kind>(kind);
  record.stream = r.u32();
  if (record.kind == MetaRecord::Kind::commit) record.offset = r.u64();
  record.name = r.name();
  const std::size_t fixed = record.kind == MetaRecord::Kind::commit ? commit_fixed_bytes : topic_fixed_bytes;
  if (r.cut_short()) {
    *why = "record of " + std::to_string(bytes.size()) + " bytes cut short (at least " + std::to_string(fixed) +
           " expected)";
    return std::nullopt;
  }
  if (r.left() != 0) {
    *why = std::to_string(r.left()) + " bytes after the name";
    return std::nullopt;
  }
  if (!valid_name(record.name) || record.stream == 0) {
    *why = "bad name or stream 0";
    return std::nullopt;
  }
  return record;
}

bool MetaState::apply(const MetaRecord &record, std::uint64_t lsn, std::string *why) {
  if (record.kind == MetaRecord::Kind::topic) {
    if (topics_.count(record.name) != 0 || record.stream < next_stream_) {
      *why = "topic '" + record.name + "' or stream " + std::to_string(record.stream) + " already exists";
      return false;
    }
    topics_.emplace(record.name, record.stream);
    next_stream_ = record.stream + 1;
    return true;
  }
  if (record.stream >= next_stream_) {
    *why = "commit for unknown stream " + std::to_string(record.stream);
    return false;
  }
  commits_[{record.name, record.stream}] = Commit{record.offset, lsn};
  return true;
}

std::optional<std::uint32_t> MetaState::stream_of(std::string_view topic) const {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> MetaState::committed(std::string_view group,
                                                                           std::uint32_t stream) const {
  auto it = commits_.find({std::string(group), stream});
  if (it == commits_.end()) return std::nullopt;
  return std::make_pair(it->second.offset, it->second.record_lsn);
}

std::map<std::pair<std::string, std::uint32_t>, std::uint64_t> MetaState::offsets_only() const {
  std::map<std::pair<std::string, std::uint32_t>, std::uint64_t> out;
  for (const auto &[key, commit] : commits_) out.emplace(key, commit.offset);
  return out;
}

std::vector<std::byte> MetaState::encode_snapshot() const {
  Writer w;
  for (char c : snapshot_magic) w.u8(static_cast<std::uint8_t>(c));
  w.u32(static_cast<std::uint32_t>(topics_.size()));
  for (const auto &[name, stream] : topics_) {
    w.u32(stream);
    w.name(name);
  }
  w.u32(static_cast<std::uint32_t>(commits_.size()));
  for (const auto &[key, commit] : commits_) {
    w.u32(key.second);
    w.u64(commit.offset);
    w.name(key.first);
  }
  return std::move(w.out);
}

std::optional<MetaState> MetaState::decode_snapshot(std::span<const std::byte> bytes, std::string *why) {
  Reader r(bytes);
  for (char c : snapshot_magic)
    if (r.u8() != static_cast<std::uint8_t>(c)) {
      *why = "not a broker snapshot (magic)";
      return std::nullopt;
    }
  MetaState state;
  // Counts are bounded by the bytes left (each entry takes at least 7 bytes), so a damaged
  // count cannot make the loops run for long.
  const std::uint32_t topics = r.u32();
  for (std::uint32_t i = 0; i < topics && !r.cut_short(); ++i) {
    MetaRecord record{MetaRecord::Kind::topic, r.u32(), 0, ""};
    record.name = r.name();
    if (r.cut_short()) break;
    // Snapshots list topics by name, so stream ids need not ascend here.
    if (!valid_name(record.name) || record.stream == 0 || state.topics_.count(record.name) != 0) {
      *why = "topic entry " + std::to_string(i) + " is invalid";
      return std::nullopt;
    }
    state.topics_.emplace(record.name, record.stream);
    state.next_stream_ = std::max(state.next_stream_, record.stream + 1);
  }
  const std::uint32_t commits = r.u32();
  for (std::uint32_t i = 0; i < commits && !r.cut_short(); ++i) {
    const std::uint32_t stream = r.u32();
    const std::uint64_t offset = r.u64();
    std::string group = r.name();
    if (r.cut_short()) break;
    if (!valid_name(group) || stream == 0 || stream >= state.next_stream_) {
      *why = "commit entry " + std::to_string(i) + " is invalid";
      return std::nullopt;
    }
    state.commits_[{std::move(group), stream}] = Commit{offset, 0};
  }
  if (r.cut_short()) {
    *why = "snapshot of " + std::to_string(bytes.size()) + " bytes cut short";
    return std::nullopt;
  }
  if (r.left() != 0) {
    *why = std::to_string(r.left()) + " bytes after the last entry";
    return std::nullopt;
  }
  return state;
}

}  // namespace broker
