// testing/sim_env.cc — the simulated disk (testing/sim_env.h).
//
// One mutex guards the whole disk: files, directory trees, queues, locks, counters. Operations
// are memory copies, so holding it across a queued group's write keeps the model simple
// (every operation is atomic with respect to a crash) at no real cost.
#include "testing/sim_env.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "base/try.h"
#include "format/layout.h"

namespace segstore::testing {

namespace {

constexpr std::uint64_t sector_bytes = format::sector_size_bytes;
constexpr std::uint64_t block_bytes = format::block_size_bytes;

std::uint64_t hash_text(const std::string &text) {
  std::uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a
  for (unsigned char c : text) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

std::string normalize(std::string path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string parent_of(const std::string &path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status sim_errno(int err, const std::string &what, const std::string &path, std::int64_t offset = -1) {
  Status s = io::errno_status(err, what, path, offset);
  return Status(s.code(), s.message() + " [simulated]");
}

// One change to a file's bytes or size, kept until a sync makes it durable or a crash decides.
struct FileOp {
  enum class Kind : std::uint8_t { write, truncate, allocate } kind = Kind::write;
  std::uint64_t offset = 0;       // write
  std::vector<std::byte> data;    // write
  std::uint64_t size = 0;         // truncate, allocate
  bool landed = false;            // a piece of a group in flight that reached the media at the crash
};

void apply_op(std::vector<std::byte> &bytes, const FileOp &op) {
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
};

// What an O_DIRECT read sees: the device, i.e. the durable bytes and the volatile writes (a
// direct read first writes dirty pages back), without the writes a failed sync dropped. Pages
// that Linux marked clean after the failure stay in the page cache only. The size is the
// inode's, as the kernel keeps it.
std::vector<std::byte> device_bytes(const Inode &inode) {
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
void replay_dir_op(Tree &tree, const DirOp &op) {
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

}  // namespace

class SimFile;
class SimQueue;

struct SimDisk::State {
  std::mutex mu;
  std::condition_variable changed;
  std::uint64_t seed = 0;
  std::string root;
  std::uint64_t generation = 0;
  std::uint64_t next_inode = 1;
  Tree tree;     // now
  Tree durable;  // after a crash with every volatile directory operation lost
  std::vector<DirOp> dir_log;
  std::map<std::string, std::uint64_t> locks;  // path -> boot that holds it
  SimFaultRates rates;
  SimCrashModel crash_model;
  std::vector<std::pair<SimTarget, std::uint64_t>> targets;  // target, matching operations seen
  std::uint64_t capacity = 0;
  SimFaultCounts counts{};
  std::map<std::pair<std::string, SimOp>, std::uint64_t> op_counters;
  std::set<SimQueue *> queues;
  bool hold = false;

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
  void injected(SimFault fault, const std::string &path, const Inode *inode = nullptr) {
    count(fault);
    bool head = false;
    if (inode != nullptr)
      for (std::size_t i = 0; i < std::min<std::size_t>(inode->current.size(), block_bytes) && !head; ++i)
        head = inode->current[i] != std::byte{0};
    events.push_back({fault, path, generation, head});
    if (events.size() > 4096) events.pop_front();
  }
  // A generator for one decision about one operation on `path`.
  SimRandom random_for(const std::string &path, SimOp op) {
    const std::uint64_t n = op_counters[{path, op}]++;
    // Hashed relative to the root: the same seed decides the same under another root.
    const std::string name = path.compare(0, root.size(), root) == 0 ? path.substr(root.size()) : path;
    return SimRandom(splitmix64(seed ^ hash_text(name)) ^ splitmix64((static_cast<std::uint64_t>(op) << 56) ^ n));
  }
  // The fault (if any) for this operation: targets first, then the random rates.
  std::optional<SimFault> decide(SimOp op, const std::string &path, SimRandom &random) {
    for (auto it = targets.begin(); it != targets.end(); ++it) {
      if (it->first.op != op || path.find(it->first.path_contains) == std::string::npos) continue;
      if (++it->second < it->first.nth) continue;
      const SimFault fault = it->first.fault;
      targets.erase(it);
      return fault;
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
    std::set<const Inode *> seen;
    std::uint64_t total = 0;
    for (const auto &[path, entry] : tree)
      if (entry.inode && seen.insert(entry.inode.get()).second) total += entry.inode->current.size();
    return total;
  }
  bool over_capacity(std::uint64_t old_size, std::uint64_t new_size) const {
    return capacity != 0 && new_size > old_size && used_bytes() + (new_size - old_size) > capacity;
  }
  void log_dir_op(DirOp op) {
    replay_dir_op(tree, op);
    dir_log.push_back(std::move(op));
  }
  void sync_dir_locked(const std::string &dir);
  Status write_locked(Inode &inode, const std::string &path, std::uint64_t offset, std::span<const std::byte> data);
  Status sync_locked(Inode &inode, const std::string &path);
  void file_op(Inode &inode, FileOp op) {
    apply_op(inode.current, op);
    inode.ops.push_back(std::move(op));
  }
  void crash_locked();
  // The steps of a crash, in the order they draw from `random` (a seed replays a crash exactly).
  void land_inflight_groups_locked(SimRandom &random);
  Tree replay_dir_ops_locked(SimRandom &random);
  std::vector<std::pair<Inode *, std::string>> settle_files_locked(const Tree &tree, SimRandom &random);
  void flip_latent_bits_locked(const std::vector<std::pair<Inode *, std::string>> &files, SimRandom &random);
  std::vector<std::byte> settle_file(const Inode &inode, const std::string &path, SimRandom &random, int policy);
};

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
Status SimDisk::State::sync_locked(Inode &inode, const std::string &path) {
  SimRandom random = random_for(path, SimOp::sync);
  std::optional<SimFault> fault = decide(SimOp::sync, path, random);
  if (fault) {
    injected(*fault, path, &inode);
    for (const FileOp &op : inode.ops) {
      if (random.chance(0.5)) {
        apply_op(inode.durable, op);
      } else {
        inode.limbo = true;
      }
    }
    inode.ops.clear();
    return sim_errno(EIO, "fdatasync", path);
  }
  for (const FileOp &op : inode.ops) apply_op(inode.durable, op);
  inode.ops.clear();
  return Status();
}

namespace {

// Crash policies for one kind of volatile state.
enum Policy : int { keep_all = 0, lose_all = 1, by_block = 2, by_sector = 3 };

int draw_policy(SimRandom &random, const SimCrashModel &model) {
  const double u = static_cast<double>(random.next() >> 11) * 0x1.0p-53;
  if (u < model.keep_all) return keep_all;
  if (u < model.keep_all + model.lose_all) return lose_all;
  return random.chance(model.sector_granularity) ? by_sector : by_block;
}

}  // namespace

// The bytes of `inode` after a power cut under `policy`.
std::vector<std::byte> SimDisk::State::settle_file(const Inode &inode, const std::string &path, SimRandom &random,
                                                  int policy) {
  auto note = [&](const char *what, const FileOp &op) {
    if (crash_log.size() < 1000)
      crash_log.push_back(path + ": " + what + " " +
                          (op.kind == FileOp::Kind::write ? "write [" + std::to_string(op.offset) + ", " +
                                                                std::to_string(op.offset + op.data.size()) + ")"
                           : op.kind == FileOp::Kind::truncate ? "truncate to " + std::to_string(op.size)
                                                               : "allocate to " + std::to_string(op.size)));
  };
  std::vector<std::byte> bytes = inode.durable;
  for (const FileOp &op : inode.ops) {
    if (op.landed || policy == keep_all) {
      apply_op(bytes, op);
      continue;
    }
    if (policy == lose_all) {
      count(op.kind == FileOp::Kind::write ? SimFault::lost_write : SimFault::lost_meta_op);
      note("lost", op);
      continue;
    }
    if (op.kind != FileOp::Kind::write) {
      if (random.chance(0.5)) {
        apply_op(bytes, op);
      } else {
        count(SimFault::lost_meta_op);
        note("lost", op);
      }
      continue;
    }
    // A write: whole, none, or piece by piece (pieces aligned to the file, not to the write).
    const std::uint64_t choice = random.below(3);
    if (choice == 0) {
      apply_op(bytes, op);
      continue;
    }
    if (choice == 1) {
      count(SimFault::lost_write);
      note("lost", op);
      continue;
    }
    const std::uint64_t unit = policy == by_sector ? sector_bytes : block_bytes;
    const std::uint64_t end = op.offset + op.data.size();
    bool kept_any = false, lost_any = false;
    for (std::uint64_t at = op.offset; at < end;) {
      const std::uint64_t piece_end = std::min(end, (at / unit + 1) * unit);
      if (random.chance(0.5)) {
        FileOp piece;
        piece.offset = at;
        piece.data.assign(op.data.begin() + static_cast<std::ptrdiff_t>(at - op.offset),
                          op.data.begin() + static_cast<std::ptrdiff_t>(piece_end - op.offset));
        apply_op(bytes, piece);
        kept_any = true;
      } else {
        lost_any = true;
      }
      at = piece_end;
    }
    if (kept_any && lost_any) {
      count(SimFault::torn_write);
      note(policy == by_sector ? "tore (by sector)" : "tore (by block)", op);
    } else if (!kept_any) {
      count(SimFault::lost_write);
      note("lost", op);
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Files

class SimFile final : public io::File {
 public:
  SimFile(std::shared_ptr<SimDisk> disk, SimDisk::State &state, std::shared_ptr<Inode> inode, std::string path,
          std::uint64_t boot, bool direct, bool writable)
      : disk_(std::move(disk)), st_(state), inode_(std::move(inode)), path_(std::move(path)), boot_(boot),
        direct_(direct), writable_(writable) {}

  const std::string &path() const override { return path_; }
  bool direct() const override { return direct_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override;
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Status sync_data() override;
  Result<std::uint64_t> size() override;
  Status allocate(std::uint64_t bytes) override;
  Status truncate(std::uint64_t bytes) override;

  Status check_aligned(const char *what, std::uint64_t offset, const void *buffer, std::size_t length) const {
    if (!direct_) return Status();
    const auto address = reinterpret_cast<std::uintptr_t>(buffer);
    if (offset % block_bytes == 0 && length % block_bytes == 0 && address % block_bytes == 0) return Status();
    return Status(Errc::invalid_argument, std::string(what) + " " + path_ + " at offset " + std::to_string(offset) +
                                              ": O_DIRECT needs offset, length and buffer aligned to " +
                                              std::to_string(block_bytes) + " (length " + std::to_string(length) +
                                              ") [simulated]");
  }
  Status check_writable(const char *what) const {
    if (writable_) return Status();
    return sim_errno(EBADF, what, path_);
  }

  std::shared_ptr<SimDisk> disk_;
  SimDisk::State &st_;
  std::shared_ptr<Inode> inode_;
  const std::string path_;
  const std::uint64_t boot_;
  const bool direct_;
  const bool writable_;
};

Result<std::size_t> SimFile::read_at(std::uint64_t offset, std::span<std::byte> out) {
  SEGSTORE_TRY(check_aligned("read", offset, out.data(), out.size()));
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "read", path_));
  SimRandom random = st_.random_for(path_, SimOp::read);
  std::optional<SimFault> fault = st_.decide(SimOp::read, path_, random);
  std::vector<std::byte> device;
  if (direct_ && inode_->limbo) device = device_bytes(*inode_);
  const std::vector<std::byte> &bytes = direct_ && inode_->limbo ? device : inode_->current;
  if (fault && *fault != SimFault::misdirected_read) {
    st_.injected(*fault, path_);
    return sim_errno(EIO, "read", path_, static_cast<std::int64_t>(offset));
  }
  if (offset >= bytes.size()) return std::size_t{0};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), bytes.size() - offset));
  std::memcpy(out.data(), bytes.data() + offset, n);
  const std::uint64_t blocks = bytes.size() / block_bytes;
  if (fault && blocks >= 2) {
    // One block of the answer comes from elsewhere in the file (a misdirected read).
    st_.injected(SimFault::misdirected_read, path_);
    const std::uint64_t at = random.below((n + block_bytes - 1) / block_bytes) * block_bytes;
    const std::uint64_t wrong_block = random.below(blocks);
    std::uint64_t source = wrong_block * block_bytes;
    if (format::align_down(offset + at, block_bytes) == source) source = ((wrong_block + 1) % blocks) * block_bytes;
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(block_bytes, n - at));
    std::memcpy(out.data() + at, bytes.data() + source, len);
  }
  return n;
}

Status SimFile::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  SEGSTORE_TRY(check_aligned("write", offset, data.data(), data.size()));
  SEGSTORE_TRY(check_writable("write"));
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "write", path_));
  return st_.write_locked(*inode_, path_, offset, data);
}

Status SimFile::sync_data() {
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "fdatasync", path_));
  return st_.sync_locked(*inode_, path_);
}

