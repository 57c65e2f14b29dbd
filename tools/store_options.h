// tools/store_options.h — the store options a writing command takes (segstore append): how
// segment files are prepared and how many write groups may be in flight, and the statistics
// of the session printed at the end (--stats, one JSON object on stderr).
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "segstore/store.h"

namespace segstore::cli {

struct StoreOptionArgs {
  std::string prealloc = "auto";
  bool no_spare_segment = false;
  std::uint32_t inflight_groups = 0;  // 0: the library's default
  bool stats = false;
};

// Adds --prealloc, --no-spare-segment, --inflight-groups and --stats to `cmd`.
void add_store_options(CLI::App *cmd, StoreOptionArgs &args);
// Applies them to `options` (ranges are checked by Store::open, with its messages).
void apply_store_options(const StoreOptionArgs &args, Options &options);

// Stats as JSON (also `segstore stat --json --open`): counters, distributions, recovery.
nlohmann::json stats_to_json(const Stats &stats);

}  // namespace segstore::cli
