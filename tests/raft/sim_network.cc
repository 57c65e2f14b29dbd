// tests/raft/sim_network.cc — see tests/raft/sim_network.h.
#include "raft/sim_network.h"

#include <algorithm>
#include <cstring>

namespace segstore::raft_sim {
namespace {

// A copy of `entries` in raft's receive layout: one array and one batch buffer holding every
// entry's data (raft frees both once it is done with the entries).
raft_entry *copy_entries(const raft_entry *entries, unsigned n) {
  if (n == 0) return nullptr;
  std::size_t bytes = 0;
  for (unsigned i = 0; i < n; ++i) bytes += entries[i].buf.len;
  auto *batch = static_cast<std::uint8_t *>(raft_malloc(std::max<std::size_t>(bytes, 1)));
  auto *copy = static_cast<raft_entry *>(raft_calloc(n, sizeof(raft_entry)));
  std::size_t offset = 0;
  for (unsigned i = 0; i < n; ++i) {
    copy[i].term = entries[i].term;
    copy[i].type = entries[i].type;
    copy[i].buf.base = batch + offset;
    copy[i].buf.len = entries[i].buf.len;
    copy[i].batch = batch;
    if (entries[i].buf.len > 0) std::memcpy(batch + offset, entries[i].buf.base, entries[i].buf.len);
    offset += entries[i].buf.len;
  }
  return copy;
}

raft_message copy_message(const raft_message &message) {
  raft_message copy = message;
  if (message.type == RAFT_IO_APPEND_ENTRIES) {
    copy.append_entries.entries = copy_entries(message.append_entries.entries, message.append_entries.n_entries);
  } else if (message.type == RAFT_IO_INSTALL_SNAPSHOT) {
    const raft_install_snapshot &from = message.install_snapshot;
    raft_configuration_init(&copy.install_snapshot.conf);
    for (unsigned i = 0; i < from.conf.n; ++i) {
      const raft_server &server = from.conf.servers[i];
      raft_configuration_add(&copy.install_snapshot.conf, server.id, server.address, server.role);
    }
    copy.install_snapshot.data.base = raft_malloc(std::max<std::size_t>(from.data.len, 1));
    if (from.data.len > 0) std::memcpy(copy.install_snapshot.data.base, from.data.base, from.data.len);
  }
  return copy;
}

// Frees a message nobody received (raft owns a received one's buffers).
void drop_message(raft_message &message) {
  if (message.type == RAFT_IO_APPEND_ENTRIES && message.append_entries.entries != nullptr) {
    raft_free(message.append_entries.entries[0].batch);
    raft_free(message.append_entries.entries);
  } else if (message.type == RAFT_IO_INSTALL_SNAPSHOT) {
    raft_configuration_close(&message.install_snapshot.conf);
    raft_free(message.install_snapshot.data.base);
  }
}

Endpoint &endpoint_of(raft_io *io) { return *static_cast<Endpoint *>(io->impl); }

}  // namespace

// The raft_io calls of an endpoint (a friend of SimNetwork).
struct EndpointCalls {
  static int init(raft_io *, raft_id, const char *) { return 0; }

  static void close(raft_io *io, raft_io_close_cb cb) {
    Endpoint &e = endpoint_of(io);
    e.up = false;
    e.tick = nullptr;
    e.recv = nullptr;
    // Sends not yet confirmed end as raft_uv ends them at close.
    std::vector<std::pair<raft_io_send *, raft_io_send_cb>> sent = std::move(e.sent);
    e.sent.clear();
    for (auto &[req, callback] : sent)
      if (callback != nullptr) callback(req, RAFT_CANCELED);
    if (cb != nullptr) cb(io);
  }

  static int start(raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv) {
    Endpoint &e = endpoint_of(io);
    e.tick_msecs = std::max(1u, msecs);
    e.next_tick = e.network->now() + e.tick_msecs;
    e.tick = tick;
    e.recv = recv;
    e.up = true;
    return 0;
  }

