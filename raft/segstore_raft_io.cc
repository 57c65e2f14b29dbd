// raft/segstore_raft_io.cc — the raft_io of raft/segstore_raft.h: storage calls served by
// segstore, network and timers by an inner raft_uv io (docs/REPLICATION.md has the mapping of
// every call).
#include "raft/segstore_raft.h"

extern "C" {  // raft/uv.h declares its functions without C linkage for C++
#include <raft/uv.h>
}

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "raft/codec.h"
#include "raft/storage_worker.h"
#include "segstore/store.h"

namespace segstore::raft_adapter {
namespace {

struct Adapter {
  raft_io *outer = nullptr;
  raft_io inner{};  // raft_uv's io: transport, timers, time, random, async work
  raft_uv_transport transport{};
  // What serves the network and timers: &inner, or the io passed in the options' transport.
  raft_io *net = nullptr;
  bool net_initialized = false;
  uv_loop_t *loop = nullptr;
  std::string dir;
  segstore_raft_options options{};
  std::unique_ptr<Store> store;
  std::unique_ptr<StorageWorker> worker;
  TermAndVote term_and_vote;
  raft_io_tick_cb tick = nullptr;
  raft_io_recv_cb recv = nullptr;
  raft_io_close_cb close_cb = nullptr;
  // While raft handles a received AppendEntries: the last index that message proves this
  // server's log to share with the leader (prev_log_index + n_entries); see on_recv.
  bool in_append_entries = false;
  raft_index append_entries_matched = 0;
};

Adapter *of(raft_io *io) { return static_cast<Adapter *>(io->impl); }

int say(raft_io *io, int code, const std::string &message) {
  std::snprintf(io->errmsg, sizeof io->errmsg, "%s", message.c_str());
  return code;
}

int raft_code_of(const Status &status) {
  return status.code() == Errc::no_space ? RAFT_NOSPACE : RAFT_IOERR;
}

std::string store_dir_of(const Adapter &a) { return a.dir + "/log"; }

// --- init, close -------------------------------------------------------------------------

int io_init(raft_io *io, raft_id id, const char *address) {
  Adapter &a = *of(io);
  if (a.net == &a.inner) {  // raft_uv's probe files; a transport of the caller's needs none
    std::error_code error;
    std::filesystem::create_directories(a.dir + "/net", error);
    if (error) return say(io, RAFT_IOERR, "creating " + a.dir + "/net: " + error.message());
  }
  Options options;
  if (a.options.segment_bytes != 0) options.segment_bytes = a.options.segment_bytes;
  options.snapshots_kept = a.options.snapshots_kept != 0 ? a.options.snapshots_kept : 2;
  // raft 0.15 reads the whole log at start anyway; scanning every segment at open as well finds
  // damage anywhere in it, and recovery cuts the log there (the rest goes to quarantine/), so
  // load never meets a damaged record and raft fetches the cut entries from the leader.
  options.verify_on_open = true;
  // A proven loss of acknowledged entries would make the store refuse writes until an operator
  // accepts it (docs/RECOVERY.md). Under raft the loss is accepted here: the entries the cut
  // removed are fetched again from the leader, and the term and vote, which decide safety, live
  // in the metadata record, not in the log (docs/REPLICATION.md, "Limits").
  options.accept_data_loss = true;
  // The tests' simulated disk; the test owns it (hence the deleter that does nothing).
  if (a.options.env != nullptr) options.env = std::shared_ptr<io::Env>(static_cast<io::Env *>(a.options.env), [](io::Env *) {});
  Result<std::unique_ptr<Store>> store = Store::open(store_dir_of(a), options);
  if (!store.ok()) return say(io, raft_code_of(store.status()), store.status().to_string());
  a.store = std::move(*store);
  // raft's first index is 1; a new store starts at LSN 0.
  if (a.store->next_lsn() == 0) {
    Status moved = a.store->reset_to(1);
    if (!moved.ok()) return say(io, raft_code_of(moved), moved.to_string());
  }
  Result<std::vector<std::byte>> meta = a.store->read_metadata();
  if (meta.ok()) {
    const std::string bad = decode_term_and_vote(*meta, &a.term_and_vote);
    if (!bad.empty()) return say(io, RAFT_CORRUPT, store_dir_of(a) + "/APPMETA: " + bad);
  } else if (meta.status().code() != Errc::not_found) {
    return say(io, RAFT_CORRUPT, meta.status().to_string());
  }
  int rv = a.net->init(a.net, id, address);
  if (rv != 0) return say(io, rv, std::string("network: ") + a.net->errmsg);
  a.net_initialized = true;
  a.worker = std::make_unique<StorageWorker>(a.loop, *a.store);
  return 0;
}

void net_closed(raft_io *inner) {
  Adapter &a = *static_cast<Adapter *>(inner->data);
  if (a.store) {
    Status closed = a.store->close();
    if (!closed.ok()) std::fprintf(stderr, "segstore-raft: closing %s: %s\n", a.dir.c_str(), closed.to_string().c_str());
    a.store.reset();
  }
  if (a.close_cb != nullptr) a.close_cb(a.outer);
}

void io_close(raft_io *io, raft_io_close_cb cb) {
  Adapter &a = *of(io);
  a.close_cb = cb;
  auto close_inner = [&a] {
    a.worker.reset();
    if (a.net_initialized) {
      a.net->close(a.net, net_closed);
    } else {
      net_closed(a.net);
    }
  };
  if (a.worker) {
    a.worker->stop(close_inner);
  } else {
    close_inner();
  }
}

// --- load, bootstrap, recover, term and vote (synchronous: raft_io gives them no callback) ----

// The log's entries, as raft_malloc'd buffers raft takes over (batch NULL: one buffer each).
int load_entries(raft_io *io, Store &store, raft_index start, raft_entry **entries_out, std::size_t *n_out) {
  const std::uint64_t next = store.next_lsn();
  const std::size_t count = next - start;
  *entries_out = nullptr;
  *n_out = 0;
  if (count == 0) return 0;
  auto *entries = static_cast<raft_entry *>(raft_calloc(count, sizeof(raft_entry)));
  if (entries == nullptr) return say(io, RAFT_NOMEM, "no memory for " + std::to_string(count) + " entries");
  auto release = [&](std::size_t loaded) {
    for (std::size_t i = 0; i < loaded; ++i) raft_free(entries[i].buf.base);
    raft_free(entries);
  };
  Result<Iterator> it = store.scan(start);
  if (!it.ok()) {
    release(0);
    return say(io, raft_code_of(it.status()), it.status().to_string());
  }
  for (std::size_t i = 0; i < count; ++i) {
    Result<bool> more = it->next();
    const std::string where = store.dir() + " LSN " + std::to_string(start + i);
    if (!more.ok() || !*more || it->record().lsn != start + i) {
      release(i);
      return say(io, RAFT_CORRUPT, where + ": " + (more.ok() ? "missing" : more.status().to_string()));
    }
    const RecordView &record = it->record();
    if (record.payload.size() < entry_header_bytes || record.stream < RAFT_COMMAND || record.stream > RAFT_CHANGE) {
      release(i);
      return say(io, RAFT_CORRUPT, where + ": " + std::to_string(record.payload.size()) + " bytes in stream " +
                                       std::to_string(record.stream) + " are not a raft entry");
    }
    const std::size_t data_bytes = record.payload.size() - entry_header_bytes;
    void *data = data_bytes > 0 ? raft_malloc(data_bytes) : nullptr;
    if (data_bytes > 0 && data == nullptr) {
      release(i);
      return say(io, RAFT_NOMEM, where + ": no memory");
    }
    if (data_bytes > 0) std::memcpy(data, record.payload.data() + entry_header_bytes, data_bytes);
    entries[i].term = get_u64(record.payload.data());
    entries[i].type = static_cast<unsigned short>(record.stream);
    entries[i].buf = raft_buffer{data, data_bytes};
    entries[i].batch = nullptr;
  }
  *entries_out = entries;
  *n_out = count;
  return 0;
}

int load_snapshot(raft_io *io, Store &store, raft_snapshot **out) {
  *out = nullptr;
  Result<Snapshot> latest = store.latest_snapshot();
  if (!latest.ok()) {
    if (latest.status().code() == Errc::not_found) return 0;
    return say(io, raft_code_of(latest.status()), latest.status().to_string());
  }
  auto *snapshot = static_cast<raft_snapshot *>(raft_calloc(1, sizeof(raft_snapshot)));
  if (snapshot == nullptr) return say(io, RAFT_NOMEM, "no memory for a snapshot");
  snapshot->index = latest->lsn;
  const std::string bad = decode_snapshot_state(latest->state, snapshot);
  if (!bad.empty()) {
    raft_free(snapshot);
    return say(io, RAFT_CORRUPT, store.dir() + " snapshot " + std::to_string(latest->lsn) + ": " + bad);
  }
  *out = snapshot;
  return 0;
}

void free_snapshot(raft_snapshot *snapshot) {
  raft_configuration_close(&snapshot->configuration);
  for (unsigned i = 0; i < snapshot->n_bufs; ++i) raft_free(snapshot->bufs[i].base);
  raft_free(snapshot->bufs);
  raft_free(snapshot);
}

int io_load(raft_io *io, raft_term *term, raft_id *voted_for, raft_snapshot **snapshot, raft_index *start_index,
            raft_entry *entries[], std::size_t *n_entries) {
  Adapter &a = *of(io);
  Store &store = *a.store;
  *term = a.term_and_vote.term;
  *voted_for = a.term_and_vote.voted_for;
  int rv = load_snapshot(io, store, snapshot);
  if (rv != 0) return rv;
  const raft_index snapshot_index = *snapshot != nullptr ? (*snapshot)->index : 0;
  // raft needs the log to start at or before the entry after the snapshot (no gap), and at 1
  // when there is no snapshot.
  if (store.first_lsn() > snapshot_index + 1) {
    const std::string why = store.dir() + ": the log starts at " + std::to_string(store.first_lsn()) +
                            " but the newest snapshot is at " + std::to_string(snapshot_index) + ": entries are missing";
    if (*snapshot != nullptr) free_snapshot(*snapshot);
    *snapshot = nullptr;
    return say(io, RAFT_CORRUPT, why);
  }
  *start_index = store.first_lsn();
  rv = load_entries(io, store, *start_index, entries, n_entries);
  if (rv != 0 && *snapshot != nullptr) {
    free_snapshot(*snapshot);
    *snapshot = nullptr;
  }
  return rv;
}

Status store_term_and_vote(Adapter &a, const TermAndVote &value) {
  if (Status written = a.store->write_metadata(encode_term_and_vote(value)); !written.ok()) return written;
  a.term_and_vote = value;
  return Status();
}

int io_set_term(raft_io *io, raft_term term) {
  Status stored = store_term_and_vote(*of(io), TermAndVote{term, 0});
  return stored.ok() ? 0 : say(io, raft_code_of(stored), stored.to_string());
}

int io_set_vote(raft_io *io, raft_id server_id) {
  Adapter &a = *of(io);
  Status stored = store_term_and_vote(a, TermAndVote{a.term_and_vote.term, server_id});
  return stored.ok() ? 0 : say(io, raft_code_of(stored), stored.to_string());
}

// Appends one configuration entry durably, on the loop thread (bootstrap and recover run
// before raft starts, when nothing else waits on the loop).
int append_configuration(raft_io *io, raft_term term, const raft_configuration *conf) {
  Adapter &a = *of(io);
  raft_buffer encoded{};
  int rv = raft_configuration_encode(conf, &encoded);
  if (rv != 0) return say(io, rv, "encoding the configuration failed");
  std::vector<std::byte> payload;
  put_u64(payload, term);
  const auto *data = static_cast<const std::byte *>(encoded.base);
  payload.insert(payload.end(), data, data + encoded.len);
  raft_free(encoded.base);
  Result<std::uint64_t> lsn = a.store->append(payload, RAFT_CHANGE, Durability::sync);
  return lsn.ok() ? 0 : say(io, raft_code_of(lsn.status()), lsn.status().to_string());
}

int io_bootstrap(raft_io *io, const raft_configuration *conf) {
  Adapter &a = *of(io);
  if (a.term_and_vote.term != 0 || a.store->next_lsn() != 1 || a.store->first_lsn() != 1)
    return say(io, RAFT_CANTBOOTSTRAP, a.dir + " already holds a term or entries");
  if (int rv = io_set_term(io, 1); rv != 0) return rv;
  return append_configuration(io, 1, conf);
}

int io_recover(raft_io *io, const raft_configuration *conf) {
  Adapter &a = *of(io);
  return append_configuration(io, a.term_and_vote.term, conf);
}

// --- the log: through the worker ---------------------------------------------------------------

int io_append(raft_io *io, raft_io_append *req, const raft_entry entries[], unsigned n, raft_io_append_cb cb) {
  Adapter &a = *of(io);
  req->cb = cb;
  StorageRequest request;
  request.kind = StorageRequest::Kind::append;
  request.append = req;
  request.streams.reserve(n);
  request.payloads.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    std::vector<std::byte> payload;
    payload.reserve(entry_header_bytes + entries[i].buf.len);
    put_u64(payload, entries[i].term);
    const auto *data = static_cast<const std::byte *>(entries[i].buf.base);
    payload.insert(payload.end(), data, data + entries[i].buf.len);
    request.streams.push_back(entries[i].type);
    request.payloads.push_back(std::move(payload));
  }
  int rv = a.worker->submit(std::move(request));
  return rv == 0 ? 0 : say(io, rv, "append refused: " + a.worker->last_error());
}

int io_truncate(raft_io *io, raft_index index) {
  Adapter &a = *of(io);
  StorageRequest request;
  request.kind = StorageRequest::Kind::truncate;
  request.index = index;
  int rv = a.worker->submit(std::move(request));
  return rv == 0 ? 0 : say(io, rv, "truncate refused: " + a.worker->last_error());
}

int io_snapshot_put(raft_io *io, unsigned trailing, raft_io_snapshot_put *req, const raft_snapshot *snapshot,
                    raft_io_snapshot_put_cb cb) {
  Adapter &a = *of(io);
  req->cb = cb;
  StorageRequest request;
  request.kind = StorageRequest::Kind::snapshot_put;
  request.put = req;
  request.snapshot = snapshot;
  request.trailing = trailing;
  int rv = a.worker->submit(std::move(request));
  return rv == 0 ? 0 : say(io, rv, "snapshot refused: " + a.worker->last_error());
}

int io_snapshot_get(raft_io *io, raft_io_snapshot_get *req, raft_io_snapshot_get_cb cb) {
  Adapter &a = *of(io);
  req->cb = cb;
  StorageRequest request;
  request.kind = StorageRequest::Kind::snapshot_get;
  request.get = req;
  int rv = a.worker->submit(std::move(request));
  return rv == 0 ? 0 : say(io, rv, "snapshot read refused: " + a.worker->last_error());
}

// --- network, timers, time: raft_uv's ----------------------------------------------------------

void on_tick(raft_io *inner) {
  Adapter &a = *static_cast<Adapter *>(inner->data);
  a.tick(a.outer);
}

// Two corrections of raft 0.15's follower, both about entries after the prefix an AppendEntries
// matched (prev_log_index + n_entries): a follower that led a term of its own may still hold
// entries of that older term there, which the message never compared and the leader never had.
//  - raft answers a message it accepts without a write (every entry already in its log, or
//    none: a heartbeat) with last_log_index = its last stored index, covering those entries. The
//    leader takes the figure as the follower's match index (it only caps it at its own last
//    index), then counts this server toward committing entries it does not hold (an entry on a
//    minority is acknowledged, and lost with its leader) and ignores the follower's rejections
//    there as stale (the follower never gets the leader's entries). io_send caps the answer.
//  - raft sets its commit index to min(leader_commit, last stored index), which can also cover
//    them: it would apply an entry that was never committed. leader_commit is capped here.
// Both caps are raft's own rule (a success reports, and a follower may commit up to, "the index
// of the last new entry": prev_log_index + len(entries)). An answer sent later, from an append's
// callback, covers only entries written from a leader after truncating what conflicted, and is
// left as it is.
void on_recv(raft_io *inner, raft_message *message) {
  Adapter &a = *static_cast<Adapter *>(inner->data);
  if (message->type != RAFT_IO_APPEND_ENTRIES) {
    a.recv(a.outer, message);
    return;
  }
  // Read before recv: raft takes the message's entries over.
  raft_append_entries &args = message->append_entries;
  a.append_entries_matched = args.prev_log_index + args.n_entries;
  if (args.leader_commit > a.append_entries_matched) args.leader_commit = a.append_entries_matched;
  a.in_append_entries = true;
  a.recv(a.outer, message);
  a.in_append_entries = false;
}

int io_start(raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv) {
  Adapter &a = *of(io);
  a.tick = tick;
  a.recv = recv;
  int rv = a.net->start(a.net, msecs, on_tick, on_recv);
  return rv == 0 ? 0 : say(io, rv, a.net->errmsg);
}

int io_send(raft_io *io, raft_io_send *req, const raft_message *message, raft_io_send_cb cb) {
  Adapter &a = *of(io);
  raft_message capped;
  if (a.in_append_entries && message->type == RAFT_IO_APPEND_ENTRIES_RESULT &&
      message->append_entries_result.rejected == 0 &&
      message->append_entries_result.last_log_index > a.append_entries_matched) {
    capped = *message;  // raft too sends messages from its stack: a transport copies before returning
    capped.append_entries_result.last_log_index = a.append_entries_matched;
    message = &capped;
  }
  int rv = a.net->send(a.net, req, message, cb);
  return rv == 0 ? 0 : say(io, rv, a.net->errmsg);
}

raft_time io_time(raft_io *io) {
  Adapter &a = *of(io);
  return a.net->time(a.net);
}

int io_random(raft_io *io, int min, int max) {
  Adapter &a = *of(io);
  return a.net->random(a.net, min, max);
}

int io_async_work(raft_io *io, raft_io_async_work *req, raft_io_async_work_cb cb) {
  Adapter &a = *of(io);
  return a.net->async_work(a.net, req, cb);
}

}  // namespace
}  // namespace segstore::raft_adapter

