// io/env.h — the I/O interface under the engine.
//
// The engine touches the disk only through an Env: the real one (posix_env.h: io_uring or a
// thread doing pwrite/fdatasync, O_DIRECT or buffered) or the simulated disk of the tests
// (sim_env.h). Everything returns Status; every OS error is mapped to an Errc with errno, path
// and offset in the message, never ignored and never retried blindly.
//
// Thread-safety: an Env and a File may be used from several threads at once (positional I/O).
// A WriteQueue is used by two threads at once: one that submits (appenders, serialised by the
// engine's mutex) and one that reaps (the engine's reaper thread, which blocks in reap()).
// submit() must never wait for reap() to return, and reap(wait=true) must not block submit().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "segstore/log.h"
#include "segstore/status.h"

namespace segstore::io {

struct OpenFlags {
  bool create = false;     // create if missing (O_CREAT)
  bool exclusive = false;  // with create: fail if it exists (O_EXCL)
  bool write = false;      // open for writing (else read-only)
  bool append = false;     // O_APPEND: every write lands at the end of the file, whatever its offset
  bool direct = false;     // O_DIRECT; falls back to buffered if the file system refuses
  // O_DIRECT even where the env is buffered (Options::direct_io false): reads see the device,
  // not the page cache, which after a failed fsync may hold pages the device never got
  // (recovery reads segments so: docs/RECOVERY.md "A failed fsync"). Falls back likewise.
  bool bypass_cache = false;
};

class File {
 public:
  virtual ~File() = default;
  virtual const std::string &path() const = 0;
  // True when O_DIRECT is in effect: buffers, offsets and lengths must be multiples of
  // format::block_size_bytes (checked: an unaligned request fails with invalid_argument).
  virtual bool direct() const = 0;
  // Reads up to out.size() bytes; fewer only at end of file. Returns the bytes read.
  virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) = 0;
  // Writes all of `data` (short writes are continued, not reported).
  virtual Status write_at(std::uint64_t offset, std::span<const std::byte> data) = 0;
  virtual Status sync_data() = 0;  // fdatasync
  // Writes all of `data` so that it is durable when this returns true: every part written with
  // RWF_DSYNC (pwritev2), the data and the metadata needed to read it back on the device, as a
  // write followed by fdatasync of that range. Only these bytes: other writes of the file
  // that no sync covered stay volatile. false when the kernel or file system refused the flag
  // (EOPNOTSUPP, EINVAL): nothing is promised, and the caller falls back to write_at +
  // sync_data (bytes written before the refusal are written again, which changes nothing).
  // This default is that fallback itself, for files without such a write.
  virtual Result<bool> write_dsync_at(std::uint64_t offset, std::span<const std::byte> data);
  virtual Result<std::uint64_t> size() = 0;
  virtual Status allocate(std::uint64_t bytes) = 0;  // fallocate(0, bytes), keeps contents
  virtual Status truncate(std::uint64_t bytes) = 0;
};

// One asynchronous unit of work: writes of `data` at `offset` (block aligned when the file is
// direct), durable when `sync`. How a queue makes it durable (SyncWrites below): one write
// with RWF_DSYNC (the default), or the write and then a data sync of the file that starts only
// after the write completed. Either way `synced` promises the group's own bytes only: a caller
// that needs earlier write-only groups of the file durable syncs them itself (the engine never
// links a sync behind unsynced groups). `token` comes back in the completion.
struct WriteGroup {
  File *file = nullptr;
  std::uint64_t offset = 0;
  std::span<const std::byte> data;
  bool sync = false;
  std::uint64_t token = 0;
};

struct GroupCompletion {
  std::uint64_t token = 0;
  Status status;  // the first error of the group's write or sync
  bool synced = false;  // the group's data sync completed successfully
};

// How a queue makes a `sync` group durable.
//   dsync   one I/O: the group's write carries RWF_DSYNC (on O_DIRECT files a FUA write where
//           the device has it and no metadata changed, else the kernel's flush after the write).
//           A kernel or file system that refuses the flag (EOPNOTSUPP, EINVAL) is met once per
//           queue: that group and every later one go the linked way.
//   linked  two I/Os: the write, then fdatasync once it completed (io_uring: IOSQE_IO_LINK).
//   automatic  (an option, never the way a queue goes) the io_uring queue takes dsync where the
//           device under the first group's file needs no flush after a dsync write (FUA, or no
//           volatile write cache), and linked elsewhere: there the kernel completes an
//           asynchronous dsync write in a CPU-bound worker that waits behind any busy task
//           (io/device_cache.h), where the linked sync runs on io_uring's own
//           threads. The thread queue takes dsync: its synchronous pwritev2 finishes on the
//           queue's own worker. Until its first group, a queue under automatic says linked.
enum class SyncWrites : std::uint8_t { dsync, linked, automatic };

