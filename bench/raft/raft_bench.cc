// bench/raft/raft_bench.cc — workload RAFT: a 3-server raft cluster (canonical raft 0.15) on
// loopback, in one process and one libuv loop, with each server's storage either segstore
// (libsegstore-raft) or raft_uv's stock storage. Same network (raft_uv's TCP), same raft
// settings; only the log store differs. docs/BENCHMARKS.md ("RAFT") says how to run and read it.
//
// For 1, 16 and 64 requests in flight it measures, on the leader: commits/s (entries of 1 KiB
// whose apply callback fired with success), commit latency p50/p99 (raft_apply to callback), and
// the loop thread's busy share (1 - idle time / wall time, uv_metrics_idle_time). At each
// concurrency both clusters run side by side and take turns under load in short rounds (the
// order alternating), so that the machine's drift meets both alike; the summary gives the median
// of the rounds' commits/s and the ratio of each round.
//
// Usage: segstore-raft-bench --dir DIR [--seconds S] [--rounds R] [--bytes N] [--inflight 1,16,64]
//                            [--storage segstore|uv|both]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <list>
#include <memory>
#include <string>
#include <vector>

extern "C" {  // raft/uv.h declares its functions without C linkage for C++
#include <raft/uv.h>
}
#include <uv.h>

#include "raft/segstore_raft.h"  // raft.h with C linkage

namespace {

using Clock = std::chrono::steady_clock;

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

int fsm_apply(raft_fsm *, const raft_buffer *, void **result) {
  *result = nullptr;
  return 0;
}
// The bench's state is empty: a snapshot is a few bytes (the log's trimming is what it exercises).
int fsm_snapshot(raft_fsm *, raft_buffer *bufs[], unsigned *n_bufs) {
  *bufs = static_cast<raft_buffer *>(raft_malloc(sizeof(raft_buffer)));
  (*bufs)[0] = raft_buffer{raft_malloc(8), 8};
  std::memset((*bufs)[0].base, 0, 8);
  *n_bufs = 1;
  return 0;
}
int fsm_restore(raft_fsm *, raft_buffer *buf) {
  raft_free(buf->base);
  return 0;
}

enum class Storage { segstore, uv };

const char *name_of(Storage storage) { return storage == Storage::segstore ? "segstore" : "raft_uv"; }

struct Server {
  raft_id id = 0;
  std::string address, dir;
  Storage storage = Storage::segstore;
  raft_io io{};
  raft_uv_transport transport{};
  raft_fsm fsm{};
  raft r{};
  bool closed = false;
};

// Three servers on the benchmark's loop. Both clusters of a concurrency share the loop: the one
// not under load keeps its heartbeats going (a loop left unrun for seconds would make its
// followers start an election when it runs again).
struct Cluster {
  Storage storage = Storage::segstore;
  std::vector<std::unique_ptr<Server>> servers;
};

bool start(Cluster &c, uv_loop_t *loop, const std::string &root) {
  for (int i = 0; i < 3; ++i) {
    auto s = std::make_unique<Server>();
    s->id = static_cast<raft_id>(i + 1);
    s->address = "127.0.0.1:" + std::to_string(free_port());
    s->dir = root + "/server" + std::to_string(i + 1);
    s->storage = c.storage;
    std::filesystem::create_directories(s->dir);
    c.servers.push_back(std::move(s));
  }
  for (auto &s : c.servers) {
    int rv;
    if (c.storage == Storage::segstore) {
      rv = segstore_raft_io_init(&s->io, loop, s->dir.c_str(), nullptr);
    } else {
      rv = raft_uv_tcp_init(&s->transport, loop);
      if (rv == 0) rv = raft_uv_init(&s->io, loop, s->dir.c_str(), &s->transport);
    }
    if (rv != 0) return false;
    s->fsm.version = 1;
    s->fsm.apply = fsm_apply;
    s->fsm.snapshot = fsm_snapshot;
    s->fsm.restore = fsm_restore;
    if (raft_init(&s->r, &s->io, &s->fsm, s->id, s->address.c_str()) != 0) return false;
    s->r.data = s.get();
    raft_set_election_timeout(&s->r, 500);
    raft_set_heartbeat_timeout(&s->r, 50);
    raft_set_snapshot_threshold(&s->r, 8192);
    raft_set_snapshot_trailing(&s->r, 2048);
    raft_configuration conf;
    raft_configuration_init(&conf);
    for (auto &peer : c.servers) raft_configuration_add(&conf, peer->id, peer->address.c_str(), RAFT_VOTER);
    raft_bootstrap(&s->r, &conf);
    raft_configuration_close(&conf);
    if (raft_start(&s->r) != 0) {
      std::fprintf(stderr, "raft_start: %s\n", raft_errmsg(&s->r));
      return false;
    }
  }
  return true;
}

Server *leader(Cluster &c) {
  for (auto &s : c.servers)
    if (raft_state(&s->r) == RAFT_LEADER) return s.get();
  return nullptr;
}

Server *await_leader(Cluster &c, uv_loop_t *loop) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (leader(c) == nullptr && Clock::now() < deadline) uv_run(loop, UV_RUN_ONCE);
  Server *found = leader(c);
  if (found == nullptr) std::fprintf(stderr, "RAFT %s: no leader elected\n", name_of(c.storage));
  return found;
}

