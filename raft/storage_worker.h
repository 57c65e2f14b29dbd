// raft/storage_worker.h — the thread that does the store's slow work for one raft_io, so the
// libuv loop thread never waits for a disk (docs/REPLICATION.md "Threads").
//
// The loop thread submits requests in raft's order; the worker runs them in that order and
// hands each result back through a uv_async handle, whose callback (on the loop thread) calls
// raft's callback. Consecutive appends share one data sync: the worker appends every entry of
// the run without waiting, then syncs once and completes them all (group commit without a
// blocked thread per append).
//
// Lifetime: constructed and stopped on the loop thread; stop() ends with `done` on the loop
// thread once every request was answered and the handle is closed; the object may then go.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "raft/segstore_raft.h"  // raft.h with C linkage
#include <uv.h>

#include "segstore/store.h"

namespace segstore::raft_adapter {

struct StorageRequest {
  enum class Kind { append, truncate, snapshot_put, snapshot_get } kind = Kind::append;
  raft_io_append *append = nullptr;  // append: raft's request
  // append: the records to write (stream = entry type, payload = term + data), copied from
  // raft's entries on the loop thread when the request is submitted (the payload needs the term
  // in front anyway), so the worker never reads memory raft owns and frees on its own thread.
  std::vector<std::uint32_t> streams;
  std::vector<std::vector<std::byte>> payloads;
  raft_index index = 0;  // truncate: the first index removed
  raft_io_snapshot_put *put = nullptr;
  const raft_snapshot *snapshot = nullptr;  // snapshot_put: valid until its callback
  unsigned trailing = 0;
  raft_io_snapshot_get *get = nullptr;
  // Filled by the worker.
  int status = 0;
  raft_snapshot *loaded = nullptr;  // snapshot_get: owned by raft once delivered
};

class StorageWorker {
 public:
  StorageWorker(uv_loop_t *loop, Store &store);
  ~StorageWorker();
  StorageWorker(const StorageWorker &) = delete;
  StorageWorker &operator=(const StorageWorker &) = delete;

  // Loop thread. RAFT_IOERR once the store failed (then a request is refused at once), or
  // RAFT_CANCELED after stop(); else 0.
  int submit(StorageRequest request);
  // Loop thread. Requests not started yet complete with RAFT_CANCELED.
  void stop(std::function<void()> done);
  // The last store error, for io->errmsg.
  std::string last_error() const;
  // Blocks until every submitted request has run (tests that drive time themselves wait here
  // so that a disk is never slower than their clock). True when callbacks wait for delivery.
  bool wait_idle();

 private:
  void run();
  void execute(std::vector<StorageRequest> &requests);
  void run_appends(std::vector<StorageRequest> &requests, std::size_t first, std::size_t end);
  int run_snapshot_put(const StorageRequest &request);
  int run_snapshot_get(StorageRequest &request);
  int fail(const Status &status);
  static void on_async(uv_async_t *handle);
  static void on_closed(uv_handle_t *handle);
  void deliver();

  Store &store_;
  uv_async_t async_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;          // wait_idle(): nothing queued and nothing running
  bool running_ = false;                  // the worker executes requests taken from queued_
  std::deque<StorageRequest> queued_;     // submitted, not started
  std::vector<StorageRequest> finished_;  // done, callback not yet called
  bool stopping_ = false;
  bool thread_ended_ = false;
  bool failed_ = false;  // a store error: every later request fails
  std::string last_error_;
  std::function<void()> stopped_;
};

}  // namespace segstore::raft_adapter
