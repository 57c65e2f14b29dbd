// io/read_ahead.h — reads issued now and collected later, so that a scan keeps several reads in
// flight while it decodes the bytes of an earlier one.
//
// A scan that reads one window, decodes it and only then asks for the next leaves the device
// idle while it decodes and keeps one request in flight while it reads; sequential reads reach
// the device's bandwidth only with several in flight. A ReadAhead takes reads (submit) and
// completes them in the background; the caller waits for each one when it needs its bytes.
//
// Env::make_read_ahead makes one. The real env's runs each read as a positional read on one of
// a few worker threads (File::read_at, so O_DIRECT files and their alignment rules are kept). An
// env may have none (the default): the simulated disk decides faults in the order of its calls,
// and reads it did not ask for would change a seed's run, so its users read synchronously.
//
// Lifetime: every submitted read must be waited for before its AheadRead, its buffer or its
// file goes away, and before the ReadAhead is destroyed. Thread-safety: submit and wait may be
// called from several threads at once, each on its own AheadReads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "io/env.h"

namespace segstore::io {

// One read: `out.size()` bytes of `file` at `offset`. The outcome fields are written by the
// ReadAhead and may be read only after wait() returned for it.
struct AheadRead {
  File *file = nullptr;
  std::uint64_t offset = 0;
  std::span<std::byte> out;
  // Outcome: bytes read (fewer only at the end of the file) or the read's error.
  Status status;
  std::size_t bytes = 0;
  bool done = false;  // guarded by the ReadAhead that took it
  int fd = -1;        // the io_uring ReadAhead's: the descriptor pinned while the read is in flight
};

class ReadAhead {
 public:
  virtual ~ReadAhead() = default;
  // Starts the read; returns at once. `read` must not be in flight already.
  virtual void submit(AheadRead &read) = 0;
  // Starts every read of `reads` (none in flight already), as submit() does each: the io_uring
  // one hands them to the kernel with one system call (a scan's windows, a one-stream walk's
  // runs of one segment). This default submits them one by one.
  virtual void submit_batch(std::span<AheadRead *const> reads) {
    for (AheadRead *read : reads) submit(*read);
  }
  // Blocks until `read` (submitted to this ReadAhead) completed.
  virtual void wait(AheadRead &read) = 0;
};

// Reads on `threads` worker threads (at least one), started here and joined by the destructor.
std::unique_ptr<ReadAhead> make_thread_read_ahead(unsigned threads);
// Reads on an io_uring of its own with up to `depth` reads in flight (more are read on the
// caller's thread), on PosixFile descriptors (other files are read on the caller's thread);
// nullptr when no ring can be made (io/uring_read_ahead.cc).
std::unique_ptr<ReadAhead> make_uring_read_ahead(unsigned depth);

}  // namespace segstore::io
