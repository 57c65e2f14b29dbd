// api/c_api_stats.cc — statistics and recovery in the C API (segstore/segstore.h).
//
// segstore_stats grows by appending fields: the caller says how many bytes its struct has, the
// library fills that many (zeros past what it knows), so a program built against an older or a
// newer header works with this library.
#include <algorithm>
#include <cstring>
#include <string>

#include "api/c_api_internal.h"

using namespace segstore::c_api;

namespace {

segstore_distribution distribution_out(const segstore::Distribution &d) {
  return segstore_distribution{d.count, d.p50, d.p99, d.p999, d.max};
}

segstore_stats stats_out(const segstore::Stats &st) {
  segstore_stats out{};
  out.first_lsn = st.first_lsn;
  out.next_lsn = st.next_lsn;
  out.durable_lsn = st.durable_lsn;
  out.segment_count = st.segment_count;
  out.log_bytes = st.log_bytes;
  out.disk_bytes = st.disk_bytes;
  out.appends = st.appends;
  out.syncs = st.flushes;
  out.bytes_written = st.bytes_written;
  out.average_group_records = st.average_group_records;
  out.blocks_read = st.blocks_read;
  out.read_requests = st.read_requests;
  out.segments_recycled = st.segments_recycled;
  out.free_files = st.free_files;
  out.index_bytes = st.index_bytes;
  out.append_latency_us = distribution_out(st.append_latency_us);
  out.sync_latency_us = distribution_out(st.sync_latency_us);
  out.group_records = distribution_out(st.group_records);
  out.group_bytes = distribution_out(st.group_bytes);
  out.recovery_ran = st.recovery_ran ? 1 : 0;
  out.recovery_duration_us = st.recovery_duration_us;
  out.recovery_segments_scanned = st.recovery_segments_scanned;
  out.recovery_records_scanned = st.recovery_records_scanned;
  out.recovery_bytes_scanned = st.recovery_bytes_scanned;
  out.recovery_cut = st.recovery_cut ? 1 : 0;
  out.recovery_bytes_quarantined = st.recovery_bytes_quarantined;
  // Truncated to the field, always NUL-terminated.
  const std::size_t n = std::min(st.io_backend.size(), sizeof out.io_backend - 1);
  std::memcpy(out.io_backend, st.io_backend.data(), n);
  out.io_backend[n] = '\0';
  return out;
}

}  // namespace

extern "C" {

int segstore_get_stats(const segstore_handle *s, segstore_stats *out, size_t size) {
  if (s == nullptr) return null_argument("segstore_get_stats", "store");
  if (out == nullptr) return null_argument("segstore_get_stats", "out");
  return guarded([&] {
    const segstore_stats filled = stats_out(s->store->stats());
    const std::size_t known = std::min(size, sizeof filled);
    std::memcpy(out, &filled, known);
    if (size > known) std::memset(reinterpret_cast<unsigned char *>(out) + known, 0, size - known);
    return SEGSTORE_OK;
  });
}

int segstore_get_stream_records(const segstore_handle *s, uint32_t *streams, uint64_t *records, size_t cap,
                                size_t *count_out) {
  if (s == nullptr) return null_argument("segstore_get_stream_records", "store");
  if (count_out == nullptr) return null_argument("segstore_get_stream_records", "count_out");
  if (cap != 0 && (streams == nullptr || records == nullptr))
    return null_argument("segstore_get_stream_records", "streams or records (with cap > 0)");
  return guarded([&] {
    const segstore::Stats st = s->store->stats();
    std::size_t i = 0;
    for (const auto &[stream, count] : st.records_per_stream) {
      if (i < cap) {
        streams[i] = stream;
        records[i] = count;
      }
      ++i;
    }
    *count_out = i;
    return SEGSTORE_OK;
  });
}

const char *segstore_recovery_text(const segstore_handle *s) { return s == nullptr ? "" : s->recovery_text.c_str(); }

int segstore_recover(const char *dir, const segstore_options *opts) {
  if (dir == nullptr) return null_argument("segstore_recover", "dir");
  return guarded([&] {
    const segstore::Options options = opts != nullptr ? opts->options : segstore::Options{};
    return code_of(segstore::recover(dir, options).status());
  });
}

}  // extern "C"
