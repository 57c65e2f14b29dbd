// examples/log_server/log_server.h — a TCP log server keeping every line durably in segstore.
//
// Protocol (one command per line, answers are lines):
//   LOG <text>                 -> OK <lsn>            once the line is durable
//   TAIL <n>                   -> <lsn> <text> ...    the last n durable lines, then END <count>
//   GREP <since-lsn> [<substr>]-> <lsn> <text> ...    durable lines from since-lsn containing
//                                                     substr, then END <count> [truncated next=<lsn>]
//   STATS                      -> STATS first=.. next=.. durable=.. segments=.. disk_bytes=..
//   PING                       -> PONG
//   anything else              -> ERR <why>           and the connection stays open
// Consecutive LOG lines that arrive together are appended as one batch (one device sync).
//
// Lifetime: start() opens the store and starts accepting; stop() stops accepting, lets every
// connection finish the lines it has received (appended, made durable, acknowledged), closes the
// connections and then the store (clean shutdown). The destructor calls stop().
//
// Thread-safety: a thread per connection plus the accepting thread; start/stop from one thread.
//
// Durability promise: "OK <lsn>" is sent only once the line is durable: in sync mode after the
// append returned (group commit: concurrent connections share device syncs), in interval mode
// after wait_until_durable(). Queries show only durable lines. Retention (retain_bytes) removes
// whole old segments once the log is larger; acknowledged lines are otherwise never lost.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "line_io.h"
#include "segstore/store.h"

namespace log_server {

struct ServerOptions {
  std::string dir;
  std::string host = "127.0.0.1";
  std::uint16_t port = 7070;  // 0: any free port (see LogServer::port())
  segstore::Durability durability = segstore::Durability::sync;
  std::uint32_t flush_interval_ms = 10;        // interval mode
  std::uint64_t retain_bytes = 0;              // 0: keep everything
  std::uint64_t segment_bytes = 64ull << 20;
  std::size_t line_bytes_max = 64 * 1024;
  std::size_t query_lines_max = 10000;         // per TAIL/GREP answer
  unsigned connections_max = 256;
  std::uint32_t send_timeout_ms = 10000;       // a client that stops reading is dropped
};

class LogServer {
 public:
  static segstore::Result<std::unique_ptr<LogServer>> start(const ServerOptions &options);
  ~LogServer();
  LogServer(const LogServer &) = delete;
  LogServer &operator=(const LogServer &) = delete;

  std::uint16_t port() const { return port_; }
  const segstore::RecoveryReport &recovery_report() const { return store_->recovery_report(); }
  segstore::Stats stats() const { return store_->stats(); }
  // Stops accepting, drains the connections, closes the store. Idempotent.
  segstore::Status stop();

 private:
  explicit LogServer(ServerOptions options) : options_(std::move(options)) {}
  void accept_loop();
  void serve(int fd);
  // Appends the gathered LOG lines and writes an answer for each (OK <lsn> once durable).
  void append_lines(std::vector<std::string> &texts, line_io::LineWriter &out, const std::string &peer);
  segstore::Status wait_durable(std::uint64_t lsn);
  void command(const std::string &line, line_io::LineWriter &out, const std::string &peer);
  void tail(const std::string &args, line_io::LineWriter &out);
  void grep(const std::string &args, line_io::LineWriter &out);
  // Writes "<lsn> <text>" for durable records in [from, durable end) that contain `needle`,
  // at most query_lines_max, then END.
  void query(std::uint64_t from, const std::string &needle, line_io::LineWriter &out);

  const ServerOptions options_;
  std::unique_ptr<segstore::Store> store_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;                 // guards the fields below
  std::condition_variable idle_;  // signalled when a connection ends
  std::set<int> connections_;     // sockets of live connections
  bool stopping_ = false;
  bool stopped_ = false;
};

}  // namespace log_server
