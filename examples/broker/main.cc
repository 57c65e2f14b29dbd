// examples/broker/main.cc — the broker command: flags, start, and the clean shutdown on SIGTERM
// or SIGINT.
#include <signal.h>

#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "broker.h"
#include "server.h"

int main(int argc, char **argv) {
  CLI::App app{"broker: topics, tailing subscribers and durable consumer offsets on segstore"};
  std::string dir;
  std::string durability = "sync";
  broker::BrokerOptions options;
  broker::ServerOptions server_options;
  app.add_option("--dir", dir, "store directory")->required();
  app.add_option("--port", server_options.port, "TCP port (0: any free port, printed at start)");
  app.add_option("--bind", server_options.host, "IPv4 address to listen on");
  app.add_option("--durability", durability, "sync: ack after the append's device sync; interval: after "
                                             "the next background flush")
      ->check(CLI::IsMember({"sync", "interval"}));
  app.add_option("--flush-interval-ms", options.flush_interval_ms, "interval mode's flush period");
  app.add_option("--segment-bytes", options.segment_bytes, "segment file size");
  app.add_option("--offsets-snapshot-every", options.offsets_snapshot_every,
                 "meta records (commits, topics) between offset snapshots (0: never)");
  app.add_option("--heartbeat-ms", server_options.heartbeat_ms, "drop a subscriber silent this long (0: never)");
  app.add_option("--line-bytes-max", server_options.line_bytes_max, "longest accepted line");
  CLI11_PARSE(app, argc, argv);
  options.durability = durability == "sync" ? segstore::Durability::sync : segstore::Durability::interval;

  // Block the stop signals before any thread starts, so that only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  segstore::Result<std::unique_ptr<broker::Broker>> opened = broker::Broker::open(dir, options);
  if (!opened.ok()) {
    fmt::print(stderr, "broker: cannot open {}: {}\n", dir, opened.status().to_string());
    return 1;
  }
  broker::Broker &broker = **opened;
  segstore::Result<std::unique_ptr<broker::BrokerServer>> server = broker::BrokerServer::start(broker, server_options);
  if (!server.ok()) {
    fmt::print(stderr, "broker: cannot listen: {}\n", server.status().to_string());
    return 1;
  }
  const broker::ReloadInfo info = broker.reload_info();
  fmt::print("broker: listening on {}:{} dir {} durability {}; reloaded {} topics, {} offsets ({}{} meta records "
             "replayed, {} skipped)\n",
             server_options.host, (*server)->port(), dir, durability, info.topics, info.commits,
             info.from_snapshot ? fmt::format("snapshot at LSN {} + ", info.snapshot_lsn) : std::string(),
             info.records_replayed, info.records_skipped);
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  fmt::print("broker: signal {}: stopping\n", signal);
  std::fflush(stdout);
  (*server)->stop();
  segstore::Status closed = broker.close();
  if (!closed.ok()) {
    fmt::print(stderr, "broker: closing the store failed: {}\n", closed.to_string());
    return 1;
  }
  fmt::print("broker: stopped cleanly\n");
  return 0;
}
