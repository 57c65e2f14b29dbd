// examples/broker/server.cc — accepting, the command loop of a connection, and the delivery
// thread of a subscription with its heartbeat check.
#include "server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>

#include "line_io.h"

namespace broker {

namespace {
// PUB lines gathered into one batch (one append, one device sync) at most.
constexpr std::size_t publish_batch_max = 1024;
// MSG lines written before one flush at most.
constexpr std::size_t delivery_batch_max = 256;
constexpr std::uint32_t send_timeout_default_ms = 10000;

void log_error(const std::string &what) { std::fprintf(stderr, "broker: %s\n", what.c_str()); }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
  const std::size_t space = s.find(' ');
  if (space == std::string_view::npos) return {s, std::string_view()};
  return {s.substr(0, space), s.substr(space + 1)};
}

template <typename T>
bool parse_int(std::string_view text, T *value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}
}  // namespace

struct BrokerServer::Connection {
  explicit Connection(int socket) : fd(socket), peer(line_io::peer_name(socket)), out(socket) {}
  void reply(const std::string &line) {
    std::lock_guard lock(write_mu);
    out.line(line);
  }
  bool flush() {
    std::lock_guard lock(write_mu);
    return out.flush();
  }

  const int fd;
  const std::string peer;
  std::mutex write_mu;  // the reader and the delivery thread both write
  line_io::LineWriter out;
  std::atomic<std::int64_t> last_seen_ms{now_ms()};
  std::atomic<bool> ending{false};
  std::thread delivery;
  // Wakes the delivery thread's wait for a message when the connection ends. Set before the
  // thread starts, by the connection's thread, which alone uses it.
  std::optional<segstore::IteratorCanceller> delivery_canceller;
};

segstore::Result<std::unique_ptr<BrokerServer>> BrokerServer::start(Broker &broker, const ServerOptions &options) {
  std::unique_ptr<BrokerServer> server(new BrokerServer(broker, options));
  std::string error;
  server->listen_fd_ = line_io::listen_on(options.host, options.port, &server->port_, &error);
  if (server->listen_fd_ < 0) return segstore::Status(segstore::Errc::invalid_argument, error);
  server->acceptor_ = std::thread(&BrokerServer::accept_loop, server.get());
  return server;
}

BrokerServer::~BrokerServer() { stop(); }

void BrokerServer::accept_loop() {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::unique_lock lock(mu_);
      if (stopping_) return;
      log_error(std::string("accept: ") + std::strerror(errno));
      idle_.wait_for(lock, std::chrono::seconds(1));  // out of descriptors: wait for one to close
      continue;
    }
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    if (connections_.size() >= options_.connections_max) {
      const std::string refusal = "ERR too many connections\n";
      (void)line_io::send_all(fd, refusal.data(), refusal.size());
      ::close(fd);
      continue;
    }
    connections_.insert(fd);
    // A subscriber that stops reading blocks the sender at most this long, then is dropped.
    line_io::set_send_timeout(fd, options_.heartbeat_ms != 0 ? options_.heartbeat_ms : send_timeout_default_ms);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread(&BrokerServer::serve, this, fd).detach();
  }
}

void BrokerServer::serve(int fd) {
  Connection conn(fd);
  line_io::LineReader reader(fd, options_.line_bytes_max);
  std::vector<Publication> batch;
  bool quit = false;
  while (!quit && !reader.done()) {
    std::vector<line_io::Line> lines = reader.read_lines();
    conn.last_seen_ms = now_ms();
    for (const line_io::Line &line : lines) {
      auto [verb, rest] = split_word(line.text);
      if (!line.too_long && verb == "PUB" && !rest.empty()) {
        auto [topic, payload] = split_word(rest);
        if (valid_name(topic)) {
          batch.push_back({topic, payload});
          if (batch.size() == publish_batch_max) publish(conn, batch);
          continue;
        }
      }
      publish(conn, batch);  // answers keep the order of the requests
      if (line.too_long) {
        conn.reply("ERR line longer than " + std::to_string(options_.line_bytes_max) + " bytes");
      } else if (!command(conn, line.text)) {
        quit = true;
        break;
      }
    }
    publish(conn, batch);
    if (!conn.flush()) break;
  }
  conn.ending = true;
  if (conn.delivery_canceller) conn.delivery_canceller->cancel();
  if (conn.delivery.joinable()) conn.delivery.join();
  if (!reader.error().empty()) log_error(conn.peer + ": " + reader.error());
  if (conn.out.failed()) log_error(conn.peer + ": dropped: " + conn.out.error());
  std::lock_guard lock(mu_);
  connections_.erase(fd);
  ::close(fd);
  idle_.notify_all();
}

void BrokerServer::publish(Connection &conn, std::vector<Publication> &batch) {
  if (batch.empty()) return;
  segstore::Result<std::vector<std::uint64_t>> offsets = broker_.publish(batch);
  if (offsets.ok()) {
    for (std::uint64_t offset : *offsets) conn.reply("OK " + std::to_string(offset));
  } else {
    log_error(conn.peer + ": publish of " + std::to_string(batch.size()) + " messages failed: " +
              offsets.status().to_string());
    for (std::size_t i = 0; i < batch.size(); ++i) conn.reply("ERR " + offsets.status().to_string());
  }
  batch.clear();
}

