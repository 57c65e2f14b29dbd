// examples/log_server/line_io.cc — line framing over blocking TCP sockets.
#include "line_io.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace line_io {

namespace {
constexpr std::size_t recv_chunk_bytes = 64 * 1024;
constexpr int listen_backlog = 128;
}  // namespace

std::vector<Line> LineReader::read_lines() {
  std::vector<Line> lines;
  char chunk[recv_chunk_bytes];
  while (lines.empty() && !done_) {
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      done_ = true;
      if (n < 0) error_ = std::string("recv: ") + std::strerror(errno);
      break;
    }
    std::size_t at = 0;
    const std::size_t size = static_cast<std::size_t>(n);
    while (at < size) {
      const char *nl = static_cast<const char *>(std::memchr(chunk + at, '\n', size - at));
      const std::size_t end = nl ? static_cast<std::size_t>(nl - chunk) : size;
      if (!discarding_) partial_.append(chunk + at, end - at);
      if (!discarding_ && partial_.size() > line_bytes_max_) {
        // Report the long line once, then drop the rest of it: the connection stays usable.
        partial_.clear();
        discarding_ = true;
        lines.push_back(Line{std::string(), true});
      }
      if (nl == nullptr) break;
      if (!discarding_) {
        if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
        lines.push_back(Line{std::move(partial_), false});
      }
      partial_.clear();
      discarding_ = false;
      at = end + 1;
    }
  }
  return lines;
}

void LineWriter::line(const std::string &text) {
  if (failed()) return;
  buffer_ += text;
  buffer_ += '\n';
  if (buffer_.size() >= buffer_bytes_max) flush();
}

bool LineWriter::flush() {
  if (failed()) return false;
  if (!buffer_.empty()) error_ = send_all(fd_, buffer_.data(), buffer_.size());
  buffer_.clear();
  return !failed();
}

std::string send_all(int fd, const char *data, std::size_t size) {
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return "send: timed out (the peer does not read)";
    if (n <= 0) return std::string("send: ") + std::strerror(errno);
    sent += static_cast<std::size_t>(n);
  }
  return std::string();
}

int listen_on(const std::string &host, std::uint16_t port, std::uint16_t *bound_port, std::string *error) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    *error = "not an IPv4 address: " + host;
    return -1;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 || ::listen(fd, listen_backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
    *error = "bind/listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

void set_send_timeout(int fd, std::uint32_t timeout_ms) {
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>(timeout_ms % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string peer_name(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) return "?";
  char text[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &addr.sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(addr.sin_port));
}

}  // namespace line_io