Result<std::uint64_t> SimFile::size() {
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "fstat", path_));
  return static_cast<std::uint64_t>(inode_->current.size());
}

Status SimFile::allocate(std::uint64_t bytes) {
  SEGSTORE_TRY(check_writable("fallocate"));
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "fallocate", path_));
  SimRandom random = st_.random_for(path_, SimOp::allocate);
  std::optional<SimFault> fault = st_.decide(SimOp::allocate, path_, random);
  if (fault) {
    st_.injected(*fault, path_);
    return sim_errno(*fault == SimFault::allocate_enospc ? ENOSPC : EIO, "fallocate", path_);
  }
  if (st_.over_capacity(inode_->current.size(), bytes)) return sim_errno(ENOSPC, "fallocate", path_);
  FileOp op;
  op.kind = FileOp::Kind::allocate;
  op.size = bytes;
  st_.file_op(*inode_, std::move(op));
  return Status();
}

Status SimFile::truncate(std::uint64_t bytes) {
  SEGSTORE_TRY(check_writable("ftruncate"));
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "ftruncate", path_));
  SimRandom random = st_.random_for(path_, SimOp::truncate);
  if (std::optional<SimFault> fault = st_.decide(SimOp::truncate, path_, random)) {
    st_.injected(*fault, path_);
    return sim_errno(EIO, "ftruncate", path_);
  }
  if (st_.over_capacity(inode_->current.size(), bytes)) return sim_errno(ENOSPC, "ftruncate", path_);
  FileOp op;
  op.kind = FileOp::Kind::truncate;
  op.size = bytes;
  st_.file_op(*inode_, std::move(op));
  return Status();
}

