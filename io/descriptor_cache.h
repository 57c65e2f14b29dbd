// io/descriptor_cache.h — a bound on the descriptors an env keeps open for its files.
//
// A store of many segments must not need one descriptor per segment (a process limit of 64
// descriptors and 300 segments made open fail with EMFILE). Each PosixFile of the posix env
// joins its env's cache: its descriptor is opened when the file is made, may be closed by the
// cache once more than open_max files hold one (least recently used first), and is reopened
// on the file's next use. A descriptor is never closed while an operation uses it, nor while
// the file holds writes that no data sync has covered yet (an error of their writeback must
// reach a sync of that descriptor, never be dropped with it).
//
// Thread-safety: every method may be called from any thread. Lock order: a file's own mutex may
// be held when the cache's is taken; the cache takes a file's mutex only with try_lock.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <unordered_map>

namespace segstore::io {

class PosixFile;

class DescriptorCache {
 public:
  explicit DescriptorCache(std::size_t open_max) : open_max_(open_max) {}
  DescriptorCache(const DescriptorCache &) = delete;
  DescriptorCache &operator=(const DescriptorCache &) = delete;

  // `file` was just used with its descriptor open: it becomes the most recently used, and the
  // least recently used others are asked to close theirs while more than open_max are open.
  void used(PosixFile *file);
  // `file` is being destroyed (or closed its descriptor itself).
  void forget(PosixFile *file);
  std::size_t open_count() const;

 private:
  const std::size_t open_max_;
  mutable std::mutex mu_;
  std::list<PosixFile *> recent_;  // files with an open descriptor, most recently used first
  std::unordered_map<PosixFile *, std::list<PosixFile *>::iterator> where_;
};

// Files of one env whose descriptors stay open at once, at most (a few more may be in use).
inline constexpr std::size_t descriptors_cached_max = 32;

}  // namespace segstore::io
