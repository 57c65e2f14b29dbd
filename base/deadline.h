// base/deadline.h — the deadline a timeout stands for, capped so that no time_point overflows.
#pragma once

#include <chrono>

namespace segstore::base {

// now() + timeout; now() for a timeout <= 0; at most ten years ahead, far beyond any real
// timeout and far below where steady_clock's time_point (nanoseconds in 64 bits, about 292
// years) overflows when a condition variable converts it (milliseconds::max() would).
std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds timeout);

}  // namespace segstore::base
