// tests/raft/recovered_log.cc — see tests/raft/recovered_log.h.
#include "raft/recovered_log.h"

#include "raft/segstore_raft.h"  // raft.h: RAFT_COMMAND
#include "segstore/store.h"

namespace segstore::raft_sim {
namespace {

constexpr std::size_t entry_term_bytes = 8;
constexpr std::size_t metadata_bytes = 24;

std::uint64_t get_u64(const std::byte *p) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<std::uint8_t>(p[i]);
  return value;
}

void read_metadata(Store &store, RecoveredLog &log) {
  Result<std::vector<std::byte>> meta = store.read_metadata();
  if (meta.ok() && meta->size() == metadata_bytes) {
    log.term = get_u64(meta->data() + 8);
    log.vote = get_u64(meta->data() + 16);
  } else if (meta.ok() || meta.status().code() != Errc::not_found) {
    log.error = "metadata: " + (meta.ok() ? std::to_string(meta->size()) + " bytes" : meta.status().to_string());
  }
}

void read_entries(Store &store, RecoveredLog &log) {
  Result<Iterator> it = store.scan(log.first);
  if (!it.ok()) {
    log.error = "scan: " + it.status().to_string();
    return;
  }
  for (std::uint64_t lsn = log.first; lsn < log.next; ++lsn) {
    Result<bool> more = it->next();
    if (!more.ok() || !*more || it->record().lsn != lsn || it->record().payload.size() < entry_term_bytes) {
      log.error = "LSN " + std::to_string(lsn) + ": " + (more.ok() ? "missing or not an entry" : more.status().to_string());
      return;
    }
    const RecordView &record = it->record();
    if (record.stream == RAFT_COMMAND)
      log.commands[lsn].assign(reinterpret_cast<const char *>(record.payload.data()) + entry_term_bytes,
                               record.payload.size() - entry_term_bytes);
  }
}

}  // namespace

RecoveredLog read_recovered_log(std::shared_ptr<io::Env> env, const std::string &dir, std::uint64_t segment_bytes) {
  RecoveredLog log;
  Options options;
  options.env = std::move(env);
  options.segment_bytes = segment_bytes;
  options.snapshots_kept = 2;
  options.verify_on_open = true;
  options.accept_data_loss = true;
  Result<std::unique_ptr<Store>> opened = Store::open(dir, options);
  if (!opened.ok()) {
    log.error = "open: " + opened.status().to_string();
    return log;
  }
  Store &store = **opened;
  log.first = store.first_lsn();
  log.next = store.next_lsn();
  read_metadata(store, log);
  Result<Snapshot> snapshot = store.latest_snapshot();
  if (snapshot.ok()) log.snapshot_index = snapshot->lsn;
  if (log.error.empty()) read_entries(store, log);
  (void)store.close();
  return log;
}

std::uint64_t command_number(const std::string &command) {
  return command.size() < 8 ? 0 : get_u64(reinterpret_cast<const std::byte *>(command.data()));
}

}  // namespace segstore::raft_sim
