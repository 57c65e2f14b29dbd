// tools/cmd_recover.cc — `segstore recover DIR`: runs the recovery pass explicitly
// (segstore::recover) and prints its report: what was checked, what was cut and where it was
// quarantined.
#include <sys/stat.h>

#include <cstdlib>
#include <memory>

#include <fmt/core.h>

#include "cli.h"
#include "segstore/store.h"

namespace segstore::cli {

namespace {

struct RecoverArgs {
  std::string dir;
  bool strict = false;
  bool accept_loss = false;
};

int run_recover(const RecoverArgs &args) {
  constexpr std::string_view command = "recover";
  // Opening a directory without META would make it a new store: recover never creates one.
  struct stat st {};
  if (::stat((args.dir + "/META").c_str(), &st) != 0)
    return fail(command, Status(::stat(args.dir.c_str(), &st) != 0 ? Errc::not_found : Errc::not_a_store,
                                args.dir + " is not a segstore store (no META file)"));
  // The library logs a recovery that cut the log on stderr; here the report itself is the
  // output, so the log line would only repeat it.
  ::setenv("SEGSTORE_QUIET", "1", 1);
  Options options;
  options.create_if_missing = false;
  options.strict_recovery = args.strict;
  options.accept_data_loss = args.accept_loss;
  Result<RecoveryReport> report = recover(args.dir, options);
  if (!report.ok()) return fail(command, report.status());
  Output out;
  out.write(report->to_string());
  if (!report->to_string().ends_with('\n')) out.write("\n");
  out.flush();
  // Anything cut or quarantined means the store held damage: scripts see it in the exit code.
  const bool damage = report->cut || report->acknowledged_data_lost || report->bytes_quarantined != 0;
  return damage ? exit_problem : exit_ok;
}

}  // namespace

Command add_recover_command(CLI::App &app) {
  auto args = std::make_shared<RecoverArgs>();
  CLI::App *cmd = app.add_subcommand("recover", "Run the recovery pass and print what it found and cut");
  cmd->footer(
      "Runs the recovery pass now (as opening the store does, scanning every segment) and prints\n"
      "its report. Exits 0 when nothing had to be cut; 1 when damage was cut and quarantined (the\n"
      "store is consistent afterwards), when acknowledged records are missing (DATA LOSS: the\n"
      "store then refuses writes until --accept-loss), or --strict refused to cut; 2 on errors\n"
      "(e.g. store in use).");
  cmd->add_option("DIR", args->dir, "store directory")->required();
  cmd->add_flag("--strict", args->strict, "refuse to cut the log: change nothing and exit 1 if a cut is needed");
  cmd->add_flag("--accept-loss", args->accept_loss,
                "accept that the acknowledged records reported lost are gone: writes continue after the\n"
                "log's end, handing their LSNs out again");
  return [args] { return run_recover(*args); };
}

}  // namespace segstore::cli
