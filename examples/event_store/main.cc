// examples/event_store/main.cc — the event_store CLI: append events, read them back, show the
// account balances (after recovery), force a snapshot, and measure (bench).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "accounts.h"
#include "event_store.h"
#include "workload.h"

using namespace event_store;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<EventStore> open_or_exit(const std::string &dir, Accounts &accounts, const Options &options) {
  segstore::Result<std::unique_ptr<EventStore>> events = EventStore::open(dir, accounts, options);
  if (!events.ok()) {
    fmt::print(stderr, "event_store: cannot open {}: {}\n", dir, events.status().to_string());
    std::exit(1);
  }
  return std::move(*events);
}

int cmd_append(const std::string &dir, const std::vector<std::string> &texts, const Options &options) {
  for (const std::string &text : texts)
    if (std::string why = Accounts::validate(text); !why.empty()) {
      fmt::print(stderr, "event_store: refused '{}': {}\n", text, why);
      return 2;
    }
  Accounts accounts;
  auto events = open_or_exit(dir, accounts, options);
  for (const std::string &text : texts) {
    segstore::Result<std::uint64_t> offset = events->append(text);
    if (!offset.ok()) {
      fmt::print(stderr, "event_store: append '{}' failed: {}\n", text, offset.status().to_string());
      return 1;
    }
    fmt::print("{}\n", *offset);
  }
  return events->close().ok() ? 0 : 1;
}

int cmd_read(const std::string &dir, std::uint64_t from, std::uint64_t limit, const Options &options) {
  Accounts accounts;
  auto events = open_or_exit(dir, accounts, options);
  std::uint64_t shown = 0;
  segstore::Result<std::uint64_t> next = events->read_from(from, [&](std::uint64_t offset, std::span<const std::byte> event) {
    fmt::print("{}\t{}\n", offset, string_of(event));
    return ++shown < limit;
  });
  if (!next.ok()) {
    fmt::print(stderr, "event_store: read failed: {}\n", next.status().to_string());
    return 1;
  }
  return 0;
}

void print_recovery(const RecoveryInfo &info) {
  fmt::print("recovered: {} events replayed{} in {:.1f} ms; next offset {}{}\n", info.events_replayed,
             info.from_snapshot ? fmt::format(" after the snapshot at offset {}", info.snapshot_offset) : "",
             info.duration_us / 1000.0, info.next_offset, info.note.empty() ? "" : "; " + info.note);
}

int cmd_balances(const std::string &dir, const Options &options) {
  Accounts accounts;
  auto events = open_or_exit(dir, accounts, options);
  print_recovery(events->last_recovery());
  for (const auto &[name, balance] : accounts.balances()) fmt::print("{}\t{}\n", name, balance);
  fmt::print("events {} (rejected {}, malformed {})\n", accounts.applied(), accounts.rejected(), accounts.malformed());
  return 0;
}

int cmd_snapshot(const std::string &dir, const Options &options) {
  Accounts accounts;
  auto events = open_or_exit(dir, accounts, options);
  segstore::Status written = events->snapshot_now();
  if (!written.ok()) {
    fmt::print(stderr, "event_store: snapshot failed: {}\n", written.to_string());
    return 1;
  }
  fmt::print("snapshot at offset {}\n", events->next_offset() - 1);
  return 0;
}

// --- bench -----------------------------------------------------------------------------------

struct BenchConfig {
  std::string dir;
  std::uint64_t events = 10000;
  unsigned threads = 8;
  std::uint64_t batch = 100;
};

// Appends cfg.events workload events to a new store in `dir` with `threads` threads, one event
// (or one batch of `batch`) per append; returns the seconds taken, close included.
double run_appends(const std::string &dir, const BenchConfig &cfg, Options options, unsigned threads,
                   std::uint64_t batch) {
  std::filesystem::remove_all(dir);
  Accounts accounts;
  auto events = open_or_exit(dir, accounts, options);
  const auto start = Clock::now();
  std::atomic<std::uint64_t> next_event{0};
  auto worker = [&] {
    std::vector<std::string> texts;
    std::vector<std::span<const std::byte>> spans;
    while (true) {
      const std::uint64_t first = next_event.fetch_add(batch);
      if (first >= cfg.events) return;
      const std::uint64_t count = std::min(batch, cfg.events - first);
      texts.clear();
      spans.clear();
      for (std::uint64_t i = 0; i < count; ++i) texts.push_back(workload_event(1, first + i));
      for (const std::string &t : texts) spans.push_back(bytes_of(t));
      segstore::Result<std::uint64_t> offset = count == 1 ? events->append(spans[0]) : events->append_batch(spans);
      if (!offset.ok()) {
        fmt::print(stderr, "event_store: bench append failed: {}\n", offset.status().to_string());
        std::exit(1);
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread &t : pool) t.join();
  segstore::Status closed = events->close();
  if (!closed.ok()) fmt::print(stderr, "event_store: close failed: {}\n", closed.to_string());
  return seconds_since(start);
}

// Opens `dir` and returns the seconds until the state is recovered.
double time_restart(const std::string &dir, const Options &options, RecoveryInfo *info) {
  Accounts accounts;
  const auto start = Clock::now();
  auto events = open_or_exit(dir, accounts, options);
  const double seconds = seconds_since(start);
  *info = events->last_recovery();
  return seconds;
}

// The home-made log this replaces, for reference: one write() + fdatasync() per event.
double run_plain_file(const std::string &path, const BenchConfig &cfg) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fmt::print(stderr, "event_store: open {}: {}\n", path, std::strerror(errno));
    std::exit(1);
  }
  const auto start = Clock::now();
  for (std::uint64_t n = 0; n < cfg.events; ++n) {
    const std::string line = workload_event(1, n) + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fdatasync(fd) != 0) {
      fmt::print(stderr, "event_store: write/fdatasync {}: {}\n", path, std::strerror(errno));
      std::exit(1);
    }
  }
  ::close(fd);
  return seconds_since(start);
}