// ---------------------------------------------------------------------------------------------
// The write queue: groups wait in `pending_` until the reaper's reap() runs them, one at a time
// in a seeded order (not the submission order), unless the disk holds writes.

class SimQueue final : public io::WriteQueue {
 public:
  SimQueue(std::shared_ptr<SimDisk> disk, SimDisk::State &state, std::uint64_t boot, unsigned depth,
           std::uint64_t id)
      : disk_(std::move(disk)), st_(state), boot_(boot), depth_(depth),
        random_(splitmix64(state.seed ^ 0x51AA0000ull ^ id)) {
    st_.queues.insert(this);  // caller holds st_.mu
  }
  ~SimQueue() override {
    std::lock_guard lock(st_.mu);
    st_.queues.erase(this);
  }

  Status submit(const io::WriteGroup &group) override;
  Status reap(std::vector<io::GroupCompletion> *out, bool wait) override;
  std::size_t inflight() const override {
    std::lock_guard lock(st_.mu);
    return inflight_;
  }
  const char *name() const override { return "sim"; }

  struct Pending {
    io::WriteGroup group;
    SimFile *file = nullptr;
  };
  io::GroupCompletion run_locked(const Pending &p);

  std::shared_ptr<SimDisk> disk_;
  SimDisk::State &st_;
  const std::uint64_t boot_;
  const unsigned depth_;
  SimRandom random_;
  std::deque<Pending> pending_;
  std::vector<io::GroupCompletion> done_;
  std::size_t inflight_ = 0;  // submitted, not yet returned by reap()
};

