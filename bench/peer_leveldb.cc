// bench/peer_leveldb.cc — LevelDB (Debian libleveldb-dev), default options, one Put per record.
#include <leveldb/db.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include "peers.h"

namespace segstore::bench {

namespace {

class LevelLog final : public PeerLog {
 public:
  LevelLog(leveldb::DB *db, bool sync) : db_(db) { write_options_.sync = sync; }
  ~LevelLog() override { delete db_; }
  bool append(std::uint64_t key, std::span<const std::byte> payload, std::string *error) override {
    char key_bytes[8];
    encode_peer_key(key, key_bytes);
    const leveldb::Status s = db_->Put(write_options_, leveldb::Slice(key_bytes, sizeof key_bytes),
                                       leveldb::Slice(reinterpret_cast<const char *>(payload.data()), payload.size()));
    if (!s.ok()) *error = "leveldb Put: " + s.ToString();
    return s.ok();
  }
  bool flush(std::string *error) override {
    // LevelDB has no "sync the log" call: an empty synced write makes the log durable.
    leveldb::WriteOptions synced;
    synced.sync = true;
    leveldb::WriteBatch empty;
    const leveldb::Status s = db_->Write(synced, &empty);
    if (!s.ok()) *error = "leveldb sync: " + s.ToString();
    return s.ok();
  }

 private:
  leveldb::DB *db_;
  leveldb::WriteOptions write_options_;
};

}  // namespace

PeerKind leveldb_peer() {
  PeerKind kind;
  kind.name = "leveldb";
  kind.version = std::to_string(leveldb::kMajorVersion) + "." + std::to_string(leveldb::kMinorVersion);
  kind.open = [](const std::string &dir, bool sync, std::string *error) -> std::unique_ptr<PeerLog> {
    leveldb::Options options;
    options.create_if_missing = true;
    leveldb::DB *db = nullptr;
    const leveldb::Status s = leveldb::DB::Open(options, dir, &db);
    if (!s.ok()) {
      *error = "leveldb open " + dir + ": " + s.ToString();
      return nullptr;
    }
    return std::make_unique<LevelLog>(db, sync);
  };
  return kind;
}

}  // namespace segstore::bench
