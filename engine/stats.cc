// engine/stats.cc — LSN accessors and the statistics snapshot.
#include "engine/store_impl.h"

#include <unordered_set>

namespace segstore {

using namespace engine;

namespace {
Distribution distribution_of(const base::Histogram &histogram) {
  const base::HistogramSummary summary = histogram.summary();
  return Distribution{summary.count, summary.p50, summary.p99, summary.p999, summary.max};
}
}  // namespace

std::uint64_t Store::Impl::first_lsn() const {
  std::lock_guard lock(mu_);
  return first_lsn_;
}
std::uint64_t Store::Impl::next_lsn() const {
  std::lock_guard lock(mu_);
  return next_lsn_;
}
std::uint64_t Store::Impl::durable_lsn() const {
  std::lock_guard lock(mu_);
  return durable_lsn_;
}

Stats Store::Impl::stats() const {
  std::vector<std::shared_ptr<Segment>> segments;
  std::unordered_set<const Segment *> size_unknown;  // header not checked yet when listed
  Stats s;
  {
    std::lock_guard lock(mu_);
    s.first_lsn = first_lsn_;
    s.next_lsn = next_lsn_;
    s.durable_lsn = durable_lsn_;
    s.appends = appends_;
    s.flushes = flushes_;
    s.segments_recycled = segments_recycled_;
    s.free_files = free_files_.size();
    s.bytes_written = bytes_written_;
    s.average_group_records = flushes_ == 0 ? 0.0 : static_cast<double>(records_made_durable_) / flushes_;
    for (const auto &[base, seg] : segments_) {
      segments.push_back(seg);
      s.log_bytes += seg->end_offset;
      // A segment not opened yet (engine/segment.h) learns its size when its header is checked,
      // in the index loads below.
      if (seg->header_checked.load(std::memory_order_acquire)) s.disk_bytes += seg->segment_bytes;
      else size_unknown.insert(seg.get());
    }
    s.segment_count = segments.size();
    // The spare belongs to no LSN range yet, but its file takes space like the others.
    if (preallocated_) s.disk_bytes += preallocated_->segment_bytes;
  }
  s.blocks_read = blocks_read_.load(std::memory_order_relaxed);
  s.read_requests = read_requests_.load(std::memory_order_relaxed);
  s.io_backend = env_->describe();
  s.append_latency_us = distribution_of(append_latency_us_);
  s.sync_latency_us = distribution_of(sync_latency_us_);
  s.group_records = distribution_of(group_records_);
  s.group_bytes = distribution_of(group_bytes_);
  s.recovery_ran = recovery_report_.ran;
  s.recovery_duration_us = recovery_report_.duration_us;
  s.recovery_segments_scanned = recovery_report_.segments_scanned;
  s.recovery_records_scanned = recovery_report_.records_recovered;
  s.recovery_bytes_scanned = recovery_report_.bytes_scanned;
  s.recovery_cut = recovery_report_.cut;
  s.recovery_bytes_quarantined = recovery_report_.bytes_quarantined;
  for (const auto &seg : segments) {
    std::lock_guard lock(seg->index_mu);
    if (!load_segment_index_locked(*env_, *seg, store_id_, options_.logger).ok()) continue;
    if (size_unknown.count(seg.get()) != 0) s.disk_bytes += seg->segment_bytes;
    s.index_bytes += seg->index.memory_bytes();
    for (const auto &[stream, blocks] : seg->index.streams()) s.records_per_stream[stream] += blocks.records;
  }
  return s;
}

}  // namespace segstore
