// examples/broker/server.h — the broker's line protocol over TCP.
//
// One command per line; answers are lines. Names are 1..200 of [A-Za-z0-9._-].
//   PUB <topic> <payload>           -> OK <offset>             once durable
//   SUB <topic> [<offset> | -1]     -> SUBSCRIBED <topic> <start>, then MSG <topic> <offset> <payload>
//                                      for each durable message from <offset> (default: the
//                                      oldest; -1: only new ones), as they are published
//   COMMIT <group> <topic> <offset> -> OK                       once durable
//   OFFSET <group> <topic>          -> OFFSET <group> <topic> <offset | -1>
//   PING                            -> PONG                     (also the subscriber heartbeat)
//   QUIT                            -> BYE, and the connection closes
//   anything else                   -> ERR <why>; the connection stays open
// A consumer resumes with OFFSET, then SUB <topic> <committed + 1>.
//
// Heartbeats: a subscribed connection must send a line (PING will do) at least every
// heartbeat_ms; one that stays silent longer, or stops reading its messages for that long, is
// dropped (logged) and its subscription ends.
//
// Lifetime: start() starts accepting; stop() stops accepting and ends every connection after it
// answered what it had read. The Broker must outlive the server.
//
// Thread-safety: a thread per connection, plus one per subscription for the delivery.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "broker.h"
#include "segstore/status.h"

namespace broker {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7171;  // 0: any free port
  std::size_t line_bytes_max = 1 << 20;
  std::uint32_t heartbeat_ms = 10000;  // 0: never drop a silent subscriber
  unsigned connections_max = 1024;
};

class BrokerServer {
 public:
  static segstore::Result<std::unique_ptr<BrokerServer>> start(Broker &broker, const ServerOptions &options);
  ~BrokerServer();
  BrokerServer(const BrokerServer &) = delete;
  BrokerServer &operator=(const BrokerServer &) = delete;

  std::uint16_t port() const { return port_; }
  void stop();  // idempotent

 private:
  struct Connection;
  BrokerServer(Broker &broker, ServerOptions options) : broker_(broker), options_(std::move(options)) {}
  void accept_loop();
  void serve(int fd);
  // Handles one non-PUB command; false when the connection should end (QUIT).
  bool command(Connection &conn, const std::string &line);
  void publish(Connection &conn, std::vector<Publication> &batch);
  void subscribe(Connection &conn, std::string_view args);
  void deliver(Connection &conn, Subscription subscription, std::string topic);

  Broker &broker_;
  const ServerOptions options_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::set<int> connections_;
  bool stopping_ = false;
  bool stopped_ = false;
};

}  // namespace broker
