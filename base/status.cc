#include "segstore/status.h"

namespace segstore {

const char *errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::record_too_large: return "record_too_large";
    case Errc::lsn_out_of_range: return "lsn_out_of_range";
    case Errc::store_closed: return "store_closed";
    case Errc::store_in_use: return "store_in_use";
    case Errc::not_a_store: return "not_a_store";
    case Errc::permission_denied: return "permission_denied";
    case Errc::io_error: return "io_error";
    case Errc::no_space: return "no_space";
    case Errc::read_only: return "read_only";
    case Errc::corruption: return "corruption";
    case Errc::buffer_too_small: return "buffer_too_small";
    case Errc::not_found: return "not_found";
    case Errc::recovery_required: return "recovery_required";
    case Errc::unsupported_version: return "unsupported_version";
    case Errc::end_of_log: return "end_of_log";
    case Errc::not_a_directory: return "not_a_directory";
    case Errc::busy: return "busy";
    case Errc::log_full: return "log_full";
    case Errc::truncated: return "truncated";
    case Errc::splits_batch: return "splits_batch";
    case Errc::cancelled: return "cancelled";
    case Errc::timed_out: return "timed_out";
    case Errc::data_loss: return "data_loss";
    case Errc::not_a_regular_file: return "not_a_regular_file";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(errc_name(code_)) + ": " + message_;
}

}  // namespace segstore
