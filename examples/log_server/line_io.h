// examples/log_server/line_io.h — line-framed TCP for the log server and the broker: a reader
// that splits what recv() returns into lines, a buffered writer, and listening on 127.0.0.1.
//
// Thread-safety: a LineReader or LineWriter belongs to one thread at a time (the broker guards
// its writer with a mutex because two threads write to a subscriber's socket).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace line_io {

// One line as read: `text` without its "\n" (and without a "\r" before it), or, when the line
// was longer than the limit, `too_long` set and `text` empty (the rest of it was discarded).
struct Line {
  std::string text;
  bool too_long = false;
};

class LineReader {
 public:
  LineReader(int fd, std::size_t line_bytes_max) : fd_(fd), line_bytes_max_(line_bytes_max) {}

  // Blocks until at least one line is complete or the peer is gone, then returns every line
  // completed so far. At end of input (or on a read error, in error()) returns the lines that
  // were complete and sets done().
  std::vector<Line> read_lines();
  bool done() const { return done_; }
  const std::string &error() const { return error_; }  // "" at a clean end of input

 private:
  int fd_;
  std::size_t line_bytes_max_;
  std::string partial_;   // bytes after the last "\n"
  bool discarding_ = false;  // inside a line that was too long: drop up to its "\n"
  bool done_ = false;
  std::string error_;
};

// Collects output and sends it in large writes. send() failures (peer gone, send timeout) are
// sticky: failed() turns true and later writes are dropped.
class LineWriter {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}
  void line(const std::string &text);   // text + "\n"; flushes past buffer_bytes_max
  bool flush();                         // false once a send failed
  bool failed() const { return !error_.empty(); }
  const std::string &error() const { return error_; }

 private:
  static constexpr std::size_t buffer_bytes_max = 256 * 1024;
  int fd_;
  std::string buffer_;
  std::string error_;
};

// Sends every byte (MSG_NOSIGNAL); "" or the cause of the failure.
std::string send_all(int fd, const char *data, std::size_t size);

// A listening socket on `host` (a dotted IPv4 address) and `port` (0: any free port). Returns the
// socket, or -1 with *error set; *bound_port gets the port actually bound.
int listen_on(const std::string &host, std::uint16_t port, std::uint16_t *bound_port, std::string *error);

// Sets the send timeout, so that a peer that stops reading cannot block a sender for ever.
void set_send_timeout(int fd, std::uint32_t timeout_ms);

// "127.0.0.1:54321" for a connected socket's peer.
std::string peer_name(int fd);

}  // namespace line_io
