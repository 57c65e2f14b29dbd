// examples/broker/broker.h — the broker's core: topics as streams of one segstore Store, durable
// consumer-group offsets, subscriptions that tail a topic and hand out only durable messages.
//
// Layout of the store: stream 0 holds the meta records (topic created, offset committed; see
// meta_state.h); each topic is one stream, numbered from 1 in creation order. A message's offset
// is its LSN in the store: offsets of one topic rise but are not dense (other topics' messages
// and meta records take the LSNs between). Every `offsets_snapshot_every` meta records the meta
// state is written as a segstore application snapshot at the LSN of the last of them; a restart
// loads the newest snapshot it can decode and replays the meta records after it.
//
// Lifetime: open() reloads the metadata; close() (or the destructor) closes the store.
// Subscriptions must end before the Broker is destroyed; after close() they return store_closed.
//
// Thread-safety: every Broker method may be called from any number of threads. A Subscription
// belongs to one thread at a time.
//
// Durability promise: publish() and commit() return only once the record is durable (sync mode:
// the append's group commit; interval mode: the next background flush). committed() returns only
// durable commits, and subscriptions deliver only durable messages: nothing a client has seen can
// be taken back by a crash. After a crash or restart each group's offset is its last durable
// commit, whatever damage the newest snapshot or meta records took (they are skipped and logged).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "meta_state.h"
#include "segstore/store.h"

namespace broker {

struct BrokerOptions {
  segstore::Durability durability = segstore::Durability::sync;  // sync or interval
  std::uint32_t flush_interval_ms = 10;
  std::uint64_t segment_bytes = 64ull << 20;
  std::uint64_t offsets_snapshot_every = 1000;  // meta records between snapshots; 0: never
  // Observers (monitoring and tests), called outside the meta mutex around a snapshot write.
  std::function<void(std::uint64_t lsn)> on_snapshot_start;
  std::function<void(std::uint64_t lsn, const segstore::Status &)> on_snapshot_done;
};

// What open() found when it reloaded the metadata.
struct ReloadInfo {
  bool from_snapshot = false;
  std::uint64_t snapshot_lsn = 0;
  std::uint64_t records_replayed = 0;  // meta records applied after the snapshot
  std::uint64_t records_skipped = 0;   // meta records that did not decode or apply
  std::vector<std::string> problems;   // why each skip or refused snapshot (first 100)
  std::size_t topics = 0;
  std::size_t commits = 0;
};

struct Message {
  std::uint64_t offset = 0;
  std::string payload;
};

class Subscription {
 public:
  // The next durable message, or nothing when none became durable within `wait`
  // (milliseconds::max(): no limit). Errc::cancelled when a canceller() ended the wait; the
  // store's error at once when it was closed or failed.
  segstore::Result<std::optional<Message>> next(std::chrono::milliseconds wait);
  std::uint64_t start_offset() const { return start_; }
  // Ends a next() waiting on another thread; usable from any thread, even after the
  // subscription is gone.
  segstore::IteratorCanceller canceller() const { return it_.canceller(); }

 private:
  friend class Broker;
  // `it` is a durable_only scan of the topic's stream: it never returns a message a crash
  // could take back, and waits for the next one to become durable.
  Subscription(segstore::Iterator it, std::uint64_t start) : it_(std::move(it)), start_(start) {}
  segstore::Iterator it_;
  std::uint64_t start_;
};

// One message of a batch.
struct Publication {
  std::string_view topic;
  std::string_view payload;
};

class Broker {
 public:
  static segstore::Result<std::unique_ptr<Broker>> open(const std::string &dir, const BrokerOptions &options = {});
  ~Broker();
  Broker(const Broker &) = delete;
  Broker &operator=(const Broker &) = delete;

  // Appends the messages (creating topics as needed) and returns their offsets, once durable.
  // The batch is atomic: after a crash all or none of it is there.
  segstore::Result<std::vector<std::uint64_t>> publish(std::span<const Publication> messages);
  segstore::Result<std::uint64_t> publish(std::string_view topic, std::string_view payload);

  // Records that `group` has processed `topic` up to and including `offset`; durable on return.
  segstore::Status commit(std::string_view group, std::string_view topic, std::uint64_t offset);
  // The group's last durable commit for the topic; nothing when it never committed.
  segstore::Result<std::optional<std::uint64_t>> committed(std::string_view group, std::string_view topic);

  // Tails `topic` from `from` (nothing: the oldest message; -1: only messages published from
  // now on). Creates the topic if it does not exist, so subscribers may come first.
  segstore::Result<Subscription> subscribe(std::string_view topic, std::optional<std::int64_t> from);

  ReloadInfo reload_info() const;
  segstore::Stats stats() const { return store_->stats(); }
  segstore::Status close() { return store_->close(); }

 private:
  explicit Broker(BrokerOptions options) : options_(std::move(options)) {}
  segstore::Status reload();
  // Replays the meta records from `from` on into meta_; counts into *info.
  segstore::Status replay_meta(std::uint64_t from, ReloadInfo *info);
  segstore::Result<std::uint32_t> stream_for(std::string_view topic);
  // Appends a meta record, applies it, and makes it durable; writes a snapshot when one is due.
  // Called with `lock` (on meta_mu_) held; releases it before waiting for the device.
  segstore::Result<std::uint64_t> append_meta(std::unique_lock<std::mutex> &lock, const MetaRecord &record);
  void skip(std::uint64_t lsn, const std::string &why, ReloadInfo *info);
  segstore::Status wait_durable(std::uint64_t lsn);

  const BrokerOptions options_;
  std::unique_ptr<segstore::Store> store_;
  mutable std::mutex meta_mu_;  // meta record order in the log == order of apply()
  MetaState meta_;              // guarded by meta_mu_
  std::uint64_t meta_records_since_snapshot_ = 0;  // guarded by meta_mu_
  ReloadInfo reload_;           // guarded by meta_mu_
};

}  // namespace broker
