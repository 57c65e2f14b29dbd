// examples/broker/broker.cc — publishing, durable consumer offsets, reload, subscriptions.
#include "broker.h"

#include <algorithm>
#include <cstdio>

namespace broker {

using segstore::Errc;
using segstore::Result;
using segstore::Status;

namespace {
// Stream 0 holds the meta records; topics use 1, 2, ...
constexpr std::uint32_t meta_stream = 0;
// ReloadInfo keeps the reasons of the first this many problems (all are counted and logged).
constexpr std::size_t problems_kept_max = 100;

void log_error(const std::string &what) { std::fprintf(stderr, "broker: %s\n", what.c_str()); }

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}
}  // namespace

Result<std::unique_ptr<Broker>> Broker::open(const std::string &dir, const BrokerOptions &options) {
  if (options.durability == segstore::Durability::none)
    return Status(Errc::invalid_argument, "the broker acknowledges durable messages only: sync or interval");
  std::unique_ptr<Broker> broker(new Broker(options));
  segstore::Options store_options;
  store_options.durability = options.durability;
  store_options.flush_interval_ms = options.flush_interval_ms;
  store_options.segment_bytes = options.segment_bytes;
  Result<std::unique_ptr<segstore::Store>> store = segstore::Store::open(dir, store_options);
  if (!store.ok()) return store.status();
  broker->store_ = std::move(*store);
  if (segstore::Status s = broker->reload(); !s.ok()) return s;
  return broker;
}

Broker::~Broker() {
  if (!store_) return;
  Status closed = store_->close();
  if (!closed.ok() && closed.code() != Errc::store_closed) log_error("closing the store: " + closed.to_string());
}

// Reload: the newest snapshot that decodes, then every meta record after it. Each way it can go:
//   no snapshot                      -> replay the meta stream from the first LSN
//   snapshot decodes                 -> its state, replay from snapshot LSN + 1
//   snapshot fails segstore's checks -> segstore skips it (latest_snapshot returns an older one)
//   snapshot does not decode         -> logged; replay the meta stream from the first LSN
//   a meta record does not decode    -> logged and skipped (it was never acknowledged as
//   or contradicts the state            applied: a commit is acknowledged only once durable and
//                                       applied, and a record that decodes now decoded then)
//   the log lost its head (trimmed) and no snapshot covers it -> refuse to start (error value)
//   an I/O error or corruption reading -> refuse to start, with segstore's message
Status Broker::reload() {
  std::lock_guard lock(meta_mu_);
  ReloadInfo info;
  meta_ = MetaState();
  std::uint64_t from = store_->first_lsn();
  Result<segstore::Snapshot> snapshot = store_->latest_snapshot();
  if (snapshot.ok()) {
    std::string why;
    if (std::optional<MetaState> state = MetaState::decode_snapshot(snapshot->state, &why)) {
      meta_ = std::move(*state);
      info.from_snapshot = true;
      info.snapshot_lsn = snapshot->lsn;
      from = snapshot->lsn + 1;
    } else {
      info.problems.push_back("snapshot at LSN " + std::to_string(snapshot->lsn) + " refused (" + why +
                              "); replaying every meta record");
      log_error(info.problems.back());
    }
  } else if (snapshot.status().code() != Errc::not_found) {
    return snapshot.status();
  }
  if (!info.from_snapshot && store_->first_lsn() != 0)
    return Status(Errc::corruption, "meta records before LSN " + std::to_string(store_->first_lsn()) +
                                        " are gone and no usable snapshot covers them");
  if (segstore::Status s = replay_meta(from, &info); !s.ok()) return s;
  info.topics = meta_.topic_count();
  info.commits = meta_.commit_count();
  reload_ = std::move(info);
  return Status();
}

Status Broker::replay_meta(std::uint64_t from, ReloadInfo *info) {
  Result<segstore::Iterator> it = store_->scan(from, meta_stream);
  if (!it.ok()) return it.status();
  while (true) {
    Result<bool> more = it->next();
    if (!more.ok()) return more.status();
    if (!*more) return Status();
    const segstore::RecordView &r = it->record();
    std::string why;
    std::optional<MetaRecord> record = decode_meta_record(r.payload, &why);
    if (!record || !meta_.apply(*record, r.lsn, &why)) {
      skip(r.lsn, why, info);
      continue;
    }
    info->records_replayed++;
  }
}

