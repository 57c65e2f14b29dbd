// log/batch_rules.h — the rules of atomic batches, in one place: which record type may follow
// which, and when the records read so far count.
//
// A batch is batch_first, any number of batch_middle, batch_last, at consecutive LSNs; its
// records count only once its batch_last is read (docs/FORMAT.md "Atomic batches"). A full
// record counts at once; padding (written only where a write group is cut) holds no LSN and is
// never inside a batch. Recovery's scan, the engine's index rebuild and the inspection tools
// all judge batches with this class.
//
// Thread-safety: none; one per walk.
#pragma once

#include <cstdint>

#include "format/record.h"

namespace segstore::log {

enum class BatchVerdict : std::uint8_t {
  pending,    // the record belongs to a batch whose batch_last is not read yet
  complete,   // everything read so far counts (a full record, padding, or a batch_last)
  violation,  // the type is forbidden here: the walk stops before this record (why: violation())
};

class BatchRules {
 public:
  // Judges the next record (a valid one: never type zero) and moves the state on. After a
  // violation the state is unchanged.
  BatchVerdict take(format::RecordType type);
  bool in_batch() const { return in_batch_; }
  // Why the last take() was a violation (text for reports).
  const char *violation() const { return violation_; }

 private:
  bool in_batch_ = false;
  const char *violation_ = "";
};

}  // namespace segstore::log
