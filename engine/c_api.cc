// engine/c_api.cc — the C API (segstore/segstore.h) over the C++ Store: open and close, appends,
// reads, removal, application snapshots and errors. Options are in c_api_options.cc, scans and
// waits in c_api_tail.cc, statistics and recovery in c_api_stats.cc.
//
// Every entry point runs its body inside `guarded()` (c_api_internal.h), which turns any C++
// exception into an error code. Failures also leave their full message in a thread-local string
// for segstore_last_error_message().
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "engine/c_api_internal.h"

using namespace segstore::c_api;

namespace {

// Codes with no segstore::Errc counterpart; static_asserts keep them apart from Errc's range.
static_assert(SEGSTORE_E_BUSY == -static_cast<int>(segstore::Errc::busy),
              "SEGSTORE_E_* must mirror segstore::Errc");
static_assert(SEGSTORE_E_LOG_FULL == -static_cast<int>(segstore::Errc::log_full));
static_assert(SEGSTORE_E_BUFFER_TOO_SMALL == -static_cast<int>(segstore::Errc::buffer_too_small));
static_assert(SEGSTORE_E_INVALID_ARGUMENT == -static_cast<int>(segstore::Errc::invalid_argument));
static_assert(SEGSTORE_E_TRUNCATED == -static_cast<int>(segstore::Errc::truncated));
static_assert(SEGSTORE_E_SPLITS_BATCH == -static_cast<int>(segstore::Errc::splits_batch));
static_assert(SEGSTORE_E_CANCELLED == -static_cast<int>(segstore::Errc::cancelled));
static_assert(SEGSTORE_E_TIMED_OUT == -static_cast<int>(segstore::Errc::timed_out));
static_assert(SEGSTORE_E_DATA_LOSS == -static_cast<int>(segstore::Errc::data_loss));
static_assert(SEGSTORE_E_NO_MEMORY < -static_cast<int>(segstore::Errc::data_loss));
// The C header spells the largest record as a number; it must stay the C++ header's.
static_assert(SEGSTORE_RECORD_PAYLOAD_MAX_BYTES == segstore::record_payload_max_bytes);

thread_local std::string last_error_message;

}  // namespace

namespace segstore::c_api {

int fail(int code, std::string message) noexcept {
  try {
    last_error_message = std::move(message);
  } catch (...) {
    // Keeping the message failed (no memory): the code still says what happened.
  }
  return code;
}

int code_of(const segstore::Status &status) noexcept {
  if (status.ok()) return SEGSTORE_OK;
  return fail(-static_cast<int>(status.code()), status.to_string());
}

int null_argument(const char *function, const char *argument) noexcept {
  return guarded([&] {
    return fail(SEGSTORE_E_INVALID_ARGUMENT,
                std::string("invalid_argument: ") + function + ": " + argument + " is NULL");
  });
}

int invalid_argument(const std::string &message) noexcept {
  return guarded([&] { return fail(SEGSTORE_E_INVALID_ARGUMENT, "invalid_argument: " + message); });
}

std::optional<segstore::Durability> durability_of(int durability) noexcept {
  switch (durability) {
    case SEGSTORE_DURABILITY_SYNC: return segstore::Durability::sync;
    case SEGSTORE_DURABILITY_INTERVAL: return segstore::Durability::interval;
    case SEGSTORE_DURABILITY_NONE: return segstore::Durability::none;
    default: return std::nullopt;
  }
}

}  // namespace segstore::c_api

