// io/posix_file.h — a File on a POSIX file descriptor (pread/pwrite/fdatasync).
//
// Lifetime: owns the descriptor; the destructor closes it. Thread-safety: every operation is
// positional, so several threads may read and write one PosixFile at once (the kernel orders
// overlapping writes, segstore never issues them). Durability: write_at() returns once the
// kernel took the bytes; they are durable only after a later sync_data() returned ok.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "io/env.h"

namespace segstore::io {

class DescriptorCache;
class PosixDir;

// Where a file is: `name` inside `dir`, or, without a dir, `name` is a path (relative to the
// working directory). `path` names it in messages.
struct FileLocation {
  std::shared_ptr<const PosixDir> dir;
  std::string name;
  std::string path;
};

class PosixFile final : public File {
 public:
  // `reopen_flags`: the open(2) flags that open the file again (at the same location: through
  // the same directory descriptor) once a DescriptorCache closed its descriptor (no O_CREAT or
  // O_EXCL); -1 when it is never closed before destruction.
  PosixFile(int fd, FileLocation where, bool direct, int reopen_flags = -1);
  ~PosixFile() override;
  PosixFile(const PosixFile &) = delete;
  PosixFile &operator=(const PosixFile &) = delete;

  const std::string &path() const override { return where_.path; }
  bool direct() const override { return direct_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override;
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Status sync_data() override;
  Result<bool> write_dsync_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Result<std::uint64_t> size() override;
  Status allocate(std::uint64_t bytes) override;
  Status truncate(std::uint64_t bytes) override;

  // The descriptor of a file that joined no cache (a cached one may be closed at any time).
  int fd() const { return fd_; }
  // For a read-ahead that reads on the descriptor itself: keeps it open until unpin_read().
  Result<int> pin_for_read() { return acquire(); }
  void unpin_read() { release(false); }
  // From now on the descriptor may be closed by `cache` while unused (io/descriptor_cache.h).
  void join_cache(std::shared_ptr<DescriptorCache> cache);
  // For a write queue that issues writes (and data syncs) on the descriptor itself: keeps the
  // descriptor open until unpin(), and counts the file as written from now on. `writes` is
  // what unpin() needs to know which writes a successful linked sync covered.
  struct Pinned {
    int fd = -1;
    std::uint64_t writes = 0;
  };
  Result<Pinned> pin_for_write();
  // What made a pinned write durable: a data sync of the file that started after it completed
  // (covers every write completed before the pin too), or RWF_DSYNC on the write itself
  // (covers only its own bytes).
  enum class SyncedBy : std::uint8_t { nothing, file_sync, own_write };
  void unpin(const Pinned &pinned, SyncedBy synced_by);
  // Called by the cache: closes the descriptor when no operation uses it and every write was
  // covered by a data sync. false when it stays open (or the file's lock is busy).
  bool close_if_idle();

 private:
  // Opens the descriptor again if the cache closed it, and counts one more user; release()
  // ends the use (`wrote`: it was a write, now completed).
  Result<int> acquire();
  void release(bool wrote);
  void count_own_write_synced_locked();
  class Use;

  std::mutex mu_;
  int fd_;  // -1 while closed by the cache
  const FileLocation where_;
  bool direct_;
  int reopen_flags_;
  unsigned users_ = 0;                // operations using fd_ now
  std::uint64_t writes_ = 0;          // writes (and size changes) completed so far
  std::uint64_t writes_synced_ = 0;   // of those, covered by a successful data sync
  std::shared_ptr<DescriptorCache> cache_;
};

// The openat(2) to call: nullptr for ::openat; tests pass a stand-in that plays a file system
// which refuses O_DIRECT.
using OpenSyscall = int (*)(int dir_fd, const char *name, int flags, mode_t mode);

struct OpenedFile {
  std::unique_ptr<PosixFile> file;
  bool direct_refused = false;  // O_DIRECT was asked for, the file system said EINVAL
};

// Files segstore creates get this mode (less the umask) unless Options::file_mode says otherwise.
inline constexpr mode_t file_mode_default = 0640;

// Opens the file `where` with `flags`. With `direct`, tries O_DIRECT first; if the file system
// refuses it (EINVAL, e.g. tmpfs before Linux 6.6), opens the file buffered and says so in
// direct_refused. Only a regular file is opened: a symbolic link is never followed and a FIFO,
// device or directory is refused without waiting (Errc::not_a_regular_file, naming the path
// and type).
Result<OpenedFile> open_posix_file(const FileLocation &where, OpenFlags flags, bool direct,
                                   OpenSyscall open_syscall, mode_t create_mode = file_mode_default);
// The descriptor that `where.name` is relative to: its dir's, or AT_FDCWD.
int location_dir_fd(const FileLocation &where);
// The error for `path`, found to be of type `mode` (st_mode) where a regular file belongs.
Status not_regular_file_status(const std::string &path, mode_t mode);

}  // namespace segstore::io
