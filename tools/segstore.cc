// tools/segstore.cc — the `segstore` command-line tool: one binary, one subcommand per job
// (cmd_<name>.cc). Exit codes: 0 ok, 1 a problem found in the store, 2 usage or I/O errors.
#include <cstdio>
#include <map>
#include <string>

#include <fmt/core.h>

#include "cli.h"
#include "segstore/version.h"

int main(int argc, char **argv) {
  using namespace segstore::cli;
  CLI::App app{
      "segstore: look inside and operate a segstore log directory.\n"
      "Exit codes: 0 ok, 1 a problem was found in the store, 2 usage or I/O error.",
      "segstore"};
  app.require_subcommand(1, 1);
  app.fallthrough(false);
  std::map<std::string, Command> commands;  // by subcommand name
  commands["append"] = add_append_command(app);
  commands["cat"] = add_cat_command(app);
  commands["verify"] = add_verify_command(app);
  commands["recover"] = add_recover_command(app);
  commands["stat"] = add_stat_command(app);
  commands["dump"] = add_dump_command(app);
  // The library's version is the loaded one (it may differ from the headers' after an upgrade).
  app.set_version_flag("--version", [] {
    return fmt::format("segstore {} (libsegstore {}, on-disk format version {})", SEGSTORE_VERSION_STRING,
                       segstore::version(), SEGSTORE_FORMAT_VERSION);
  });

  // `segstore --man [COMMAND]` (not listed in --help): the build writes the man pages with it.
  if (argc >= 2 && std::string(argv[1]) == "--man") {
    const std::string command = argc >= 3 ? argv[2] : "";
    if (!command.empty() && commands.count(command) == 0) {
      print_error(command, "unknown command (segstore --help lists the commands)");
      return exit_usage;
    }
    std::fputs(man_page(app, command).c_str(), stdout);
    return std::fflush(stdout) == 0 ? exit_ok : exit_usage;
  }

  // CLI11 reports an unknown subcommand only as "a subcommand is required": name it.
  if (argc > 1 && argv[1][0] != '-' && commands.count(argv[1]) == 0) {
    print_error(argv[1], "unknown command (segstore --help lists the commands)");
    return exit_usage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    app.exit(e);  // prints the message (and a hint to --help) on stderr
    return exit_usage;
  }
  for (const auto &[name, run] : commands)
    if (app.get_subcommand(name)->parsed()) return run();
  return exit_usage;  // unreachable: require_subcommand(1, 1)
}