// What a queue issued, counted per request it handed to the kernel (a short write continued
// counts again): the "one I/O per durable group" of the dsync way is checked on these.
struct WriteQueueCounts {
  std::uint64_t writes = 0;        // writes without RWF_DSYNC
  std::uint64_t dsync_writes = 0;  // writes with RWF_DSYNC (refused ones included)
  std::uint64_t syncs = 0;         // data syncs
  std::uint64_t dsync_refusals = 0;  // writes whose RWF_DSYNC the kernel refused
};

// Many groups in flight at once; completions may arrive in any order.
class WriteQueue {
 public:
  virtual ~WriteQueue() = default;
  // Queues the group. The memory behind group.data must stay valid until its completion.
  virtual Status submit(const WriteGroup &group) = 0;
  // Appends ready completions to *out. With wait, blocks until at least one is ready (returns
  // at once when nothing is in flight).
  virtual Status reap(std::vector<GroupCompletion> *out, bool wait) = 0;
  virtual std::size_t inflight() const = 0;
  virtual const char *name() const = 0;  // "uring" or "thread"
  // The way sync groups go now (dsync or linked): dsync until the kernel refused the flag once.
  virtual SyncWrites sync_writes() const { return SyncWrites::linked; }
  virtual WriteQueueCounts counts() const { return {}; }
};

enum class FileKind : std::uint8_t { missing, regular, directory, other };

// Held while a store is open; releasing it (destructor) unlocks.
class DirLock {
 public:
  virtual ~DirLock() = default;
};

// A directory opened once and then named by what was opened, not by its path: files made or
// replaced "in" it stay in it even if its path is later renamed away and a symbolic link or
// another directory is put in its place. The real env holds a descriptor (io/posix_dir.h); an
// env without descriptors (the simulated disk, whose names cannot be swapped under a store, and
// test wrappers) uses this base, which only remembers the path.
// Lifetime: independent of the env that opened it. Thread-safety: immutable.
class Dir {
 public:
  explicit Dir(std::string path) : path_(std::move(path)) {}
  virtual ~Dir() = default;
  Dir(const Dir &) = delete;
  Dir &operator=(const Dir &) = delete;
  const std::string &path() const { return path_; }  // as opened: for messages
  std::string child_path(const std::string &name) const;

 private:
  const std::string path_;
};

class ReadAhead;  // io/read_ahead.h

class Env {
 public:
  virtual ~Env() = default;
  virtual Result<std::unique_ptr<File>> open_file(const std::string &path, OpenFlags flags) = 0;
  // A queue for up to `depth` groups in flight.
  virtual Result<std::unique_ptr<WriteQueue>> make_write_queue(unsigned depth) = 0;
  virtual Status rename(const std::string &from, const std::string &to) = 0;
  virtual Status remove(const std::string &path) = 0;
  virtual Status make_dir(const std::string &path) = 0;
  // fsync of a directory: makes creates, renames and removes inside it durable.
  virtual Status sync_dir(const std::string &path) = 0;
  // Names (not paths) of the entries, without "." and "..", sorted.
  virtual Result<std::vector<std::string>> list_dir(const std::string &path) = 0;
  virtual Result<FileKind> file_kind(const std::string &path) = 0;
  // Takes an exclusive lock on `path` (a LOCK file, created if missing); store_in_use if held.
  virtual Result<std::unique_ptr<DirLock>> lock_file(const std::string &path) = 0;
  // A description of what the env does: "uring+direct", "thread+buffered", "sim".
  virtual std::string describe() const = 0;
  // Reads in the background on up to `threads` reads at once (io/read_ahead.h), or nullptr when
  // this env has none (the default): its users then read synchronously.
  virtual std::unique_ptr<ReadAhead> make_read_ahead(unsigned threads);
  // Reads in the background through an io_uring, up to `depth` at once (many small reads
  // without a thread hand-off each), or nullptr when this env has none (the default, and the
  // real env with the thread backend or without io_uring): its users take make_read_ahead's.
  virtual std::unique_ptr<ReadAhead> make_ring_read_ahead(unsigned depth);
  // The first `bytes` bytes of each file names[i] of the directory at `dir_path` (fewer where
  // a file is shorter), as open_file + read_at(0) would read them: no symbolic link followed,
  // regular files only. One entry per name, in order; nullopt where a file could not be read so
  // (missing, not a regular file, a failed open or read): the caller opens that one alone and
  // meets the error there. For opening many small files at once (the index snapshot headers of
  // a store's sealed segments): the real env reads them through an io_uring, a batch of files
  // per system call (io/uring_heads.h); the defaults open the directory (open_dir) and read
  // one file after another (read_heads_at).
  virtual std::vector<std::optional<std::vector<std::byte>>> read_heads(const std::string &dir_path,
                                                                        std::span<const std::string> names,
                                                                        std::size_t bytes);
  virtual std::vector<std::optional<std::vector<std::byte>>> read_heads_at(const Dir &dir,
                                                                           std::span<const std::string> names,
                                                                           std::size_t bytes);

