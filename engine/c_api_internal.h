// engine/c_api_internal.h — what the files of the C API (engine/c_api*.cc) share: the structs
// behind its opaque handles and the guard that keeps C++ exceptions from reaching C.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "segstore/segstore.h"
#include "segstore/status.h"
#include "segstore/store.h"

struct segstore_options {
  segstore::Options options;
};

struct segstore_handle {
  std::unique_ptr<segstore::Store> store;
  std::string recovery_text;  // RecoveryReport::to_string(), made at open (segstore_recovery_text)
  segstore::Durability store_durability = segstore::Durability::sync;  // Options::durability
};

struct segstore_iter {
  std::optional<segstore::Iterator> iterator;
};

struct segstore_canceller {
  segstore::IteratorCanceller canceller;
};

namespace segstore::c_api {

// Keeps `message` as the calling thread's last error message; returns `code`.
int fail(int code, std::string message) noexcept;
// 0 for ok; else the negated Errc, its message kept by fail().
int code_of(const Status &status) noexcept;
// SEGSTORE_E_INVALID_ARGUMENT: "<function>: <argument> is NULL".
int null_argument(const char *function, const char *argument) noexcept;
// SEGSTORE_E_INVALID_ARGUMENT with `message`.
int invalid_argument(const std::string &message) noexcept;

// Runs `body` (returning an int code) with no exception escaping: an exception crossing an
// extern "C" frame is undefined behaviour, and in practice std::terminate.
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

inline std::span<const std::byte> bytes_of(const void *data, std::size_t len) {
  return {static_cast<const std::byte *>(data), len};
}

// SEGSTORE_DURABILITY_* as segstore::Durability; nullopt for any other value.
std::optional<Durability> durability_of(int durability) noexcept;

// A timeout of the C API (milliseconds, negative: forever) as the C++ API's.
std::chrono::milliseconds timeout_of(std::int64_t timeout_ms) noexcept;

}  // namespace segstore::c_api
