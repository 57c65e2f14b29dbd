// raft/storage_worker.cc — see raft/storage_worker.h.
#include "raft/storage_worker.h"

#include <cstdio>
#include <cstring>
#include <iterator>

#include "raft/codec.h"

namespace segstore::raft_adapter {

StorageWorker::StorageWorker(uv_loop_t *loop, Store &store) : store_(store) {
  uv_async_init(loop, &async_, &StorageWorker::on_async);
  async_.data = this;
  thread_ = std::thread([this] { run(); });
}

StorageWorker::~StorageWorker() {
  // stop() ran to its end: the thread was joined and the handle closed.
}

int StorageWorker::submit(StorageRequest request) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return RAFT_CANCELED;
    if (failed_) return RAFT_IOERR;
    queued_.push_back(std::move(request));
  }
  // After the unlock: a worker woken while the mutex is still held runs into it and sleeps
  // again on it, one context switch more per request on a busy 2-vCPU machine.
  wake_.notify_one();
  return 0;
}

void StorageWorker::stop(std::function<void()> done) {
  std::lock_guard lock(mu_);
  stopped_ = std::move(done);
  stopping_ = true;
  wake_.notify_one();
}

std::string StorageWorker::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

int StorageWorker::fail(const Status &status) {
  std::lock_guard lock(mu_);
  failed_ = true;
  last_error_ = status.to_string();
  // raft turns unavailable on a failed request and keeps no message: say it here, once.
  std::fprintf(stderr, "segstore-raft: %s: storage failed, refusing further requests: %s\n", store_.dir().c_str(),
               last_error_.c_str());
  return status.code() == Errc::no_space ? RAFT_NOSPACE : RAFT_IOERR;
}

void StorageWorker::run() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
    std::vector<StorageRequest> taken(std::make_move_iterator(queued_.begin()), std::make_move_iterator(queued_.end()));
    queued_.clear();
    if (stopping_) {
      // Not started: raft is closing and expects them cancelled, as raft_uv does.
      for (StorageRequest &request : taken) request.status = RAFT_CANCELED;
      for (StorageRequest &request : taken) finished_.push_back(std::move(request));
      thread_ended_ = true;
      break;
    }
    running_ = true;
    lock.unlock();
    execute(taken);
    lock.lock();
    for (StorageRequest &request : taken) finished_.push_back(std::move(request));
    // The loop thread takes mu_ in deliver(): woken with it released, it does not wait for it.
    lock.unlock();
    uv_async_send(&async_);
    lock.lock();
    // Idle only once the loop was woken: a test that waits for idleness and then runs the loop
    // once without blocking (the crash simulation) finds the results delivered.
    running_ = false;
    idle_.notify_all();
  }
  idle_.notify_all();
  lock.unlock();
  uv_async_send(&async_);
}

bool StorageWorker::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return thread_ended_ || (queued_.empty() && !running_); });
  return !finished_.empty();
}

// Runs the requests in order; each run of consecutive appends shares one sync.
void StorageWorker::execute(std::vector<StorageRequest> &requests) {
  std::size_t i = 0;
  while (i < requests.size()) {
    StorageRequest &request = requests[i];
    bool already_failed;
    {
      std::lock_guard lock(mu_);
      already_failed = failed_;
    }
    if (request.kind == StorageRequest::Kind::append) {
      std::size_t end = i;
      while (end < requests.size() && requests[end].kind == StorageRequest::Kind::append) ++end;
      if (already_failed) {
        for (std::size_t j = i; j < end; ++j) requests[j].status = RAFT_IOERR;
      } else {
        run_appends(requests, i, end);
      }
      i = end;
      continue;
    }
    if (already_failed) {
      request.status = RAFT_IOERR;
    } else if (request.kind == StorageRequest::Kind::truncate) {
      // raft removes the entries from `index` on; the store keeps those up to index - 1. The
      // adapter never appends atomic batches, so any index is a valid cut (no splits_batch).
      Status cut = store_.truncate_after(request.index - 1);
      request.status = cut.ok() ? 0 : fail(cut);
    } else if (request.kind == StorageRequest::Kind::snapshot_put) {
      request.status = run_snapshot_put(request);
    } else {
      request.status = run_snapshot_get(request);
    }
    ++i;
  }
}

