// tests/raft/cluster.cc — see tests/raft/cluster.h.
#include "raft/cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace segstore::testing {
namespace {

// A port nobody listens on now (the kernel's pick for a bound, closed socket).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) throw std::runtime_error("bind");
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

int fsm_apply(raft_fsm *fsm, const raft_buffer *buf, void **result) {
  auto *node = static_cast<RaftNode *>(fsm->data);
  std::uint64_t value = 0;
  if (buf->len != sizeof value) return RAFT_MALFORMED;
  std::memcpy(&value, buf->base, sizeof value);
  node->applied.push_back(value);
  *result = nullptr;
  return 0;
}

int fsm_snapshot(raft_fsm *fsm, raft_buffer *bufs[], unsigned *n_bufs) {
  auto *node = static_cast<RaftNode *>(fsm->data);
  const std::size_t bytes = node->applied.size() * sizeof(std::uint64_t);
  *bufs = static_cast<raft_buffer *>(raft_malloc(sizeof(raft_buffer)));
  (*bufs)[0].base = raft_malloc(bytes > 0 ? bytes : 1);
  (*bufs)[0].len = bytes;
  if (bytes > 0) std::memcpy((*bufs)[0].base, node->applied.data(), bytes);
  *n_bufs = 1;
  return 0;
}

int fsm_restore(raft_fsm *fsm, raft_buffer *buf) {
  auto *node = static_cast<RaftNode *>(fsm->data);
  node->applied.assign(buf->len / sizeof(std::uint64_t), 0);
  if (buf->len > 0) std::memcpy(node->applied.data(), buf->base, buf->len);
  raft_free(buf->base);
  node->restores++;
  return 0;
}

void on_closed(raft *r) { static_cast<RaftNode *>(r->data)->closed = true; }

}  // namespace

RaftCluster::RaftCluster(const std::string &root, int servers, ClusterOptions options) : options_(options) {
  // raft_uv writes to peers' sockets; a stopped peer must be a write error, not a SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  uv_loop_init(&loop_);
  // Wakes the loop every 10 ms so run_until looks at its predicate and deadline.
  uv_timer_init(&loop_, &waker_);
  uv_timer_start(&waker_, [](uv_timer_t *) {}, 10, 10);
  for (int i = 0; i < servers; ++i) {
    auto node = std::make_unique<RaftNode>();
    node->id = static_cast<raft_id>(i + 1);
    node->address = "127.0.0.1:" + std::to_string(free_port());
    node->dir = root + "/node" + std::to_string(i + 1);
    nodes_.push_back(std::move(node));
  }
}

RaftCluster::~RaftCluster() {
  for (int i = 0; i < size(); ++i)
    if (nodes_[i]->running) stop(i);
  uv_close(reinterpret_cast<uv_handle_t *>(&waker_), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

void RaftCluster::start(int i, bool join) {
  RaftNode &node = *nodes_[i];
  node.applied.clear();
  node.closed = false;
  segstore_raft_options options{};
  options.segment_bytes = 256 * 1024;
  if (segstore_raft_io_init(&node.io, &loop_, node.dir.c_str(), &options) != 0) throw std::runtime_error("io init");
  node.fsm = raft_fsm{};
  node.fsm.version = 1;
  node.fsm.data = &node;
  node.fsm.apply = fsm_apply;
  node.fsm.snapshot = fsm_snapshot;
  node.fsm.restore = fsm_restore;
  if (raft_init(&node.r, &node.io, &node.fsm, node.id, node.address.c_str()) != 0)
    throw std::runtime_error(std::string("raft_init: ") + node.io.errmsg);
  node.r.data = &node;
  raft_set_election_timeout(&node.r, 300);
  raft_set_heartbeat_timeout(&node.r, 50);
  raft_set_pre_vote(&node.r, true);  // a restarted server does not depose a working leader
  raft_set_snapshot_threshold(&node.r, options_.snapshot_threshold);
  raft_set_snapshot_trailing(&node.r, options_.snapshot_trailing);
  if (!join) {
    raft_configuration configuration;
    raft_configuration_init(&configuration);
    for (const auto &peer : nodes_) raft_configuration_add(&configuration, peer->id, peer->address.c_str(), RAFT_VOTER);
    const int rv = raft_bootstrap(&node.r, &configuration);
    raft_configuration_close(&configuration);
    if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) throw std::runtime_error(std::string("bootstrap: ") + raft_errmsg(&node.r));
  }
  if (raft_start(&node.r) != 0) {
    const std::string why = std::string("raft_start: ") + raft_errmsg(&node.r);
    stop(i);  // closes raft and the io, so the loop can end
    throw std::runtime_error(why);
  }
  node.running = true;
}

void RaftCluster::stop(int i) {
  RaftNode &node = *nodes_[i];
  raft_close(&node.r, on_closed);
  while (!node.closed) uv_run(&loop_, UV_RUN_ONCE);
  segstore_raft_io_close(&node.io);
  node.running = false;
}

bool RaftCluster::run_until(const std::function<bool()> &pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    uv_run(&loop_, UV_RUN_ONCE);
  }
  return true;
}