void stop(Cluster &c, uv_loop_t *loop) {
  for (auto &s : c.servers) {
    raft_close(&s->r, [](raft *r) { static_cast<Server *>(r->data)->closed = true; });
    while (!s->closed) uv_run(loop, UV_RUN_ONCE);
    if (s->storage == Storage::segstore) {
      segstore_raft_io_close(&s->io);
    } else {
      raft_uv_close(&s->io);
      raft_uv_tcp_close(&s->transport);
    }
  }
}

// Keeps `inflight` applies outstanding on the leader for one round.
struct Load {
  Server *leader = nullptr;
  std::size_t bytes = 1024;
  unsigned inflight = 1;
  unsigned outstanding = 0;
  bool closing = false;
  std::uint64_t failed = 0;
  std::vector<double> latencies_us;
};

struct Request {
  struct raft_apply req{};
  Load *load = nullptr;
  Clock::time_point started;
};

void submit(Load &load);

void on_applied(struct raft_apply *req, int status, void *) {
  auto *request = static_cast<Request *>(req->data);
  Load &load = *request->load;
  load.outstanding--;
  if (status == 0) {
    load.latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - request->started).count());
  } else {
    load.failed++;
  }
  delete request;
  if (!load.closing) submit(load);
}

void submit(Load &load) {
  while (load.outstanding < load.inflight) {
    raft_buffer buf{raft_malloc(load.bytes), load.bytes};
    std::memset(buf.base, 0x5a, load.bytes);
    auto *request = new Request;
    request->req.data = request;
    request->load = &load;
    request->started = Clock::now();
    if (raft_apply(&load.leader->r, &request->req, &buf, 1, on_applied) != 0) {
      raft_free(buf.base);
      delete request;
      load.failed++;
      return;
    }
    load.outstanding++;
  }
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

// The middle value; the mean of the two middle ones for an even count.
double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t half = values.size() / 2;
  return values.size() % 2 == 1 ? values[half] : (values[half - 1] + values[half]) / 2;
}

// One round of one cluster: its figures.
struct Round {
  double commits_per_s = 0;
  double loop_busy = 0;  // share of the round's wall time
};

// Runs `load` on the loop for `seconds`, then lets its requests finish. The Load must outlive
// the cluster: requests that did not finish are cancelled when raft closes, calling on_applied.
Round measure(uv_loop_t *loop, Load &load, double seconds) {
  const std::uint64_t idle_before = uv_metrics_idle_time(loop);
  const auto began = Clock::now();
  submit(load);
  const auto end = began + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) uv_run(loop, UV_RUN_ONCE);
  load.closing = true;
  const double wall_s = std::chrono::duration<double>(Clock::now() - began).count();
  const double idle_s = static_cast<double>(uv_metrics_idle_time(loop) - idle_before) / 1e9;
  const std::size_t committed = load.latencies_us.size();
  const auto drain_deadline = Clock::now() + std::chrono::seconds(10);
  while (load.outstanding > 0 && Clock::now() < drain_deadline) uv_run(loop, UV_RUN_ONCE);
  return Round{static_cast<double>(committed) / wall_s, 1.0 - idle_s / wall_s};
}

struct Settings {
  std::string dir;
  double seconds = 8;  // of load per store and concurrency, split over the rounds
  unsigned rounds = 4;
  std::size_t bytes = 1024;
  std::vector<Storage> storages{Storage::segstore, Storage::uv};
  std::vector<unsigned> inflights{1, 16, 64};
};

// Everything measured for one store at one concurrency.
struct Figures {
  std::vector<Round> rounds;
  std::vector<double> latencies_us;  // of every round
  std::uint64_t failed = 0;
};

void print_summary(Storage storage, unsigned inflight, const Figures &f) {
  std::vector<double> rates, busy;
  for (const Round &r : f.rounds) {
    rates.push_back(r.commits_per_s);
    busy.push_back(r.loop_busy);
  }
  std::printf("RAFT  %-9s inflight %3u  %9.0f commits/s  p50 %8.0f us  p99 %8.0f us  loop busy %5.1f%%  failed %llu\n",
              name_of(storage), inflight, median(rates), percentile(f.latencies_us, 0.50),
              percentile(f.latencies_us, 0.99), 100.0 * median(busy), static_cast<unsigned long long>(f.failed));
}

void print_round(const std::vector<Cluster> &clusters, unsigned round, unsigned rounds, unsigned inflight,
                 const std::vector<double> &rates) {
  std::printf("RAFT  round %u/%u  inflight %3u ", round, rounds, inflight);
  for (std::size_t i = 0; i < clusters.size(); ++i) std::printf(" %s %.0f commits/s", name_of(clusters[i].storage), rates[i]);
  if (clusters.size() == 2) std::printf("  ratio %.2f", rates[0] / rates[1]);
  std::printf("\n");
  std::fflush(stdout);
}

