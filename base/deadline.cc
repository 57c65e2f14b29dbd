// base/deadline.cc — see base/deadline.h.
#include "base/deadline.h"

namespace segstore::base {

namespace {
// The longest wait a deadline stands for.
constexpr std::chrono::hours wait_deadline_max_hours{24 * 365 * 10};
}  // namespace

std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  const auto now = std::chrono::steady_clock::now();
  if (timeout <= std::chrono::milliseconds::zero()) return now;
  if (timeout >= wait_deadline_max_hours) return now + wait_deadline_max_hours;
  return now + timeout;
}

}  // namespace segstore::base