int RaftCluster::leader() const {
  for (int i = 0; i < size(); ++i)
    if (nodes_[i]->running && raft_state(&nodes_[i]->r) == RAFT_LEADER) return i;
  return -1;
}

int RaftCluster::wait_for_leader(std::chrono::milliseconds timeout) {
  run_until([&] { return leader() >= 0; }, timeout);
  return leader();
}

namespace {
// The status a request's callback leaves behind while nobody has called back yet.
constexpr int status_pending = -1;
// Values submitted at once by apply_range before it waits for their outcomes.
constexpr std::uint64_t apply_batch_max = 16;

struct ApplyRequest {
  struct raft_apply req{};
  std::shared_ptr<int> status;  // shared: the caller may stop waiting before the callback
};
void on_applied(struct raft_apply *req, int status, void *) {
  auto *request = static_cast<ApplyRequest *>(req->data);
  *request->status = status;
  delete request;
}

struct BarrierRequest {
  struct raft_barrier req{};
  std::shared_ptr<int> status;
};
void on_barrier(struct raft_barrier *req, int status) {
  auto *request = static_cast<BarrierRequest *>(req->data);
  *request->status = status;
  delete request;
}

std::chrono::milliseconds until(std::chrono::steady_clock::time_point deadline) {
  const auto left = deadline - std::chrono::steady_clock::now();
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(left));
}
}  // namespace

bool RaftCluster::apply(int leader, std::uint64_t value, const std::shared_ptr<int> &status) {
  raft_buffer buf{raft_malloc(sizeof value), sizeof value};
  std::memcpy(buf.base, &value, sizeof value);
  auto *request = new ApplyRequest;
  request->req.data = request;
  request->status = status;
  *status = status_pending;
  if (raft_apply(&nodes_[leader]->r, &request->req, &buf, 1, on_applied) != 0) {
    raft_free(buf.base);
    delete request;
    return false;
  }
  return true;
}

int RaftCluster::settled_leader(Deadline deadline) {
  while (std::chrono::steady_clock::now() <= deadline) {
    const int l = wait_for_leader(until(deadline));
    if (l < 0) return -1;
    auto status = std::make_shared<int>(status_pending);
    auto *request = new BarrierRequest;
    request->req.data = request;
    request->status = status;
    if (raft_barrier(&nodes_[l]->r, &request->req, on_barrier) != 0) {
      delete request;  // not the leader any more: look for the next one
      uv_run(&loop_, UV_RUN_ONCE);
      continue;
    }
    run_until([&] { return *status != status_pending; }, until(deadline));
    if (*status == 0) return l;
    if (*status == status_pending) return -1;  // the deadline passed
    if (*status != RAFT_LEADERSHIPLOST) {
      apply_failure_ = "barrier on node " + std::to_string(l + 1) + ": status " + std::to_string(*status);
      return -1;
    }
  }
  return -1;
}

