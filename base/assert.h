// base/assert.h — always-on invariant checks. An invariant that fails means the process's state
// can no longer be trusted; continuing could write a wrong record to disk, so we stop with a
// message saying what broke. These are never compiled out (unlike assert()).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace segstore::base {
[[noreturn]] void assert_fail(const char *file, int line, const char *condition,
                              const std::string &message);
}  // namespace segstore::base

#define SEGSTORE_ASSERT(cond, message)                                              \
  do {                                                                              \
    if (!(cond)) [[unlikely]]                                                       \
      ::segstore::base::assert_fail(__FILE__, __LINE__, #cond, (message));          \
  } while (0)
