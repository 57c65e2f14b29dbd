// bench/raft/raft_bench.cc — workload RAFT: a 3-server raft cluster (canonical raft 0.15) on
// loopback, in one process and one libuv loop, with each server's storage either segstore
// (libsegstore-raft) or raft_uv's stock storage. Same network (raft_uv's TCP), same raft
// settings; only the log store differs. docs/BENCHMARKS.md ("RAFT") says how to run and read it.
//
// For 1, 16 and 64 requests in flight it measures, on the leader: commits/s (entries of 1 KiB
// whose apply callback fired with success), commit latency p50/p99 (raft_apply to callback), and
// the loop thread's busy share (1 - idle time / wall time, uv_metrics_idle_time).
//
// Usage: segstore-raft-bench --dir DIR [--seconds S] [--bytes N] [--storage segstore|uv|both]
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

struct Cluster {
  uv_loop_t loop{};
  uv_timer_t waker{};
  std::vector<std::unique_ptr<Server>> servers;
};

bool start(Cluster &c, Storage storage, const std::string &root) {
  uv_loop_init(&c.loop);
  uv_loop_configure(&c.loop, UV_METRICS_IDLE_TIME);
  uv_timer_init(&c.loop, &c.waker);
  uv_timer_start(&c.waker, [](uv_timer_t *) {}, 10, 10);
  for (int i = 0; i < 3; ++i) {
    auto s = std::make_unique<Server>();
    s->id = static_cast<raft_id>(i + 1);
    s->address = "127.0.0.1:" + std::to_string(free_port());
    s->dir = root + "/server" + std::to_string(i + 1);
    s->storage = storage;
    std::filesystem::create_directories(s->dir);
    c.servers.push_back(std::move(s));
  }
  for (auto &s : c.servers) {
    int rv;
    if (storage == Storage::segstore) {
      rv = segstore_raft_io_init(&s->io, &c.loop, s->dir.c_str(), nullptr);
    } else {
      rv = raft_uv_tcp_init(&s->transport, &c.loop);
      if (rv == 0) rv = raft_uv_init(&s->io, &c.loop, s->dir.c_str(), &s->transport);
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

void stop(Cluster &c) {
  for (auto &s : c.servers) {
    raft_close(&s->r, [](raft *r) { static_cast<Server *>(r->data)->closed = true; });
    while (!s->closed) uv_run(&c.loop, UV_RUN_ONCE);
    if (s->storage == Storage::segstore) {
      segstore_raft_io_close(&s->io);
    } else {
      raft_uv_close(&s->io);
      raft_uv_tcp_close(&s->transport);
    }
  }
  uv_close(reinterpret_cast<uv_handle_t *>(&c.waker), nullptr);
  uv_run(&c.loop, UV_RUN_DEFAULT);
  uv_loop_close(&c.loop);
}

// Keeps `inflight` applies outstanding on the leader for `seconds`.
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

int run(Storage storage, const std::string &dir, double seconds, std::size_t bytes) {
  const char *name = storage == Storage::segstore ? "segstore" : "raft_uv";
  for (unsigned inflight : {1u, 16u, 64u}) {
    const std::string root = dir + "/" + name + "-" + std::to_string(inflight);
    std::filesystem::remove_all(root);
    Cluster cluster;
    if (!start(cluster, storage, root)) {
      std::fprintf(stderr, "RAFT %s: the cluster did not start\n", name);
      return 1;
    }
    const auto election_deadline = Clock::now() + std::chrono::seconds(20);
    while (leader(cluster) == nullptr && Clock::now() < election_deadline) uv_run(&cluster.loop, UV_RUN_ONCE);
    Load load;
    load.leader = leader(cluster);
    if (load.leader == nullptr) {
      std::fprintf(stderr, "RAFT %s: no leader elected\n", name);
      return 1;
    }
    load.bytes = bytes;
    load.inflight = inflight;
    const std::uint64_t idle_before = uv_metrics_idle_time(&cluster.loop);
    const auto began = Clock::now();
    submit(load);
    const auto end = began + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) uv_run(&cluster.loop, UV_RUN_ONCE);
    load.closing = true;
    const double wall_s = std::chrono::duration<double>(Clock::now() - began).count();
    const double idle_s = static_cast<double>(uv_metrics_idle_time(&cluster.loop) - idle_before) / 1e9;
    const auto drain_deadline = Clock::now() + std::chrono::seconds(10);
    while (load.outstanding > 0 && Clock::now() < drain_deadline) uv_run(&cluster.loop, UV_RUN_ONCE);
    std::printf("RAFT  %-9s inflight %3u  %9.0f commits/s  p50 %8.0f us  p99 %8.0f us  loop busy %5.1f%%  failed %llu\n",
                name, inflight, static_cast<double>(load.latencies_us.size()) / wall_s,
                percentile(load.latencies_us, 0.50), percentile(load.latencies_us, 0.99),
                100.0 * (1.0 - idle_s / wall_s), static_cast<unsigned long long>(load.failed));
    std::fflush(stdout);
    stop(cluster);
    std::filesystem::remove_all(root);
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  // A cluster torn down between runs leaves raft_uv's TCP transport writing to connections its
  // peers closed: with the default action that SIGPIPE ended the benchmark (exit 141) after a
  // run or two. The write then fails with EPIPE, which the transport handles; the example
  // server ignores the signal for the same reason.
  std::signal(SIGPIPE, SIG_IGN);
  std::string dir, which = "both";
  double seconds = 10;
  std::size_t bytes = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--dir") dir = value;
    else if (flag == "--seconds") seconds = std::stod(value);
    else if (flag == "--bytes") bytes = std::stoul(value);
    else if (flag == "--storage") which = value;
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: segstore-raft-bench --dir DIR [--seconds S] [--bytes N] [--storage segstore|uv|both]\n");
    return 2;
  }
  int rc = 0;
  // segstore at every concurrency, then raft_uv, on the same file system (ratios in one run).
  if (which != "uv") rc |= run(Storage::segstore, dir, seconds, bytes);
  if (which != "segstore") rc |= run(Storage::uv, dir, seconds, bytes);
  return rc;
}
