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
void log_line(const char *level, const std::string &message) {
  if (quiet()) return;
  std::lock_guard lock(log_mutex);
  std::fprintf(stderr, "segstore %s: %s\n", level, message.c_str());
}
}  // namespace

void log_warning(const std::string &message) { log_line("warning", message); }
void log_info(const std::string &message) { log_line("info", message); }

}  // namespace segstore::base