Status SimQueue::submit(const io::WriteGroup &group) {
  auto *file = dynamic_cast<SimFile *>(group.file);
  if (file == nullptr) return Status(Errc::invalid_argument, "sim write queue: the group's file is not a SimFile");
  SEGSTORE_TRY(file->check_aligned("write", group.offset, group.data.data(), group.data.size()));
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "submit to", file->path()));
  if (inflight_ >= depth_)
    return Status(Errc::busy, "sim write queue: " + std::to_string(inflight_) + " groups in flight, depth " +
                                  std::to_string(depth_));
  pending_.push_back({group, file});
  inflight_++;
  st_.changed.notify_all();
  return Status();
}

io::GroupCompletion SimQueue::run_locked(const Pending &p) {
  io::GroupCompletion c{p.group.token, Status(), false};
  if (Status alive = st_.check_boot(p.file->boot_, "write", p.file->path()); !alive.ok()) {
    c.status = alive;
    return c;
  }
  if (!p.group.data.empty()) c.status = st_.write_locked(*p.file->inode_, p.file->path(), p.group.offset, p.group.data);
  if (c.status.ok() && p.group.sync) {
    c.status = st_.sync_locked(*p.file->inode_, p.file->path());
    c.synced = c.status.ok();
  }
  return c;
}

