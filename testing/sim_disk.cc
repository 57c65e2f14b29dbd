// testing/sim_disk.cc — the simulated disk's state between crashes (directory syncs, writes and
// data syncs with their injected faults) and SimDisk's methods (testing/sim_env.h). The crash
// itself is in sim_crash.cc.
#include "base/assert.h"
#include "base/try.h"
#include "testing/sim_file.h"
#include "testing/sim_model.h"

namespace segstore::testing {

using namespace sim;

// sync_dir(dir): the operations that change `dir` become durable, with every earlier volatile
// operation on one of the same names (in order: a rename is never durable before the create of
// its source). Others stay volatile.
void SimDisk::State::sync_dir_locked(const std::string &dir) {
  std::vector<bool> commit(dir_log.size(), false);
  std::set<std::string> names;
  for (std::size_t i = dir_log.size(); i-- > 0;) {
    const DirOp &op = dir_log[i];
    const bool touches = (!op.from.empty() && names.count(op.from)) || (!op.to.empty() && names.count(op.to));
    if (op.dirs.count(dir) || touches) {
      commit[i] = true;
      if (!op.from.empty()) names.insert(op.from);
      if (!op.to.empty()) names.insert(op.to);
    }
  }
  std::vector<DirOp> rest;
  for (std::size_t i = 0; i < dir_log.size(); ++i) {
    if (commit[i]) {
      replay_dir_op(durable, dir_log[i]);
    } else {
      rest.push_back(std::move(dir_log[i]));
    }
  }
  dir_log = std::move(rest);
}

Status SimDisk::State::write_locked(Inode &inode, const std::string &path, std::uint64_t offset,
                                    std::span<const std::byte> data) {
  SimRandom random = random_for(path, SimOp::write);
  std::optional<SimFault> fault = decide(SimOp::write, path, random);
  const std::uint64_t old_size = inode.current.size();
  const std::uint64_t new_size = std::max<std::uint64_t>(old_size, offset + data.size());
  if (!fault && over_capacity(old_size, new_size)) {
    // The device is full: the whole sectors that fit land, then ENOSPC (a short write).
    const std::uint64_t used = used_bytes();
    const std::uint64_t room = capacity > used ? capacity - used : 0;
    const std::uint64_t allowed_end = old_size + room;
    std::uint64_t prefix = allowed_end > offset ? std::min<std::uint64_t>(data.size(), allowed_end - offset) : 0;
    prefix = prefix / sector_bytes * sector_bytes;
    if (prefix != 0) {
      FileOp op;
      op.offset = offset;
      op.data.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(prefix));
      file_op(inode, std::move(op));
    }
    return sim_errno(ENOSPC, "write", path, static_cast<std::int64_t>(offset + prefix));
  }
  if (fault) {
    injected(*fault, path, &inode);
    switch (*fault) {
      case SimFault::write_enospc:
        return sim_errno(ENOSPC, "write", path, static_cast<std::int64_t>(offset));
      case SimFault::short_write: {
        // A prefix lands (whole sectors), then the device fails the rest.
        const std::uint64_t sectors = data.size() / sector_bytes;
        const std::uint64_t landed = sectors == 0 ? 0 : random.below(sectors) * sector_bytes;
        if (landed != 0) {
          FileOp op;
          op.offset = offset;
          op.data.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(landed));
          file_op(inode, std::move(op));
        }
        return sim_errno(random.chance(0.5) ? ENOSPC : EIO, "write", path, static_cast<std::int64_t>(offset + landed));
      }
      default:
        return sim_errno(EIO, "write", path, static_cast<std::int64_t>(offset));
    }
  }
  FileOp op;
  op.offset = offset;
  op.data.assign(data.begin(), data.end());
  file_op(inode, std::move(op));
  return Status();
}

// A failed sync: the kernel wrote some of the dirty pages and dropped the rest, marking them
// clean (they stay visible to reads until the machine reboots, and no later sync writes them).
Status SimDisk::State::sync_locked(Inode &inode, const std::string &path, std::unique_lock<std::mutex> *lock) {
  SimRandom random = random_for(path, SimOp::sync);
  std::optional<SimFault> fault = decide(SimOp::sync, path, random);
  if (fault) {
    const std::optional<SimTarget> target = fired;
    const bool writes_none = target && target->writes_none;
    injected(*fault, path, &inode);
    for (const FileOp &op : inode.ops) {
      if (op.landed || (!writes_none && random.chance(0.5))) {  // a landed write is on the media already
        apply_op(inode.durable, op);
      } else {
        inode.limbo = true;
      }
    }
    inode.ops.clear();
    if (target && target->returns_after_a_read && lock != nullptr) {
      const std::uint64_t reads_before = inode.reads, boot = generation;
      held_syncs++;
      changed.notify_all();
      changed.wait(*lock, [&] { return inode.reads != reads_before || generation != boot; });
      held_syncs--;
    }
    return sim_errno(EIO, "fdatasync", path);
  }
  for (const FileOp &op : inode.ops) apply_op(inode.durable, op);
  inode.ops.clear();
  return Status();
}

