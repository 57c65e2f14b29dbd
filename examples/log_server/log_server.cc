// examples/log_server/log_server.cc — accepting, serving a connection, appending with group
// commit, queries, and the clean shutdown.
#include "log_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace log_server {

using segstore::Errc;
using segstore::Result;
using segstore::Status;

namespace {
// Lines kept in this stream; the store holds nothing else.
constexpr std::uint32_t line_stream = 0;
// LOG lines gathered into one append: at most this many, and at most this many bytes (and a
// quarter of a segment, since a batch must fit in one).
constexpr std::size_t batch_lines_max = 4096;
constexpr std::size_t batch_bytes_max = 1 << 20;

void log_error(const std::string &what) { std::fprintf(stderr, "log_server: %s\n", what.c_str()); }

std::span<const std::byte> bytes_of(const std::string &s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

bool parse_u64(std::string_view text, std::uint64_t *value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Splits "VERB rest" at the first space.
std::pair<std::string_view, std::string_view> split_verb(std::string_view line) {
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return {line, std::string_view()};
  return {line.substr(0, space), line.substr(space + 1)};
}
}  // namespace

Result<std::unique_ptr<LogServer>> LogServer::start(const ServerOptions &options) {
  if (options.line_bytes_max == 0 || options.line_bytes_max > options.segment_bytes / 4)
    return Status(Errc::invalid_argument, "line_bytes_max must be 1 .. a quarter of segment_bytes (" +
                                              std::to_string(options.segment_bytes / 4) + ")");
  std::unique_ptr<LogServer> server(new LogServer(options));
  segstore::Options store_options;
  store_options.durability = options.durability;
  store_options.flush_interval_ms = options.flush_interval_ms;
  store_options.retain_bytes_max = options.retain_bytes;
  store_options.segment_bytes = options.segment_bytes;
  Result<std::unique_ptr<segstore::Store>> store = segstore::Store::open(options.dir, store_options);
  if (!store.ok()) return store.status();
  server->store_ = std::move(*store);
  std::string error;
  server->listen_fd_ = line_io::listen_on(options.host, options.port, &server->port_, &error);
  if (server->listen_fd_ < 0) return Status(Errc::invalid_argument, error);
  server->acceptor_ = std::thread(&LogServer::accept_loop, server.get());
  return server;
}

LogServer::~LogServer() {
  Status stopped = stop();
  if (!stopped.ok()) log_error("stop: " + stopped.to_string());
}

void LogServer::accept_loop() {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::unique_lock lock(mu_);
      if (stopping_) return;
      log_error(std::string("accept: ") + std::strerror(errno));
      // Out of descriptors or memory: wait for a connection to end instead of spinning.
      idle_.wait_for(lock, std::chrono::seconds(1));
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
    line_io::set_send_timeout(fd, options_.send_timeout_ms);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // acks go out at once
    std::thread(&LogServer::serve, this, fd).detach();
  }
}

void LogServer::serve(int fd) {
  const std::string peer = line_io::peer_name(fd);
  line_io::LineReader reader(fd, options_.line_bytes_max);
  line_io::LineWriter out(fd);
  std::vector<std::string> logs;
  std::size_t log_bytes = 0;
  const std::size_t batch_bytes = std::min<std::size_t>(batch_bytes_max, options_.segment_bytes / 4);
  while (!reader.done() && !out.failed()) {
    for (line_io::Line &line : reader.read_lines()) {
      auto [verb, rest] = split_verb(line.text);
      if (!line.too_long && verb == "LOG") {
        if (!logs.empty() && (log_bytes + rest.size() > batch_bytes || logs.size() == batch_lines_max))
          append_lines(logs, out, peer);
        if (logs.empty()) log_bytes = 0;
        logs.emplace_back(rest);
        log_bytes += rest.size();
        continue;
      }
      // Answers go out in the order of the requests: the gathered LOG lines first.
      append_lines(logs, out, peer);
      if (line.too_long)
        out.line("ERR line longer than " + std::to_string(options_.line_bytes_max) + " bytes");
      else
        command(line.text, out, peer);
    }
    append_lines(logs, out, peer);
    out.flush();
  }
  if (!reader.error().empty()) log_error(peer + ": " + reader.error());
  if (out.failed()) log_error(peer + ": dropped: " + out.error());
  std::lock_guard lock(mu_);
  connections_.erase(fd);
  ::close(fd);
  idle_.notify_all();
}

void LogServer::append_lines(std::vector<std::string> &texts, line_io::LineWriter &out, const std::string &peer) {
  if (texts.empty()) return;
  std::vector<segstore::BatchEntry> entries;
  entries.reserve(texts.size());
  for (const std::string &text : texts) entries.push_back({line_stream, bytes_of(text)});
  // In sync mode the append returns once the batch is durable; in interval mode it returns at
  // once and the wait below ends at the next background flush.
  Result<std::uint64_t> first = store_->append_batch(entries);
  Status durable = first.ok() ? Status() : first.status();
  if (durable.ok() && options_.durability != segstore::Durability::sync)
    durable = wait_durable(*first + texts.size() - 1);
  if (!durable.ok()) {
    log_error(peer + ": append of " + std::to_string(texts.size()) + " lines failed: " + durable.to_string());
    for (std::size_t i = 0; i < texts.size(); ++i) out.line("ERR append failed: " + durable.to_string());
  } else {
    for (std::size_t i = 0; i < texts.size(); ++i) out.line("OK " + std::to_string(*first + i));
  }
  texts.clear();
}

Status LogServer::wait_durable(std::uint64_t lsn) {
  // The interval flush normally makes it durable within flush_interval_ms; if it has not after
  // much longer, ask for a sync. A failed store (a data sync error) is reported at once.
  const auto patience = std::chrono::milliseconds(std::max<std::uint32_t>(1000, 20 * options_.flush_interval_ms));
  Status durable = store_->wait_until_durable(lsn, patience);
  if (durable.code() != segstore::Errc::timed_out) return durable;
  return store_->wait_durable(lsn);
}

void LogServer::command(const std::string &line, line_io::LineWriter &out, const std::string &peer) {
  auto [verb, rest] = split_verb(line);
  if (verb == "TAIL") return tail(std::string(rest), out);
  if (verb == "GREP") return grep(std::string(rest), out);
  if (verb == "PING") return out.line("PONG");
  if (verb == "STATS") {
    const segstore::Stats s = store_->stats();
    return out.line("STATS first=" + std::to_string(s.first_lsn) + " next=" + std::to_string(s.next_lsn) +
                    " durable=" + std::to_string(s.durable_lsn) + " segments=" + std::to_string(s.segment_count) +
                    " disk_bytes=" + std::to_string(s.disk_bytes) + " log_bytes=" + std::to_string(s.log_bytes));
  }
  log_error(peer + ": unknown command '" + line.substr(0, 64) + "'");
  out.line("ERR unknown command (LOG <text> | TAIL <n> | GREP <since-lsn> [<substring>] | STATS | PING)");
}

void LogServer::tail(const std::string &args, line_io::LineWriter &out) {
  std::uint64_t n = 0;
  if (!parse_u64(args, &n)) return out.line("ERR usage: TAIL <n>");
  n = std::min<std::uint64_t>(n, options_.query_lines_max);
  const std::uint64_t durable_end = store_->durable_lsn();
  const std::uint64_t first = store_->first_lsn();
  const std::uint64_t available = durable_end > first ? durable_end - first : 0;
  query(durable_end - std::min(n, available), std::string(), out);
}

void LogServer::grep(const std::string &args, line_io::LineWriter &out) {
  auto [since_text, needle] = split_verb(args);
  std::uint64_t since = 0;
  if (!parse_u64(since_text, &since)) return out.line("ERR usage: GREP <since-lsn> [<substring>]");
  query(since, std::string(needle), out);
}

void LogServer::query(std::uint64_t from, const std::string &needle, line_io::LineWriter &out) {
  // Only durable lines (a durable_only scan): an answer never shows a line that a crash could
  // take back.
  from = std::max(from, store_->first_lsn());
  std::uint64_t count = 0;
  if (from < store_->durable_lsn()) {
    segstore::ScanOptions durable_lines;
    durable_lines.durable_only = true;
    Result<segstore::Iterator> it = store_->scan(from, durable_lines);
    if (!it.ok()) return out.line("ERR " + it.status().to_string());
    while (true) {
      Result<bool> more = it->next();
      if (!more.ok()) {
        log_error("query: " + more.status().to_string());
        return out.line("ERR " + more.status().to_string());
      }
      if (!*more) break;
      const segstore::RecordView &r = it->record();
      const std::string_view text(reinterpret_cast<const char *>(r.payload.data()), r.payload.size());
      if (!needle.empty() && text.find(needle) == std::string_view::npos) continue;
      out.line(std::to_string(r.lsn) + " " + std::string(text));
      if (++count == options_.query_lines_max)
        return out.line("END " + std::to_string(count) + " truncated next=" + std::to_string(r.lsn + 1));
    }
  }
  out.line("END " + std::to_string(count));
}

Status LogServer::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return Status();
    stopping_ = true;
  }
  if (listen_fd_ >= 0) {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  {
    // Each connection sees the end of its input, answers the lines it has, and ends.
    std::unique_lock lock(mu_);
    for (int fd : connections_) ::shutdown(fd, SHUT_RD);
    idle_.wait(lock, [&] { return connections_.empty(); });
    stopped_ = true;
  }
  return store_ ? store_->close() : Status();
}

}  // namespace log_server
