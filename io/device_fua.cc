// io/device_fua.cc — sysfs's queue/fua of the device under a file.
#include "io/device_fua.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace segstore::io {

namespace {

// "0\n" or "1\n": the first byte says it. Anything else (an empty file, another kernel's
// wording) is no answer rather than a guess.
std::optional<bool> read_flag(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char bytes[4] = {};
  const ssize_t n = ::read(fd, bytes, sizeof bytes);
  ::close(fd);
  if (n < 1 || (n > 1 && bytes[1] != '\n')) return std::nullopt;
  if (bytes[0] == '1') return true;
  if (bytes[0] == '0') return false;
  return std::nullopt;
}

}  // namespace

std::optional<bool> device_has_fua_at(const std::string &sysfs_dev_block, unsigned major, unsigned minor) {
  const std::string device = sysfs_dev_block + "/" + std::to_string(major) + ":" + std::to_string(minor);
  if (std::optional<bool> own = read_flag(device + "/queue/fua")) return own;
  // A partition has no queue/ of its own: its directory sits in the whole disk's (the kernel
  // resolves ".." after following /sys/dev/block's link).
  return read_flag(device + "/../queue/fua");
}

std::optional<bool> device_has_fua(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  return device_has_fua_at("/sys/dev/block", major(st.st_dev), minor(st.st_dev));
}

}  // namespace segstore::io
