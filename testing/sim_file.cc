// testing/sim_file.cc — the simulated file and write queue (testing/sim_file.h).
#include "testing/sim_file.h"

#include "base/try.h"

namespace segstore::testing::sim {

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
  inode_->reads++;
  if (st_.held_syncs != 0) st_.changed.notify_all();
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
  std::unique_lock lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "fdatasync", path_));
  return st_.sync_locked(*inode_, path_, &lock);
}

Result<bool> SimFile::write_dsync_at(std::uint64_t offset, std::span<const std::byte> data) {
  SEGSTORE_TRY(check_aligned("write", offset, data.data(), data.size()));
  SEGSTORE_TRY(check_writable("write"));
  std::lock_guard lock(st_.mu);
  SEGSTORE_TRY(st_.check_boot(boot_, "write", path_));
  SEGSTORE_TRY(st_.dsync_write_locked(*inode_, path_, offset, data));
  return true;
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
  if (p.group.sync && !p.group.data.empty() && st_.sync_writes == io::SyncWrites::dsync) {
    // One write with RWF_DSYNC: durable only once it completed whole, and only its own bytes.
    c.status = st_.dsync_write_locked(*p.file->inode_, p.file->path(), p.group.offset, p.group.data);
    c.synced = c.status.ok();
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

}  // namespace segstore::testing::sim
