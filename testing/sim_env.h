// testing/sim_env.h — a simulated disk for tests: an in-memory Env that loses, tears and damages
// data the way a real device and file system may (docs/TESTING.md "The fault model").
//
// Never used unless a test passes it in Options::env. Modelled on TigerBeetle's
// src/testing/storage.zig: every decision comes from one seed, so a failing run is replayed
// from its seed alone.
//
// The model, per file (an inode):
//   durable   bytes covered by a completed sync_data of that file, and the bytes of each
//             completed write made with RWF_DSYNC (write_dsync_at, a queued sync group under
//             SyncWrites::dsync): durable themselves, in their place among the volatile
//             writes, without making the file's other volatile writes durable;
//   volatile  writes, truncates and allocations made since, in order. Reads see them.
//   limbo     volatile operations whose sync_data failed: the failed sync writes a random
//             part of them, and Linux marks the pages of the rest clean, so a later sync_data
//             "succeeds" without ever writing them. Buffered reads (the page cache) see them
//             until the next crash, which loses them; reads through a file opened O_DIRECT see
//             the device, where they never arrived.
// and per directory: creates, renames, removes and make_dirs are volatile until sync_dir of the
// directory they change (both directories for a rename between two) and may be lost at a crash,
// in any subset, applied in order (a lost rename leaves the old name; a lost remove brings the
// file back).
//
// crash() is a power cut followed by a reboot: every volatile write survives whole, is lost
// whole, or survives block by block or 512-byte sector by sector (seeded); groups held in a
// WriteQueue ("in flight") land not at all, whole, or torn at sector granularity; each
// volatile directory operation survives or not. Every handle made before the crash (File,
// WriteQueue, DirLock, and the SimEnv itself) then fails with EIO, so an abandoned Store's
// threads cannot touch the disk after the reboot. disk->env() gives the Env of the new boot.
//
// Injected errors: per operation kind a probability (SimFaultRates), and targeted one-shot
// faults: "the Nth operation of kind K (on a path containing P) fails with F" (SimTarget).
// Latent corruption: a flipped bit in a durable block (bit rot), a read that returns another
// block's data (misdirected I/O). Every fault injected is counted by kind.
//
// Determinism: a decision about an operation is a function of (seed, operation kind, path,
// how many such operations that path saw), and a crash's decisions of (seed, crash number,
// the disk's state). The engine's own threads may still order their operations differently
// from run to run; a seed replays the same fault plan, not necessarily the same interleaving.
//
// Thread-safety: everything may be called from any thread (one mutex per disk).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/env.h"

namespace segstore::testing {

// splitmix64: seeds other generators and hashes (seed, counters) into decisions.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// xoshiro256**: the simulator's generator (small, fast, good enough for test decisions).
class SimRandom {
 public:
  explicit SimRandom(std::uint64_t seed) {
    for (auto &word : state_) {
      seed = splitmix64(seed);
      word = seed;
    }
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, bound); 0 when bound is 0.
  std::uint64_t below(std::uint64_t bound) { return bound == 0 ? 0 : next() % bound; }
  // Uniform in [lo, hi].
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
  // True with probability p.
  bool chance(double p) { return p > 0 && static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> state_{};
};

// Operation kinds, for targeted faults and counters.
enum class SimOp : std::uint8_t {
  open,
  read,
  write,     // File::write_at and the write of a queued group
  sync,      // File::sync_data, the linked sync of a queued group, the sync of a RWF_DSYNC write
  sync_dir,
  allocate,
  truncate,
  rename,
  remove,
  make_dir,
  count_,
};
const char *sim_op_name(SimOp op);

enum class SimFault : std::uint8_t {
  // injected on an operation
  read_eio,
  write_eio,
  write_enospc,
  short_write,       // a prefix of the write lands, then EIO or ENOSPC
  sync_eio,          // sync_data fails; the file's volatile writes go to limbo
  sync_dir_eio,
  allocate_enospc,
  op_eio,            // EIO on open, rename, remove or make_dir (targeted only)
  misdirected_read,  // one block of a read comes from another block of the file
  // at a crash
  lost_write,        // a volatile write lost whole
  torn_write,        // a volatile write kept in part (blocks or sectors)
  lost_meta_op,      // a volatile truncate or allocate lost
  lost_dir_op,       // a volatile create, rename, remove or make_dir lost
  inflight_lost,     // a group in flight did not land
  inflight_torn,     // a group in flight landed in part (sectors)
  inflight_landed,   // a group in flight landed whole (not a fault; counted for the report)
  bit_flip,          // a durable bit flipped
  count_,
};
const char *sim_fault_name(SimFault fault);
using SimFaultCounts = std::array<std::uint64_t, static_cast<std::size_t>(SimFault::count_)>;

// Probability that one operation of that kind fails. All zero by default: a SimDisk without
// rates and targets only loses what a crash loses.
struct SimFaultRates {
  double read_eio = 0;
  double misdirected_read = 0;
  double write_eio = 0;
  double write_enospc = 0;
  double short_write = 0;
  double sync_eio = 0;
  double sync_dir_eio = 0;
  double allocate_enospc = 0;
};

// One-shot: the nth operation of kind `op` (counted from when the target is armed, 1 = the
// next one) whose path contains `path_contains` gets `fault`.
struct SimTarget {
  SimOp op = SimOp::write;
  std::uint64_t nth = 1;
  SimFault fault = SimFault::write_eio;
  std::string path_contains;
  // sync_eio of File::sync_data only (a queued group's linked sync ignores both):
  // the failed sync writes none of the file's volatile writes: all of them go to limbo;
  bool writes_none = false;
  // and it returns only after a read of its file that began once the writes were dropped (a
  // reader meeting the failure's effect before the caller of the sync learns of it).
  // SimDisk::wait_for_held_sync() waits until such a sync holds.
  bool returns_after_a_read = false;
};

// How a crash treats volatile state. Each crash draws one policy per write or directory
// operation kind: keep everything, lose everything, or keep each piece with probability 1/2.
struct SimCrashModel {
  double keep_all = 0.25;
  double lose_all = 0.25;          // the rest: random subsets
  double sector_granularity = 0.5; // of the random subsets: by 512-byte sector (else by block)
  double bit_flips_per_crash = 0;  // expected number of durable bits flipped at each crash
};

class SimEnv;

class SimDisk : public std::enable_shared_from_this<SimDisk> {
 public:
  // `root` is the directory that exists on the disk from the start (the store goes inside).
  static std::shared_ptr<SimDisk> make(std::uint64_t seed, std::string root);
  ~SimDisk();

