// api/c_api_options.cc — segstore_options: the C API's Options (segstore/segstore.h).
//
// Setters store values; ranges (sizes, counts) are checked once, by segstore_open, with the
// C++ API's messages. Values out of a listed set (durability, backend, ...) are refused here.
#include <string>

#include "api/c_api_internal.h"

using namespace segstore::c_api;

namespace {

int out_of_set(const char *function, const char *what, int value, const char *allowed) noexcept {
  return guarded([&] {
    return invalid_argument(std::string(function) + ": " + what + " " + std::to_string(value) + " is not " + allowed);
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
  const std::optional<segstore::Durability> mode = durability_of(durability);
  if (!mode)
    return out_of_set("segstore_options_set_durability", "durability", durability,
                      "SEGSTORE_DURABILITY_SYNC, _INTERVAL or _NONE");
  opts->options.durability = *mode;
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

int segstore_options_set_io_backend(segstore_options *opts, int backend) {
  if (opts == nullptr) return null_argument("segstore_options_set_io_backend", "opts");
  switch (backend) {
    case SEGSTORE_IO_BACKEND_AUTOMATIC: opts->options.io_backend = segstore::IoBackendKind::automatic; break;
    case SEGSTORE_IO_BACKEND_URING: opts->options.io_backend = segstore::IoBackendKind::uring; break;
    case SEGSTORE_IO_BACKEND_THREAD: opts->options.io_backend = segstore::IoBackendKind::thread; break;
    default:
      return out_of_set("segstore_options_set_io_backend", "backend", backend,
                        "SEGSTORE_IO_BACKEND_AUTOMATIC, _URING or _THREAD");
  }
  return SEGSTORE_OK;
}

int segstore_options_set_direct_io(segstore_options *opts, int direct) {
  if (opts == nullptr) return null_argument("segstore_options_set_direct_io", "opts");
  opts->options.direct_io = direct != 0;
  return SEGSTORE_OK;
}

int segstore_options_set_prealloc_mode(segstore_options *opts, int mode) {
  if (opts == nullptr) return null_argument("segstore_options_set_prealloc_mode", "opts");
  switch (mode) {
    case SEGSTORE_PREALLOC_ZERO_FILL: opts->options.prealloc = segstore::PreallocMode::zero_fill; break;
    case SEGSTORE_PREALLOC_FALLOCATE: opts->options.prealloc = segstore::PreallocMode::fallocate; break;
    case SEGSTORE_PREALLOC_AUTOMATIC: opts->options.prealloc = segstore::PreallocMode::automatic; break;
    default:
      return out_of_set("segstore_options_set_prealloc_mode", "mode", mode,
                        "SEGSTORE_PREALLOC_ZERO_FILL, _FALLOCATE or _AUTOMATIC");
  }
  return SEGSTORE_OK;
}

int segstore_options_set_preallocate_next_segment(segstore_options *opts, int enabled) {
  if (opts == nullptr) return null_argument("segstore_options_set_preallocate_next_segment", "opts");
  opts->options.preallocate_next_segment = enabled != 0;
  return SEGSTORE_OK;
}

int segstore_options_set_recycled_segments_max(segstore_options *opts, uint32_t files) {
  if (opts == nullptr) return null_argument("segstore_options_set_recycled_segments_max", "opts");
  opts->options.recycled_segments_max = files;
  return SEGSTORE_OK;
}

int segstore_options_set_write_group_bytes_max(segstore_options *opts, uint32_t bytes) {
  if (opts == nullptr) return null_argument("segstore_options_set_write_group_bytes_max", "opts");
  opts->options.write_group_bytes_max = bytes;
  return SEGSTORE_OK;
}

int segstore_options_set_inflight_groups_max(segstore_options *opts, uint32_t groups) {
  if (opts == nullptr) return null_argument("segstore_options_set_inflight_groups_max", "opts");
  opts->options.inflight_groups_max = groups;
  return SEGSTORE_OK;
}

int segstore_options_set_retention(segstore_options *opts, uint64_t bytes_max, uint64_t segments_max,
                                   uint64_t age_ms_max) {
  if (opts == nullptr) return null_argument("segstore_options_set_retention", "opts");
  opts->options.retain_bytes_max = bytes_max;
  opts->options.retain_segments_max = segments_max;
  opts->options.retain_age_ms_max = age_ms_max;
  return SEGSTORE_OK;
}

int segstore_options_set_verify_on_open(segstore_options *opts, int verify) {
  if (opts == nullptr) return null_argument("segstore_options_set_verify_on_open", "opts");
  opts->options.verify_on_open = verify != 0;
  return SEGSTORE_OK;
}

int segstore_options_set_strict_recovery(segstore_options *opts, int strict) {
  if (opts == nullptr) return null_argument("segstore_options_set_strict_recovery", "opts");
  opts->options.strict_recovery = strict != 0;
  return SEGSTORE_OK;
}

int segstore_options_set_accept_data_loss(segstore_options *opts, int accept) {
  if (opts == nullptr) return null_argument("segstore_options_set_accept_data_loss", "opts");
  opts->options.accept_data_loss = accept != 0;
  return SEGSTORE_OK;
}

int segstore_options_set_snapshots_kept(segstore_options *opts, uint32_t kept) {
  if (opts == nullptr) return null_argument("segstore_options_set_snapshots_kept", "opts");
  opts->options.snapshots_kept = kept;
  return SEGSTORE_OK;
}

int segstore_options_set_snapshot_due(segstore_options *opts, uint64_t every_records, segstore_snapshot_due_fn fn,
                                      void *context) {
  if (opts == nullptr) return null_argument("segstore_options_set_snapshot_due", "opts");
  return guarded([&] {
    if (fn == nullptr || every_records == 0) {
      opts->options.snapshot_every_records = 0;
      opts->options.on_snapshot_due = nullptr;
      return SEGSTORE_OK;
    }
    opts->options.snapshot_every_records = every_records;
    opts->options.on_snapshot_due = [fn, context](std::uint64_t lsn) { fn(context, lsn); };
    return SEGSTORE_OK;
  });
}

int segstore_options_set_logger(segstore_options *opts, int min_level, segstore_log_fn fn, void *context) {
  if (opts == nullptr) return null_argument("segstore_options_set_logger", "opts");
  if (min_level < SEGSTORE_LOG_DEBUG || min_level > SEGSTORE_LOG_ERROR)
    return out_of_set("segstore_options_set_logger", "min_level", min_level, "SEGSTORE_LOG_DEBUG .. _ERROR");
  return guarded([&] {
    if (fn == nullptr) {
      opts->options.logger = nullptr;
      return SEGSTORE_OK;
    }
    // The C levels are segstore::LogLevel's numbers (static_asserts at the end of this file).
    opts->options.logger = [fn, context, min_level](segstore::LogLevel level, const std::string &message) {
      if (static_cast<int>(level) >= min_level) fn(context, static_cast<int>(level), message.c_str());
    };
    return SEGSTORE_OK;
  });
}

}  // extern "C"

static_assert(SEGSTORE_LOG_DEBUG == static_cast<int>(segstore::LogLevel::debug));
static_assert(SEGSTORE_LOG_ERROR == static_cast<int>(segstore::LogLevel::error));
static_assert(SEGSTORE_LOG_INFO == static_cast<int>(segstore::LogLevel::info));
static_assert(SEGSTORE_LOG_WARNING == static_cast<int>(segstore::LogLevel::warning));
