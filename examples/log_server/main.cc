// examples/log_server/main.cc — the log_server command: flags, start, and the clean shutdown on
// SIGTERM or SIGINT.
#include <signal.h>

#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "log_server.h"

int main(int argc, char **argv) {
  CLI::App app{"log_server: keeps log lines from TCP clients durably in segstore"};
  log_server::ServerOptions options;
  std::string durability = "sync";
  app.add_option("--dir", options.dir, "store directory")->required();
  app.add_option("--port", options.port, "TCP port (0: any free port, printed at start)");
  app.add_option("--bind", options.host, "IPv4 address to listen on");
  app.add_option("--durability", durability, "sync: ack after the append's device sync; interval: after "
                                             "the next background flush")
      ->check(CLI::IsMember({"sync", "interval"}));
  app.add_option("--flush-interval-ms", options.flush_interval_ms, "interval mode's flush period");
  app.add_option("--retain-bytes", options.retain_bytes, "remove the oldest segments past this size (0: keep all)");
  app.add_option("--segment-bytes", options.segment_bytes, "segment file size (retention removes whole segments)");
  app.add_option("--line-bytes-max", options.line_bytes_max, "longest accepted line");
  app.add_option("--query-lines-max", options.query_lines_max, "most lines in one TAIL/GREP answer");
  app.add_option("--connections-max", options.connections_max, "connections served at once");
  CLI11_PARSE(app, argc, argv);
  options.durability = durability == "sync" ? segstore::Durability::sync : segstore::Durability::interval;

  // Block the stop signals before any thread starts, so that only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  segstore::Result<std::unique_ptr<log_server::LogServer>> server = log_server::LogServer::start(options);
  if (!server.ok()) {
    fmt::print(stderr, "log_server: cannot start on {} (port {}): {}\n", options.dir, options.port,
               server.status().to_string());
    return 1;
  }
  const segstore::RecoveryReport &report = (*server)->recovery_report();
  const segstore::Stats stats = (*server)->stats();
  fmt::print("log_server: listening on {}:{} dir {} durability {} lines {}..{} recovery {}\n", options.host,
             (*server)->port(), options.dir, durability, stats.first_lsn, stats.next_lsn,
             report.ran ? "ran: " + report.to_string() : std::string("skipped (clean shutdown)"));
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  fmt::print("log_server: signal {}: stopping\n", signal);
  std::fflush(stdout);
  const segstore::Stats before = (*server)->stats();
  segstore::Status stopped = (*server)->stop();
  if (!stopped.ok()) {
    fmt::print(stderr, "log_server: closing the store failed: {}\n", stopped.to_string());
    return 1;
  }
  fmt::print("log_server: stopped cleanly; {} lines appended since start, store closed\n", before.appends);
  return 0;
}