namespace {

int bad_durability(const char *function, int durability) noexcept {
  return guarded([&] {
    return invalid_argument(std::string(function) + ": durability " + std::to_string(durability) +
                            " is not SEGSTORE_DURABILITY_SYNC, _INTERVAL or _NONE");
  });
}

// Appends `count` entries (at least one) with `durability` (nullopt: the store's own).
int append_entries(segstore_handle *s, const segstore_batch_entry *entries, size_t count,
                   std::optional<segstore::Durability> durability, uint64_t *first_lsn_out,
                   const char *function) noexcept {
  return guarded([&] {
    std::vector<segstore::BatchEntry> batch(count);
    for (size_t i = 0; i < count; ++i) {
      if (entries[i].data == nullptr && entries[i].len != 0)
        return invalid_argument(std::string(function) + ": entry " + std::to_string(i) +
                                " has NULL data and len > 0");
      batch[i] = segstore::BatchEntry{entries[i].stream, bytes_of(entries[i].data, entries[i].len)};
    }
    const segstore::Durability mode = durability.value_or(s->store_durability);
    // One record goes the way of Store::append: no batch to build.
    segstore::Result<std::uint64_t> lsn = count == 1 ? s->store->append(batch[0].payload, batch[0].stream, mode)
                                                     : s->store->append_batch(batch, mode);
    if (!lsn.ok()) return code_of(lsn.status());
    if (first_lsn_out != nullptr) *first_lsn_out = *lsn;
    return SEGSTORE_OK;
  });
}

// Copies `bytes` into buf[0..cap) or reports buffer_too_small naming `what`.
int copy_out(std::span<const std::byte> bytes, void *buf, size_t cap, size_t *len_out, const std::string &what) {
  *len_out = bytes.size();
  if (bytes.size() > cap)
    return fail(SEGSTORE_E_BUFFER_TOO_SMALL, "buffer_too_small: " + what + " has " + std::to_string(bytes.size()) +
                                                 " bytes, the buffer " + std::to_string(cap));
  if (!bytes.empty()) std::memcpy(buf, bytes.data(), bytes.size());
  return SEGSTORE_OK;
}

}  // namespace

