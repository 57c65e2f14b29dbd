// tools/cmd_dump.cc — `segstore dump DIR`: each record header of a segment, for people
// debugging the format (inspect::dump_segment). Exits 1 if a header, payload or LSN is bad.
#include <memory>
#include <optional>

#include <fmt/core.h>

#include "cli.h"
#include "segstore/inspect.h"

namespace segstore::cli {

namespace {

struct DumpArgs {
  std::string dir;
  std::optional<std::uint64_t> segment;
  std::optional<std::uint64_t> from_offset;
};

int dump_one(const DumpArgs &args, std::uint64_t id, Output &out, bool &bad) {
  std::string text;
  auto flush_text = [&] {
    out.write(text);
    text.clear();
  };
  Result<inspect::DumpEnd> end = inspect::dump_segment(
      args.dir, id, args.from_offset.value_or(0),
      [&](const inspect::DumpEntry &e) {
        std::string check = "ok";
        if (!e.header_ok) {
          check = "BAD header: " + e.error;
          bad = true;
        } else if (!e.payload_ok || !e.lsn_expected || !e.error.empty()) {
          check = "BAD: " + e.error;
          bad = true;
        }
        if (e.header_ok)
          text += fmt::format("  {:>10}  {:>12}  {:>10}  {:<12}  {:>8}  {:>8}  {:>6}  {}\n", e.offset, e.lsn, e.stream,
                              inspect::record_type_name(e.type), e.payload_bytes, e.disk_bytes, e.durable_lag, check);
        else
          text += fmt::format("  {:>10}  {:>12}  {:>10}  {:<12}  {:>8}  {:>8}  {:>6}  {}\n", e.offset, "?", "?", "?",
                              "?", "?", "?", check);
        if (text.size() > (1u << 16)) flush_text();
        return !out.closed();
      },
      [&](const inspect::SegmentHeaderInfo &h) {
        text += fmt::format("segment {}: {}\n  base LSN {}, segment_bytes {}, file {} bytes, store {:016x}\n", h.id,
                            h.file, h.base_lsn, h.segment_bytes, h.file_bytes, h.store_id);
        text += fmt::format("  {:>10}  {:>12}  {:>10}  {:<12}  {:>8}  {:>8}  {:>6}  {}\n", "offset", "LSN", "stream",
                            "type", "length", "disk", "lag", "check");
      });
  if (!end.ok()) {
    flush_text();
    return fail("dump", end.status());
  }
  if (end->reason == "unused") {
    text += fmt::format("segment {}: unused (block 0 is all zero: preallocated, never activated)\n", id);
  } else {
    const bool clean = end->reason == "clean_end" || end->reason == "end_of_segment" || end->reason == "stopped";
    if (!clean) bad = true;
    text += fmt::format("  end at offset {}: {} ({} record{}, next LSN {})\n", end->offset, end->reason, end->records,
                        end->records == 1 ? "" : "s", end->next_lsn);
  }
  flush_text();
  return exit_ok;
}

int run_dump(const DumpArgs &args) {
  constexpr std::string_view command = "dump";
  if (args.from_offset && !args.segment) {
    print_error(command, "--from-offset needs --segment (an offset is within one segment)");
    return exit_usage;
  }
  std::vector<std::uint64_t> ids;
  if (args.segment) {
    ids.push_back(*args.segment);
  } else {
    Result<inspect::StoreDescription> desc = inspect::describe_store(args.dir);
    if (!desc.ok()) return fail(command, desc.status());
    for (const inspect::SegmentInfo &s : desc->segments) ids.push_back(s.id);
    if (ids.empty()) print_error(command, args.dir + " has no segment files");
  }
  Output out;
  bool bad = false;
  for (std::uint64_t id : ids) {
    const int code = dump_one(args, id, out, bad);
    if (code != exit_ok) return code;
    if (out.closed()) return exit_ok;
  }
  out.flush();
  return bad ? exit_problem : exit_ok;
}

}  // namespace

Command add_dump_command(CLI::App &app) {
  auto args = std::make_shared<DumpArgs>();
  CLI::App *cmd = app.add_subcommand("dump", "Print each record header of a segment (for debugging the format)");
  cmd->footer(
      "Prints offset, LSN, stream, type, payload length, bytes on disk, durable_lag and whether the\n"
      "checks pass for each record header, and where and why the records end (docs/FORMAT.md).\n"
      "Without --segment, every segment. Exits 1 if anything is bad.");
  cmd->add_option("DIR", args->dir, "store directory")->required();
  cmd->add_option("--segment", args->segment, "segment id (the number in its file name)")
      ->check(whole_number_at_most(UINT64_MAX));
  cmd->add_option("--from-offset", args->from_offset,
                  "start at this byte offset of the segment (a record position, e.g. one an earlier dump printed)")
      ->check(whole_number_at_most(UINT64_MAX));
  return [args] { return run_dump(*args); };
}

}  // namespace segstore::cli
