#include "engine/segment.h"

#include <utility>

namespace segstore::engine {

std::shared_ptr<Segment> segment_of(recovery::RecoveredSegment &&recovered) {
  auto seg = std::make_shared<Segment>();
  seg->id = recovered.id;
  seg->base_lsn = recovered.base_lsn;
  seg->segment_bytes = recovered.segment_bytes;
  seg->created_unix_ms = recovered.created_unix_ms;
  seg->path = std::move(recovered.path);
  seg->file = std::move(recovered.file);
  seg->recycled = recovered.recycled;
  seg->record_seed = recovered.record_seed;
  seg->record_count = recovered.record_count;
  seg->end_offset = recovered.end_offset;
  seg->sealed = recovered.sealed;
  seg->index = std::move(recovered.index);
  // A sealed segment's index no longer grows: what recovery's scan left for growth goes back.
  if (seg->sealed) seg->index.shrink_to_fit();
  seg->index_loaded = recovered.index_loaded;
  seg->index_path = std::move(recovered.index_path);
  seg->header_checked.store(recovered.header_checked, std::memory_order_relaxed);
  return seg;
}

}  // namespace segstore::engine
