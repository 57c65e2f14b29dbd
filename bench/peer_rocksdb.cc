// bench/peer_rocksdb.cc — RocksDB (Debian librocksdb-dev), default options, one Put per record.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/version.h>

#include "peers.h"

namespace segstore::bench {

namespace {

class RocksLog final : public PeerLog {
 public:
  RocksLog(rocksdb::DB *db, bool sync) : db_(db) { write_options_.sync = sync; }
  ~RocksLog() override {
    (void)db_->Close();
    delete db_;
  }
  bool append(std::uint64_t key, std::span<const std::byte> payload, std::string *error) override {
    char key_bytes[8];
    encode_peer_key(key, key_bytes);
    const rocksdb::Status s = db_->Put(write_options_, rocksdb::Slice(key_bytes, sizeof key_bytes),
                                       rocksdb::Slice(reinterpret_cast<const char *>(payload.data()), payload.size()));
    if (!s.ok()) *error = "rocksdb Put: " + s.ToString();
    return s.ok();
  }
  bool flush(std::string *error) override {
    const rocksdb::Status s = db_->FlushWAL(/*sync=*/true);
    if (!s.ok()) *error = "rocksdb FlushWAL: " + s.ToString();
    return s.ok();
  }

 private:
  rocksdb::DB *db_;
  rocksdb::WriteOptions write_options_;
};

}  // namespace

PeerKind rocksdb_peer() {
  PeerKind kind;
  kind.name = "rocksdb";
  kind.version = std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." + std::to_string(ROCKSDB_PATCH);
  kind.open = [](const std::string &dir, bool sync, std::string *error) -> std::unique_ptr<PeerLog> {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB *db = nullptr;
    const rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
    if (!s.ok()) {
      *error = "rocksdb open " + dir + ": " + s.ToString();
      return nullptr;
    }
    return std::make_unique<RocksLog>(db, sync);
  };
  return kind;
}

}  // namespace segstore::bench
