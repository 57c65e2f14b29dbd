// examples/broker/meta_state.h — the broker's metadata: which stream holds which topic, and the
// consumer groups' committed offsets; its records (in the store's meta stream) and its snapshot.
//
// The metadata is a state machine over the records of the meta stream: replaying them in LSN
// order, from an empty state or from a snapshot, gives the same state. Decoding never trusts a
// length before checking it against what is left, and a record or snapshot that fails to decode
// is reported (why), never half-applied.
//
// Thread-safety: none; the Broker guards it with its meta mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace broker {

// Topic and group names: 1..name_bytes_max of [A-Za-z0-9._-].
constexpr std::size_t name_bytes_max = 200;
bool valid_name(std::string_view name);

// One record of the meta stream.
//   topic created   offset size field
//                   0      1    kind 'T'
//                   1      4    stream id (little endian)
//                   5      2    name length L
//                   7      L    topic name
//   offset commit   0      1    kind 'C'
//                   1      4    the topic's stream id
//                   5      8    committed offset (the LSN of the last message processed)
//                   13     2    group length L
//                   15     L    group name
// Nothing may follow the name.
struct MetaRecord {
  enum class Kind : char { topic = 'T', commit = 'C' } kind = Kind::topic;
  std::uint32_t stream = 0;
  std::uint64_t offset = 0;  // commit only
  std::string name;          // topic name (topic) or group name (commit)
};

std::vector<std::byte> encode_meta_record(const MetaRecord &record);
// The record, or nothing with *why set (too short, unknown kind, bad name, trailing bytes).
std::optional<MetaRecord> decode_meta_record(std::span<const std::byte> bytes, std::string *why);

class MetaState {
 public:
  // Applies a decoded record found at `lsn`; false with *why when it contradicts the state (a
  // stream id or topic name already taken, a commit for an unknown stream): the caller skips it.
  bool apply(const MetaRecord &record, std::uint64_t lsn, std::string *why);

  std::optional<std::uint32_t> stream_of(std::string_view topic) const;
  std::uint32_t next_stream() const { return next_stream_; }
  // The committed offset and the LSN of the commit record that set it.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> committed(std::string_view group, std::uint32_t stream) const;
  std::size_t topic_count() const { return topics_.size(); }
  std::size_t commit_count() const { return commits_.size(); }

  // Snapshot layout (little endian):
  //   0  4  magic "BRK1"
  //   4  4  topic count T, then T times: u32 stream, u16 length, name
  //   .. 4  commit count C, then C times: u32 stream, u64 offset, u16 length, group
  // The commit-record LSNs are not kept: a snapshot only holds durable commits.
  std::vector<std::byte> encode_snapshot() const;
  static std::optional<MetaState> decode_snapshot(std::span<const std::byte> bytes, std::string *why);

  bool operator==(const MetaState &other) const {
    return topics_ == other.topics_ && offsets_only() == other.offsets_only();
  }

 private:
  struct Commit {
    std::uint64_t offset = 0;
    std::uint64_t record_lsn = 0;  // 0 when it came from a snapshot (durable then)
  };
  std::map<std::pair<std::string, std::uint32_t>, std::uint64_t> offsets_only() const;

  std::map<std::string, std::uint32_t, std::less<>> topics_;
  std::map<std::pair<std::string, std::uint32_t>, Commit> commits_;  // (group, stream)
  std::uint32_t next_stream_ = 1;  // stream 0 is the meta stream itself
};

}  // namespace broker