bool RaftCluster::apply_batch(std::uint64_t next, std::uint64_t count, Deadline deadline,
                              std::uint64_t *acknowledged, bool *lost) {
  *acknowledged = 0;
  *lost = false;
  const int l = wait_for_leader(until(deadline));
  if (l < 0) return true;  // the caller's deadline decides
  std::vector<std::shared_ptr<int>> statuses;
  for (std::uint64_t k = 0; k < std::min(apply_batch_max, count); ++k) {
    statuses.push_back(std::make_shared<int>(status_pending));
    if (!apply(l, next + k, statuses.back())) {
      statuses.pop_back();  // refused at once (not the leader): not in any log
      break;
    }
  }
  if (statuses.empty()) {
    uv_run(&loop_, UV_RUN_ONCE);  // let raft find its leader
    return true;
  }
  const auto answered = [&] {
    for (const auto &status : statuses)
      if (*status == status_pending) return false;
    return true;
  };
  if (!run_until(answered, until(deadline))) {
    apply_failure_ = "no outcome for value " + std::to_string(next) + " before the deadline";
    return false;
  }
  // raft commits a prefix of a leader's entries and fails every later one when it steps down.
  for (const auto &status : statuses) {
    if (*status == 0 && !*lost) {
      ++*acknowledged;
    } else if (*status == RAFT_LEADERSHIPLOST) {
      *lost = true;
    } else {
      apply_failure_ = "value " + std::to_string(next + *acknowledged) + ": status " + std::to_string(*status) +
                       (*status == 0 ? " after an earlier value lost the leadership" : "");
      return false;
    }
  }
  return true;
}

std::int64_t RaftCluster::applied_prefix(int l, std::uint64_t next, std::uint64_t count) const {
  const std::vector<std::uint64_t> &applied = nodes_[l]->applied;
  std::int64_t found = 0;
  for (std::uint64_t k = 0; k < count; ++k) {
    const bool present = std::find(applied.begin(), applied.end(), next + k) != applied.end();
    if (present && found < static_cast<std::int64_t>(k)) return -1;  // a gap: not how a raft log grows
    if (present) ++found;
  }
  return found;
}

bool RaftCluster::apply_range(std::uint64_t first, std::uint64_t count, std::chrono::milliseconds timeout) {
  const Deadline deadline = std::chrono::steady_clock::now() + timeout;
  apply_failure_.clear();
  std::uint64_t done = 0;  // first .. first + done - 1 are committed
  while (done < count) {
    if (std::chrono::steady_clock::now() > deadline) {
      if (apply_failure_.empty()) apply_failure_ = "deadline with " + std::to_string(count - done) + " values left";
      return false;
    }
    std::uint64_t acknowledged = 0;
    bool lost = false;
    if (!apply_batch(first + done, count - done, deadline, &acknowledged, &lost)) return false;
    done += acknowledged;
    if (!lost) continue;
    // The values after the acknowledged ones may still commit under the next leader, or be gone.
    // Once a barrier of the next leader's term is applied, each of them is either in that
    // leader's applied log or can never commit (the barrier, committed, follows them): apply
    // again only those missing, so that each value is in the log once.
    const int l = settled_leader(deadline);
    if (l < 0) {
      if (apply_failure_.empty()) apply_failure_ = "no leader settled before the deadline";
      return false;
    }
    const std::int64_t found = applied_prefix(l, first + done, std::min(apply_batch_max, count - done));
    if (found < 0) {
      apply_failure_ = "node " + std::to_string(l + 1) + " applied a later value without value " +
                       std::to_string(first + done);
      return false;
    }
    done += static_cast<std::uint64_t>(found);
  }
  return true;
}

}  // namespace segstore::testing