extern "C" {

int segstore_open(const char *dir, const segstore_options *opts, segstore_handle **out) {
  if (out == nullptr) return null_argument("segstore_open", "out");
  *out = nullptr;
  if (dir == nullptr) return null_argument("segstore_open", "dir");
  return guarded([&] {
    const segstore::Options options = opts != nullptr ? opts->options : segstore::Options{};
    segstore::Result<std::unique_ptr<segstore::Store>> store = segstore::Store::open(dir, options);
    if (!store.ok()) return code_of(store.status());
    auto handle = std::make_unique<segstore_handle>();
    handle->recovery_text = (*store)->recovery_report().to_string();
    handle->store_durability = options.durability;
    handle->store = std::move(*store);
    *out = handle.release();
    return SEGSTORE_OK;
  });
}

int segstore_close(segstore_handle *s) {
  if (s == nullptr) return SEGSTORE_OK;
  std::unique_ptr<segstore_handle> owned(s);
  return guarded([&] { return code_of(owned->store->close()); });
}

const char *segstore_dir(const segstore_handle *s) { return s == nullptr ? "" : s->store->dir().c_str(); }

int segstore_append(segstore_handle *s, uint32_t stream, const void *data, size_t len, uint64_t *lsn_out) {
  if (s == nullptr) return null_argument("segstore_append", "store");
  if (data == nullptr && len != 0) return null_argument("segstore_append", "data (with len > 0)");
  const segstore_batch_entry one{stream, data, len};
  return append_entries(s, &one, 1, std::nullopt, lsn_out, "segstore_append");
}

int segstore_append_durability(segstore_handle *s, uint32_t stream, const void *data, size_t len, int durability,
                               uint64_t *lsn_out) {
  if (s == nullptr) return null_argument("segstore_append_durability", "store");
  if (data == nullptr && len != 0) return null_argument("segstore_append_durability", "data (with len > 0)");
  const std::optional<segstore::Durability> mode = durability_of(durability);
  if (!mode) return bad_durability("segstore_append_durability", durability);
  const segstore_batch_entry one{stream, data, len};
  return append_entries(s, &one, 1, mode, lsn_out, "segstore_append_durability");
}

int segstore_append_batch(segstore_handle *s, const segstore_batch_entry *entries, size_t count,
                          uint64_t *first_lsn_out) {
  if (s == nullptr) return null_argument("segstore_append_batch", "store");
  if (entries == nullptr) return null_argument("segstore_append_batch", "entries");
  return append_entries(s, entries, count, std::nullopt, first_lsn_out, "segstore_append_batch");
}

int segstore_append_batch_durability(segstore_handle *s, const segstore_batch_entry *entries, size_t count,
                                     int durability, uint64_t *first_lsn_out) {
  if (s == nullptr) return null_argument("segstore_append_batch_durability", "store");
  if (entries == nullptr) return null_argument("segstore_append_batch_durability", "entries");
  const std::optional<segstore::Durability> mode = durability_of(durability);
  if (!mode) return bad_durability("segstore_append_batch_durability", durability);
  return append_entries(s, entries, count, mode, first_lsn_out, "segstore_append_batch_durability");
}

int segstore_append_async(segstore_handle *s, uint32_t stream, const void *data, size_t len, uint64_t *lsn_out) {
  if (s == nullptr) return null_argument("segstore_append_async", "store");
  if (data == nullptr && len != 0) return null_argument("segstore_append_async", "data (with len > 0)");
  return guarded([&] {
    segstore::Result<std::uint64_t> lsn = s->store->append_async(bytes_of(data, len), stream);
    if (!lsn.ok()) return code_of(lsn.status());
    if (lsn_out != nullptr) *lsn_out = *lsn;
    return SEGSTORE_OK;
  });
}

int segstore_sync(segstore_handle *s) {
  if (s == nullptr) return null_argument("segstore_sync", "store");
  return guarded([&] { return code_of(s->store->sync()); });
}

int segstore_wait_durable(segstore_handle *s, uint64_t lsn) {
  if (s == nullptr) return null_argument("segstore_wait_durable", "store");
  return guarded([&] { return code_of(s->store->wait_durable(lsn)); });
}

int segstore_read(segstore_handle *s, uint64_t lsn, void *buf, size_t cap, size_t *len_out,
                  uint32_t *stream_out) {
  if (s == nullptr) return null_argument("segstore_read", "store");
  if (len_out == nullptr) return null_argument("segstore_read", "len_out");
  if (buf == nullptr && cap != 0) return null_argument("segstore_read", "buf (with cap > 0)");
  return guarded([&] {
    segstore::Result<segstore::Record> record = s->store->read(lsn);
    if (!record.ok()) return code_of(record.status());
    if (stream_out != nullptr) *stream_out = record->stream;
    return copy_out(record->payload, buf, cap, len_out, "record " + std::to_string(lsn));
  });
}

int segstore_write_snapshot(segstore_handle *s, uint64_t lsn, const void *data, size_t len) {
  if (s == nullptr) return null_argument("segstore_write_snapshot", "store");
  if (data == nullptr && len != 0) return null_argument("segstore_write_snapshot", "data (with len > 0)");
  return guarded([&] { return code_of(s->store->write_snapshot(lsn, bytes_of(data, len))); });
}

int segstore_latest_snapshot(segstore_handle *s, uint64_t *lsn_out, void *buf, size_t cap, size_t *len_out) {
  if (s == nullptr) return null_argument("segstore_latest_snapshot", "store");
  if (len_out == nullptr) return null_argument("segstore_latest_snapshot", "len_out");
  if (buf == nullptr && cap != 0) return null_argument("segstore_latest_snapshot", "buf (with cap > 0)");
  return guarded([&] {
    segstore::Result<segstore::Snapshot> snapshot = s->store->latest_snapshot();
    if (!snapshot.ok()) return code_of(snapshot.status());
    if (lsn_out != nullptr) *lsn_out = snapshot->lsn;
    return copy_out(snapshot->state, buf, cap, len_out, "the snapshot at LSN " + std::to_string(snapshot->lsn));
  });
}

uint64_t segstore_first_lsn(const segstore_handle *s) { return s == nullptr ? 0 : s->store->first_lsn(); }
uint64_t segstore_next_lsn(const segstore_handle *s) { return s == nullptr ? 0 : s->store->next_lsn(); }
uint64_t segstore_durable_lsn(const segstore_handle *s) { return s == nullptr ? 0 : s->store->durable_lsn(); }

int segstore_truncate_after(segstore_handle *s, uint64_t lsn) {
  if (s == nullptr) return null_argument("segstore_truncate_after", "store");
  return guarded([&] { return code_of(s->store->truncate_after(lsn)); });
}

int segstore_trim_before(segstore_handle *s, uint64_t lsn) {
  if (s == nullptr) return null_argument("segstore_trim_before", "store");
  return guarded([&] { return code_of(s->store->trim_before(lsn)); });
}

int segstore_reset_to(segstore_handle *s, uint64_t lsn) {
  if (s == nullptr) return null_argument("segstore_reset_to", "store");
  return guarded([&] { return code_of(s->store->reset_to(lsn)); });
}

const char *segstore_strerror(int code) {
  switch (code) {
    case SEGSTORE_OK: return "ok";
    case SEGSTORE_E_INVALID_ARGUMENT: return "invalid_argument: a parameter is out of its documented range";
    case SEGSTORE_E_RECORD_TOO_LARGE: return "record_too_large: the payload (or batch) exceeds the maximum record size";
    case SEGSTORE_E_LSN_OUT_OF_RANGE: return "lsn_out_of_range: the LSN is below first_lsn or at/after next_lsn";
    case SEGSTORE_E_STORE_CLOSED: return "store_closed: the store was closed";
    case SEGSTORE_E_STORE_IN_USE: return "store_in_use: another open holds the store directory's LOCK";
    case SEGSTORE_E_NOT_A_STORE: return "not_a_store: the directory holds files that are not a segstore";
    case SEGSTORE_E_PERMISSION_DENIED: return "permission_denied: the operating system refused access";
    case SEGSTORE_E_IO_ERROR: return "io_error: the operating system reported an I/O error";
    case SEGSTORE_E_NO_SPACE: return "no_space: the device or quota is full";
    case SEGSTORE_E_READ_ONLY: return "read_only: a data sync failed earlier; reopen the store";
    case SEGSTORE_E_CORRUPTION: return "corruption: bytes on disk fail their checks";
    case SEGSTORE_E_BUFFER_TOO_SMALL: return "buffer_too_small: the buffer cannot hold the record";
    case SEGSTORE_E_NOT_FOUND: return "not_found: nothing of that kind exists";
    case SEGSTORE_E_RECOVERY_REQUIRED: return "recovery_required: strict recovery refused to cut the log";
    case SEGSTORE_E_UNSUPPORTED_VERSION: return "unsupported_version: an on-disk format version this build cannot read";
    case SEGSTORE_E_END_OF_LOG: return "end_of_log: the iterator is past the last record";
    case SEGSTORE_E_NOT_A_DIRECTORY: return "not_a_directory: the path exists but is not a directory";
    case SEGSTORE_E_BUSY: return "busy: the operation conflicts with another in progress";
    case SEGSTORE_E_LOG_FULL: return "log_full: next_lsn reached 2^64 - 1, no LSN is left to append";
    case SEGSTORE_E_TRUNCATED: return "truncated: truncate_after/reset_to removed the record before it became durable";
    case SEGSTORE_E_SPLITS_BATCH: return "splits_batch: the truncation point lies inside an atomic batch";
    case SEGSTORE_E_CANCELLED: return "cancelled: the waiting iterator was cancelled";
    case SEGSTORE_E_TIMED_OUT: return "timed_out: the wait's timeout passed first";
    case SEGSTORE_E_DATA_LOSS:
      return "data_loss: acknowledged records were lost; writes are refused until the loss is accepted";
    case SEGSTORE_E_NO_MEMORY: return "no_memory: an allocation failed";
    case SEGSTORE_E_INTERNAL: return "internal: an unexpected error inside libsegstore";
    default: return "unknown error code";
  }
}

const char *segstore_last_error_message(void) { return last_error_message.c_str(); }

}  // extern "C"