Status SimQueue::reap(std::vector<io::GroupCompletion> *out, bool wait) {
  std::unique_lock lock(st_.mu);
  while (true) {
    if (!done_.empty()) {
      inflight_ -= done_.size();
      out->insert(out->end(), done_.begin(), done_.end());
      done_.clear();
      st_.changed.notify_all();
      return Status();
    }
    if (inflight_ == 0) return Status();
    const bool dead = boot_ != st_.generation;
    if (!pending_.empty() && (!st_.hold || dead)) {
      // Run one group chosen by the seed (possibly not the oldest), sometimes a few: their
      // completions come back together, in the order run.
      do {
        const std::size_t pick = static_cast<std::size_t>(random_.below(pending_.size()));
        Pending p = pending_[pick];
        pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(pick));
        done_.push_back(run_locked(p));
      } while (!pending_.empty() && random_.chance(0.5));
      continue;
    }
    if (!wait) return Status();
    st_.changed.wait(lock);
  }
}

// ---------------------------------------------------------------------------------------------
// Locks and the Env of one boot

class SimDirLock final : public io::DirLock {
 public:
  SimDirLock(std::shared_ptr<SimDisk> disk, SimDisk::State &state, std::string path, std::uint64_t boot)
      : disk_(std::move(disk)), st_(state), path_(std::move(path)), boot_(boot) {}
  ~SimDirLock() override {
    std::lock_guard lock(st_.mu);
    auto it = st_.locks.find(path_);
    // A lock of a boot before a crash was released by the reboot; never release a newer one.
    if (it != st_.locks.end() && it->second == boot_) st_.locks.erase(it);
  }

 private:
  std::shared_ptr<SimDisk> disk_;
  SimDisk::State &st_;
  std::string path_;
  std::uint64_t boot_;
};

class SimEnv final : public io::Env {
 public:
  SimEnv(std::shared_ptr<SimDisk> disk, std::uint64_t boot) : disk_(std::move(disk)), st_(*disk_->state_), boot_(boot) {}

  Result<std::unique_ptr<io::File>> open_file(const std::string &path, io::OpenFlags flags) override;
  Result<std::unique_ptr<io::WriteQueue>> make_write_queue(unsigned depth) override;
  Status rename(const std::string &from, const std::string &to) override;
  Status remove(const std::string &path) override;
  Status make_dir(const std::string &path) override;
  Status sync_dir(const std::string &path) override;
  Result<std::vector<std::string>> list_dir(const std::string &path) override;
  Result<io::FileKind> file_kind(const std::string &path) override;
  Result<std::unique_ptr<io::DirLock>> lock_file(const std::string &path) override;
  std::string describe() const override { return "sim"; }

 private:
  // EIO for a dead boot, a targeted op_eio, or a path outside the disk; caller holds mu.
  Status precheck(SimOp op, const char *what, const std::string &path) {
    SEGSTORE_TRY(st_.check_boot(boot_, what, path));
    if (!st_.inside(path)) return sim_errno(EACCES, what, path);
    SimRandom random = st_.random_for(path, op);
    if (std::optional<SimFault> fault = st_.decide(op, path, random)) {
      st_.injected(*fault, path);
      return sim_errno(EIO, what, path);
    }
    return Status();
  }
  Result<std::shared_ptr<Inode>> open_inode_locked(const std::string &path, io::OpenFlags flags);