  // The same operations on entries of an opened directory (`name`: one component, no '/').
  // The real env acts relative to the directory's descriptor, never following a symbolic link
  // (openat/renameat/unlinkat/mkdirat/fstatat); these defaults act on dir.path()/name through
  // the path operations above, for envs whose directories cannot be swapped.
  // Opens a directory; a symbolic link as its last component is refused.
  virtual Result<std::shared_ptr<const Dir>> open_dir(const std::string &path);
  virtual Result<std::shared_ptr<const Dir>> open_dir_at(const Dir &dir, const std::string &name);
  virtual Result<std::unique_ptr<File>> open_file_at(const Dir &dir, const std::string &name, OpenFlags flags);
  virtual Status rename_at(const Dir &from_dir, const std::string &from, const Dir &to_dir, const std::string &to);
  virtual Status remove_at(const Dir &dir, const std::string &name);
  virtual Status make_dir_at(const Dir &dir, const std::string &name);
  virtual Status sync_open_dir(const Dir &dir);
  virtual Result<std::vector<std::string>> list_open_dir(const Dir &dir);
  // A symbolic link is FileKind::other here (the real env does not follow it).
  virtual Result<FileKind> file_kind_at(const Dir &dir, const std::string &name);
  // The lock of lock_file, taken on this directory (and its LOCK file): the directory locked is
  // the one opened, whatever its path names by now.
  virtual Result<std::unique_ptr<DirLock>> lock_dir(const Dir &dir);
};

// An env whose path operations on `root.path()` and on paths inside it act on `root` (and on
// the directories opened from it), never on whatever the path names now; other paths go to
// `base` as they are. A store opens its directory once, locks it, and from then on does all its
// I/O through such an env (io/bound_env.cc), so that the directory it locked is the one it writes.
std::shared_ptr<Env> bind_env_to_dir(std::shared_ptr<Env> base, std::shared_ptr<const Dir> root);

// The real environment for `options` (backend and O_DIRECT chosen at construction, falling
// back as docs/ENGINE.md says; each fallback is logged once).
struct EnvOptions {
  enum class Backend : std::uint8_t { automatic, uring, thread } backend = Backend::automatic;
  bool direct = true;
  // Overridden by SEGSTORE_SYNC_WRITES=dsync|linked|auto.
  SyncWrites sync_writes = SyncWrites::automatic;
  Logger logger;  // where fallbacks are reported (empty: stderr)
  std::uint32_t file_mode = 0640;  // of the files the env creates (less the umask)
};
std::shared_ptr<Env> make_posix_env(EnvOptions options);

// Helpers on top of any Env.
// Reads a whole file of at most max_bytes (a larger file is corruption, not an allocation).
Result<std::vector<std::byte>> read_whole_file(Env &env, const std::string &path,
                                               std::uint64_t max_bytes);
// The directory holding `path` (trailing slashes ignored): the one whose fsync makes a create,
// rename or mkdir of `path` durable. "." for a bare name.
std::string parent_dir(const std::string &path);
// temp file in the same directory, write, fdatasync, rename over `path`, fsync the directory.
Status write_file_atomic(Env &env, const std::string &path, std::span<const std::byte> bytes);
// Maps errno to a Status: "<what> <path> at offset <offset>: <strerror> (errno N)".
Status errno_status(int err, const std::string &what, const std::string &path,
                    std::int64_t offset = -1);

}  // namespace segstore::io