  static int send(raft_io *io, raft_io_send *req, const raft_message *message, raft_io_send_cb cb) {
    Endpoint &e = endpoint_of(io);
    req->cb = cb;
    e.network->post(e.index, *message);
    e.sent.emplace_back(req, cb);
    return 0;
  }

  static raft_time time(raft_io *io) { return endpoint_of(io).network->now(); }

  static int random(raft_io *io, int min, int max) {
    Endpoint &e = endpoint_of(io);
    return min + static_cast<int>(e.random.below(static_cast<std::uint64_t>(max - min) + 1));
  }
};

SimNetwork::SimNetwork(int servers, std::uint64_t seed) : latency_(testing::splitmix64(seed)) {
  for (int i = 0; i < servers; ++i) {
    auto e = std::make_unique<Endpoint>();
    e->network = this;
    e->index = i;
    e->id = static_cast<raft_id>(i + 1);
    e->address = "sim-" + std::to_string(i + 1);
    e->random = testing::SimRandom(testing::splitmix64(seed + 1000 + static_cast<std::uint64_t>(i)));
    e->io.version = 1;
    e->io.impl = e.get();
    e->io.init = EndpointCalls::init;
    e->io.close = EndpointCalls::close;
    e->io.start = EndpointCalls::start;
    e->io.send = EndpointCalls::send;
    e->io.time = EndpointCalls::time;
    e->io.random = EndpointCalls::random;
    endpoints_.push_back(std::move(e));
  }
}

SimNetwork::~SimNetwork() {
  for (auto &[due, message] : in_flight_) drop_message(message.message);
}

void SimNetwork::post(int from, const raft_message &message) {
  const int to = static_cast<int>(message.server_id) - 1;
  if (to < 0 || to >= static_cast<int>(endpoints_.size())) return;  // raft only sends to its configuration
  std::uint64_t due = now_ + latency_.between(1, 8);
  std::uint64_t &link = link_due_[{from, to}];
  due = std::max(due, link);  // in order on a link, as over one TCP connection
  link = due;
  in_flight_.emplace(std::make_pair(due, sequence_++), InFlight{from, to, copy_message(message)});
}

std::uint64_t SimNetwork::next_event() const {
  std::uint64_t next = now_ + 1000000;
  if (!in_flight_.empty()) next = std::min(next, in_flight_.begin()->first.first);
  for (const auto &e : endpoints_)
    if (e->up) next = std::min(next, e->next_tick);
  for (const auto &e : endpoints_)
    if (!e->sent.empty()) next = now_;
  return std::max(next, now_);
}

void SimNetwork::deliver_due() {
  while (!in_flight_.empty() && in_flight_.begin()->first.first <= now_) {
    InFlight flight = std::move(in_flight_.begin()->second);
    in_flight_.erase(in_flight_.begin());
    Endpoint &to = *endpoints_[flight.to];
    if (!to.up) {
      drop_message(flight.message);
      continue;
    }
    const Endpoint &from = *endpoints_[flight.from];
    flight.message.server_id = from.id;
    flight.message.server_address = from.address.c_str();
    to.recv(&to.io, &flight.message);
  }
}

void SimNetwork::advance_to(std::uint64_t time) {
  now_ = std::max(now_, time);
  for (auto &e : endpoints_) {
    std::vector<std::pair<raft_io_send *, raft_io_send_cb>> sent = std::move(e->sent);
    e->sent.clear();
    for (auto &[req, callback] : sent)
      if (callback != nullptr) callback(req, 0);
  }
  deliver_due();
  for (auto &e : endpoints_) {
    if (e->up && e->tick != nullptr && e->next_tick <= now_) {
      e->next_tick = now_ + e->tick_msecs;
      e->tick(&e->io);
    }
  }
}

}  // namespace segstore::raft_sim
