// tests/sim/interrupted_cut.h — what an open that failed said about the cut its recovery made.
// Such an open returns only its error, but its recovery may have cut the log already: all of
// it (the recovery pass finished, and the open failed after it, e.g. syncing the last segment)
// or part of it (the pass failed while applying the cut: the cut bytes or files may already be
// in quarantine/). The next open may then find nothing left to cut and report nothing, so the
// store's events.log is where the acknowledged records that cut took are accounted for:
//   - a finished pass appends its report, whose line "log cut in <file> at offset <n> (first
//     LSN cut <lsn>): <reason>" names the cut (recovery/recovery_report.cc);
//   - a pass that failed while cutting appends "recovery interrupted by <error> while cutting
//     the log in <file> at offset <n> (first LSN cut <lsn>): ..." (recovery/recover.cc), and
//     syncs it: with part of the cut done, it may be the only account of it.
//
// events.log is written through the store's Env: on the simulated disk, not on the host (a
// host path read with std::ifstream never sees it). The bytes read here are the file as a read
// sees it now, volatile appends included.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/store_dir.h"
#include "testing/sim_env.h"

namespace segstore::sim {

inline std::string events_log_path(const std::string &store_dir) {
  return store_dir + "/" + format::events_file_name;
}

// How many bytes the store's events.log holds now (0 when it does not exist).
inline std::size_t events_log_bytes(const testing::SimDisk &disk, const std::string &store_dir) {
  return disk.contents(events_log_path(store_dir)).size();
}

enum class CutLines : std::uint8_t {
  interrupted,  // "recovery interrupted by ... (first LSN cut N)" only
  any,          // those and a finished pass's "log cut in ... (first LSN cut N)"
};

// The lowest "first LSN cut" of the cut lines of events.log from byte `from` on (the lines one
// open appended, when `from` is the size before it); nullopt if there is none.
inline std::optional<std::uint64_t> reported_cut_lsn(const testing::SimDisk &disk, const std::string &store_dir,
                                                     std::size_t from, CutLines which) {
  const std::vector<std::byte> bytes = disk.contents(events_log_path(store_dir));
  if (from >= bytes.size()) return std::nullopt;
  const std::string_view text(reinterpret_cast<const char *>(bytes.data()) + from, bytes.size() - from);
  constexpr std::string_view interrupted_event = "recovery interrupted by ";
  constexpr std::string_view finished_cut = "log cut in ";
  constexpr std::string_view lsn_label = " (first LSN cut ";
  std::optional<std::uint64_t> lowest;
  for (std::size_t line_start = 0; line_start < text.size();) {
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    const std::string_view line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    std::size_t at = line.find(interrupted_event);
    if (at == std::string_view::npos && which == CutLines::any && line.starts_with(finished_cut)) at = 0;
    if (at == std::string_view::npos) continue;
    const std::size_t label = line.find(lsn_label, at);
    if (label == std::string_view::npos) continue;
    std::uint64_t lsn = 0;
    std::size_t digits = 0;
    for (std::size_t i = label + lsn_label.size(); i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i, ++digits)
      lsn = lsn * 10 + static_cast<std::uint64_t>(line[i] - '0');
    if (digits == 0) continue;
    lowest = lowest ? std::min(*lowest, lsn) : lsn;
  }
  return lowest;
}

inline std::optional<std::uint64_t> interrupted_cut_lsn(const testing::SimDisk &disk, const std::string &store_dir,
                                                        std::size_t from = 0) {
  return reported_cut_lsn(disk, store_dir, from, CutLines::interrupted);
}

}  // namespace segstore::sim
