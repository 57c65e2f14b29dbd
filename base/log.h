// base/log.h — one line to stderr per event that an operator should see (backend fallbacks,
// recovery cuts). Quiet by default for warnings-level events when SEGSTORE_QUIET=1.
#pragma once

#include <string>

namespace segstore::base {
void log_warning(const std::string &message);
void log_info(const std::string &message);
}  // namespace segstore::base
