// raft/codec.cc — the byte layouts of raft/codec.h.
#include "raft/codec.h"

#include <cstring>

namespace segstore::raft_adapter {

void put_u32(std::vector<std::byte> &out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}
void put_u64(std::vector<std::byte> &out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}
std::uint32_t get_u32(const std::byte *p) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return value;
}
std::uint64_t get_u64(const std::byte *p) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return value;
}

std::vector<std::byte> encode_term_and_vote(const TermAndVote &value) {
  std::vector<std::byte> out;
  out.reserve(metadata_bytes);
  put_u32(out, metadata_version);
  put_u32(out, 0);
  put_u64(out, value.term);
  put_u64(out, value.voted_for);
  return out;
}

std::string decode_term_and_vote(std::span<const std::byte> bytes, TermAndVote *out) {
  if (bytes.size() != metadata_bytes)
    return "term/vote record of " + std::to_string(bytes.size()) + " bytes, expected " + std::to_string(metadata_bytes);
  if (get_u32(bytes.data()) != metadata_version)
    return "term/vote record version " + std::to_string(get_u32(bytes.data())) + " at offset 0 is unknown";
  if (get_u32(bytes.data() + 4) != 0) return "term/vote record: reserved bytes at offset 4 are not zero";
  out->term = get_u64(bytes.data() + 8);
  out->voted_for = get_u64(bytes.data() + 16);
  return {};
}

std::vector<std::byte> encode_snapshot_state(const raft_snapshot &snapshot) {
  std::size_t data_bytes = 0;
  for (unsigned i = 0; i < snapshot.n_bufs; ++i) data_bytes += snapshot.bufs[i].len;
  std::vector<std::byte> out;
  out.reserve(64 + data_bytes);
  put_u32(out, snapshot_state_version);
  put_u32(out, snapshot.configuration.n);
  put_u64(out, snapshot.term);
  put_u64(out, snapshot.configuration_index);
  for (unsigned i = 0; i < snapshot.configuration.n; ++i) {
    const raft_server &server = snapshot.configuration.servers[i];
    const std::size_t address_bytes = std::strlen(server.address);
    put_u64(out, server.id);
    put_u32(out, static_cast<std::uint32_t>(server.role));
    put_u32(out, static_cast<std::uint32_t>(address_bytes));
    const auto *address = reinterpret_cast<const std::byte *>(server.address);
    out.insert(out.end(), address, address + address_bytes);
  }
  put_u64(out, data_bytes);
  for (unsigned i = 0; i < snapshot.n_bufs; ++i) {
    const auto *data = static_cast<const std::byte *>(snapshot.bufs[i].base);
    out.insert(out.end(), data, data + snapshot.bufs[i].len);
  }
  return out;
}

namespace {
// Reads fields in order, refusing to read past the end (a length field may be the damaged one).
class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  bool has(std::size_t n) const { return bytes_.size() - offset_ >= n; }
  std::uint32_t u32() { offset_ += 4; return get_u32(bytes_.data() + offset_ - 4); }
  std::uint64_t u64() { offset_ += 8; return get_u64(bytes_.data() + offset_ - 8); }
  const std::byte *take(std::size_t n) { offset_ += n; return bytes_.data() + offset_ - n; }
  std::size_t offset() const { return offset_; }
  std::size_t left() const { return bytes_.size() - offset_; }

 private:
  std::span<const std::byte> bytes_;
  std::size_t offset_ = 0;
};

std::string short_at(const Reader &reader, const char *what) {
  return std::string("snapshot state ends inside ") + what + " at offset " + std::to_string(reader.offset());
}
}  // namespace

std::string decode_snapshot_state(std::span<const std::byte> bytes, raft_snapshot *out) {
  Reader reader(bytes);
  if (!reader.has(24)) return short_at(reader, "the header");
  const std::uint32_t version = reader.u32();
  if (version != snapshot_state_version) return "snapshot state version " + std::to_string(version) + " at offset 0 is unknown";
  const std::uint32_t servers = reader.u32();
  if (servers > snapshot_servers_max)
    return "snapshot state at offset 4: " + std::to_string(servers) + " servers is more than " + std::to_string(snapshot_servers_max);
  out->term = reader.u64();
  out->configuration_index = reader.u64();
  raft_configuration_init(&out->configuration);
  std::string error;
  for (std::uint32_t i = 0; i < servers && error.empty(); ++i) {
    if (!reader.has(16)) { error = short_at(reader, "a server"); break; }
    const raft_id id = reader.u64();
    const int role = static_cast<int>(reader.u32());
    const std::uint32_t address_bytes = reader.u32();
    if (address_bytes > server_address_max_bytes || !reader.has(address_bytes)) {
      error = short_at(reader, "a server address");
      break;
    }
    const std::byte *address = reader.take(address_bytes);
    const std::string address_text(reinterpret_cast<const char *>(address), address_bytes);
    if (raft_configuration_add(&out->configuration, id, address_text.c_str(), role) != 0)
      error = "snapshot state at offset " + std::to_string(reader.offset()) + ": server " + std::to_string(id) +
              " is not a valid member";
  }
  std::uint64_t data_bytes = 0;
  if (error.empty() && !reader.has(8)) error = short_at(reader, "the data length");
  if (error.empty()) {
    data_bytes = reader.u64();
    if (data_bytes != reader.left())
      error = "snapshot state at offset " + std::to_string(reader.offset() - 8) + ": data length " +
              std::to_string(data_bytes) + " but " + std::to_string(reader.left()) + " bytes follow";
  }
  if (!error.empty()) {
    raft_configuration_close(&out->configuration);
    return error;
  }
  out->bufs = static_cast<raft_buffer *>(raft_malloc(sizeof(raft_buffer)));
  void *data = raft_malloc(data_bytes > 0 ? data_bytes : 1);
  if (out->bufs == nullptr || data == nullptr) {
    raft_free(out->bufs);
    raft_free(data);
    raft_configuration_close(&out->configuration);
    return "out of memory for a snapshot of " + std::to_string(data_bytes) + " bytes";
  }
  if (data_bytes > 0) std::memcpy(data, reader.take(data_bytes), data_bytes);
  out->bufs[0] = raft_buffer{data, data_bytes};
  out->n_bufs = 1;
  return {};
}

}  // namespace segstore::raft_adapter
