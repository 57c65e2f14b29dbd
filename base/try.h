// base/try.h — return early when a Status-returning expression fails (the library's own code;
// not part of the public headers).
#pragma once

#include "segstore/status.h"

#define SEGSTORE_TRY(expr)                                         \
  do {                                                             \
    ::segstore::Status segstore_try_status_ = (expr);              \
    if (!segstore_try_status_.ok()) return segstore_try_status_;   \
  } while (0)
