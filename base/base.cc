#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "base/assert.h"
#include "base/log.h"

namespace segstore::base {

void assert_fail(const char *file, int line, const char *condition, const std::string &message) {
  std::fprintf(stderr, "segstore: invariant broken at %s:%d: %s: %s\n", file, line, condition,
               message.c_str());
  std::fflush(stderr);
  std::abort();
}

namespace {
std::mutex log_mutex;
bool quiet() {
  const char *value = std::getenv("SEGSTORE_QUIET");
  return value != nullptr && value[0] == '1';
}
void log_to_stderr(LogLevel level, const std::string &message) {
  if (quiet()) return;
  std::lock_guard lock(log_mutex);
  std::fprintf(stderr, "segstore %s: %s\n", log_level_name(level), message.c_str());
}
}  // namespace

void log(const Logger &logger, LogLevel level, const std::string &message) noexcept {
  try {
    if (logger)
      logger(level, message);
    else
      log_to_stderr(level, message);
  } catch (...) {
    // The logger failed (the host's threw, or no memory): the event is lost, the work is not.
  }
}

}  // namespace segstore::base

namespace segstore {

const char *log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warning: return "warning";
    case LogLevel::error: return "error";
  }
  return "unknown";
}

}  // namespace segstore
