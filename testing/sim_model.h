// testing/sim_model.h — the simulated disk's model, shared by its parts (not a public header):
// the files' pending operations (FileOp) and inodes, the directory tree and its pending
// operations (DirOp), and the disk's whole state (SimDisk::State), guarded by one mutex.
//
// The parts: sim_disk.cc (the state's operations and SimDisk's methods), sim_crash.cc (the power
// cut, step by step), sim_file.cc (the simulated file and its write queue), sim_env.cc (the Env
// of one boot). One mutex guards the whole disk: files, directory trees, queues, locks,
// counters. Operations are memory copies, so holding it across a queued group's write keeps the
// model simple (every operation is atomic with respect to a crash) at no real cost.
#pragma once

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "format/layout.h"
#include "testing/sim_env.h"

namespace segstore::testing {

namespace sim {

inline constexpr std::uint64_t sector_bytes = format::sector_size_bytes;
inline constexpr std::uint64_t block_bytes = format::block_size_bytes;

inline std::uint64_t hash_text(const std::string &text) {
  std::uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a
  for (unsigned char c : text) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

inline std::string normalize(std::string path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

inline std::string parent_of(const std::string &path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

inline Status sim_errno(int err, const std::string &what, const std::string &path, std::int64_t offset = -1) {
  Status s = io::errno_status(err, what, path, offset);
  return Status(s.code(), s.message() + " [simulated]");
}

// One change to a file's bytes or size, kept until a sync makes it durable or a crash decides.
struct FileOp {
  enum class Kind : std::uint8_t { write, truncate, allocate } kind = Kind::write;
  std::uint64_t offset = 0;       // write
  std::vector<std::byte> data;    // write
  std::uint64_t size = 0;         // truncate, allocate
  // On the media, whatever the crash: a piece of a group in flight that reached it at the
  // crash, or a completed RWF_DSYNC write.
  bool landed = false;
};

inline void apply_op(std::vector<std::byte> &bytes, const FileOp &op) {
  switch (op.kind) {
    case FileOp::Kind::write:
      if (bytes.size() < op.offset + op.data.size()) bytes.resize(op.offset + op.data.size());
      if (!op.data.empty()) std::memcpy(bytes.data() + op.offset, op.data.data(), op.data.size());
      break;
    case FileOp::Kind::truncate:
      bytes.resize(op.size);
      break;
    case FileOp::Kind::allocate:
      if (bytes.size() < op.size) bytes.resize(op.size);
      break;
  }
}

struct Inode {
  std::uint64_t id = 0;
  std::vector<std::byte> current;  // what buffered reads see (the page cache)
  std::vector<std::byte> durable;  // what survives any crash (before latent corruption)
  std::vector<FileOp> ops;         // volatile, oldest first
  // A failed sync dropped writes that `current` still shows (limbo): until the reboot, the
  // page cache and the device disagree.
  bool limbo = false;
  std::uint64_t reads = 0;  // reads of the file that returned bytes (a held sync waits for one)
};

// What an O_DIRECT read sees: the device, i.e. the durable bytes and the volatile writes (a
// direct read first writes dirty pages back), without the writes a failed sync dropped. Pages
// that Linux marked clean after the failure stay in the page cache only. The size is the
// inode's, as the kernel keeps it.
inline std::vector<std::byte> device_bytes(const Inode &inode) {
  std::vector<std::byte> bytes = inode.durable;
  for (const FileOp &op : inode.ops) apply_op(bytes, op);
  bytes.resize(inode.current.size());
  return bytes;
}

struct Entry {
  bool dir = false;
  std::shared_ptr<Inode> inode;  // files only
};
using Tree = std::map<std::string, Entry>;

struct DirOp {
  enum class Kind : std::uint8_t { create, make_dir, rename, remove } kind = Kind::create;
  std::string from;  // rename, remove
  std::string to;    // create, make_dir, rename
  Entry entry;       // create, make_dir
  std::set<std::string> dirs;  // a sync_dir of any of these makes it durable
};

// Applies a directory operation to a tree, leniently (used for replays and the durable tree:
// an operation whose source vanished with a lost earlier one does nothing).
inline void replay_dir_op(Tree &tree, const DirOp &op) {
  switch (op.kind) {
    case DirOp::Kind::create:
    case DirOp::Kind::make_dir:
      tree[op.to] = op.entry;
      break;
    case DirOp::Kind::rename: {
      auto it = tree.find(op.from);
      if (it == tree.end()) break;
      Entry moved = it->second;
      tree.erase(it);
      tree[op.to] = moved;
      break;
    }
    case DirOp::Kind::remove:
      tree.erase(op.from);
      break;
  }
}

class SimFile;
class SimQueue;

}  // namespace sim

struct SimDisk::State {
  std::mutex mu;
  std::condition_variable changed;
  std::uint64_t seed = 0;
  std::string root;
  std::uint64_t generation = 0;
  std::uint64_t next_inode = 1;
  sim::Tree tree;     // now
  sim::Tree durable;  // after a crash with every volatile directory operation lost
  std::vector<sim::DirOp> dir_log;
  std::map<std::string, std::uint64_t> locks;  // path -> boot that holds it
  SimFaultRates rates;
  SimCrashModel crash_model;
  std::vector<std::pair<SimTarget, std::uint64_t>> targets;  // target, matching operations seen
  std::optional<SimTarget> fired;  // the target that decided the last operation's fault, if one did
  std::size_t held_syncs = 0;      // failed syncs waiting for a read (SimTarget::returns_after_a_read)
  std::uint64_t capacity = 0;
  SimFaultCounts counts{};
  std::map<std::pair<std::string, SimOp>, std::uint64_t> op_counters;
  std::set<sim::SimQueue *> queues;
  bool hold = false;
  io::SyncWrites sync_writes = io::SyncWrites::dsync;
  bool read_ahead = false;
  std::uint64_t read_aheads_made = 0;

  // --- helpers; caller holds mu ---
  Status check_boot(std::uint64_t boot, const std::string &what, const std::string &path) const {
    if (boot == generation) return Status();
    return Status(Errc::io_error, what + " " + path + ": the simulated machine was power cut (handle of boot " +
                                      std::to_string(boot) + ", the disk is at boot " +
                                      std::to_string(generation) + ") (errno " + std::to_string(EIO) + ")");
  }
  std::deque<SimDisk::FaultEvent> events;
  std::vector<std::string> crash_log;
  void count(SimFault fault, std::uint64_t n = 1) { counts[static_cast<std::size_t>(fault)] += n; }
  // An error injected on an operation: counted and remembered for the test to inspect.
  void injected(SimFault fault, const std::string &path, const sim::Inode *inode = nullptr) {
    count(fault);
    bool head = false;
    if (inode != nullptr)
      for (std::size_t i = 0; i < std::min<std::size_t>(inode->current.size(), sim::block_bytes) && !head; ++i)
        head = inode->current[i] != std::byte{0};
    events.push_back({fault, path, generation, head});
    if (events.size() > 4096) events.pop_front();
  }
  // A generator for one decision about one operation on `path`.
  SimRandom random_for(const std::string &path, SimOp op) {
    const std::uint64_t n = op_counters[{path, op}]++;
    // Hashed relative to the root: the same seed decides the same under another root.
    const std::string name = path.compare(0, root.size(), root) == 0 ? path.substr(root.size()) : path;
    return SimRandom(splitmix64(seed ^ sim::hash_text(name)) ^ splitmix64((static_cast<std::uint64_t>(op) << 56) ^ n));
  }
  // The fault (if any) for this operation: targets first, then the random rates.
  std::optional<SimFault> decide(SimOp op, const std::string &path, SimRandom &random) {
    fired.reset();
    for (auto it = targets.begin(); it != targets.end(); ++it) {
      if (it->first.op != op || path.find(it->first.path_contains) == std::string::npos) continue;
      if (++it->second < it->first.nth) continue;
      fired = it->first;
      targets.erase(it);
      return fired->fault;
    }
    auto roll = [&](double p, SimFault f) -> std::optional<SimFault> {
      if (random.chance(p)) return f;
      return std::nullopt;
    };
    std::optional<SimFault> got;
    switch (op) {
      case SimOp::read:
        if (!(got = roll(rates.read_eio, SimFault::read_eio))) got = roll(rates.misdirected_read, SimFault::misdirected_read);
        break;
      case SimOp::write:
        if (!(got = roll(rates.write_eio, SimFault::write_eio)))
          if (!(got = roll(rates.write_enospc, SimFault::write_enospc))) got = roll(rates.short_write, SimFault::short_write);
        break;
      case SimOp::sync: got = roll(rates.sync_eio, SimFault::sync_eio); break;
      case SimOp::sync_dir: got = roll(rates.sync_dir_eio, SimFault::sync_dir_eio); break;
      case SimOp::allocate: got = roll(rates.allocate_enospc, SimFault::allocate_enospc); break;
      default: break;
    }
    return got;
  }
  bool inside(const std::string &path) const {
    return path == root || path.compare(0, root.size() + 1, root + "/") == 0;
  }
  // Is `path` a directory now? The root and its ancestors always are.
  bool is_dir(const std::string &path) const {
    if (path == root || (root.compare(0, path.size(), path) == 0 && (path == "/" || root[path.size()] == '/')))
      return true;
    auto it = tree.find(path);
    return it != tree.end() && it->second.dir;
  }
  bool has_children(const std::string &path) const {
    auto it = tree.upper_bound(path + "/");
    return it != tree.end() && it->first.compare(0, path.size() + 1, path + "/") == 0;
  }
  // Bytes held by the files of the tree (for the capacity).
  std::uint64_t used_bytes() const {
    std::set<const sim::Inode *> seen;
    std::uint64_t total = 0;
    for (const auto &[path, entry] : tree)
      if (entry.inode && seen.insert(entry.inode.get()).second) total += entry.inode->current.size();
    return total;
  }
  bool over_capacity(std::uint64_t old_size, std::uint64_t new_size) const {
    return capacity != 0 && new_size > old_size && used_bytes() + (new_size - old_size) > capacity;
  }
  void log_dir_op(sim::DirOp op) {
    sim::replay_dir_op(tree, op);
    dir_log.push_back(std::move(op));
  }
  void sync_dir_locked(const std::string &dir);
  Status write_locked(sim::Inode &inode, const std::string &path, std::uint64_t offset, std::span<const std::byte> data);
  // `lock` (holding mu): given, a failed sync armed to return after a read waits on it.
  Status sync_locked(sim::Inode &inode, const std::string &path, std::unique_lock<std::mutex> *lock = nullptr);
  // A write with RWF_DSYNC: write_locked, then its own sync, which makes this write durable
  // (landed) and nothing else.
  Status dsync_write_locked(sim::Inode &inode, const std::string &path, std::uint64_t offset,
                            std::span<const std::byte> data);
  void file_op(sim::Inode &inode, sim::FileOp op) {
    sim::apply_op(inode.current, op);
    inode.ops.push_back(std::move(op));
  }
  void crash_locked();
  // The steps of a crash, in the order they draw from `random` (a seed replays a crash exactly).
  void land_inflight_groups_locked(SimRandom &random);
  sim::Tree replay_dir_ops_locked(SimRandom &random);
  std::vector<std::pair<sim::Inode *, std::string>> settle_files_locked(const sim::Tree &tree, SimRandom &random);
  void flip_latent_bits_locked(const std::vector<std::pair<sim::Inode *, std::string>> &files, SimRandom &random);
  void reboot_locked(sim::Tree tree, const std::vector<std::pair<sim::Inode *, std::string>> &files);
  std::vector<std::byte> settle_file(const sim::Inode &inode, const std::string &path, SimRandom &random, int policy);
};

}  // namespace segstore::testing