  // The Env of the current boot. Every Env, File, WriteQueue and DirLock made through it fails
  // with EIO after the next crash().
  std::shared_ptr<io::Env> env();

  // Power cut and reboot (see the top of this file). Groups held in flight are torn or lost and
  // complete with EIO in their (dead) queue.
  void crash();
  std::uint64_t generation() const;  // boots so far (0 before the first crash)

  // Queued groups stay in flight while held: reap() does not complete them (crash() catches
  // them). Releasing lets them complete.
  void hold_writes(bool hold);
  std::size_t groups_in_flight() const;  // submitted, not completed, in live queues
  // Blocks until pred() is true; pred runs under the disk's lock, re-checked whenever the disk
  // changes (a group is submitted or completed, a crash) or poke() is called.
  void wait_until(const std::function<bool()> &pred);
  // Blocks until at least `groups` groups are in flight in live queues, or or_else() is true
  // (called under the disk's lock: it must not call the disk).
  void wait_for_in_flight(std::size_t groups, const std::function<bool()> &or_else);
  void poke();
  // Blocks until a failed sync armed with SimTarget::returns_after_a_read waits for its read.
  void wait_for_held_sync();

  void set_fault_rates(const SimFaultRates &rates);
  void set_crash_model(const SimCrashModel &model);
  void arm(const SimTarget &target);
  void clear_targets();
  // How queued sync groups are made durable (io::SyncWrites, as the real queues): dsync (the
  // default) makes only the group's bytes durable; linked syncs the whole file after the write.
  void set_sync_writes(io::SyncWrites sync_writes);
  // Bytes the files may hold in total (ENOSPC past it); 0 = unlimited.
  void set_capacity(std::uint64_t bytes);
  // Envs of this disk offer read-ahead (Env::make_read_ahead, testing/sim_read_ahead.h) to stores
  // that ask for it from now on: scans then read windows ahead, each read at its submit or at
  // its wait as the seed decides. Off by default (scans read synchronously).
  void set_read_ahead(bool on);

  // Latent corruption: flips one bit of a durable block of `path` (a random file whose path
  // contains `path_contains` when path is empty). Returns the file and offset, or "" if no
  // file holds durable bytes.
  std::string flip_durable_bit(const std::string &path_contains);

  SimFaultCounts faults() const;
  std::uint64_t faults(SimFault fault) const;
  // The errors injected on operations since the last call (at most the last 4096), oldest first.
  struct FaultEvent {
    SimFault fault;
    std::string path;
    std::uint64_t generation;
    bool head_written;  // the file's first 4 KiB held a non-zero byte (for a segment: activated)
  };
  std::vector<FaultEvent> take_fault_events();
  // What the last crash did, one line per decision that lost or tore something (for humans
  // replaying a seed).
  std::vector<std::string> last_crash_log() const;
  // Bytes of `path` as a read sees them now (volatile included); empty if missing.
  std::vector<std::byte> contents(const std::string &path) const;
  // Paths that exist now, files and directories, sorted.
  std::vector<std::string> paths() const;

  struct State;  // testing/sim_model.h

 private:
  SimDisk(std::uint64_t seed, std::string root);
  std::unique_ptr<State> state_;
  friend class SimEnv;
};

}  // namespace segstore::testing