using namespace segstore::raft_adapter;

extern "C" int segstore_raft_io_init(raft_io *io, uv_loop_t *loop, const char *dir,
                                     const segstore_raft_options *options) {
  if (io == nullptr || loop == nullptr || dir == nullptr) return RAFT_INVALID;
  auto adapter = std::make_unique<Adapter>();
  adapter->outer = io;
  adapter->loop = loop;
  adapter->dir = dir;
  if (options != nullptr) adapter->options = *options;
  if (adapter->options.transport != nullptr) {
    adapter->net = adapter->options.transport;
  } else {
    int rv = raft_uv_tcp_init(&adapter->transport, loop);
    if (rv != 0) return rv;
    const std::string net_dir = adapter->dir + "/net";
    rv = raft_uv_init(&adapter->inner, loop, net_dir.c_str(), &adapter->transport);
    if (rv != 0) {
      raft_uv_tcp_close(&adapter->transport);
      return rv;
    }
    adapter->net = &adapter->inner;
  }
  adapter->net->data = adapter.get();
  *io = raft_io{};
  io->version = adapter->net->version >= 2 ? 2 : 1;
  io->impl = adapter.release();
  io->init = io_init;
  io->close = io_close;
  io->load = io_load;
  io->start = io_start;
  io->bootstrap = io_bootstrap;
  io->recover = io_recover;
  io->set_term = io_set_term;
  io->set_vote = io_set_vote;
  io->send = io_send;
  io->append = io_append;
  io->truncate = io_truncate;
  io->snapshot_put = io_snapshot_put;
  io->snapshot_get = io_snapshot_get;
  io->time = io_time;
  io->random = io_random;
  io->async_work = io->version >= 2 ? io_async_work : nullptr;
  return 0;
}

extern "C" int segstore_raft_io_wait_idle(raft_io *io) {
  Adapter *adapter = of(io);
  if (adapter == nullptr || !adapter->worker) return 0;
  return adapter->worker->wait_idle() ? 1 : 0;
}

extern "C" void segstore_raft_io_close(raft_io *io) {
  Adapter *adapter = of(io);
  if (adapter == nullptr) return;
  if (adapter->net == &adapter->inner) {
    raft_uv_close(&adapter->inner);
    raft_uv_tcp_close(&adapter->transport);
  }
  delete adapter;
  io->impl = nullptr;
}
