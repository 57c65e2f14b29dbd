// format/store_dir.h — names of the files in a store directory (docs/FORMAT.md "Store directory").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "format/layout.h"
#include "segstore/log.h"

namespace segstore::format {

inline constexpr const char *meta_file_name = "META";
inline constexpr const char *lock_file_name = "LOCK";
inline constexpr const char *clean_file_name = "CLEAN";
inline constexpr const char *truncate_file_name = "TRUNCATE";  // a truncate_after in progress
inline constexpr const char *events_file_name = "events.log";
inline constexpr const char *app_meta_file_name = "APPMETA";  // Store::write_metadata
inline constexpr const char *snapshots_dir_name = "snapshots";
inline constexpr const char *quarantine_dir_name = "quarantine";
inline constexpr const char *segment_suffix = ".seg";
inline constexpr const char *index_suffix = ".idx";
inline constexpr const char *temp_suffix = ".tmp";
// "<id>.free": the file of a segment that trim or retention freed, kept to be recycled as a later
// segment (Options::recycled_segments_max). It holds no record of the log; its id is the highest
// the file carried, so that no later segment takes an id it had.
inline constexpr const char *free_suffix = ".free";
inline constexpr const char *snapshot_suffix = ".snap";  // under snapshots_dir_name

// META and CLEAN are one small file each, far below a block: reads of them are bounded by this,
// never by a size found on disk.
inline constexpr std::uint64_t small_file_read_max_bytes = block_size_bytes;

std::string join_path(const std::string &dir, const std::string &name);
// "<id as 20 decimal digits><suffix>": names sort in id order.
std::string numbered_name(std::uint64_t number, const char *suffix);
// Parses a numbered_name with that suffix; nullopt for anything else.
std::optional<std::uint64_t> parse_numbered_name(const std::string &name, const char *suffix);

}  // namespace segstore::format