void StorageWorker::run_appends(std::vector<StorageRequest> &requests, std::size_t first, std::size_t end) {
  Status status;
  for (std::size_t r = first; r < end && status.ok(); ++r) {
    const StorageRequest &request = requests[r];
    for (std::size_t e = 0; e < request.payloads.size() && status.ok(); ++e) {
      // Not durable yet: one sync below covers the whole run.
      status = store_.append(request.payloads[e], request.streams[e], Durability::none).status();
    }
  }
  if (status.ok()) status = store_.sync();
  const int code = status.ok() ? 0 : fail(status);
  for (std::size_t r = first; r < end; ++r) requests[r].status = code;
}

int StorageWorker::run_snapshot_put(const StorageRequest &request) {
  const raft_snapshot &snapshot = *request.snapshot;
  const std::vector<std::byte> state = encode_snapshot_state(snapshot);
  if (request.trailing == 0) {
    // A snapshot from the leader (InstallSnapshot): it replaces the whole log.
    Status installed = store_.install_snapshot(snapshot.index, state);
    return installed.ok() ? 0 : fail(installed);
  }
  Status written = store_.write_snapshot(snapshot.index, state);
  if (!written.ok()) return fail(written);
  // Keep the `trailing` entries up to the snapshot's index (followers far behind get them
  // without a snapshot); the older ones go, whole segments at a time.
  if (snapshot.index + 1 > request.trailing) {
    const std::uint64_t keep_from = snapshot.index + 1 - request.trailing;
    if (keep_from > store_.first_lsn()) {
      Status trimmed = store_.trim_before(keep_from);
      if (!trimmed.ok()) return fail(trimmed);
    }
  }
  return 0;
}

int StorageWorker::run_snapshot_get(StorageRequest &request) {
  Result<Snapshot> latest = store_.latest_snapshot();
  if (!latest.ok()) {
    if (latest.status().code() == Errc::not_found) return RAFT_NOTFOUND;
    return fail(latest.status());
  }
  auto *snapshot = static_cast<raft_snapshot *>(raft_calloc(1, sizeof(raft_snapshot)));
  if (snapshot == nullptr) return RAFT_NOMEM;
  snapshot->index = latest->lsn;
  const std::string error = decode_snapshot_state(latest->state, snapshot);
  if (!error.empty()) {
    raft_free(snapshot);
    std::lock_guard lock(mu_);
    last_error_ = store_.dir() + " snapshot " + std::to_string(latest->lsn) + ": " + error;
    return RAFT_CORRUPT;
  }
  request.loaded = snapshot;
  return 0;
}

void StorageWorker::on_async(uv_async_t *handle) { static_cast<StorageWorker *>(handle->data)->deliver(); }

// Loop thread: calls raft's callbacks in submission order.
void StorageWorker::deliver() {
  std::vector<StorageRequest> done;
  bool ended;
  {
    std::lock_guard lock(mu_);
    done.swap(finished_);
    ended = thread_ended_;
  }
  for (StorageRequest &request : done) {
    switch (request.kind) {
      case StorageRequest::Kind::append:
        request.append->cb(request.append, request.status);
        break;
      case StorageRequest::Kind::truncate:
        break;  // raft's truncate has no callback; a failure fails every later request
      case StorageRequest::Kind::snapshot_put:
        request.put->cb(request.put, request.status);
        break;
      case StorageRequest::Kind::snapshot_get:
        request.get->cb(request.get, request.loaded, request.status);
        break;
    }
  }
  if (ended && thread_.joinable()) {
    thread_.join();  // it has left its loop: the join does not wait for any I/O
    uv_close(reinterpret_cast<uv_handle_t *>(&async_), &StorageWorker::on_closed);
  }
}

void StorageWorker::on_closed(uv_handle_t *handle) {
  auto *worker = static_cast<StorageWorker *>(handle->data);
  std::function<void()> done = std::move(worker->stopped_);
  done();
}

}  // namespace segstore::raft_adapter
