// tools/cmd_cat.cc — `segstore cat DIR`: records to standard output.
//
// cat reads the segment files directly (inspect::LogReader) instead of opening the store: it
// takes no lock and changes nothing, so it works while another process has the store open, and
// --follow picks up what that process appends, like `tail -f`, until SIGINT/SIGTERM or until
// the reader of standard output goes away.
#include <memory>
#include <optional>

#include <fmt/core.h>

#include "cli.h"
#include "progress.h"
#include "record_format.h"
#include "segstore/inspect.h"

namespace segstore::cli {

namespace {

// How long one wait for new records lasts before the stop flag and stdout are looked at again.
constexpr std::chrono::milliseconds follow_wait_ms{200};
// Damage at the end of the newest segment that lasts this long while following is reported
// once on stderr (a write in flight clears within milliseconds).
constexpr std::chrono::seconds follow_damage_warning_after{2};

struct CatArgs {
  std::string dir;
  std::uint64_t from = 0;
  std::optional<std::uint32_t> stream;
  std::optional<std::uint64_t> count;
  bool follow = false;
  std::string format = "text";
};

std::string problem_text(const inspect::Problem &p) {
  return fmt::format("{} at offset {}{}: {}: {}", p.file, p.offset, p.lsn ? fmt::format(" (LSN {})", *p.lsn) : "",
                     p.reason, p.detail);
}

int run_cat(const CatArgs &args) {
  constexpr std::string_view command = "cat";
  const RecordFormat format = *parse_record_format(args.format);  // checked by the parser
  if (args.follow) install_stop_signals();
  Result<inspect::LogReader> opened = inspect::LogReader::open(args.dir, args.from, args.stream);
  if (!opened.ok()) return fail(command, opened.status());
  inspect::LogReader &reader = *opened;
  Output out;

  // A progress bar only for a one-off read of a big store into a file or pipe.
  const bool show_progress = !args.follow && stderr_is_terminal() && !stdout_is_terminal();
  ProgressBar progress("cat", 0, show_progress);
  if (show_progress) {
    Result<inspect::StoreDescription> desc = inspect::describe_store(args.dir);
    if (desc.ok()) progress.set_total(desc->log_bytes);
  }

  std::string text;
  std::uint64_t written = 0;
  // Since when the reader has been waiting at damage (a plain time_point: GCC 12 misreads an
  // optional one as maybe-uninitialized).
  bool at_damage = false, damage_warned = false;
  std::chrono::steady_clock::time_point damage_since{};
  while (!(args.count && written >= *args.count) && !stop_requested()) {
    Result<bool> got = reader.next();
    if (got.ok() && !*got && args.follow) {
      // Idle: hand over what was written, then wait for the writer.
      if (!out.flush() || out.reader_gone()) break;
      if (reader.tail_damage()) {
        const auto now = std::chrono::steady_clock::now();
        if (!at_damage) damage_since = now;
        at_damage = true;
        if (!damage_warned && now - damage_since > follow_damage_warning_after) {
          print_error(command, "waiting at damage: " + problem_text(*reader.tail_damage()));
          damage_warned = true;
        }
      } else {
        at_damage = false;
      }
      got = reader.next_wait(follow_wait_ms);
      if (got.ok() && !*got) continue;
    }
    if (!got.ok()) {
      out.flush();
      return fail(command, got.status());
    }
    if (!*got) break;
    text.clear();
    format_record(format, reader.record(), text);
    if (!out.write(text)) break;
    ++written;
    progress.update(reader.bytes_read());
  }
  progress.finish();
  out.flush();
  if (out.closed()) return exit_ok;  // the reader of our output went away: nothing is wrong
  if (!args.follow && reader.tail_damage() && !(args.count && written >= *args.count)) {
    print_error(command, "the records end at damage: " + problem_text(*reader.tail_damage()));
    return exit_problem;
  }
  return exit_ok;
}

}  // namespace

Command add_cat_command(CLI::App &app) {
  auto args = std::make_shared<CatArgs>();
  CLI::App *cmd = app.add_subcommand("cat", "Write records to standard output; --follow tails new ones");
  cmd->footer(
      "Reads the segment files without locking the store, so it works while another process\n"
      "appends; --follow keeps printing new records (like tail -f) until SIGINT/SIGTERM or until\n"
      "the reader of standard output goes away. Exits 1 if the records end at damage.");
  cmd->add_option("DIR", args->dir, "store directory")->required();
  cmd->add_option("--from", args->from, "first LSN to print (default: the oldest record)")
      ->check(whole_number_at_most(UINT64_MAX));
  cmd->add_option("--stream", args->stream, "print only records of this stream")
      ->check(whole_number_at_most(UINT32_MAX));
  cmd->add_option("--count", args->count, "stop after this many records")
      ->check(whole_number_at_most(UINT64_MAX));
  cmd->add_flag("--follow,-f", args->follow, "keep waiting for new records until SIGINT/SIGTERM");
  cmd->add_option("--format", args->format,
                  "text: payload + newline; hex: '<lsn> <stream> <hex>'; json: one object per line;\n"
                  "framed: 4-byte little-endian length + payload (what append --framed reads)")
      ->check(CLI::IsMember({"text", "hex", "json", "framed"}))
      ->capture_default_str();
  return [args] { return run_cat(*args); };
}

}  // namespace segstore::cli
