// tools/cli_util.cc — see cli.h.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>

#include <fmt/core.h>

#include "cli.h"

namespace segstore::cli {

namespace {
volatile std::sig_atomic_t stop_flag = 0;
void on_stop_signal(int) { stop_flag = 1; }

// Standard output is written in big blocks; follow mode flushes whenever it waits.
constexpr std::size_t stdout_buffer_bytes = 1u << 16;
}  // namespace

void print_error(std::string_view command, std::string_view message) {
  std::fflush(stdout);
  fmt::print(stderr, "segstore {}: {}\n", command, message);
}

int fail(std::string_view command, const Status &status) {
  print_error(command, status.to_string());
  switch (status.code()) {
    case Errc::corruption:
    case Errc::recovery_required:
      return exit_problem;
    default:
      return exit_usage;
  }
}

void install_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR and the loop sees the flag
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() { return stop_flag != 0; }

Output::Output() {
  std::signal(SIGPIPE, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOFBF, stdout_buffer_bytes);
}

bool Output::check(bool ok) {
  if (!ok || std::ferror(stdout)) closed_ = true;
  return !closed_;
}

bool Output::write(std::span<const std::byte> bytes) {
  if (closed_) return false;
  if (bytes.empty()) return true;
  return check(std::fwrite(bytes.data(), 1, bytes.size(), stdout) == bytes.size());
}

bool Output::write(std::string_view text) {
  return write(std::span<const std::byte>(reinterpret_cast<const std::byte *>(text.data()), text.size()));
}

bool Output::flush() {
  if (closed_) return false;
  return check(std::fflush(stdout) == 0);
}

bool Output::reader_gone() {
  if (closed_) return true;
  pollfd fd{STDOUT_FILENO, 0, 0};
  // On the write end of a pipe whose reader closed, poll reports POLLERR (POLLHUP on some).
  if (::poll(&fd, 1, 0) == 1 && (fd.revents & (POLLERR | POLLHUP)) != 0) closed_ = true;
  return closed_;
}

CLI::Validator whole_number_at_most(std::uint64_t max) {
  return CLI::Validator(
      [max](std::string &text) -> std::string {
        std::uint64_t value = 0;
        const char *end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (text.empty() || stop != end || error == std::errc::invalid_argument)
          return fmt::format("'{}' is not a whole number (decimal digits, 0 to {})", text, max);
        if (error == std::errc::result_out_of_range || value > max)
          return fmt::format("{} is out of range (0 to {})", text, max);
        return std::string();
      },
      fmt::format("0..{}", max));
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }
bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

std::string human_bytes(std::uint64_t bytes) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

}  // namespace segstore::cli