bool BrokerServer::command(Connection &conn, const std::string &line) {
  auto [verb, rest] = split_word(line);
  if (verb == "PUB") {
    conn.reply("ERR usage: PUB <topic> <payload> (topic: 1..200 of A-Za-z0-9._-)");
  } else if (verb == "SUB") {
    subscribe(conn, rest);
  } else if (verb == "COMMIT") {
    auto [group, tail] = split_word(rest);
    auto [topic, offset_text] = split_word(tail);
    std::uint64_t offset = 0;
    if (!parse_int(offset_text, &offset)) {
      conn.reply("ERR usage: COMMIT <group> <topic> <offset>");
    } else if (segstore::Status s = broker_.commit(group, topic, offset); !s.ok()) {
      if (s.code() != segstore::Errc::invalid_argument && s.code() != segstore::Errc::not_found &&
          s.code() != segstore::Errc::lsn_out_of_range)
        log_error(conn.peer + ": commit failed: " + s.to_string());
      conn.reply("ERR " + s.to_string());
    } else {
      conn.reply("OK");
    }
  } else if (verb == "OFFSET") {
    auto [group, topic] = split_word(rest);
    if (!valid_name(group) || !valid_name(topic)) {
      conn.reply("ERR usage: OFFSET <group> <topic>");
    } else if (segstore::Result<std::optional<std::uint64_t>> offset = broker_.committed(group, topic); !offset.ok()) {
      log_error(conn.peer + ": offset query failed: " + offset.status().to_string());
      conn.reply("ERR " + offset.status().to_string());
    } else {
      conn.reply("OFFSET " + std::string(group) + " " + std::string(topic) + " " +
                 (*offset ? std::to_string(**offset) : std::string("-1")));
    }
  } else if (verb == "PING") {
    conn.reply("PONG");
  } else if (verb == "QUIT") {
    conn.reply("BYE");
    return false;
  } else {
    conn.reply("ERR unknown command (PUB, SUB, COMMIT, OFFSET, PING, QUIT)");
  }
  return true;
}

void BrokerServer::subscribe(Connection &conn, std::string_view args) {
  auto [topic, from_text] = split_word(args);
  std::optional<std::int64_t> from;
  std::int64_t value = 0;
  if (conn.delivery.joinable()) return conn.reply("ERR already subscribed (one SUB per connection)");
  if (topic.empty() || (!from_text.empty() && !parse_int(from_text, &value)))
    return conn.reply("ERR usage: SUB <topic> [<offset> | -1]");
  if (!from_text.empty()) from = value;
  segstore::Result<Subscription> subscription = broker_.subscribe(topic, from);
  if (!subscription.ok()) return conn.reply("ERR " + subscription.status().to_string());
  // SUBSCRIBED goes out before any MSG: it is written before the delivery thread starts.
  conn.reply("SUBSCRIBED " + std::string(topic) + " " + std::to_string(subscription->start_offset()));
  conn.flush();
  conn.last_seen_ms = now_ms();
  conn.delivery_canceller = subscription->canceller();
  conn.delivery = std::thread(&BrokerServer::deliver, this, std::ref(conn), std::move(*subscription), std::string(topic));
}

void BrokerServer::deliver(Connection &conn, Subscription subscription, std::string topic) {
  const std::uint32_t heartbeat_ms = options_.heartbeat_ms;
  const std::string prefix = "MSG " + topic + " ";
  while (!conn.ending) {
    // Waits for a message until the heartbeat falls due (its check follows); the end of the
    // connection wakes the wait through delivery_canceller, so no polling is needed.
    std::chrono::milliseconds wait = std::chrono::milliseconds::max();
    if (heartbeat_ms != 0)
      wait = std::chrono::milliseconds(std::max<std::int64_t>(0, conn.last_seen_ms + heartbeat_ms + 1 - now_ms()));
    segstore::Result<std::optional<Message>> message = subscription.next(wait);
    if (!message.ok() && message.status().code() == segstore::Errc::cancelled) continue;  // conn.ending is set
    if (!message.ok()) {
      log_error(conn.peer + ": subscription to " + topic + " ended: " + message.status().to_string());
      conn.reply("ERR subscription ended: " + message.status().to_string());
      conn.flush();
      break;
    }
    if (*message) {
      std::lock_guard lock(conn.write_mu);
      conn.out.line(prefix + std::to_string((*message)->offset) + " " + (*message)->payload);
      for (std::size_t i = 1; i < delivery_batch_max; ++i) {
        segstore::Result<std::optional<Message>> more = subscription.next(std::chrono::milliseconds(0));
        if (!more.ok() || !*more) break;  // an error shows again on the next call
        conn.out.line(prefix + std::to_string((*more)->offset) + " " + (*more)->payload);
      }
      if (!conn.out.flush()) {
        log_error(conn.peer + ": dropping subscriber of " + topic + ": " + conn.out.error());
        ::shutdown(conn.fd, SHUT_RDWR);  // ends the reader too
        break;
      }
    }
    const std::int64_t silent_ms = now_ms() - conn.last_seen_ms;
    if (heartbeat_ms != 0 && silent_ms > heartbeat_ms) {
      log_error(conn.peer + ": dropping subscriber of " + topic + ": no heartbeat for " + std::to_string(silent_ms) +
                " ms");
      ::shutdown(conn.fd, SHUT_RDWR);
      break;
    }
  }
}

void BrokerServer::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  if (listen_fd_ >= 0) {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  std::unique_lock lock(mu_);
  for (int fd : connections_) ::shutdown(fd, SHUT_RD);  // each ends after answering what it read
  idle_.wait(lock, [&] { return connections_.empty(); });
  stopped_ = true;
}

}  // namespace broker
