// examples/replicated_log/state_machine.cc — see state_machine.h.
#include "state_machine.h"

#include <cstring>

namespace replicated_log {
namespace {

void put_u32(std::string &out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
bool get_u32(const std::string &in, std::size_t &at, std::uint32_t *v) {
  if (in.size() - at < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  at += 4;
  return true;
}
void put_string(std::string &out, const std::string &s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}
bool get_string(const std::string &in, std::size_t &at, std::string *s) {
  std::uint32_t n = 0;
  if (!get_u32(in, at, &n) || in.size() - at < n) return false;
  *s = in.substr(at, n);
  at += n;
  return true;
}

}  // namespace

namespace {
// Pads a command with zeros to a multiple of 8 bytes. raft 0.15 damages the data of entries
// whose length is not a multiple of 8 on some replication paths (after a follower truncated its
// log, or when a restarted server catches up): their bytes arrive shifted. Whole words travel
// intact (docs/REPLICATION.md, "Limits").
std::string padded(std::string command) {
  command.resize((command.size() + 7) / 8 * 8, '\0');
  return command;
}
}  // namespace

std::string encode_put(const std::string &key, const std::string &value) {
  std::string out = "P";
  put_string(out, key);
  put_string(out, value);
  return padded(out);
}

std::string encode_append(const std::string &value) {
  std::string out = "A";
  put_string(out, value);
  return padded(out);
}

StateMachine::StateMachine() {
  fsm_.version = 1;
  fsm_.data = this;
  fsm_.apply = &StateMachine::apply;
  fsm_.snapshot = &StateMachine::snapshot;
  fsm_.restore = &StateMachine::restore;
}

int StateMachine::apply(raft_fsm *fsm, const raft_buffer *buf, void **result) {
  auto &self = *static_cast<StateMachine *>(fsm->data);
  *result = nullptr;
  const std::string command(static_cast<const char *>(buf->base), buf->len);
  if (command.empty()) return RAFT_MALFORMED;
  std::size_t at = 1;
  if (command[0] == 'A') {
    std::string value;
    if (!get_string(command, at, &value)) return RAFT_MALFORMED;
    self.appended_.push_back(value);
    return 0;
  }
  std::string key, value;
  if (command[0] != 'P' || !get_string(command, at, &key) || !get_string(command, at, &value)) return RAFT_MALFORMED;
  self.values_[key] = value;
  return 0;
}

// The snapshot: count of pairs, pairs, count of appended values, values (strings length-prefixed).
int StateMachine::snapshot(raft_fsm *fsm, raft_buffer *bufs[], unsigned *n_bufs) {
  auto &self = *static_cast<StateMachine *>(fsm->data);
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(self.values_.size()));
  for (const auto &[key, value] : self.values_) {
    put_string(out, key);
    put_string(out, value);
  }
  put_u32(out, static_cast<std::uint32_t>(self.appended_.size()));
  for (const std::string &value : self.appended_) put_string(out, value);
  *bufs = static_cast<raft_buffer *>(raft_malloc(sizeof(raft_buffer)));
  if (*bufs == nullptr) return RAFT_NOMEM;
  (*bufs)[0].base = raft_malloc(out.size());
  if ((*bufs)[0].base == nullptr) {
    raft_free(*bufs);
    return RAFT_NOMEM;
  }
  std::memcpy((*bufs)[0].base, out.data(), out.size());
  (*bufs)[0].len = out.size();
  *n_bufs = 1;
  return 0;
}

int StateMachine::restore(raft_fsm *fsm, raft_buffer *buf) {
  auto &self = *static_cast<StateMachine *>(fsm->data);
  const std::string in(static_cast<const char *>(buf->base), buf->len);
  raft_free(buf->base);
  std::map<std::string, std::string> values;
  std::vector<std::string> appended;
  std::size_t at = 0;
  std::uint32_t n = 0;
  if (!get_u32(in, at, &n)) return RAFT_MALFORMED;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string key, value;
    if (!get_string(in, at, &key) || !get_string(in, at, &value)) return RAFT_MALFORMED;
    values[key] = value;
  }
  if (!get_u32(in, at, &n)) return RAFT_MALFORMED;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string value;
    if (!get_string(in, at, &value)) return RAFT_MALFORMED;
    appended.push_back(value);
  }
  self.values_ = std::move(values);
  self.appended_ = std::move(appended);
  self.restores_++;
  return 0;
}

}  // namespace replicated_log