// The write's own sync failed: the device may hold it or not, and Linux may have marked its
// pages clean (buffered) so that only the page cache shows it until the reboot (limbo). Either
// way it is not durable: a crash keeps it, loses it or tears it like any volatile write.
Status SimDisk::State::dsync_write_locked(Inode &inode, const std::string &path, std::uint64_t offset,
                                          std::span<const std::byte> data) {
  const std::size_t ops_before = inode.ops.size();
  SEGSTORE_TRY(write_locked(inode, path, offset, data));
  // Invariant: a successful write of bytes adds exactly one operation, the write itself.
  SEGSTORE_ASSERT(inode.ops.size() == ops_before + 1 && inode.ops.back().offset == offset &&
                      inode.ops.back().data.size() == data.size(),
                  "a simulated write of " + std::to_string(data.size()) + " bytes to " + path +
                      " did not add its operation");
  SimRandom random = random_for(path, SimOp::sync);
  if (std::optional<SimFault> fault = decide(SimOp::sync, path, random)) {
    injected(*fault, path, &inode);
    if (random.chance(0.5)) {
      inode.ops.pop_back();
      inode.limbo = true;
    }
    return sim_errno(EIO, "write (RWF_DSYNC)", path, static_cast<std::int64_t>(offset));
  }
  inode.ops.back().landed = true;
  return Status();
}

// ---------------------------------------------------------------------------------------------
// SimDisk

SimDisk::SimDisk(std::uint64_t seed, std::string root) : state_(std::make_unique<State>()) {
  state_->seed = seed;
  state_->root = normalize(std::move(root));
}

SimDisk::~SimDisk() = default;

std::shared_ptr<SimDisk> SimDisk::make(std::uint64_t seed, std::string root) {
  return std::shared_ptr<SimDisk>(new SimDisk(seed, std::move(root)));
}

void SimDisk::crash() {
  std::lock_guard lock(state_->mu);
  state_->crash_locked();
}

std::uint64_t SimDisk::generation() const {
  std::lock_guard lock(state_->mu);
  return state_->generation;
}

void SimDisk::hold_writes(bool hold) {
  std::lock_guard lock(state_->mu);
  state_->hold = hold;
  state_->changed.notify_all();
}

std::size_t SimDisk::groups_in_flight() const {
  std::lock_guard lock(state_->mu);
  std::size_t n = 0;
  for (const SimQueue *q : state_->queues)
    if (q->boot_ == state_->generation) n += q->pending_.size();
  return n;
}

void SimDisk::wait_for_held_sync() {
  std::unique_lock lock(state_->mu);
  state_->changed.wait(lock, [&] { return state_->held_syncs != 0; });
}

void SimDisk::wait_until(const std::function<bool()> &pred) {
  std::unique_lock lock(state_->mu);
  state_->changed.wait(lock, pred);
}

void SimDisk::wait_for_in_flight(std::size_t groups, const std::function<bool()> &or_else) {
  std::unique_lock lock(state_->mu);
  state_->changed.wait(lock, [&] {
    std::size_t n = 0;
    for (const SimQueue *q : state_->queues)
      if (q->boot_ == state_->generation) n += q->pending_.size();
    return n >= groups || or_else();
  });
}

void SimDisk::poke() {
  std::lock_guard lock(state_->mu);
  state_->changed.notify_all();
}

void SimDisk::set_fault_rates(const SimFaultRates &rates) {
  std::lock_guard lock(state_->mu);
  state_->rates = rates;
}

void SimDisk::set_crash_model(const SimCrashModel &model) {
  std::lock_guard lock(state_->mu);
  state_->crash_model = model;
}

void SimDisk::arm(const SimTarget &target) {
  std::lock_guard lock(state_->mu);
  state_->targets.push_back({target, 0});
}

