// examples/broker/load.cc — a bounded load generator for line protocols on 127.0.0.1: N
// publishers each send "<prefix> <payload>" lines (PUB <topic> for the brokers, LOG for the log
// server), `window` at a time, and wait for an "OK" answer to each. It stops after --messages per
// publisher or --seconds, whichever comes first, and prints messages/s and latency percentiles
// (from sending a line to reading its answer).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "line_io.h"

namespace {

using Clock = std::chrono::steady_clock;
// A publisher waiting longer than this for an answer gives up (the run reports the error).
constexpr int answer_timeout_s = 30;

struct Config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7171;
  unsigned publishers = 1;
  std::uint64_t messages = 2000;  // per publisher
  double seconds = 10;
  std::size_t bytes = 1024;
  unsigned window = 1;
  std::string prefix = "PUB load";
};

struct Totals {
  std::mutex mu;
  std::vector<double> latencies_us;
  std::uint64_t errors = 0;
  std::string first_error;
};

int connect_to(const Config &cfg, std::string *error) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(cfg.port);
  ::inet_pton(AF_INET, cfg.host.c_str(), &addr.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  timeval tv{answer_timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void publisher(const Config &cfg, unsigned index, Clock::time_point deadline, Totals &totals) {
  std::string error;
  std::vector<double> latencies;
  const int fd = connect_to(cfg, &error);
  std::mt19937 rng(index);
  std::string payload(cfg.bytes, 'x');
  for (char &c : payload) c = static_cast<char>('a' + rng() % 26);
  const std::string line = cfg.prefix + " " + payload + "\n";
  std::uint64_t sent = 0;
  if (fd >= 0) {
    line_io::LineReader reader(fd, 1 << 20);
    std::string burst;
    while (sent < cfg.messages && Clock::now() < deadline && error.empty()) {
      const std::uint64_t n = std::min<std::uint64_t>(cfg.window, cfg.messages - sent);
      burst.clear();
      for (std::uint64_t i = 0; i < n; ++i) burst += line;
      const auto start = Clock::now();
      error = line_io::send_all(fd, burst.data(), burst.size());
      std::uint64_t answered = 0;
      while (error.empty() && answered < n) {
        std::vector<line_io::Line> answers = reader.read_lines();
        const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
        for (const line_io::Line &a : answers) {
          if (a.text.rfind("OK", 0) != 0) error = "answer: " + a.text;
          latencies.push_back(us);
          answered++;
        }
        if (reader.done()) error = "connection ended: " + (reader.error().empty() ? "by the server" : reader.error());
      }
      sent += n;
    }
    ::close(fd);
  }
  std::lock_guard lock(totals.mu);
  totals.latencies_us.insert(totals.latencies_us.end(), latencies.begin(), latencies.end());
  if (!error.empty() && totals.errors++ == 0) totals.first_error = error;
}

bool loopback(const std::string &host) {
  in_addr addr{};
  return ::inet_pton(AF_INET, host.c_str(), &addr) == 1 && (ntohl(addr.s_addr) >> 24) == 127;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"load: bounded line-protocol load on 127.0.0.1 (messages/s, latency percentiles)"};
  Config cfg;
  app.add_option("--host", cfg.host, "a 127.x.x.x address (nothing else is accepted)");
  app.add_option("--port", cfg.port, "server port")->required();
  app.add_option("--publishers", cfg.publishers, "connections publishing at once")->check(CLI::Range(1u, 1024u));
  app.add_option("--messages", cfg.messages, "messages per publisher (count limit)");
  app.add_option("--seconds", cfg.seconds, "time limit")->check(CLI::Range(0.1, 600.0));
  app.add_option("--bytes", cfg.bytes, "payload bytes per message")->check(CLI::Range(1, 1 << 19));
  app.add_option("--window", cfg.window, "lines sent before waiting for their answers")->check(CLI::Range(1u, 4096u));
  app.add_option("--prefix", cfg.prefix, "text before the payload: 'PUB <topic>' or 'LOG'");
  CLI11_PARSE(app, argc, argv);
  if (!loopback(cfg.host)) {
    fmt::print(stderr, "load: refusing {}: this generator only runs against 127.0.0.0/8\n", cfg.host);
    return 2;
  }

  Totals totals;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.seconds));
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < cfg.publishers; ++i)
    threads.emplace_back(publisher, std::cref(cfg), i, deadline, std::ref(totals));
  for (std::thread &t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> &lat = totals.latencies_us;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<std::size_t>(p * lat.size()))]; };
  fmt::print("publishers={} window={} bytes={} messages={} seconds={:.2f} msgs_per_s={:.0f} MB_per_s={:.1f} "
             "p50_us={:.0f} p99_us={:.0f} max_us={:.0f} errors={}\n",
             cfg.publishers, cfg.window, cfg.bytes, lat.size(), seconds, lat.size() / seconds,
             lat.size() * static_cast<double>(cfg.bytes) / seconds / 1e6, pct(0.50), pct(0.99),
             lat.empty() ? 0.0 : lat.back(), totals.errors);
  if (totals.errors != 0) {
    fmt::print(stderr, "load: {} publishers failed; first: {}\n", totals.errors, totals.first_error);
    return 1;
  }
  return 0;
}