void Broker::skip(std::uint64_t lsn, const std::string &why, ReloadInfo *info) {
  info->records_skipped++;
  const std::string problem = "meta record at LSN " + std::to_string(lsn) + " skipped: " + why;
  log_error(problem);
  if (info->problems.size() < problems_kept_max) info->problems.push_back(problem);
}

ReloadInfo Broker::reload_info() const {
  std::lock_guard lock(meta_mu_);
  return reload_;
}

Result<std::uint32_t> Broker::stream_for(std::string_view topic) {
  if (!valid_name(topic))
    return Status(Errc::invalid_argument, "bad topic name (1.." + std::to_string(name_bytes_max) + " of A-Za-z0-9._-)");
  std::unique_lock lock(meta_mu_);
  // A topic found here may have been created by a record that is not durable yet; anything
  // appended to its stream later has a higher LSN, and durability is a prefix of the log.
  if (std::optional<std::uint32_t> stream = meta_.stream_of(topic)) return *stream;
  const std::uint32_t stream = meta_.next_stream();
  Result<std::uint64_t> created = append_meta(lock, MetaRecord{MetaRecord::Kind::topic, stream, 0, std::string(topic)});
  if (!created.ok()) return created.status();
  return stream;
}

Result<std::uint64_t> Broker::append_meta(std::unique_lock<std::mutex> &lock, const MetaRecord &record) {
  Result<std::uint64_t> lsn = store_->append_async(encode_meta_record(record), meta_stream);
  if (!lsn.ok()) return lsn.status();
  std::string why;
  const bool applied = meta_.apply(record, *lsn, &why);
  if (!applied) log_error("meta record at LSN " + std::to_string(*lsn) + " did not apply: " + why);
  std::optional<std::vector<std::byte>> snapshot;
  if (options_.offsets_snapshot_every != 0 && ++meta_records_since_snapshot_ >= options_.offsets_snapshot_every) {
    meta_records_since_snapshot_ = 0;
    snapshot = meta_.encode_snapshot();  // the state of every meta record up to *lsn
  }
  lock.unlock();
  if (segstore::Status s = wait_durable(*lsn); !s.ok()) return s;
  if (snapshot) {
    if (options_.on_snapshot_start) options_.on_snapshot_start(*lsn);
    // A failed snapshot costs a longer replay at the next start, never a commit.
    Status written = store_->write_snapshot(*lsn, *snapshot);
    if (!written.ok()) log_error("offsets snapshot at LSN " + std::to_string(*lsn) + " failed: " + written.to_string());
    if (options_.on_snapshot_done) options_.on_snapshot_done(*lsn, written);
  }
  return lsn;
}

Status Broker::wait_durable(std::uint64_t lsn) {
  if (options_.durability == segstore::Durability::interval) {
    // The background flush normally makes it durable within the interval; if it has not after
    // much longer, ask for a sync, which also reports a store that failed.
    // A store that failed (a data sync error) is reported at once rather than after patience.
    const auto patience = std::chrono::milliseconds(std::max<std::uint32_t>(1000, 20 * options_.flush_interval_ms));
    Status durable = store_->wait_until_durable(lsn, patience);
    if (durable.code() != Errc::timed_out) return durable;
  }
  return store_->wait_durable(lsn);
}

