// tools/cmd_verify.cc — `segstore verify DIR`: every checksum, the LSN sequence and every
// index snapshot, without changing anything (inspect::verify_store).
#include <memory>

#include <fmt/core.h>

#include "cli.h"
#include "progress.h"
#include "segstore/inspect.h"

namespace segstore::cli {

namespace {

struct VerifyArgs {
  std::string dir;
  bool quiet = false;
};

int run_verify(const VerifyArgs &args) {
  constexpr std::string_view command = "verify";
  ProgressBar progress("verify", 0);
  Result<inspect::VerifyReport> verified =
      inspect::verify_store(args.dir, [&](const inspect::VerifyProgress &p) {
        progress.set_total(p.bytes_total);
        progress.update(p.bytes_done);
      });
  progress.finish();
  if (!verified.ok()) return fail(command, verified.status());
  const inspect::VerifyReport &r = *verified;

  Output out;
  std::string text;
  auto line = [&](const std::string &s) { text += s + "\n"; };
  // What was read and what the log holds are two facts: they differ when damage or a trim in
  // progress hides records (the problems and notes below say which).
  const std::string lsns = r.next_lsn > r.first_lsn
                               ? fmt::format("the log holds LSN {}..{}", r.first_lsn, r.next_lsn - 1)
                               : fmt::format("the log holds no records, next LSN {}", r.next_lsn);
  line(fmt::format("verified {}: {} segment{}, {} record{} read, {} index snapshot{}, {} snapshot{}, {} read; {}",
                   args.dir, r.segments_checked, r.segments_checked == 1 ? "" : "s", r.records_checked,
                   r.records_checked == 1 ? "" : "s", r.index_snapshots_checked,
                   r.index_snapshots_checked == 1 ? "" : "s", r.snapshots_checked, r.snapshots_checked == 1 ? "" : "s",
                   human_bytes(r.bytes_read), lsns));
  for (const inspect::Problem &p : r.problems)
    line(fmt::format("problem: {} at offset {}{}: {} {}: {}", p.file, p.offset,
                     p.lsn ? fmt::format(" (LSN {})", *p.lsn) : "", inspect::problem_kind_name(p.kind), p.reason,
                     p.detail));
  if (!args.quiet)
    for (const std::string &note : r.notes) line("note: " + note);
  line(r.ok() ? "ok: no problems found"
              : fmt::format("{} problem{} found", r.problems.size(), r.problems.size() == 1 ? "" : "s"));
  out.write(text);
  out.flush();
  return r.ok() ? exit_ok : exit_problem;
}

}  // namespace

Command add_verify_command(CLI::App &app) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App *cmd = app.add_subcommand("verify", "Check every checksum, the LSN sequence and every index snapshot (read-only)");
  cmd->footer(
      "Reads every segment, index snapshot and application snapshot and checks every checksum,\n"
      "the LSN sequence and each index snapshot against its segment. Changes nothing and takes no\n"
      "lock. Prints each problem with its file, byte offset, LSN and reason; exits 1 if any.");
  cmd->add_option("DIR", args->dir, "store directory")->required();
  cmd->add_flag("--quiet,-q", args->quiet, "leave out notes (allowed oddities such as a missing .idx)");
  return [args] { return run_verify(*args); };
}

}  // namespace segstore::cli
