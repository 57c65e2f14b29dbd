// tests/raft/raft_sim.cc — the driver of the raft crash simulation (tests/raft/raft_sim.h).
//
// One thread runs the libuv loop of the three servers and the virtual clock of SimNetwork. Time
// moves only when every live server's storage thread is idle and its callbacks were delivered, so
// a simulated disk is never "slow" by accident of scheduling and raft's timers follow the seed.
// A power cut comes with every storage thread idle (raft 0.15 does not survive the failed
// append a cut under a running request makes: docs/REPLICATION.md "Limits"), except with
// cut_with_request_running, which pins that finding.
#include "raft/raft_sim.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

#include <uv.h>

#include "raft/command_fsm.h"
#include "raft/recovered_log.h"
#include "raft/segstore_raft.h"
#include "raft/sim_network.h"
#include "segstore/store.h"
#include "testing/sim_env.h"

namespace segstore::raft_sim {
namespace {

using testing::SimDisk;
using testing::SimRandom;

constexpr int servers_count = 3;
constexpr std::uint64_t segment_bytes = 16 * 1024;
struct Server {
  int index = 0;
  std::string dir;  // on the simulated disk and on the host (events.log)
  std::shared_ptr<SimDisk> disk;
  std::shared_ptr<io::Env> env;
  raft_io io{};
  raft r{};
  bool running = false;
  bool closed = false;
  CommandFsm machine;
};

// What raft had acted on when the power went (the checks' reference).
struct BeforeCrash {
  raft_term term = 0;
  raft_id vote = 0;
  raft_index stored = 0;
  raft_index committed = 0;
};

const char *role_of(const raft &r) {
  switch (raft_state(const_cast<raft *>(&r))) {
    case RAFT_FOLLOWER: return "follower";
    case RAFT_CANDIDATE: return "candidate";
    case RAFT_LEADER: return "leader";
    default: return "unavailable";
  }
}

void on_closed(raft *r) { static_cast<Server *>(r->data)->closed = true; }

// The term of `index` in raft's in-memory log (raft 0.15's raft_log: a ring of entries after
// `offset`), the snapshot's term at its last index, or 0 when the log does not say.
raft_term term_at(const raft_log &log, raft_index index) {
  const std::size_t held = log.back >= log.front ? log.back - log.front : log.size - log.front + log.back;
  if (index > log.offset && index <= log.offset + held) return log.entries[(log.front + (index - 1 - log.offset)) % log.size].term;
  if (index != 0 && index == log.snapshot.last_index) return log.snapshot.last_term;
  return 0;
}

class Simulation {
 public:
  explicit Simulation(const RaftSimConfig &config) : config_(config), rnd_(config.seed), network_(servers_count, config.seed) {
    uv_loop_init(&loop_);
  }
  ~Simulation() {
    stop_all();
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_loop_close(&loop_);
  }
  RaftSimStats run();

 private:
  void fail(const std::string &what) {
    if (stats_.failures.empty()) stats_.failures.push_back("seed " + std::to_string(config_.seed) + ": " + what);
  }
  bool failed() const { return !stats_.failures.empty(); }
  void note(const std::string &line) const {
    if (config_.verbose) std::fprintf(stderr, "seed %llu t=%llu: %s\n", static_cast<unsigned long long>(config_.seed),
                                      static_cast<unsigned long long>(network_.now()), line.c_str());
  }

  bool start(Server &server, bool bootstrap);
  void stop(Server &server);
  void stop_all();
  void settle();
  void step();
  void check_match_indexes();
  void run_for(std::uint64_t msecs);
  void submit();
  int leader() const;
  void crash(Server &server);
  RecoveredLog check_after_crash(Server &server, const BeforeCrash &before);
  RecoveredLog read_store(Server &server);
  void check_log_against_acknowledged(const RecoveredLog &log, std::uint64_t up_to, const std::string &who);
  void final_checks();
  bool converge();
  void check_state_machines();

  static void on_applied(struct raft_apply *req, int status, void *result);

