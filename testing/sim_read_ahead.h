// testing/sim_read_ahead.h — read-ahead on the simulated disk (SimDisk::set_read_ahead).
//
// Scans of a store read windows ahead through an io::ReadAhead: a window's bytes are read when
// it is issued and used when the iterator reaches it, perhaps after truncate_after, reset_to or
// a trim changed the log. The real env reads on threads or an io_uring, at a moment nobody
// chooses; this one reads each window either at once, when it is submitted, or only when it
// is waited for, as the disk's seed decides, on the calling thread. Both ends of the window of
// time in which a read may complete are thus reached, and a single-threaded run stays a
// function of its seed (every read happens in the order of the caller's calls). Recovery's
// window reads use it as well.
#pragma once

#include <cstdint>
#include <memory>

#include "io/read_ahead.h"

namespace segstore::testing {

// A ReadAhead whose reads complete at submit() or at wait(), chosen by `seed`.
std::unique_ptr<io::ReadAhead> make_sim_read_ahead(std::uint64_t seed);

}  // namespace segstore::testing
