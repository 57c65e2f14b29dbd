// log/batch_rules.cc — see log/batch_rules.h.
#include "log/batch_rules.h"

#include <string>

#include "base/assert.h"

namespace segstore::log {

BatchVerdict BatchRules::take(format::RecordType type) {
  using format::RecordType;
  switch (type) {
    case RecordType::padding:
      if (in_batch_) {
        violation_ = "padding inside an atomic batch";
        return BatchVerdict::violation;
      }
      return BatchVerdict::complete;
    case RecordType::full:
      if (in_batch_) {
        violation_ = "a full record inside an atomic batch";
        return BatchVerdict::violation;
      }
      return BatchVerdict::complete;
    case RecordType::batch_first:
      if (in_batch_) {
        violation_ = "a batch_first inside an atomic batch";
        return BatchVerdict::violation;
      }
      in_batch_ = true;
      return BatchVerdict::pending;
    case RecordType::batch_middle:
    case RecordType::batch_last:
      if (!in_batch_) {
        violation_ = "batch_middle or batch_last without a batch_first";
        return BatchVerdict::violation;
      }
      if (type == RecordType::batch_middle) return BatchVerdict::pending;
      in_batch_ = false;
      return BatchVerdict::complete;
    case RecordType::zero:
      break;
  }
  // decode_record accepts no other type: a zero type is the clean end, never a record.
  SEGSTORE_ASSERT(false, "batch rules given a record of type " + std::to_string(static_cast<int>(type)));
  return BatchVerdict::violation;
}

}  // namespace segstore::log
