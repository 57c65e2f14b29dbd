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
  std::string cpu_idle;      // describe_cpu_idle: how an idle CPU waits for its next wake-up
};

Machine describe_machine(const std::string &dir);

// How an idle CPU waits, from /sys/devices/system/cpu/cpuidle (`driver`, `governor`) and, in a
// KVM guest with the haltpoll driver, /sys/module/haltpoll/parameters/guest_halt_poll_ns
// (`halt_poll_ns`, empty elsewhere). Why it is printed: in a guest whose idle vCPUs halt at
// once (halt polling off), waking a thread on an idle vCPU is a VM exit and entry, ~25 us here
// against ~2.5 us with halt polling, and every durable append waits for such wake-ups
// (docs/BENCHMARKS.md "The machine's idle vCPUs"). No driver (empty, or "none") reads as
// "not reported"; an empty governor or halt_poll_ns is left out.
std::string describe_cpu_idle(const std::string &driver, const std::string &governor, const std::string &halt_poll_ns);
std::string load_average_now();

// The machine's CPU time so far, from /proc/stat's first line: how much of every CPU was busy
// over a span (user, system, interrupts, steal) against idle (waiting for I/O counts as idle:
// a CPU that waits for the disk could run anything else). A durable workload whose CPUs are all
// busy is bound by the machine's CPUs, not by its device; one with idle CPUs is not.
struct CpuTimes {
  unsigned long long busy = 0;  // clock ticks
  unsigned long long idle = 0;
  bool valid = false;
};
CpuTimes cpu_times_now();
// Busy share of all CPUs over [before, after], 0..1; not_measured when either sample failed.
double cpu_busy_share(const CpuTimes &before, const CpuTimes &after);

}  // namespace segstore::bench
