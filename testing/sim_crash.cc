// testing/sim_crash.cc — the power cut and reboot of the simulated disk (SimDisk::crash, the
// top of testing/sim_env.h). crash_locked runs its steps in a fixed order, each drawing from one
// generator seeded by (seed, crash number), so a seed replays a crash exactly:
//   1. land_inflight_groups_locked: each group held in a write queue lands not at all, whole, or
//      torn by sector, and completes with EIO;
//   2. replay_dir_ops_locked: the volatile directory operations survive in any subset, in order,
//      over the durable tree (entries of a lost directory go with it);
//   3. settle_files_locked: each surviving file's volatile writes, truncates and allocations
//      survive whole, are lost, or survive block by block or sector by sector (settle_file);
//   4. flip_latent_bits_locked: bit rot in durable blocks, as the crash model asks;
//   5. reboot_locked: the page cache is dropped and a new boot begins.
#include "testing/sim_file.h"
#include "testing/sim_model.h"

namespace segstore::testing {

using namespace sim;

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
  reboot_locked(std::move(tree), files);
}

// The machine comes back: the page cache is gone (reads see what the device kept, limbo
// included), the settled tree is both the current and the durable one, locks and held writes
// are released, and every handle of the boot before fails from now on.
void SimDisk::State::reboot_locked(Tree tree, const std::vector<std::pair<Inode *, std::string>> &files) {
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

}  // namespace segstore::testing
