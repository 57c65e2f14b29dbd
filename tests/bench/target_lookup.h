// tests/bench/target_lookup.h — finding one target of an evaluated report, for the report tests.
#pragma once

#include <string>

#include "report.h"

namespace segstore::bench {

// The report's target whose goal contains `part`, or nullptr.
inline const Target *target_named(const Report &report, const std::string &part) {
  for (const Target &t : report.targets)
    if (t.goal.find(part) != std::string::npos) return &t;
  return nullptr;
}

}  // namespace segstore::bench
