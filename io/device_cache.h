// io/device_cache.h — whether a durable O_DIRECT write to the device under a file needs a cache
// flush after it: not when the device takes FUA writes (sysfs queue/fua "1") or has no volatile
// write cache (queue/write_cache "write through").
//
// Why the write queue asks (docs/IO.md "Sync groups"): an O_DIRECT overwrite with RWF_DSYNC to
// such a device is one write with nothing to wait for after it (Linux's iomap then sends it with
// REQ_FUA, or as a plain write, and completes it on the submitting task; not measured here: no
// such device was at hand). Otherwise the kernel must flush the device cache after the write,
// and for an asynchronous write it does that in its direct-I/O completion worker, a kernel
// thread bound to the CPU that took the interrupt. When that CPU runs anything else (even an
// idle-priority task) the worker waits up to a scheduler tick, and every durable group waits
// with it: measured on a virtio disk without FUA, one durable appender went from 13,000 to 250
// appends/s with two CPU-bound processes beside it, while a write and a linked fdatasync (run by
// io_uring's own worker threads) kept 7,000 (docs/BENCHMARKS.md).
//
// The answer is read from /sys/dev/block/<major>:<minor>/queue/, or from the whole disk's queue/
// for a partition. A file system with no single block device (tmpfs, overlay, a file system over
// several devices: st_dev names no block device) gives no answer.
#pragma once

#include <optional>
#include <string>

namespace segstore::io {

// The answer for the device `major:minor` under `sysfs_dev_block` ("/sys/dev/block" on a real
// system; tests pass a directory of their own): true when queue/fua reads "1" or
// queue/write_cache reads "write through", false when fua reads "0" and write_cache "write
// back", nullopt when there is no such device or the files hold anything else.
std::optional<bool> dsync_needs_no_flush_at(const std::string &sysfs_dev_block, unsigned major, unsigned minor);

// The answer for the device holding the open file `fd` (fstat's st_dev).
std::optional<bool> dsync_needs_no_flush(int fd);

}  // namespace segstore::io
