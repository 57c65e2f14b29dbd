// io/device_fua.h — whether the block device under a file takes FUA writes (sysfs queue/fua).
//
// Why the write queue asks (docs/IO.md "Sync groups"): an O_DIRECT write with RWF_DSYNC to a
// device with FUA is one write that bypasses the device cache, with no flush to wait for (not
// measured here: no FUA device was at hand). Without FUA the kernel must flush the device cache
// after the write, and for an asynchronous write it does that in its direct-I/O completion
// worker, a kernel thread bound to the CPU that took the interrupt. When that CPU runs anything
// else (even an idle-priority task) the worker waits up to a scheduler tick, and every durable
// group waits with it: measured on a virtio disk without FUA, one durable appender went from 13,000 to
// 250 appends/s with two CPU-bound processes beside it, while a write and a linked fdatasync
// (run by io_uring's own worker threads) kept 7,000 (docs/BENCHMARKS.md).
//
// The answer is read from /sys/dev/block/<major>:<minor>/queue/fua, or from the whole disk's
// queue/ for a partition. A file system with no single block device (tmpfs, overlay, a file
// system over several devices: st_dev names no block device) gives no answer.
#pragma once

#include <optional>
#include <string>

namespace segstore::io {

// The answer for the device `major:minor` under `sysfs_dev_block` ("/sys/dev/block" on a real
// system; tests pass a directory of their own): true or false when queue/fua reads "1" or
// "0", nullopt when there is no such device or the file holds anything else.
std::optional<bool> device_has_fua_at(const std::string &sysfs_dev_block, unsigned major, unsigned minor);

// The answer for the device holding the open file `fd` (fstat's st_dev).
std::optional<bool> device_has_fua(int fd);

}  // namespace segstore::io
