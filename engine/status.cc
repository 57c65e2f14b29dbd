#include <sstream>

#include "segstore/status.h"
#include "segstore/store.h"

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
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(errc_name(code_)) + ": " + message_;
}

std::string RecoveryReport::to_string() const {
  std::ostringstream out;
  if (!ran) {
    out << "clean shutdown: no recovery scan needed";
  } else {
    out << "recovery: " << segments_checked << " segments checked, " << segments_scanned
        << " scanned, " << records_recovered << " records in scanned part, " << bytes_scanned
        << " bytes scanned in " << duration_us << " us";
  }
  if (cut) {
    out << "\nlog cut in " << cut_file << " at offset " << cut_offset << " (first LSN cut "
        << cut_lsn << "): " << cut_reason;
  }
  if (acknowledged_data_lost) {
    out << "\nDATA LOSS: acknowledged records " << lost_lsn_first << ".." << lost_lsn_last
        << " are missing (" << loss_evidence << "); "
        << (loss_accepted ? "the loss was accepted: their LSNs are handed out again"
                          : "writes are refused until the loss is accepted (segstore recover --accept-loss)");
  }
  if (cut) out << "\n" << bytes_quarantined << " bytes moved to " << quarantine_dir;
  for (const auto &note : notes) out << "\nnote: " << note;
  return out.str();
}

}  // namespace segstore
