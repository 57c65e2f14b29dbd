// tools/cli.h — what the subcommands of the `segstore` CLI share: exit codes, error messages,
// the stop flag set by SIGINT/SIGTERM, standard output that notices a closed pipe, and the
// registration function of each subcommand (one file each: cmd_<name>.cc).
//
// The CLI uses only the public headers (segstore/store.h, segstore/inspect.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "segstore/status.h"

namespace segstore::cli {

// Exit codes of every subcommand.
enum ExitCode : int {
  exit_ok = 0,
  exit_problem = 1,  // the command ran and found a problem in the store (damage, a cut)
  exit_usage = 2,    // bad command line, or an error that stopped the command (I/O, in use)
};

// Prints "segstore <command>: <message>" to stderr.
void print_error(std::string_view command, std::string_view message);
// Prints the status and returns its exit code: exit_problem for damage found in the store
// (corruption, recovery_required), exit_usage for anything else.
int fail(std::string_view command, const Status &status);

// SIGINT and SIGTERM set the stop flag (and interrupt blocking reads) instead of killing the
// process, so that commands end cleanly: append closes the store, cat --follow stops.
void install_stop_signals();
bool stop_requested();

// Standard output, buffered, with SIGPIPE ignored: a closed pipe (`segstore cat | head`) is
// noticed as stdout_closed() rather than killing the process.
class Output {
 public:
  Output();
  bool write(std::span<const std::byte> bytes);
  bool write(std::string_view text);
  bool flush();
  // The reader of a pipe on stdout went away (EPIPE), or an error made stdout unusable.
  bool closed() const { return closed_; }
  // Without writing: has the reader of the pipe on stdout gone away? (poll on the write end.)
  bool reader_gone();

 private:
  bool check(bool ok);
  bool closed_ = false;
};

// A command-line check for a whole number from 0 to `max`, decimal digits only: anything else
// ("abc", "-1", "1e3", a value past `max` or past 2^64 - 1) is refused with a message that names
// the text and the range, before CLI11 converts it (which would wrap or saturate).
CLI::Validator whole_number_at_most(std::uint64_t max);

bool stderr_is_terminal();
bool stdout_is_terminal();
// "12.3 MiB"
std::string human_bytes(std::uint64_t bytes);

// Subcommands. Each adds itself to `app` and returns what runs it once the line is parsed.
using Command = std::function<int()>;
Command add_append_command(CLI::App &app);
Command add_cat_command(CLI::App &app);
Command add_verify_command(CLI::App &app);
Command add_recover_command(CLI::App &app);
Command add_stat_command(CLI::App &app);
Command add_dump_command(CLI::App &app);

// `segstore --man [COMMAND]`: the man page (roff) of the tool, or of one of its subcommands,
// from the same definitions as --help (tools/man_page.cc).
std::string man_page(const CLI::App &app, const std::string &command);

}  // namespace segstore::cli
