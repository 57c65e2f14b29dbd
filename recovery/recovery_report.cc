// recovery/recovery_report.cc — the text of a RecoveryReport (segstore/store.h), which the
// recovery pass fills.
#include <sstream>

#include "segstore/store.h"

namespace segstore {

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
