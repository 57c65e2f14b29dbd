// bench/peers.h — what a user would pick instead of segstore, doing the same appends.
//
// RocksDB and LevelDB (Debian's librocksdb-dev / libleveldb-dev, default options) store each
// record as a keyed Put (key: the record's sequence number, 8 bytes big-endian) with
// WriteOptions::sync as asked; a plain log file does write() (+ fdatasync() when synced) per
// record, threads taking turns under a mutex, with no grouping. The RocksDB and LevelDB peers
// are compiled only when meson finds the libraries (option 'peers'); they are never part of
// libsegstore.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "peers_config.h"  // SEGSTORE_BENCH_HAVE_<PEER>: what meson found (bench/meson.build)

namespace segstore::bench {

// One open peer database or file. append() may be called from many threads at once.
class PeerLog {
 public:
  virtual ~PeerLog() = default;
  virtual bool append(std::uint64_t key, std::span<const std::byte> payload, std::string *error) = 0;
  // Makes everything appended durable (the final sync of an unsynced run).
  virtual bool flush(std::string *error) = 0;
};

struct PeerKind {
  std::string name;     // "rocksdb"
  std::string version;  // "7.8.3"
  // Opens a fresh database/file under `dir` (which does not exist yet). nullptr + *error on failure.
  std::function<std::unique_ptr<PeerLog>(const std::string &dir, bool sync, std::string *error)> open;
};

// The peers this build has, plain log file first.
std::vector<PeerKind> available_peers();

// A peer this build lacks, and why: its targets are reported as not measured, never as missed.
struct UnavailablePeer {
  std::string name;  // "rocksdb"
  std::string why;   // "not built in: librocksdb-dev was not found when ... was configured"
};
std::vector<UnavailablePeer> unavailable_peers();

PeerKind plain_log_peer();
#ifdef SEGSTORE_BENCH_HAVE_ROCKSDB
PeerKind rocksdb_peer();
#endif
#ifdef SEGSTORE_BENCH_HAVE_LEVELDB
PeerKind leveldb_peer();
#endif

// Key bytes for a sequence number: big-endian, so keys sort in append order.
inline void encode_peer_key(std::uint64_t key, char out[8]) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(key & 0xff);
    key >>= 8;
  }
}

}  // namespace segstore::bench
