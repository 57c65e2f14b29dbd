// tools/cmd_bench.cc — `segstore bench ...`: the benchmark (bench/, issue "Benchmarks"). Every
// argument after `bench` goes to segstore_bench_main unparsed, so the benchmark owns its
// options and its --help. Without the benchmark built in (no segstore_bench_dep), says so.
#include <memory>
#include <string>
#include <vector>

#include "cli.h"

#if defined(SEGSTORE_HAVE_BENCH)
#include "bench/bench_main.h"  // segstore_bench_main
#endif

namespace segstore::cli {

namespace {

int run_bench(const std::vector<std::string> &args) {
#if defined(SEGSTORE_HAVE_BENCH)
  std::vector<std::string> words{"segstore bench"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (std::string &w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  return segstore_bench_main(static_cast<int>(words.size()), argv.data());
#else
  const bool help = !args.empty() && (args[0] == "--help" || args[0] == "-h");
  print_error("bench", "the benchmark is not built into this segstore binary (bench/ provides no "
                       "segstore_bench_dep); build it with its dependencies (./dev bench installs them)");
  return help ? exit_ok : exit_usage;
#endif
}

}  // namespace

Command add_bench_command(CLI::App &app) {
  auto args = std::make_shared<std::vector<std::string>>();
  CLI::App *cmd = app.add_subcommand("bench", "Run the benchmark against the device and peers (bench --help)");
  // The benchmark parses its own arguments, --help included.
  cmd->set_help_flag();
  cmd->prefix_command();
  cmd->allow_extras();
  return [cmd, args] {
    *args = cmd->remaining();
    return run_bench(*args);
  };
}

}  // namespace segstore::cli
