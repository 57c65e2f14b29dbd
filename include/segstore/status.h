// segstore/status.h — errors as values.
//
// Every fallible call in libsegstore returns a Status or a Result<T>. No exception crosses the
// library boundary. A Status carries a code (stable; the C API returns it negated) and a message
// that names the file, the offset and the cause where there is one.
//
// Thread-safety: plain values; copy freely.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "segstore/export.h"

namespace segstore {

// Stable numbering: the C API returns -static_cast<int>(code). Never renumber; append only.
enum class Errc : int {
  ok = 0,
  invalid_argument = 1,     // a parameter is out of its documented range
  record_too_large = 2,     // payload (or batch) exceeds the maximum record size
  lsn_out_of_range = 3,     // LSN below first_lsn or at/after next_lsn
  store_closed = 4,         // the store was closed
  store_in_use = 5,         // another open holds the directory's LOCK
  not_a_store = 6,          // the directory holds files that are not a segstore
  permission_denied = 7,    // the OS refused access
  io_error = 8,             // the OS reported an I/O error (errno in the message)
  no_space = 9,             // ENOSPC / EDQUOT
  read_only = 10,           // a data sync failed earlier; the store refuses writes until reopened
  corruption = 11,          // bytes on disk fail their checks
  buffer_too_small = 12,    // caller's buffer cannot hold the record
  not_found = 13,           // nothing of that kind exists (e.g. no snapshot)
  recovery_required = 14,   // strict recovery refused to cut the log
  unsupported_version = 15, // on-disk format version this build cannot read
  end_of_log = 16,          // an iterator is past the last record
  not_a_directory = 17,     // the path exists but is not a directory
  busy = 18,                // the operation conflicts with another in progress
  log_full = 19,            // next_lsn reached the LSN limit (2^64 - 1): no LSN is left to append
  truncated = 20,           // truncate_after/reset_to removed the record before it was durable
  splits_batch = 21,        // truncate_after's cut point lies inside an atomic batch
  cancelled = 22,           // Iterator::cancel() ended the wait before a record came
  timed_out = 23,           // a wait's timeout passed before what it waited for happened
  data_loss = 24,           // acknowledged records were lost: writes are refused until the loss is
                            // accepted (Options::accept_data_loss, `segstore recover --accept-loss`)
};

SEGSTORE_API const char *errc_name(Errc code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }
  bool ok() const noexcept { return code_ == Errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  Errc code() const noexcept { return code_; }
  const std::string &message() const noexcept { return message_; }
  // "<code name>: <message>"
  SEGSTORE_API std::string to_string() const;

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return std::holds_alternative<T>(state_); }
  explicit operator bool() const noexcept { return ok(); }
  T &value() & { return std::get<T>(state_); }
  const T &value() const & { return std::get<T>(state_); }
  T &&value() && { return std::get<T>(std::move(state_)); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }
  T &&operator*() && { return std::move(*this).value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  // The error; ok_status() when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace segstore

// Internal convenience: return early when a Status-returning expression fails.
#define SEGSTORE_TRY(expr)                         \
  do {                                             \
    ::segstore::Status segstore_try_status_ = (expr); \
    if (!segstore_try_status_.ok()) return segstore_try_status_; \
  } while (0)
