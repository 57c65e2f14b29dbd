// log/segment_scan.h — reading one segment record by record: where its valid records end,
// why they end there (the clean end, or damage: where, how many bytes, why), and what lies
// after a damaged point (the bytes to quarantine and the records that prove acknowledged loss).
//
// The scanner only reads, through log/segment_reader.h, and judges batches with
// log/batch_rules.h. It decides nothing about the log: recovery/cut_decision.h does, from these
// reports, in one place. Recovery, the engine's index rebuild and verify all call it.
//
// Memory: one read window (read_window_bytes, larger only for a record that does not fit,
// bounded by the segment size). Thread-safety: none; one scan per call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "format/record.h"
#include "io/aligned_buffer.h"
#include "io/env.h"
#include "log/segment_index.h"
#include "log/segment_reader.h"

namespace segstore::log {

// Why the records of a segment stop where they stop.
enum class ScanStop : std::uint8_t {
  clean_end,                  // a zero header and only zeros up to the segment end (or fewer
                              // than a header's bytes left, all zero)
  bad_record,                 // decode_record failed: see ScanResult::record_error
  nonzero_after_zero_header,  // a zero header, but non-zero bytes before the segment end
  nonzero_short_tail,         // fewer than a header's bytes left, and they are not zero
  batch_incomplete,           // clean end reached inside an atomic batch (its last is missing)
  batch_sequence,             // a record type where the batch rules forbid it (a middle or last
                              // without a first; a full, padding or first inside a batch)
};
const char *scan_stop_name(ScanStop stop);

struct ScanRequest {
  io::File *file = nullptr;
  // Bytes of the segment that may hold records: min(file size, header segment_bytes).
  std::uint64_t limit = 0;
  std::uint64_t base_lsn = 0;
  std::uint64_t start_offset = format::segment_data_offset_bytes;  // multiple of 8
  std::uint64_t start_lsn = 0;  // LSN expected at start_offset
  // Records accepted are added here (lsn - base_lsn, offset, stream); may be nullptr.
  SegmentIndex *index = nullptr;
  // At a zero record header, read on to the limit: the bytes there must all be zero (a zero
  // header before data is a lost header). Off only for a quick look that need not read the
  // preallocated rest of a segment (describe).
  bool check_zeros_after_end = true;
  std::function<void(std::uint64_t)> on_read;  // gets each read's byte count; may be empty
  // Windows read ahead while records are decoded (log/window_reads.h); nullptr: synchronous
  // reads. Every read it started for this segment is waited for before scan_segment returns
  // (a follower's, WindowReads::follow_with, stay in flight).
  WindowReads *ahead = nullptr;
  // The segment's header (format::record_crc_seed_of): a recycled segment's record checksums are
  // seeded, and the bytes after its records are a previous life's, not zeros. There, where the
  // records stop at a header that is not this life's (zero, or failing its seeded checksum), they
  // end cleanly unless a record header of this life lies at a later block start (every group is
  // written from one): then it is damage, as in any segment.
  std::uint32_t record_seed = 0;
  bool recycled = false;
};

struct ScanResult {
  ScanStop stop = ScanStop::clean_end;
  format::RecordError record_error = format::RecordError::none;  // stop == bad_record
  std::uint64_t records = 0;     // records (not padding) accepted by this scan
  std::uint64_t end_offset = 0;  // first byte after the last accepted record or padding
  std::uint64_t next_lsn = 0;    // the LSN after the last accepted record
  // Where a check failed (stop != clean_end), and the LSN expected there. An unfinished batch
  // (batch_incomplete) is found at its batch_first. cut_offset/cut_lsn are the first byte and
  // LSN not kept: found_offset, moved back to the batch_first of a batch the damage left open
  // (== end_offset).
  std::uint64_t found_offset = 0;
  std::uint64_t found_lsn = 0;
  std::uint64_t nonzero_offset = 0;       // nonzero_* stops: the first non-zero byte
  const char *batch_violation = "";       // stop == batch_sequence: the rule broken
  std::uint64_t cut_offset = 0;
  std::uint64_t cut_lsn = 0;
  std::uint64_t bytes_read = 0;  // segment bytes looked at (records and zeros checked)
  // A recycled segment that ends cleanly before bytes that are not zero (a previous life's, or a
  // write of this life that never completed): recovery zeroes them before records follow.
  bool stale_after_end = false;

  bool damaged() const { return stop != ScanStop::clean_end; }
};

// Walks records from request.start_offset with decode_record(bytes, &expected_lsn) over
// windows read with File::read_at. Every length is bounded by `limit` before anything is read
// or allocated. Errors: only I/O errors (a short read before `limit` is io_error); damage is a
// result, never an error.
Result<ScanResult> scan_segment(const ScanRequest &request);

// What lies in [from, limit) of a segment after a damaged point.
struct TailSurvey {
  // One past the last non-zero byte (== from when everything is zero): the bytes to quarantine.
  std::uint64_t nonzero_end = 0;
  // Record headers that still pass their checksum at 8-byte aligned positions (not padding,
  // with a plausible LSN: base_lsn <= lsn < base_lsn + limit / record_header_bytes).
  std::uint64_t headers_found = 0;
  std::uint64_t lsn_max_seen = 0;      // highest such LSN (valid when headers_found != 0)
  // Highest lsn - durable_lag among them: the writer knew every LSN below it was durable.
  std::uint64_t durable_end_max = 0;
  std::uint64_t bytes_read = 0;
};

// Reads [from, limit) in windows (bounded: never more than `limit`), tracking the last non-zero
// byte and trying decode_record_header at every 8-byte aligned position.
// `record_seed`: the segment's (ScanRequest::record_seed). In a recycled segment only headers
// of this life count, and nonzero_end is the end of the last one's record (rounded up to its
// block), not the last non-zero byte: the rest is a previous life's.
Result<TailSurvey> survey_tail(io::File &file, std::uint64_t from, std::uint64_t limit,
                               std::uint64_t base_lsn, std::uint32_t record_seed = 0, bool recycled = false);

// The first non-zero byte in [from, to), or `to` when all are zero. Reads in big windows.
Result<std::uint64_t> find_nonzero(io::File &file, std::uint64_t from, std::uint64_t to,
                                   std::uint64_t *bytes_read);

// Reads up to `bytes` (a multiple of the block size) at block-aligned `offset` into `buffer`,
// returning the bytes read (fewer only at the end of the file).
Result<std::size_t> read_blocks(io::File &file, std::uint64_t offset, io::AlignedBuffer &buffer,
                                std::size_t bytes);

}  // namespace segstore::log
