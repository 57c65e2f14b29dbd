// base/log.h — one line per event that an operator should see (backend fallbacks, recovery cuts,
// background failures), sent to the host's logger (segstore/log.h) or, when it has none, to
// stderr; SEGSTORE_QUIET=1 silences the stderr default.
#pragma once

#include <string>

#include "segstore/log.h"

namespace segstore::base {

// Sends `message` to `logger`; an empty logger means the default, a line on stderr. A logger
// that throws loses that one message: the library's work goes on.
void log(const Logger &logger, LogLevel level, const std::string &message) noexcept;

}  // namespace segstore::base
