// bench/machine.cc — reads the machine's description from uname, statfs and /proc.
#include "machine.h"

#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "figures.h"

namespace segstore::bench {

namespace {

std::string file_system_name(long type) {
  switch (static_cast<unsigned long>(type)) {
    case 0xEF53: return "ext4";  // ext2/3/4 share the magic
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x2FC12FC1: return "zfs";
    case 0x794c7630: return "overlayfs";
    case 0xF2F52010: return "f2fs";
    default: {
      std::ostringstream out;
      out << "0x" << std::hex << type;
      return out.str();
    }
  }
}

}  // namespace

CpuTimes cpu_times_now() {
  std::ifstream in("/proc/stat");
  std::string label;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  CpuTimes t;
  if (!in || label != "cpu") return t;
  t.busy = user + nice + system + irq + softirq + steal;
  t.idle = idle + iowait;
  t.valid = true;
  return t;
}

double cpu_busy_share(const CpuTimes &before, const CpuTimes &after) {
  if (!before.valid || !after.valid || after.busy < before.busy || after.idle < before.idle) return not_measured;
  const unsigned long long busy = after.busy - before.busy;
  const unsigned long long total = busy + (after.idle - before.idle);
  return total == 0 ? not_measured : static_cast<double>(busy) / static_cast<double>(total);
}

std::string load_average_now() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string describe_cpu_idle(const std::string &driver, const std::string &governor, const std::string &halt_poll_ns) {
  if (driver.empty() || driver == "none") return "not reported";
  std::string text = driver + (governor.empty() ? "" : " (governor " + governor + ")");
  if (!halt_poll_ns.empty())
    text += halt_poll_ns == "0" ? ", guest halt polling off (guest_halt_poll_ns 0: an idle vCPU halts at once)"
                                : ", guest halt polling up to " + halt_poll_ns + " ns";
  return text;
}

namespace {

std::string first_line_of(const std::string &path) {
  std::string line;
  std::getline(std::ifstream(path), line);
  return line;
}

}  // namespace

Machine describe_machine(const std::string &dir) {
  Machine m;
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine;
  {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line))
      if (line.rfind("model name", 0) == 0) {
        m.cpu_model = line.substr(line.find(':') + 2);
        break;
      }
  }
  m.cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  m.memory_gib = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1ull << 30);
  std::error_code ec;
  const std::string absolute = std::filesystem::weakly_canonical(std::filesystem::absolute(dir, ec), ec).string();
  struct statfs fs{};
  if (::statfs(absolute.c_str(), &fs) == 0) m.file_system = file_system_name(fs.f_type);
  std::ifstream mounts("/proc/mounts");
  std::string device, point, type, options, rest;
  while (mounts >> device >> point >> type >> options) {
    std::getline(mounts, rest);
    const bool contains = absolute == point || (absolute.rfind(point, 0) == 0 && (point == "/" || absolute[point.size()] == '/'));
    if (contains && point.size() >= m.mount_point.size()) {
      m.mount_point = point;
      m.device = device;
      m.mount_options = options;
      if (m.file_system.empty() || m.file_system.rfind("0x", 0) == 0) m.file_system = type;
    }
  }
  if (m.device.rfind("/dev/", 0) == 0) {
    const std::string sys = "/sys/class/block/" + m.device.substr(5);
    std::error_code ignored;
    const auto driver = std::filesystem::read_symlink(sys + "/device/driver", ignored);
    std::string rotational, scheduler, fua, write_cache;
    std::ifstream(sys + "/queue/rotational") >> rotational;
    std::ifstream(sys + "/queue/fua") >> fua;
    write_cache = first_line_of(sys + "/queue/write_cache");
    scheduler = first_line_of(sys + "/queue/scheduler");
    if (!driver.empty()) m.device_info = "driver " + driver.filename().string();
    if (!rotational.empty()) m.device_info += std::string(m.device_info.empty() ? "" : ", ") + (rotational == "0" ? "rotational 0" : "rotational 1");
    // "none [mq-deadline] kyber": the bracketed one is in use.
    const std::size_t open = scheduler.find('['), close = scheduler.find(']');
    if (open != std::string::npos && close > open) scheduler = scheduler.substr(open + 1, close - open - 1);
    if (!scheduler.empty()) m.device_info += ", scheduler " + scheduler;
    // Whether durable writes can skip the cache flush: it decides how segstore's sync groups go
    // (docs/ENGINE.md "Busy CPUs and the sync's completion").
    if (fua == "0" || fua == "1") m.device_info += ", fua " + fua;
    if (!write_cache.empty()) m.device_info += ", " + write_cache;
  }
  const std::string cpuidle = "/sys/devices/system/cpu/cpuidle/";
  std::string governor = first_line_of(cpuidle + "current_governor");
  if (governor.empty()) governor = first_line_of(cpuidle + "current_governor_ro");
  m.cpu_idle = describe_cpu_idle(first_line_of(cpuidle + "current_driver"), governor,
                                 first_line_of("/sys/module/haltpoll/parameters/guest_halt_poll_ns"));
  m.load_average = load_average_now();
  return m;
}

}  // namespace segstore::bench