  std::shared_ptr<SimDisk> disk_;
  SimDisk::State &st_;
  const std::uint64_t boot_;
  std::uint64_t queues_made_ = 0;
};

Result<std::shared_ptr<Inode>> SimEnv::open_inode_locked(const std::string &path, io::OpenFlags flags) {
  SEGSTORE_TRY(precheck(SimOp::open, "open", path));
  auto it = st_.tree.find(path);
  if (it != st_.tree.end()) {
    if (it->second.dir) return sim_errno(EISDIR, "open", path);
    if (flags.create && flags.exclusive) return sim_errno(EEXIST, "open", path);
    return it->second.inode;
  }
  if (st_.is_dir(path)) return sim_errno(EISDIR, "open", path);
  if (!flags.create) return sim_errno(ENOENT, "open", path);
  const std::string parent = parent_of(path);
  if (!st_.is_dir(parent)) return sim_errno(st_.tree.count(parent) ? ENOTDIR : ENOENT, "open", path);
  auto inode = std::make_shared<Inode>();
  inode->id = st_.next_inode++;
  DirOp op;
  op.kind = DirOp::Kind::create;
  op.to = path;
  op.entry = Entry{false, inode};
  op.dirs = {parent};
  st_.log_dir_op(std::move(op));
  return inode;
}

Result<std::unique_ptr<io::File>> SimEnv::open_file(const std::string &raw, io::OpenFlags flags) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  Result<std::shared_ptr<Inode>> inode = open_inode_locked(path, flags);
  if (!inode.ok()) return inode.status();
  return std::unique_ptr<io::File>(
      std::make_unique<SimFile>(disk_, st_, std::move(*inode), path, boot_, flags.direct || flags.bypass_cache,
                                flags.write));
}

Result<std::unique_ptr<io::WriteQueue>> SimEnv::make_write_queue(unsigned depth) {
  if (depth == 0 || depth > 4096) return Status(Errc::invalid_argument, "sim write queue depth out of range");
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "make_write_queue", st_.root));
  const std::uint64_t id = (boot_ << 20) ^ queues_made_++;
  return std::unique_ptr<io::WriteQueue>(std::make_unique<SimQueue>(disk_, st_, boot_, depth, id));
}

Status SimEnv::rename(const std::string &raw_from, const std::string &raw_to) {
  const std::string from = normalize(raw_from), to = normalize(raw_to);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(precheck(SimOp::rename, "rename", from + " to " + to));
  if (!st_.inside(to)) return sim_errno(EACCES, "rename", from + " to " + to);
  auto it = st_.tree.find(from);
  if (it == st_.tree.end()) return sim_errno(ENOENT, "rename", from + " to " + to);
  if (it->second.dir) return Status(Errc::invalid_argument, "sim: renaming directories is not modelled (" + from + ")");
  if (!st_.is_dir(parent_of(to))) return sim_errno(ENOENT, "rename", from + " to " + to);
  if (st_.is_dir(to)) return sim_errno(EISDIR, "rename", from + " to " + to);
  DirOp op;
  op.kind = DirOp::Kind::rename;
  op.from = from;
  op.to = to;
  op.dirs = {parent_of(from), parent_of(to)};
  st_.log_dir_op(std::move(op));
  return Status();
}

Status SimEnv::remove(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(precheck(SimOp::remove, "remove", path));
  if (path == st_.root) return sim_errno(EBUSY, "remove", path);
  auto it = st_.tree.find(path);
  if (it == st_.tree.end()) return sim_errno(ENOENT, "remove", path);
  if (it->second.dir && st_.has_children(path)) return sim_errno(ENOTEMPTY, "remove", path);
  DirOp op;
  op.kind = DirOp::Kind::remove;
  op.from = path;
  op.dirs = {parent_of(path)};
  st_.log_dir_op(std::move(op));
  return Status();
}

