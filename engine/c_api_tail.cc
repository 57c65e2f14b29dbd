// engine/c_api_tail.cc — scans, tailing waits and their cancellation in the C API
// (segstore/segstore.h) over segstore::Iterator and the Store's waits.
#include <chrono>
#include <string>

#include "engine/c_api_internal.h"

using namespace segstore::c_api;

namespace segstore::c_api {

std::chrono::milliseconds timeout_of(std::int64_t timeout_ms) noexcept {
  // Negative: no timeout. milliseconds::max() is the C++ API's "forever" (it saturates).
  return timeout_ms < 0 ? std::chrono::milliseconds::max() : std::chrono::milliseconds(timeout_ms);
}

}  // namespace segstore::c_api

namespace {

// The record at the iterator's position into the outputs that are not NULL.
void record_out(const segstore::RecordView &record, uint64_t *lsn, uint32_t *stream, const void **data, size_t *len) {
  if (lsn != nullptr) *lsn = record.lsn;
  if (stream != nullptr) *stream = record.stream;
  if (data != nullptr) *data = record.payload.data();
  if (len != nullptr) *len = record.payload.size();
}

// 1 with the record's outputs set, 0 for "no record", or the error's code.
int next_result(segstore_iter *it, const segstore::Result<bool> &got, uint64_t *lsn, uint32_t *stream,
                const void **data, size_t *len) {
  if (!got.ok()) return code_of(got.status());
  if (!*got) return 0;
  record_out(it->iterator->record(), lsn, stream, data, len);
  return 1;
}

constexpr uint32_t scan_flags_known = SEGSTORE_SCAN_STREAM | SEGSTORE_SCAN_DURABLE_ONLY;

}  // namespace

extern "C" {

int segstore_scan(segstore_handle *s, uint64_t from_lsn, uint32_t flags, uint32_t stream, segstore_iter **out) {
  if (out == nullptr) return null_argument("segstore_scan", "out");
  *out = nullptr;
  if (s == nullptr) return null_argument("segstore_scan", "store");
  if ((flags & ~scan_flags_known) != 0)
    return invalid_argument("segstore_scan: unknown flags " + std::to_string(flags & ~scan_flags_known));
  return guarded([&] {
    segstore::ScanOptions options;
    if ((flags & SEGSTORE_SCAN_STREAM) != 0) options.stream = stream;
    options.durable_only = (flags & SEGSTORE_SCAN_DURABLE_ONLY) != 0;
    segstore::Result<segstore::Iterator> it = s->store->scan(from_lsn, options);
    if (!it.ok()) return code_of(it.status());
    auto handle = std::make_unique<segstore_iter>();
    handle->iterator.emplace(std::move(*it));
    *out = handle.release();
    return SEGSTORE_OK;
  });
}

int segstore_iter_open(segstore_handle *s, uint64_t from_lsn, segstore_iter **out) {
  return segstore_scan(s, from_lsn, 0, 0, out);
}

int segstore_iter_open_stream(segstore_handle *s, uint64_t from_lsn, uint32_t stream, segstore_iter **out) {
  return segstore_scan(s, from_lsn, SEGSTORE_SCAN_STREAM, stream, out);
}

int segstore_iter_next(segstore_iter *it, uint64_t *lsn, uint32_t *stream, const void **data, size_t *len) {
  if (it == nullptr) return null_argument("segstore_iter_next", "iterator");
  return guarded([&] { return next_result(it, it->iterator->next(), lsn, stream, data, len); });
}

int segstore_iter_next_wait(segstore_iter *it, int64_t timeout_ms, uint64_t *lsn, uint32_t *stream,
                            const void **data, size_t *len) {
  if (it == nullptr) return null_argument("segstore_iter_next_wait", "iterator");
  return guarded([&] {
    return next_result(it, it->iterator->next_wait(timeout_of(timeout_ms)), lsn, stream, data, len);
  });
}

void segstore_iter_cancel(segstore_iter *it) {
  if (it != nullptr) it->iterator->cancel();
}

int segstore_iter_canceller(segstore_iter *it, segstore_canceller **out) {
  if (out == nullptr) return null_argument("segstore_iter_canceller", "out");
  *out = nullptr;
  if (it == nullptr) return null_argument("segstore_iter_canceller", "iterator");
  return guarded([&] {
    *out = new segstore_canceller{it->iterator->canceller()};
    return SEGSTORE_OK;
  });
}

void segstore_canceller_cancel(const segstore_canceller *c) {
  if (c != nullptr) c->canceller.cancel();
}

void segstore_canceller_destroy(segstore_canceller *c) { delete c; }

void segstore_iter_close(segstore_iter *it) { delete it; }

int segstore_wait_for_lsn(const segstore_handle *s, uint64_t lsn, int64_t timeout_ms) {
  if (s == nullptr) return null_argument("segstore_wait_for_lsn", "store");
  return guarded([&] { return code_of(s->store->wait_for_lsn(lsn, timeout_of(timeout_ms))); });
}

int segstore_wait_until_durable(const segstore_handle *s, uint64_t lsn, int64_t timeout_ms) {
  if (s == nullptr) return null_argument("segstore_wait_until_durable", "store");
  return guarded([&] { return code_of(s->store->wait_until_durable(lsn, timeout_of(timeout_ms))); });
}

}  // extern "C"