  RaftSimConfig config_;
  SimRandom rnd_;
  RaftSimStats stats_;
  uv_loop_t loop_{};
  SimNetwork network_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::map<raft_index, std::string> acknowledged_;  // index -> command, from apply callbacks
  std::uint64_t next_command_ = 1;
  std::uint64_t next_submit_ = 0;
  unsigned snapshot_threshold_ = 0;
  unsigned snapshot_trailing_ = 0;
};

struct ApplyRequest {
  struct raft_apply req{};
  Simulation *sim = nullptr;
  std::string command;
};

// --- servers -----------------------------------------------------------------------------------

bool Simulation::start(Server &server, bool bootstrap) {
  Endpoint &endpoint = network_.endpoint(server.index);
  server.env = server.disk->env();
  server.closed = false;
  segstore_raft_options options{};
  options.segment_bytes = segment_bytes;
  options.snapshots_kept = 2;
  options.transport = &endpoint.io;
  options.env = server.env.get();
  if (segstore_raft_io_init(&server.io, &loop_, server.dir.c_str(), &options) != 0) {
    fail("segstore_raft_io_init failed");
    return false;
  }
  server.machine.reset();
  if (raft_init(&server.r, &server.io, &server.machine.fsm, endpoint.id, endpoint.address.c_str()) != 0) {
    fail(std::string("raft_init: ") + server.io.errmsg);
    segstore_raft_io_close(&server.io);
    return false;
  }
  server.r.data = &server;
  raft_set_election_timeout(&server.r, 150);
  raft_set_heartbeat_timeout(&server.r, 15);
  raft_set_pre_vote(&server.r, true);
  raft_set_snapshot_threshold(&server.r, snapshot_threshold_);
  raft_set_snapshot_trailing(&server.r, snapshot_trailing_);
  if (bootstrap) {
    raft_configuration configuration;
    raft_configuration_init(&configuration);
    for (int i = 0; i < servers_count; ++i)
      raft_configuration_add(&configuration, network_.endpoint(i).id, network_.endpoint(i).address.c_str(), RAFT_VOTER);
    const int rv = raft_bootstrap(&server.r, &configuration);
    raft_configuration_close(&configuration);
    if (rv != 0) fail(std::string("raft_bootstrap: ") + raft_errmsg(&server.r));
  }
  server.running = true;
  if (!failed() && raft_start(&server.r) != 0) fail(std::string("raft_start: ") + raft_errmsg(&server.r));
  return !failed();
}

void Simulation::stop(Server &server) {
  raft_close(&server.r, on_closed);
  while (!server.closed) uv_run(&loop_, UV_RUN_ONCE);
  segstore_raft_io_close(&server.io);
  server.running = false;
}

void Simulation::stop_all() {
  for (auto &server : servers_)
    if (server->running) raft_close(&server->r, on_closed);
  for (auto &server : servers_) {
    if (!server->running) continue;
    while (!server->closed) uv_run(&loop_, UV_RUN_ONCE);
    segstore_raft_io_close(&server->io);
    server->running = false;
  }
}

// Waits for every live storage thread and delivers its callbacks, until none is left (a
// callback may submit more work: a bounded number of rounds).
void Simulation::settle() {
  for (int round = 0; round < 16; ++round) {
    bool pending = false;
    for (auto &server : servers_)
      if (server->running) pending = segstore_raft_io_wait_idle(&server->io) != 0 || pending;
    uv_run(&loop_, UV_RUN_NOWAIT);
    if (!pending) return;
  }
}

int Simulation::leader() const {
  for (const auto &server : servers_)
    if (server->running && raft_state(&server->r) == RAFT_LEADER) return server->index;
  return -1;
}

void Simulation::on_applied(struct raft_apply *req, int status, void *) {
  auto *request = static_cast<ApplyRequest *>(req->data);
  Simulation &sim = *request->sim;
  if (status == 0) {
    auto [at, inserted] = sim.acknowledged_.emplace(req->index, request->command);
    if (!inserted && at->second != request->command)
      sim.fail("index " + std::to_string(req->index) + " acknowledged twice with different commands");
    sim.stats_.acknowledged++;
  }
  delete request;
}

// A command: an 8-byte sequence number, then 0..3 more 8-byte words (raft 0.15 shifts the bytes
// of entries whose length is not a multiple of 8 on some paths: docs/REPLICATION.md "Limits").
void Simulation::submit() {
  const int l = leader();
  if (l < 0) return;
  auto *request = new ApplyRequest;
  request->sim = this;
  request->req.data = request;
  const std::uint64_t words = 1 + rnd_.below(4);
  for (std::uint64_t w = 0; w < words; ++w) {
    const std::uint64_t word = w == 0 ? next_command_ : rnd_.next();
    request->command.append(reinterpret_cast<const char *>(&word), sizeof word);
  }
  raft_buffer buf{raft_malloc(request->command.size()), request->command.size()};
  std::memcpy(buf.base, request->command.data(), buf.len);
  if (raft_apply(&servers_[l]->r, &request->req, &buf, 1, on_applied) != 0) {
    raft_free(buf.base);
    delete request;
    return;
  }
  next_command_++;
  stats_.submitted++;
}

// One step of the clock: to the next message, tick or client command.
void Simulation::step() {
  settle();
  const std::uint64_t next = std::min(network_.next_event(), next_submit_);
  network_.advance_to(next);
  if (network_.now() >= next_submit_) {
    submit();
    next_submit_ = network_.now() + rnd_.between(1, 12);
  }
  check_match_indexes();
}

// The leader counts a follower toward a commit up to its match index: the follower must hold the
// leader's entry there. Checked for followers in the leader's term (one that moved to a later
// term may have replaced entries under a newer leader, which this leader has not heard of).
void Simulation::check_match_indexes() {
  const int at = leader();
  if (at < 0) return;
  const raft &lead = servers_[at]->r;
  for (unsigned i = 0; i < lead.configuration.n; ++i) {
    const int follower = static_cast<int>(lead.configuration.servers[i].id) - 1;
    if (follower == at || follower < 0 || follower >= servers_count || !servers_[follower]->running) continue;
    const raft &r = servers_[follower]->r;
    const raft_index match = lead.leader_state.progress[i].match_index;
    if (r.current_term != lead.current_term || match == 0) continue;
    const raft_term theirs = term_at(r.log, match);
    const raft_term ours = term_at(lead.log, match);
    if (theirs == 0 || ours == 0) continue;  // compacted away on one side: not comparable
    stats_.match_indexes_checked++;
    if (theirs != ours)
      fail("leader " + std::to_string(at + 1) + " (term " + std::to_string(lead.current_term) + ") counts server " +
           std::to_string(follower + 1) + " as holding index " + std::to_string(match) + " of term " +
           std::to_string(ours) + "; it holds term " + std::to_string(theirs) + " there");
  }
}

void Simulation::run_for(std::uint64_t msecs) {
  const std::uint64_t until = network_.now() + msecs;
  while (network_.now() < until && !failed()) step();
}

// --- crashes and what the recovered stores must hold ---------------------------------------------

RecoveredLog Simulation::read_store(Server &server) {
  return read_recovered_log(server.disk->env(), server.dir + "/log", segment_bytes);
}

// Entries at acknowledged indexes up to `up_to` must hold the acknowledged command (above a
// server's commit index its log may still hold a deposed leader's entries).
void Simulation::check_log_against_acknowledged(const RecoveredLog &log, std::uint64_t up_to, const std::string &who) {
  for (const auto &[index, command] : log.commands) {
    if (index > up_to) break;
    auto acked = acknowledged_.find(index);
    if (acked == acknowledged_.end()) continue;
    stats_.entries_checked++;
    if (acked->second != command) fail(who + ": index " + std::to_string(index) + " holds other bytes than the committed command");
  }
}

BeforeCrash state_of(const Server &server) {
  return BeforeCrash{server.r.current_term, server.r.voted_for, server.r.last_stored, server.r.commit_index};
}

RecoveredLog Simulation::check_after_crash(Server &server, const BeforeCrash &before) {
  const std::string who = "server " + std::to_string(server.index + 1) + " after a power cut";
  RecoveredLog log = read_store(server);
  if (!log.error.empty()) {
    fail(who + ": " + log.error);
    return log;
  }
  // raft changes current_term and voted_for only after set_term/set_vote returned: what it
  // acted on must have been durable.
  if (log.term < before.term) {
    fail(who + ": term went back from " + std::to_string(before.term) + " to " + std::to_string(log.term));
  } else if (log.term == before.term && before.vote != 0 && log.vote != before.vote) {
    fail(who + ": the vote of term " + std::to_string(log.term) + " changed from " + std::to_string(before.vote) + " to " +
         std::to_string(log.vote));
  }
  // raft raises last_stored only in a successful append callback (and lowers it when it
  // truncates): every entry up to it was acknowledged durable by the adapter.
  const std::uint64_t last = std::max(log.next - 1, log.snapshot_index);
  if (last < before.stored)
    fail(who + ": raft counted entries up to " + std::to_string(before.stored) + " as stored, the store recovered up to " +
         std::to_string(last));
  check_log_against_acknowledged(log, before.committed, who);
  return log;
}

// Power cut of one server, between two steps of the clock once its storage thread is idle (see
// the top of this file for why never with one of its requests running).
void Simulation::crash(Server &server) {
  settle();
  if (config_.cut_with_request_running) {
    // The victim's write groups stay in flight: its storage thread blocks in a sync while the
    // others go on, until the cut fails the request it runs and raft hears of the failure.
    server.disk->hold_writes(true);
    for (int i = 0; i < 400 && server.disk->groups_in_flight() == 0 && !failed(); ++i) {
      const std::uint64_t next = std::min(network_.next_event(), next_submit_);
      network_.advance_to(next);
      if (network_.now() >= next_submit_) {
        submit();
        next_submit_ = network_.now() + rnd_.between(1, 12);
      }
    }
  }
  const BeforeCrash before = state_of(server);
  note("power cut of server " + std::to_string(server.index + 1) + " (" + role_of(server.r) + "), term " +
       std::to_string(before.term) + ", stored " + std::to_string(before.stored) + ", committed " +
       std::to_string(before.committed));
  server.disk->crash();
  stats_.crashes++;
  if (config_.cut_with_request_running) {
    server.disk->hold_writes(false);
    (void)segstore_raft_io_wait_idle(&server.io);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  stop(server);
  check_after_crash(server, before);
  stats_.snapshots_installed += static_cast<std::uint64_t>(server.machine.restores);
  server.machine.restores = 0;
  if (!failed()) start(server, false);
}

// --- the end: all disks at once, then catch-up ------------------------------------------------------

// Runs until every server applied the same commands and a command submitted in this phase was
// acknowledged (a new leader commits its predecessors' entries only with one of its own term).
bool Simulation::converge() {
  const std::uint64_t first_final = next_command_;
  const std::uint64_t deadline = network_.now() + 30000;
  next_submit_ = UINT64_MAX;
  std::uint64_t retry = network_.now();
  while (network_.now() < deadline && !failed()) {
    settle();
    bool final_acked = false;
    for (auto it = acknowledged_.rbegin(); it != acknowledged_.rend() && !final_acked; ++it)
      final_acked = command_number(it->second) >= first_final;
    const int l = leader();
    if (final_acked && l >= 0) {
      bool same = true;
      for (auto &server : servers_)
        same = same && raft_last_applied(&server->r) == servers_[l]->r.commit_index &&
               server->machine.applied.size() == servers_[l]->machine.applied.size();
      if (same) return true;
    }
    if (!final_acked && network_.now() >= retry) {
      submit();
      retry = network_.now() + 50;
    }
    // The retry time matters only until the final command is acknowledged (a retry time in
    // the past would hold the clock still).
    network_.advance_to(final_acked ? network_.next_event() : std::min(network_.next_event(), retry));
    check_match_indexes();
  }
  return false;
}

void Simulation::final_checks() {
  // Every server loses power at once.
  settle();
  std::vector<BeforeCrash> before;
  for (auto &server : servers_) before.push_back(state_of(*server));
  for (auto &server : servers_) server->disk->crash();
  stop_all();
  std::vector<RecoveredLog> logs;
  for (auto &server : servers_) logs.push_back(check_after_crash(*server, before[server->index]));
  if (failed()) return;
  // Each acknowledged command is on a majority: in its log, or below its snapshot.
  for (const auto &[index, command] : acknowledged_) {
    int holders = 0;
    for (const RecoveredLog &log : logs) {
      auto entry = log.commands.find(index);
      if ((entry != log.commands.end() && entry->second == command) || index <= log.snapshot_index) holders++;
    }
    if (holders * 2 <= servers_count) {
      fail("after a power cut of every server, acknowledged index " + std::to_string(index) + " is on " +
           std::to_string(holders) + " of " + std::to_string(servers_count) + " servers");
      return;
    }
  }
  for (auto &server : servers_) {
    server->machine.restores = 0;
    if (!start(*server, false)) return;
  }
  if (!converge()) {
    std::string states;
    for (auto &server : servers_)
      states += " [server " + std::to_string(server->index + 1) + " " + role_of(server->r) + " term " +
                std::to_string(server->r.current_term) + " commit " + std::to_string(server->r.commit_index) +
                " applied " + std::to_string(raft_last_applied(&server->r)) + " stored " +
                std::to_string(server->r.last_stored) + " commands " + std::to_string(server->machine.applied.size()) + "]";
    fail("the servers did not converge within 30 s of virtual time after the final restart:" + states);
    return;
  }
  check_state_machines();
  for (auto &server : servers_) stats_.snapshots_installed += static_cast<std::uint64_t>(server->machine.restores);
  // After catch-up, every server's log agrees with every acknowledged command it holds, and
  // holds each one (or a snapshot past it).
  stop_all();
  for (auto &server : servers_) {
    const std::string who = "server " + std::to_string(server->index + 1) + " after catch-up";
    const RecoveredLog log = read_store(*server);
    if (!log.error.empty()) return fail(who + ": " + log.error);
    check_log_against_acknowledged(log, UINT64_MAX, who);
    for (const auto &[index, command] : acknowledged_)
      if (index > log.snapshot_index && log.commands.count(index) == 0)
        return fail(who + ": acknowledged index " + std::to_string(index) + " is missing");
  }
}

// Every server applied the same commands; each acknowledged one once, in index order.
void Simulation::check_state_machines() {
  const std::vector<std::string> &reference = servers_[0]->machine.applied;
  for (auto &server : servers_) {
    if (server->machine.applied != reference)
      return fail("server " + std::to_string(server->index + 1) + " applied " + std::to_string(server->machine.applied.size()) +
                  " commands, server 1 " + std::to_string(reference.size()) + ", or in another order");
  }
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < reference.size(); ++i)
    if (!position.emplace(reference[i], i).second) return fail("a command was applied twice");
  std::size_t previous = 0;
  bool first = true;
  for (const auto &[index, command] : acknowledged_) {
    auto at = position.find(command);
    if (at == position.end()) return fail("acknowledged index " + std::to_string(index) + " was never applied");
    if (!first && at->second <= previous) return fail("acknowledged index " + std::to_string(index) + " applied out of order");
    previous = at->second;
    first = false;
  }
}

RaftSimStats Simulation::run() {
  stats_.seeds = 1;
  snapshot_threshold_ = static_cast<unsigned>(rnd_.between(16, 64));
  snapshot_trailing_ = static_cast<unsigned>(rnd_.between(4, 32));
  for (int i = 0; i < servers_count; ++i) {
    auto server = std::make_unique<Server>();
    server->index = i;
    server->dir = config_.host_dir + "/server" + std::to_string(i + 1);
    std::error_code ignored;
    std::filesystem::create_directories(server->dir + "/log", ignored);  // on the host: events.log only
    server->disk = SimDisk::make(testing::splitmix64(config_.seed * 8 + static_cast<std::uint64_t>(i)), server->dir);
    servers_.push_back(std::move(server));
  }
  for (auto &server : servers_)
    if (!start(*server, true)) return stats_;
  for (unsigned c = 0; c < config_.crashes && !failed(); ++c) {
    run_for(rnd_.between(config_.steps_min, config_.steps_max));
    if (!failed()) crash(*servers_[rnd_.below(servers_count)]);
  }
  if (!failed()) run_for(config_.steps_min);
  if (!failed()) final_checks();
  return stats_;
}

}  // namespace

void RaftSimStats::add(const RaftSimStats &other) {
  seeds += other.seeds;
  crashes += other.crashes;
  submitted += other.submitted;
  acknowledged += other.acknowledged;
  entries_checked += other.entries_checked;
  match_indexes_checked += other.match_indexes_checked;
  snapshots_installed += other.snapshots_installed;
  failures.insert(failures.end(), other.failures.begin(), other.failures.end());
}

std::string RaftSimStats::summary() const {
  std::ostringstream out;
  out << "seeds " << seeds << "\nsingle-server power cuts " << crashes << "\ncommands submitted " << submitted << ", acknowledged " << acknowledged
      << "\ncommitted entries compared on recovered stores " << entries_checked
      << "\nmatch indexes compared with the follower's log " << match_indexes_checked << "\nsnapshots restored "
      << snapshots_installed << "\nfailures " << failures.size() << "\n";
  return out.str();
}

RaftSimStats run_raft_sim(const RaftSimConfig &config) { return Simulation(config).run(); }

}  // namespace segstore::raft_sim