int cmd_bench(const BenchConfig &cfg) {
  std::filesystem::create_directories(cfg.dir);
  Options sync;
  Options none = sync;
  none.durability = segstore::Durability::none;
  Options no_snapshots = sync;
  no_snapshots.snapshot_every_events = 0;

  // The crash case first, while this process has no threads: a child appends and exits without
  // closing the store (what kill -9 leaves), then the restart runs segstore's recovery scan.
  const std::string crash_dir = cfg.dir + "/crashed";
  std::filesystem::remove_all(crash_dir);
  const pid_t child = fork();
  if (child == 0) {
    Accounts accounts;
    auto events = open_or_exit(crash_dir, accounts, sync);
    for (std::uint64_t n = 0; n < cfg.events; ++n)
      if (!events->append(workload_event(1, n)).ok()) _exit(1);
    _exit(0);  // no close(): no clean-shutdown marker
  }
  int child_status = 0;
  if (child < 0 || waitpid(child, &child_status, 0) != child || child_status != 0) {
    fmt::print(stderr, "event_store: the crash child failed (status {})\n", child_status);
    return 1;
  }

  fmt::print("{} events of about {} bytes, Durability::sync unless said\n", cfg.events, workload_event(1, 0).size());
  fmt::print("appends, 1 thread, one event per append:   {:.3f} s\n",
             run_appends(cfg.dir + "/sync-1", cfg, sync, 1, 1));
  fmt::print("appends, {} threads, one event per append:  {:.3f} s\n", cfg.threads,
             run_appends(cfg.dir + "/sync-n", cfg, sync, cfg.threads, 1));
  fmt::print("appends, 1 thread, batches of {}:          {:.3f} s\n", cfg.batch,
             run_appends(cfg.dir + "/batch", cfg, sync, 1, cfg.batch));
  fmt::print("appends, 1 thread, Durability::none:       {:.3f} s\n",
             run_appends(cfg.dir + "/none", cfg, none, 1, 1));
  fmt::print("plain file, write()+fdatasync() per event: {:.3f} s\n", run_plain_file(cfg.dir + "/plain.log", cfg));
  run_appends(cfg.dir + "/no-snapshots", cfg, no_snapshots, cfg.threads, 1);

  RecoveryInfo info;
  double s = time_restart(cfg.dir + "/sync-1", sync, &info);
  fmt::print("restart after close, with snapshot:        {:.3f} s  ", s);
  print_recovery(info);
  s = time_restart(crash_dir, sync, &info);
  fmt::print("restart after a crash, with snapshot:      {:.3f} s  ", s);
  print_recovery(info);
  s = time_restart(cfg.dir + "/no-snapshots", no_snapshots, &info);
  fmt::print("restart after close, no snapshot:          {:.3f} s  ", s);
  print_recovery(info);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"event_store: an event-sourcing store (account balances) on segstore"};
  app.require_subcommand(1);
  std::string dir;
  Options options;
  std::string durability = "sync";
  auto add_common = [&](CLI::App *cmd) {
    cmd->add_option("--dir", dir, "store directory")->required();
    cmd->add_option("--snapshot-every", options.snapshot_every_events, "events between snapshots (0: never)");
    cmd->add_option("--durability", durability, "sync | interval | none")
        ->check(CLI::IsMember({"sync", "interval", "none"}));
  };
  std::vector<std::string> texts;
  auto *append = app.add_subcommand("append", "append events, print their offsets");
  add_common(append);
  append->add_option("events", texts, "events, e.g. 'deposit alice 100'")->required();
  std::uint64_t from = 0, limit = UINT64_MAX;
  auto *read = app.add_subcommand("read", "print durable events from an offset");
  add_common(read);
  read->add_option("--from", from, "first offset");
  read->add_option("--limit", limit, "at most this many events");
  auto *balances = app.add_subcommand("balances", "recover and print the account balances");
  add_common(balances);
  auto *snapshot = app.add_subcommand("snapshot", "write a snapshot of the current state");
  add_common(snapshot);
  BenchConfig bench_cfg;
  auto *bench = app.add_subcommand("bench", "time appends and restarts in new stores under --dir");
  bench->add_option("--dir", bench_cfg.dir, "a scratch directory (its contents are replaced)")->required();
  bench->add_option("--events", bench_cfg.events, "events per run");
  bench->add_option("--threads", bench_cfg.threads, "appending threads in the concurrent run");
  bench->add_option("--batch", bench_cfg.batch, "events per batch in the batch run");
  CLI11_PARSE(app, argc, argv);

  options.durability = durability == "sync"       ? segstore::Durability::sync
                       : durability == "interval" ? segstore::Durability::interval
                                                  : segstore::Durability::none;
  if (*append) return cmd_append(dir, texts, options);
  if (*read) return cmd_read(dir, from, limit, options);
  if (*balances) return cmd_balances(dir, options);
  if (*snapshot) return cmd_snapshot(dir, options);
  if (*bench) return cmd_bench(bench_cfg);
  return 2;
}