void SimDisk::clear_targets() {
  std::lock_guard lock(state_->mu);
  state_->targets.clear();
}

void SimDisk::set_sync_writes(io::SyncWrites sync_writes) {
  std::lock_guard lock(state_->mu);
  state_->sync_writes = sync_writes;
}

void SimDisk::set_capacity(std::uint64_t bytes) {
  std::lock_guard lock(state_->mu);
  state_->capacity = bytes;
}

void SimDisk::set_read_ahead(bool on) {
  std::lock_guard lock(state_->mu);
  state_->read_ahead = on;
}

std::string SimDisk::flip_durable_bit(const std::string &path_contains) {
  std::lock_guard lock(state_->mu);
  State &st = *state_;
  std::vector<std::pair<std::string, Inode *>> candidates;
  for (auto &[path, entry] : st.tree)
    if (entry.inode && !entry.inode->durable.empty() && path.find(path_contains) != std::string::npos)
      candidates.emplace_back(path, entry.inode.get());
  if (candidates.empty()) return "";
  SimRandom random(splitmix64(st.seed ^ 0xB17F11Full) ^ st.counts[static_cast<std::size_t>(SimFault::bit_flip)]);
  auto &[path, inode] = candidates[random.below(candidates.size())];
  const std::uint64_t at = random.below(inode->durable.size());
  const std::byte mask = static_cast<std::byte>(1u << random.below(8));
  inode->durable[at] ^= mask;
  // Reads see the rot at once unless volatile writes are pending (then after the next crash).
  if (inode->ops.empty() && at < inode->current.size()) inode->current[at] ^= mask;
  st.count(SimFault::bit_flip);
  return path + " at offset " + std::to_string(at);
}

SimFaultCounts SimDisk::faults() const {
  std::lock_guard lock(state_->mu);
  return state_->counts;
}

std::uint64_t SimDisk::faults(SimFault fault) const {
  std::lock_guard lock(state_->mu);
  return state_->counts[static_cast<std::size_t>(fault)];
}

std::vector<SimDisk::FaultEvent> SimDisk::take_fault_events() {
  std::lock_guard lock(state_->mu);
  std::vector<FaultEvent> out(state_->events.begin(), state_->events.end());
  state_->events.clear();
  return out;
}

std::vector<std::string> SimDisk::last_crash_log() const {
  std::lock_guard lock(state_->mu);
  return state_->crash_log;
}

std::vector<std::byte> SimDisk::contents(const std::string &path) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->tree.find(normalize(path));
  if (it == state_->tree.end() || !it->second.inode) return {};
  return it->second.inode->current;
}

std::vector<std::string> SimDisk::paths() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> out;
  for (const auto &[path, entry] : state_->tree) out.push_back(path);
  return out;
}

const char *sim_op_name(SimOp op) {
  switch (op) {
    case SimOp::open: return "open";
    case SimOp::read: return "read";
    case SimOp::write: return "write";
    case SimOp::sync: return "sync";
    case SimOp::sync_dir: return "sync_dir";
    case SimOp::allocate: return "allocate";
    case SimOp::truncate: return "truncate";
    case SimOp::rename: return "rename";
    case SimOp::remove: return "remove";
    case SimOp::make_dir: return "make_dir";
    case SimOp::count_: break;
  }
  return "?";
}

const char *sim_fault_name(SimFault fault) {
  switch (fault) {
    case SimFault::read_eio: return "read_eio";
    case SimFault::write_eio: return "write_eio";
    case SimFault::write_enospc: return "write_enospc";
    case SimFault::short_write: return "short_write";
    case SimFault::sync_eio: return "sync_eio";
    case SimFault::sync_dir_eio: return "sync_dir_eio";
    case SimFault::allocate_enospc: return "allocate_enospc";
    case SimFault::op_eio: return "op_eio";
    case SimFault::misdirected_read: return "misdirected_read";
    case SimFault::lost_write: return "lost_write";
    case SimFault::torn_write: return "torn_write";
    case SimFault::lost_meta_op: return "lost_meta_op";
    case SimFault::lost_dir_op: return "lost_dir_op";
    case SimFault::inflight_lost: return "inflight_lost";
    case SimFault::inflight_torn: return "inflight_torn";
    case SimFault::inflight_landed: return "inflight_landed";
    case SimFault::bit_flip: return "bit_flip";
    case SimFault::count_: break;
  }
  return "?";
}

}  // namespace segstore::testing
