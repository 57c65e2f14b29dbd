// engine/c_api.cc — the C API (segstore/segstore.h) over the C++ Store.
//
// Every entry point runs its body inside `guarded()`, which turns any C++ exception into an
// error code: nothing may unwind into C (an exception crossing an extern "C" frame is
// undefined behaviour, and in practice std::terminate). Failures also leave their full message
// in a thread-local string for segstore_last_error_message().
#include "segstore/segstore.h"

#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "segstore/status.h"
#include "segstore/store.h"

struct segstore_options {
  segstore::Options options;
};

struct segstore_handle {
  std::unique_ptr<segstore::Store> store;
};

struct segstore_iter {
  std::optional<segstore::Iterator> iterator;
};

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

// Runs `body` (returning an int code) with no exception escaping.
template <typename Body>
int guarded(Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(SEGSTORE_E_NO_MEMORY, "out of memory");
  } catch (const std::exception &e) {
    return fail(SEGSTORE_E_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(SEGSTORE_E_INTERNAL, "internal error: unknown exception");
  }
}

int null_argument(const char *function, const char *argument) noexcept {
  return guarded([&] {
    return fail(SEGSTORE_E_INVALID_ARGUMENT,
                std::string("invalid_argument: ") + function + ": " + argument + " is NULL");
  });
}

std::span<const std::byte> bytes_of(const void *data, size_t len) {
  return {static_cast<const std::byte *>(data), len};
}

int open_iterator(segstore_handle *s, uint64_t from_lsn, const uint32_t *stream, segstore_iter **out,
                  const char *function) noexcept {
  if (out == nullptr) return null_argument(function, "out");
  *out = nullptr;
  if (s == nullptr) return null_argument(function, "store");
  return guarded([&] {
    segstore::Result<segstore::Iterator> it =
        stream != nullptr ? s->store->scan(from_lsn, *stream) : s->store->scan(from_lsn);
    if (!it.ok()) return code_of(it.status());
    auto handle = std::make_unique<segstore_iter>();
    handle->iterator.emplace(std::move(*it));
    *out = handle.release();
    return SEGSTORE_OK;
  });
}

}  // namespace

