// io/descriptor_cache.cc — see io/descriptor_cache.h.
#include "io/descriptor_cache.h"

#include "io/posix_file.h"

namespace segstore::io {

void DescriptorCache::used(PosixFile *file) {
  std::lock_guard lock(mu_);
  auto found = where_.find(file);
  if (found != where_.end()) recent_.erase(found->second);
  recent_.push_front(file);
  where_[file] = recent_.begin();
  // Oldest first; a file in use or holding unsynced writes keeps its descriptor (skipped).
  for (auto it = std::prev(recent_.end()); recent_.size() > open_max_ && it != recent_.begin();) {
    auto older = it;
    --it;
    if (*older != file && (*older)->close_if_idle()) {
      where_.erase(*older);
      recent_.erase(older);
    }
  }
}

void DescriptorCache::forget(PosixFile *file) {
  std::lock_guard lock(mu_);
  auto found = where_.find(file);
  if (found == where_.end()) return;
  recent_.erase(found->second);
  where_.erase(found);
}

std::size_t DescriptorCache::open_count() const {
  std::lock_guard lock(mu_);
  return recent_.size();
}

}  // namespace segstore::io
