// tests/raft/command_fsm.cc — see tests/raft/command_fsm.h.
#include "raft/command_fsm.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace segstore::raft_sim {
namespace {

int fsm_apply(raft_fsm *fsm, const raft_buffer *buf, void **result) {
  auto &machine = *static_cast<CommandFsm *>(fsm->data);
  machine.applied.emplace_back(static_cast<const char *>(buf->base), buf->len);
  *result = nullptr;
  return 0;
}

int fsm_snapshot(raft_fsm *fsm, raft_buffer *bufs[], unsigned *n_bufs) {
  auto &machine = *static_cast<CommandFsm *>(fsm->data);
  std::string encoded;
  for (const std::string &command : machine.applied) {
    const auto length = static_cast<std::uint32_t>(command.size());
    encoded.append(reinterpret_cast<const char *>(&length), sizeof length);
    encoded += command;
  }
  *bufs = static_cast<raft_buffer *>(raft_malloc(sizeof(raft_buffer)));
  (*bufs)[0].base = raft_malloc(std::max<std::size_t>(encoded.size(), 1));
  (*bufs)[0].len = encoded.size();
  std::memcpy((*bufs)[0].base, encoded.data(), encoded.size());
  *n_bufs = 1;
  return 0;
}

int fsm_restore(raft_fsm *fsm, raft_buffer *buf) {
  auto &machine = *static_cast<CommandFsm *>(fsm->data);
  machine.applied.clear();
  const auto *p = static_cast<const char *>(buf->base);
  std::size_t at = 0;
  while (at + sizeof(std::uint32_t) <= buf->len) {
    std::uint32_t length = 0;
    std::memcpy(&length, p + at, sizeof length);
    at += sizeof length;
    if (length > buf->len - at) return RAFT_MALFORMED;
    machine.applied.emplace_back(p + at, length);
    at += length;
  }
  raft_free(buf->base);
  machine.restores++;
  return 0;
}

}  // namespace

void CommandFsm::reset() {
  applied.clear();
  fsm = raft_fsm{};
  fsm.version = 1;
  fsm.data = this;
  fsm.apply = fsm_apply;
  fsm.snapshot = fsm_snapshot;
  fsm.restore = fsm_restore;
}

}  // namespace segstore::raft_sim
