// tests/raft/sim_network.h — raft's messages between servers of one process, on a virtual
// clock: the transport the crash simulation passes to the adapter (segstore_raft_options
// .transport) instead of raft_uv's TCP.
//
// Each server has an endpoint, a raft_io of which only init, close, start, send, time and random
// are used. A message is deep-copied when sent (raft may free its buffers once the send callback
// ran) and delivered after a seeded latency, in order on each (from, to) link as TCP would; a
// message to a server that is down is dropped. Send callbacks run on the next delivery round,
// never inside send(). time() is the network's clock, which only the driver moves.
//
// Single-threaded: everything runs on the loop thread of the test.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "raft/segstore_raft.h"
#include "testing/sim_env.h"

namespace segstore::raft_sim {

class SimNetwork;

struct Endpoint {
  SimNetwork *network = nullptr;
  int index = 0;
  raft_id id = 0;
  std::string address;
  raft_io io{};  // handed to the adapter as its transport
  bool up = false;  // started and not closed: messages to it are delivered
  unsigned tick_msecs = 0;
  std::uint64_t next_tick = 0;
  raft_io_tick_cb tick = nullptr;
  raft_io_recv_cb recv = nullptr;
  std::vector<std::pair<raft_io_send *, raft_io_send_cb>> sent;  // callbacks due
  testing::SimRandom random{1};
};

class SimNetwork {
 public:
  SimNetwork(int servers, std::uint64_t seed);
  ~SimNetwork();
  SimNetwork(const SimNetwork &) = delete;
  SimNetwork &operator=(const SimNetwork &) = delete;

  Endpoint &endpoint(int index) { return *endpoints_[index]; }
  std::uint64_t now() const { return now_; }
  // The time of the next message or tick; now() + 1 when there is none.
  std::uint64_t next_event() const;
  // Moves the clock to `time` (not backwards), runs the due send callbacks, delivers the due
  // messages and fires the due ticks.
  void advance_to(std::uint64_t time);

 private:
  friend struct EndpointCalls;
  void post(int from, const raft_message &message);
  void deliver_due();

  struct InFlight {
    int from = 0;
    int to = 0;
    raft_message message{};
  };
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, InFlight> in_flight_;  // (due, sequence)
  std::map<std::pair<int, int>, std::uint64_t> link_due_;                   // FIFO per link
  std::uint64_t now_ = 0;
  std::uint64_t sequence_ = 0;
  testing::SimRandom latency_;
};

}  // namespace segstore::raft_sim
