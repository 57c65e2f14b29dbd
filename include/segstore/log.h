// segstore/log.h — where the library's messages go.
//
// The library speaks rarely: a fallback of the I/O backend, a recovery that cut the log, an index
// snapshot it could not write, a retention or preallocation failure. Each is one event with a level
// and a one-line message that names the store, the file and the cause. A host routes them to its own
// logging through Options::logger (C: segstore_options_set_logger); without one they go to stderr
// as "segstore <level>: <message>" lines, and the environment variable SEGSTORE_QUIET=1 silences
// that default.
//
// Thread-safety: a logger is called from any of the library's threads (appenders, the maintenance
// thread, the opening thread), possibly from several at once: it must be thread-safe. It must not
// call back into the store that logs (it may run while the store holds its locks).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "segstore/export.h"

namespace segstore {

enum class LogLevel : std::uint8_t {
  debug = 0,    // detail for the library's developers (currently never emitted)
  info = 1,     // something an operator may like to know (a recovery that ran)
  warning = 2,  // the library worked around a problem (a fallback, a rebuilt index)
  error = 3,    // an operation failed in the background (no caller to return it to)
};

// "debug", "info", "warning", "error".
SEGSTORE_API const char *log_level_name(LogLevel level) noexcept;

using Logger = std::function<void(LogLevel level, const std::string &message)>;

}  // namespace segstore
