// io/device_cache.cc — sysfs's queue/fua and queue/write_cache of the device under a file.
#include "io/device_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace segstore::io {

namespace {

// A sysfs attribute's one line, without its newline; nullopt when it cannot be read or is
// longer than any value asked for here.
std::optional<std::string> read_line(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char bytes[32] = {};
  const ssize_t n = ::read(fd, bytes, sizeof bytes);
  ::close(fd);
  if (n < 1 || n == static_cast<ssize_t>(sizeof bytes)) return std::nullopt;
  std::string line(bytes, static_cast<std::size_t>(n));
  if (line.back() == '\n') line.pop_back();
  return line;
}

// "1" / "0" and "write through" / "write back"; anything else (another kernel's wording) is no
// answer rather than a guess.
std::optional<bool> read_queue(const std::string &queue) {
  const std::optional<std::string> fua = read_line(queue + "/fua");
  const std::optional<std::string> cache = read_line(queue + "/write_cache");
  if (fua == "1" || cache == "write through") return true;
  if (fua == "0" && cache == "write back") return false;
  return std::nullopt;
}

}  // namespace

std::optional<bool> dsync_needs_no_flush_at(const std::string &sysfs_dev_block, unsigned major, unsigned minor) {
  const std::string device = sysfs_dev_block + "/" + std::to_string(major) + ":" + std::to_string(minor);
  if (std::optional<bool> own = read_queue(device + "/queue")) return own;
  // A partition has no queue/ of its own: its directory sits in the whole disk's (the kernel
  // resolves ".." after following /sys/dev/block's link).
  return read_queue(device + "/../queue");
}

std::optional<bool> dsync_needs_no_flush(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  return dsync_needs_no_flush_at("/sys/dev/block", major(st.st_dev), minor(st.st_dev));
}

}  // namespace segstore::io
