// bench/machine.h — what the figures were measured on: kernel, file system, device, CPU.
#pragma once

#include <string>

namespace segstore::bench {

struct Machine {
  std::string kernel;       // uname: sysname release version machine
  std::string cpu_model;    // /proc/cpuinfo "model name"
  int cpus = 0;             // online CPUs
  double memory_gib = 0;
  std::string file_system;  // statfs type of the benchmark directory, e.g. "ext4"
  std::string mount_point;  // from /proc/mounts: the longest mount point containing the directory
  std::string device;       // the mounted device, e.g. /dev/vda
  std::string device_info;  // from /sys/block: driver, rotational, scheduler
  std::string mount_options;
  std::string load_average;  // /proc/loadavg at the start: how busy the shared machine was
};

Machine describe_machine(const std::string &dir);
std::string load_average_now();

}  // namespace segstore::bench
