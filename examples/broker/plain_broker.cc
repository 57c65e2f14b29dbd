// examples/broker/plain_broker.cc — the broker people write before they have a log library, for
// comparison: each topic is a file in --dir; a PUB appends "<payload>\n" with write() and then
// fdatasync(), under the topic's mutex, and answers OK <byte offset>. Same line protocol for the
// subset a publisher uses: PUB, PING, QUIT. No subscriptions, no offsets, no recovery of torn
// tails. Thread per connection; stops on SIGTERM/SIGINT.
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "line_io.h"

namespace {

struct TopicFile {
  std::mutex mu;
  int fd = -1;
  std::uint64_t size = 0;
};

class PlainBroker {
 public:
  explicit PlainBroker(std::string dir) : dir_(std::move(dir)) {}

  // "OK <offset>" once the message is written and fdatasync()ed, or "ERR <cause>".
  std::string publish(std::string_view topic, std::string_view payload) {
    TopicFile *file = topic_file(topic);
    if (file == nullptr) return "ERR cannot open topic file: " + std::string(std::strerror(errno));
    std::string line(payload);
    line += '\n';
    std::lock_guard lock(file->mu);
    const std::uint64_t offset = file->size;
    if (::pwrite(file->fd, line.data(), line.size(), static_cast<off_t>(offset)) != static_cast<ssize_t>(line.size()) ||
        ::fdatasync(file->fd) != 0) {
      const std::string cause = std::strerror(errno);
      fmt::print(stderr, "plain_broker: write/fdatasync of topic {}: {}\n", topic, cause);
      return "ERR " + cause;
    }
    file->size += line.size();
    return "OK " + std::to_string(offset);
  }

 private:
  TopicFile *topic_file(std::string_view topic) {
    std::lock_guard lock(mu_);
    auto it = topics_.find(std::string(topic));
    if (it != topics_.end()) return it->second.get();
    auto file = std::make_unique<TopicFile>();
    const std::string path = dir_ + "/" + std::string(topic) + ".log";
    file->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (file->fd < 0) return nullptr;
    file->size = static_cast<std::uint64_t>(::lseek(file->fd, 0, SEEK_END));
    return topics_.emplace(std::string(topic), std::move(file)).first->second.get();
  }

  std::string dir_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<TopicFile>> topics_;
};

bool valid_topic(std::string_view topic) {
  if (topic.empty() || topic.size() > 200) return false;
  for (char c : topic)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

void serve(PlainBroker &broker, int fd) {
  line_io::LineReader reader(fd, 1 << 20);
  line_io::LineWriter out(fd);
  bool quit = false;
  while (!quit && !reader.done() && !out.failed()) {
    for (const line_io::Line &line : reader.read_lines()) {
      const std::string_view text = line.text;
      const std::size_t space = text.find(' ');
      const std::string_view verb = text.substr(0, space);
      if (verb == "PUB" && space != std::string_view::npos) {
        const std::string_view rest = text.substr(space + 1);
        const std::size_t sep = rest.find(' ');
        const std::string_view topic = rest.substr(0, sep);
        const std::string_view payload = sep == std::string_view::npos ? std::string_view() : rest.substr(sep + 1);
        out.line(valid_topic(topic) ? broker.publish(topic, payload) : "ERR bad topic name");
      } else if (text == "PING") {
        out.line("PONG");
      } else if (text == "QUIT") {
        out.line("BYE");
        quit = true;
        break;
      } else {
        out.line(line.too_long ? "ERR line too long" : "ERR unknown command (PUB, PING, QUIT)");
      }
    }
    out.flush();
  }
  if (!reader.error().empty()) fmt::print(stderr, "plain_broker: {}\n", reader.error());
  ::close(fd);
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"plain_broker: PUB with write()+fdatasync() per message, for comparison with broker"};
  std::string dir, host = "127.0.0.1";
  std::uint16_t port = 7172;
  app.add_option("--dir", dir, "directory for the topic files")->required();
  app.add_option("--port", port, "TCP port (0: any free port)");
  app.add_option("--bind", host, "IPv4 address to listen on");
  CLI11_PARSE(app, argc, argv);
  ::mkdir(dir.c_str(), 0755);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string error;
  std::uint16_t bound = 0;
  const int listen_fd = line_io::listen_on(host, port, &bound, &error);
  if (listen_fd < 0) {
    fmt::print(stderr, "plain_broker: {}\n", error);
    return 1;
  }
  static PlainBroker broker(dir);  // outlives the detached connection threads
  std::thread([listen_fd] {
    while (true) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // the listening socket was shut down
      }
      std::thread(serve, std::ref(broker), fd).detach();
    }
  }).detach();
  fmt::print("plain_broker: listening on {}:{} dir {}\n", host, bound, dir);
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  ::shutdown(listen_fd, SHUT_RDWR);
  fmt::print("plain_broker: stopped\n");
  std::fflush(stdout);
  _exit(0);  // every acknowledged message was fdatasync()ed before its OK
}