extern "C" {

segstore_options *segstore_options_create(void) {
  try {
    return new segstore_options();
  } catch (...) {
    fail(SEGSTORE_E_NO_MEMORY, "out of memory");
    return nullptr;
  }
}

void segstore_options_destroy(segstore_options *opts) { delete opts; }

int segstore_options_set_segment_bytes(segstore_options *opts, uint64_t bytes) {
  if (opts == nullptr) return null_argument("segstore_options_set_segment_bytes", "opts");
  opts->options.segment_bytes = bytes;
  return SEGSTORE_OK;
}

int segstore_options_set_durability(segstore_options *opts, int durability) {
  if (opts == nullptr) return null_argument("segstore_options_set_durability", "opts");
  switch (durability) {
    case SEGSTORE_DURABILITY_SYNC: opts->options.durability = segstore::Durability::sync; break;
    case SEGSTORE_DURABILITY_INTERVAL: opts->options.durability = segstore::Durability::interval; break;
    case SEGSTORE_DURABILITY_NONE: opts->options.durability = segstore::Durability::none; break;
    default:
      return guarded([&] {
        return fail(SEGSTORE_E_INVALID_ARGUMENT,
                    "invalid_argument: durability " + std::to_string(durability) +
                        " is not SEGSTORE_DURABILITY_SYNC, _INTERVAL or _NONE");
      });
  }
  return SEGSTORE_OK;
}

int segstore_options_set_flush_interval_ms(segstore_options *opts, uint32_t ms) {
  if (opts == nullptr) return null_argument("segstore_options_set_flush_interval_ms", "opts");
  opts->options.flush_interval_ms = ms;
  return SEGSTORE_OK;
}

int segstore_options_set_create_if_missing(segstore_options *opts, int create) {
  if (opts == nullptr) return null_argument("segstore_options_set_create_if_missing", "opts");
  opts->options.create_if_missing = create != 0;
  return SEGSTORE_OK;
}

int segstore_open(const char *dir, const segstore_options *opts, segstore_handle **out) {
  if (out == nullptr) return null_argument("segstore_open", "out");
  *out = nullptr;
  if (dir == nullptr) return null_argument("segstore_open", "dir");
  return guarded([&] {
    const segstore::Options options = opts != nullptr ? opts->options : segstore::Options{};
    segstore::Result<std::unique_ptr<segstore::Store>> store = segstore::Store::open(dir, options);
    if (!store.ok()) return code_of(store.status());
    auto handle = std::make_unique<segstore_handle>();
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

int segstore_append(segstore_handle *s, uint32_t stream, const void *data, size_t len, uint64_t *lsn_out) {
  if (s == nullptr) return null_argument("segstore_append", "store");
  if (data == nullptr && len != 0) return null_argument("segstore_append", "data (with len > 0)");
  return guarded([&] {
    segstore::Result<std::uint64_t> lsn = s->store->append(bytes_of(data, len), stream);
    if (!lsn.ok()) return code_of(lsn.status());
    if (lsn_out != nullptr) *lsn_out = *lsn;
    return SEGSTORE_OK;
  });
}

int segstore_append_batch(segstore_handle *s, const segstore_batch_entry *entries, size_t count,
                          uint64_t *first_lsn_out) {
  if (s == nullptr) return null_argument("segstore_append_batch", "store");
  if (entries == nullptr) return null_argument("segstore_append_batch", "entries");
  return guarded([&] {
    std::vector<segstore::BatchEntry> batch(count);
    for (size_t i = 0; i < count; ++i) {
      if (entries[i].data == nullptr && entries[i].len != 0)
        return fail(SEGSTORE_E_INVALID_ARGUMENT, "invalid_argument: segstore_append_batch: entry " +
                                                     std::to_string(i) + " has NULL data and len > 0");
      batch[i] = segstore::BatchEntry{entries[i].stream, bytes_of(entries[i].data, entries[i].len)};
    }
    segstore::Result<std::uint64_t> lsn = s->store->append_batch(batch);
    if (!lsn.ok()) return code_of(lsn.status());
    if (first_lsn_out != nullptr) *first_lsn_out = *lsn;
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
    const std::size_t size = record->payload.size();
    *len_out = size;
    if (stream_out != nullptr) *stream_out = record->stream;
    if (size > cap)
      return fail(SEGSTORE_E_BUFFER_TOO_SMALL,
                  "buffer_too_small: record " + std::to_string(lsn) + " has " + std::to_string(size) +
                      " bytes, the buffer " + std::to_string(cap));
    if (size != 0) std::memcpy(buf, record->payload.data(), size);
    return SEGSTORE_OK;
  });
}

int segstore_iter_open(segstore_handle *s, uint64_t from_lsn, segstore_iter **out) {
  return open_iterator(s, from_lsn, nullptr, out, "segstore_iter_open");
}

int segstore_iter_open_stream(segstore_handle *s, uint64_t from_lsn, uint32_t stream, segstore_iter **out) {
  return open_iterator(s, from_lsn, &stream, out, "segstore_iter_open_stream");
}

int segstore_iter_next(segstore_iter *it, uint64_t *lsn, uint32_t *stream, const void **data,
                       size_t *len) {
  if (it == nullptr) return null_argument("segstore_iter_next", "iterator");
  return guarded([&] {
    segstore::Result<bool> got = it->iterator->next();
    if (!got.ok()) return code_of(got.status());
    if (!*got) return 0;
    const segstore::RecordView &record = it->iterator->record();
    if (lsn != nullptr) *lsn = record.lsn;
    if (stream != nullptr) *stream = record.stream;
    if (data != nullptr) *data = record.payload.data();
    if (len != nullptr) *len = record.payload.size();
    return 1;
  });
}

void segstore_iter_close(segstore_iter *it) { delete it; }

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