Status SimEnv::make_dir(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(precheck(SimOp::make_dir, "mkdir", path));
  if (st_.is_dir(path)) return Status();
  if (st_.tree.count(path)) return Status(Errc::not_a_directory, "mkdir " + path + ": exists and is not a directory");
  if (!st_.is_dir(parent_of(path))) return sim_errno(ENOENT, "mkdir", path);
  DirOp op;
  op.kind = DirOp::Kind::make_dir;
  op.to = path;
  op.entry = Entry{true, nullptr};
  op.dirs = {parent_of(path)};
  st_.log_dir_op(std::move(op));
  return Status();
}

Status SimEnv::sync_dir(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(precheck(SimOp::sync_dir, "fsync directory", path));
  if (!st_.is_dir(path)) return sim_errno(st_.tree.count(path) ? ENOTDIR : ENOENT, "open directory", path);
  st_.sync_dir_locked(path);
  return Status();
}

Result<std::vector<std::string>> SimEnv::list_dir(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "opendir", path));
  if (!st_.is_dir(path)) return sim_errno(st_.tree.count(path) ? ENOTDIR : ENOENT, "opendir", path);
  std::vector<std::string> names;
  const std::string prefix = path == "/" ? "/" : path + "/";
  for (auto it = st_.tree.lower_bound(prefix); it != st_.tree.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    const std::string rest = it->first.substr(prefix.size());
    if (rest.find('/') == std::string::npos) names.push_back(rest);
  }
  return names;  // std::map order is sorted
}

Result<io::FileKind> SimEnv::file_kind(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "stat", path));
  if (st_.is_dir(path)) return io::FileKind::directory;
  return st_.tree.count(path) ? io::FileKind::regular : io::FileKind::missing;
}

Result<std::unique_ptr<io::DirLock>> SimEnv::lock_file(const std::string &raw) {
  const std::string path = normalize(raw);
  std::lock_guard lock(st_.mu);
  io::OpenFlags flags;
  flags.create = true;
  flags.write = true;
  Result<std::shared_ptr<Inode>> inode = open_inode_locked(path, flags);
  if (!inode.ok()) return inode.status();
  if (st_.locks.count(path))
    return Status(Errc::store_in_use, "store is in use: " + path + " is locked by another open [simulated]");
  st_.locks[path] = boot_;
  return std::unique_ptr<io::DirLock>(std::make_unique<SimDirLock>(disk_, st_, path, boot_));
}

// ---------------------------------------------------------------------------------------------
// The crash

void SimDisk::State::land_inflight_groups_locked(SimRandom &random) {
  // Groups in flight: none, all or some of their sectors reached the media. Then they fail.
  for (SimQueue *q : queues) {
    if (q->boot_ != generation) continue;
    for (const SimQueue::Pending &p : q->pending_) {
      const std::uint64_t choice = random.below(3);
      const auto data = p.group.data;
      const std::string what = p.file->path() + ": group in flight [" + std::to_string(p.group.offset) + ", " +
                               std::to_string(p.group.offset + data.size()) + ")";
      if (choice == 0) {
        count(SimFault::inflight_lost);
        crash_log.push_back(what + " did not land");
      } else if (choice == 1) {
        crash_log.push_back(what + " landed whole");
        FileOp op;
        op.offset = p.group.offset;
        op.data.assign(data.begin(), data.end());
        op.landed = true;
        file_op(*p.file->inode_, std::move(op));
        count(SimFault::inflight_landed);
      } else {
        for (std::uint64_t at = 0; at < data.size(); at += sector_bytes) {
          if (!random.chance(0.5)) continue;
          FileOp op;
          op.offset = p.group.offset + at;
          const std::uint64_t n = std::min<std::uint64_t>(sector_bytes, data.size() - at);
          op.data.assign(data.begin() + static_cast<std::ptrdiff_t>(at), data.begin() + static_cast<std::ptrdiff_t>(at + n));
          op.landed = true;
          file_op(*p.file->inode_, std::move(op));
        }
        count(SimFault::inflight_torn);
        crash_log.push_back(what + " landed torn (by sector)");
      }
      q->done_.push_back(io::GroupCompletion{p.group.token, Status(Errc::io_error, "write " + p.file->path() +
                                                                                   ": the simulated machine was power cut "
                                                                                   "with the write in flight (errno 5)"),
                                         false});
    }
    q->pending_.clear();
  }
}

