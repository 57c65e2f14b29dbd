#include "format/store_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "base/log.h"

namespace segstore::format {

namespace {
constexpr mode_t events_file_mode = 0640;
}  // namespace

std::string join_path(const std::string &dir, const std::string &name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string numbered_name(std::uint64_t number, const char *suffix) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(number));
  return std::string(digits) + suffix;
}

std::optional<std::uint64_t> parse_numbered_name(const std::string &name, const char *suffix) {
  const std::size_t suffix_len = std::strlen(suffix);
  if (name.size() != 20 + suffix_len || name.compare(20, suffix_len, suffix) != 0) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(name[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// Opened like every file segstore writes: never through a symbolic link (an events.log link
// would append to its target), never blocking on a FIFO, and only if it is a regular file.
void append_event(const std::string &dir, const std::string &message, const Logger &logger) {
  const std::string path = join_path(dir, events_file_name);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                        events_file_mode);
  struct stat st {};
  const char *problem = nullptr;
  if (fd < 0) problem = std::strerror(errno);
  else if (::fstat(fd, &st) != 0) problem = std::strerror(errno);
  else if (!S_ISREG(st.st_mode)) problem = "not a regular file";
  if (problem != nullptr) {
    if (fd >= 0) ::close(fd);
    base::log(logger, LogLevel::warning, "cannot append to " + path + ": " + problem + "; event: " + message);
    return;
  }
  char stamp[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string line = std::string(stamp) + " " + message + "\n";
  // One write: O_APPEND places it whole at the end even with another writer of the file.
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    base::log(logger, LogLevel::warning, "cannot append to " + path + ": short write; event: " + message);
  ::close(fd);
}

}  // namespace segstore::format