// segstore's commits/s over raft_uv's, round by round (each pair measured back to back).
void print_ratios(unsigned inflight, const Figures &segstore, const Figures &uv) {
  std::vector<double> ratios;
  for (std::size_t r = 0; r < segstore.rounds.size(); ++r)
    ratios.push_back(segstore.rounds[r].commits_per_s / uv.rounds[r].commits_per_s);
  std::printf("RAFT  ratio     inflight %3u  segstore/raft_uv median %.2f  min %.2f  max %.2f\n", inflight, median(ratios),
              *std::min_element(ratios.begin(), ratios.end()), *std::max_element(ratios.begin(), ratios.end()));
  std::fflush(stdout);
}

// One concurrency: both clusters started, then `rounds` rounds, each giving every cluster its
// share of the seconds in turn, the order alternating from round to round, so that a drift of
// the machine (another process, the disk's cache) falls on both stores alike.
int run_concurrency(const Settings &settings, unsigned inflight) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_loop_configure(&loop, UV_METRICS_IDLE_TIME);
  uv_timer_t waker;
  uv_timer_init(&loop, &waker);
  uv_timer_start(&waker, [](uv_timer_t *) {}, 10, 10);
  std::vector<Cluster> clusters(settings.storages.size());
  std::vector<Figures> figures(settings.storages.size());
  std::list<Load> loads;  // outlive the clusters (see measure)
  int rc = 0;
  for (std::size_t i = 0; i < clusters.size() && rc == 0; ++i) {
    clusters[i].storage = settings.storages[i];
    const std::string root = settings.dir + "/" + name_of(clusters[i].storage) + "-" + std::to_string(inflight);
    std::filesystem::remove_all(root);
    if (!start(clusters[i], &loop, root)) {
      // A half-started cluster cannot be closed in order: give up (the process ends).
      std::fprintf(stderr, "RAFT %s: the cluster did not start\n", name_of(clusters[i].storage));
      return 1;
    }
  }
  const double round_seconds = settings.seconds / settings.rounds;
  for (unsigned round = 0; round < settings.rounds && rc == 0; ++round) {
    std::vector<double> rates(clusters.size());
    for (std::size_t k = 0; k < clusters.size() && rc == 0; ++k) {
      const std::size_t i = round % 2 == 0 ? k : clusters.size() - 1 - k;
      Load &load = loads.emplace_back();
      load.leader = await_leader(clusters[i], &loop);
      if (load.leader == nullptr) {
        rc = 1;
        break;
      }
      load.bytes = settings.bytes;
      load.inflight = inflight;
      const Round measured = measure(&loop, load, round_seconds);
      figures[i].rounds.push_back(measured);
      figures[i].latencies_us.insert(figures[i].latencies_us.end(), load.latencies_us.begin(), load.latencies_us.end());
      figures[i].failed += load.failed;
      rates[i] = measured.commits_per_s;
    }
    if (rc == 0) print_round(clusters, round + 1, settings.rounds, inflight, rates);
  }
  if (rc == 0) {
    for (std::size_t i = 0; i < clusters.size(); ++i) print_summary(clusters[i].storage, inflight, figures[i]);
    if (clusters.size() == 2) print_ratios(inflight, figures[0], figures[1]);
  }
  for (Cluster &c : clusters) stop(c, &loop);
  uv_close(reinterpret_cast<uv_handle_t *>(&waker), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  for (const Cluster &c : clusters)
    std::filesystem::remove_all(settings.dir + "/" + name_of(c.storage) + "-" + std::to_string(inflight));
  return rc;
}

std::vector<unsigned> parse_list(const std::string &text) {
  std::vector<unsigned> values;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    values.push_back(static_cast<unsigned>(std::stoul(text.substr(at, comma - at))));
    at = comma + 1;
  }
  return values;
}

}  // namespace

int main(int argc, char **argv) {
  // A cluster torn down between runs leaves raft_uv's TCP transport writing to connections its
  // peers closed: with the default action that SIGPIPE ended the benchmark (exit 141) after a
  // run or two. The write then fails with EPIPE, which the transport handles; the example
  // server ignores the signal for the same reason.
  std::signal(SIGPIPE, SIG_IGN);
  Settings settings;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--dir") settings.dir = value;
    else if (flag == "--seconds") settings.seconds = std::stod(value);
    else if (flag == "--rounds") settings.rounds = static_cast<unsigned>(std::stoul(value));
    else if (flag == "--bytes") settings.bytes = std::stoul(value);
    else if (flag == "--inflight") settings.inflights = parse_list(value);
    else if (flag == "--storage" && value == "segstore") settings.storages = {Storage::segstore};
    else if (flag == "--storage" && value == "uv") settings.storages = {Storage::uv};
  }
  if (settings.dir.empty() || settings.rounds == 0 || settings.inflights.empty()) {
    std::fprintf(stderr,
                 "usage: segstore-raft-bench --dir DIR [--seconds S] [--rounds R] [--bytes N] "
                 "[--inflight 1,16,64] [--storage segstore|uv|both]\n");
    return 2;
  }
  for (unsigned inflight : settings.inflights) {
    if (run_concurrency(settings, inflight) != 0) return 1;
  }
  return 0;
}