Tree SimDisk::State::replay_dir_ops_locked(SimRandom &random) {
  // Directory operations: any subset, in order, over the durable tree.
  const int dir_policy = draw_policy(random, crash_model);
  Tree tree = durable;
  for (const DirOp &op : dir_log) {
    const bool keep = dir_policy == keep_all || (dir_policy != lose_all && random.chance(0.5));
    if (keep) {
      replay_dir_op(tree, op);
    } else {
      count(SimFault::lost_dir_op);
      const char *kinds[] = {"create", "make_dir", "rename", "remove"};
      crash_log.push_back(std::string("lost ") + kinds[static_cast<int>(op.kind)] + " " + op.from +
                          (op.from.empty() || op.to.empty() ? "" : " -> ") + op.to);
    }
  }
  // Entries whose directory is gone went with it.
  for (auto it = tree.begin(); it != tree.end();) {
    std::string parent = parent_of(it->first);
    bool orphan = false;
    while (parent != root && inside(parent)) {
      auto p = tree.find(parent);
      if (p == tree.end() || !p->second.dir) {
        orphan = true;
        break;
      }
      parent = parent_of(parent);
    }
    it = orphan ? tree.erase(it) : std::next(it);
  }
  return tree;
}

std::vector<std::pair<Inode *, std::string>> SimDisk::State::settle_files_locked(const Tree &tree,
                                                                          SimRandom &random) {
  // File contents of the files that exist after the reboot.
  const int file_policy = draw_policy(random, crash_model);
  std::set<Inode *> settled;
  std::vector<std::pair<Inode *, std::string>> named;
  for (const auto &[path, entry] : tree) {
    if (!entry.inode || !settled.insert(entry.inode.get()).second) continue;
    named.emplace_back(entry.inode.get(), path);
  }
  std::sort(named.begin(), named.end(), [](const auto &a, const auto &b) { return a.first->id < b.first->id; });
  for (auto &[inode, path] : named) {
    inode->durable = settle_file(*inode, path, random, file_policy);
    inode->ops.clear();
  }
  return named;
}

void SimDisk::State::flip_latent_bits_locked(const std::vector<std::pair<Inode *, std::string>> &files,
                                              SimRandom &random) {
  // Latent corruption: bits of durable blocks flipped while the machine was down.
  double flips = crash_model.bit_flips_per_crash;
  while (flips > 0 && !files.empty()) {
    if (flips < 1 && !random.chance(flips)) break;
    flips -= 1;
    const std::size_t pick = static_cast<std::size_t>(random.below(files.size()));
    Inode *inode = files[pick].first;
    if (inode->durable.empty()) continue;
    const std::uint64_t at = random.below(inode->durable.size());
    inode->durable[at] ^= static_cast<std::byte>(1u << random.below(8));
    count(SimFault::bit_flip);
    crash_log.push_back(files[pick].second + ": bit flipped at offset " + std::to_string(at));
  }
}

void SimDisk::State::crash_locked() {
  SimRandom random(splitmix64(seed ^ 0xC4A5ull) ^ splitmix64(generation + 1));
  crash_log.clear();
  land_inflight_groups_locked(random);
  Tree tree = replay_dir_ops_locked(random);
  const std::vector<std::pair<Inode *, std::string>> files = settle_files_locked(tree, random);
  flip_latent_bits_locked(files, random);
  for (const auto &[inode, path] : files) {
    inode->current = inode->durable;
    inode->limbo = false;
  }
  this->tree = tree;
  durable = std::move(tree);
  dir_log.clear();
  locks.clear();
  hold = false;
  generation++;
  changed.notify_all();
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

std::shared_ptr<io::Env> SimDisk::env() {
  std::lock_guard lock(state_->mu);
  return std::make_shared<SimEnv>(shared_from_this(), state_->generation);
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

void SimDisk::set_capacity(std::uint64_t bytes) {
  std::lock_guard lock(state_->mu);
  state_->capacity = bytes;
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