Result<std::vector<std::uint64_t>> Broker::publish(std::span<const Publication> messages) {
  if (messages.empty()) return std::vector<std::uint64_t>();
  std::vector<segstore::BatchEntry> entries;
  entries.reserve(messages.size());
  for (const Publication &m : messages) {
    Result<std::uint32_t> stream = stream_for(m.topic);
    if (!stream.ok()) return stream.status();
    entries.push_back({*stream, bytes_of(m.payload)});
  }
  // In sync mode the batch is durable when append_batch returns (group commit); in interval
  // mode wait_durable waits for the next background flush.
  Result<std::uint64_t> first = store_->append_batch(entries);
  if (!first.ok()) return first.status();
  const std::uint64_t last = *first + entries.size() - 1;
  if (options_.durability != segstore::Durability::sync) {
    if (segstore::Status s = wait_durable(last); !s.ok()) return s;
  }
  std::vector<std::uint64_t> offsets(entries.size());
  for (std::size_t i = 0; i < offsets.size(); ++i) offsets[i] = *first + i;
  return offsets;
}

Result<std::uint64_t> Broker::publish(std::string_view topic, std::string_view payload) {
  const Publication one{topic, payload};
  Result<std::vector<std::uint64_t>> offsets = publish(std::span<const Publication>(&one, 1));
  if (!offsets.ok()) return offsets.status();
  return offsets->front();
}

Status Broker::commit(std::string_view group, std::string_view topic, std::uint64_t offset) {
  if (!valid_name(group))
    return Status(Errc::invalid_argument, "bad group name (1.." + std::to_string(name_bytes_max) + " of A-Za-z0-9._-)");
  if (offset >= store_->next_lsn())
    return Status(Errc::lsn_out_of_range, "offset " + std::to_string(offset) + " is past the end of the log (" +
                                              std::to_string(store_->next_lsn()) + ")");
  std::unique_lock lock(meta_mu_);
  std::optional<std::uint32_t> stream = meta_.stream_of(topic);
  if (!stream) return Status(Errc::not_found, "unknown topic '" + std::string(topic) + "'");
  Result<std::uint64_t> lsn = append_meta(lock, MetaRecord{MetaRecord::Kind::commit, *stream, offset, std::string(group)});
  return lsn.ok() ? Status() : lsn.status();
}

Result<std::optional<std::uint64_t>> Broker::committed(std::string_view group, std::string_view topic) {
  std::optional<std::pair<std::uint64_t, std::uint64_t>> commit;
  {
    std::lock_guard lock(meta_mu_);
    if (std::optional<std::uint32_t> stream = meta_.stream_of(topic)) commit = meta_.committed(group, *stream);
  }
  if (!commit) return std::optional<std::uint64_t>();
  // Only a durable commit is reported: one still on its way could be taken back by a crash.
  if (commit->second >= store_->durable_lsn()) {
    if (segstore::Status s = wait_durable(commit->second); !s.ok()) return s;
  }
  return std::optional<std::uint64_t>(commit->first);
}

Result<Subscription> Broker::subscribe(std::string_view topic, std::optional<std::int64_t> from) {
  Result<std::uint32_t> stream = stream_for(topic);
  if (!stream.ok()) return stream.status();
  std::uint64_t start = store_->first_lsn();
  if (from && *from == -1) {
    start = store_->next_lsn();
  } else if (from) {
    if (*from < 0) return Status(Errc::invalid_argument, "offset " + std::to_string(*from) + ": use -1 for the latest");
    if (static_cast<std::uint64_t>(*from) > store_->next_lsn())
      return Status(Errc::lsn_out_of_range, "offset " + std::to_string(*from) + " is past the end of the log (" +
                                                std::to_string(store_->next_lsn()) + ")");
    start = std::max<std::uint64_t>(start, static_cast<std::uint64_t>(*from));
  }
  segstore::ScanOptions scan_options;
  scan_options.stream = *stream;
  scan_options.durable_only = true;  // a consumer must not see what a crash could take back
  Result<segstore::Iterator> it = store_->scan(start, scan_options);
  if (!it.ok()) return it.status();
  return Subscription(std::move(*it), start);
}

Result<std::optional<Message>> Subscription::next(std::chrono::milliseconds wait) {
  Result<bool> got = it_.next_wait(wait);
  if (!got.ok()) return got.status();
  if (!*got) return std::optional<Message>();
  const segstore::RecordView &r = it_.record();
  return std::optional<Message>(
      Message{r.lsn, std::string(reinterpret_cast<const char *>(r.payload.data()), r.payload.size())});
}

}  // namespace broker
