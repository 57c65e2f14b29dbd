// fuzz/segment_scan.cc — the recovery pass and the read path on an arbitrary segment file.
//
// Each input gets a fresh store directory holding a valid META and one segment file (or two)
// made from the input; Store::open runs recovery on it, then the harness reads back everything
// the store says it holds. The store must never crash, hang or allocate by an untrusted length
// (ASan, libFuzzer's -timeout and -malloc_limit_mb), and every record it keeps must re-verify:
// read(lsn) for each LSN, scan() from the first and per stream, all equal to one another and to
// an intact record at that LSN in the files (an independent walk, fuzz/harness_support.h).
//
// Input layout (ByteReader; missing bytes read as zero):
//   u8 layout   bits 0-1  0: the rest is the whole segment file, header included
//                         1: a valid header, then the rest as the data area from offset 4096
//                         2: as 1, segment_bytes in the header taken from the input
//                         3: as 1, split into two segments (ids 1 and 2)
//               bit 2     recompute each record's checksums in the data area(s)
//               bit 3     also rewrite each record's lsn to the one expected there
//               bit 4     pad the file with zeros to its header's segment_bytes (at most 64 KiB)
//               bit 5     also write a CLEAN marker for segment 1 (fields from the input)
//               bit 6     open with verify_on_open
//               bit 7     open with strict_recovery
//   u8 extras   bit 0     base_lsn from a u64 of the input (else a u8)
//               bit 1     META first_lsn = base_lsn (else 0)
//               bit 2     after reading, append one record, close, reopen and read again
//               bit 3     durability sync for that append (else none)
//               bit 4     the segment(s) are recycled (header version 2, flag recycled; records
//                         checksummed with the segment id as seed when bit 2 fixes them)
//   u8/u64      base_lsn
//   [layout 2]  u8 segment size choice   [layout 3] u16 split point, u8 LSN step to segment 2
//   [bit 5]     u64 next_lsn, u32 active_end_offset for CLEAN
//   rest        the file bytes
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "format/index_snapshot.h"
#include "fuzz/harness_support.h"
#include "segstore/store.h"

namespace segstore::fuzz {
namespace {

constexpr std::uint64_t store_id = 0x0123456789abcdefull;
constexpr std::uint64_t segment_bytes_small = format::segment_size_min_bytes;  // 16 KiB
// Files the harness writes are at most this large (padding included): keeps executions fast.
constexpr std::uint64_t file_bytes_max = 64 * 1024;
// The walks read a file up to this size; recovery may not grow a file past what it was given,
// and the engine may preallocate a new 16 KiB segment.
constexpr std::size_t walk_file_bytes_max = 1u << 20;

struct Layout {
  std::uint8_t mode = 0;
  std::uint8_t extras = 0;
  std::uint64_t base_lsn = 0;
  std::uint8_t size_choice = 0;
  std::uint16_t split = 0;
  std::uint8_t lsn_step = 0;
  std::uint64_t clean_next_lsn = 0;
  std::uint32_t clean_end_offset = 0;
};

std::uint64_t header_segment_bytes(const Layout &layout, std::uint64_t data_bytes) {
  const std::uint64_t fitting =
      std::max<std::uint64_t>(segment_bytes_small,
                              format::align_up(format::segment_data_offset_bytes + data_bytes,
                                               format::block_size_bytes));
  if ((layout.mode & 3) != 2) return fitting;
  // Sizes around the edges: the minimum, what fits, larger than the file, the maximum, and
  // values a reader must refuse (unaligned, too small, too large).
  switch (layout.size_choice % 8) {
    case 0: return segment_bytes_small;
    case 1: return fitting;
    case 2: return fitting + format::block_size_bytes;
    case 3: return format::segment_size_max_bytes;
    case 4: return fitting + 8;
    case 5: return format::block_size_bytes * 3;
    case 6: return format::segment_size_max_bytes + format::block_size_bytes;
    default: return std::uint64_t{layout.size_choice} * format::block_size_bytes;
  }
}

// Recomputes checksums (and LSNs) of the records laid out in `file` from offset 4096, so that
// the fuzzer's mutations of types, lengths, streams and gaps get past the CRCs.
void fix_records(Bytes &file, std::uint64_t base_lsn, bool fix_lsns, std::uint32_t seed) {
  using namespace format;
  std::uint64_t position = segment_data_offset_bytes;
  std::uint64_t lsn = base_lsn;
  // Each pass moves at least 32 bytes forward.
  while (position + record_header_bytes <= file.size()) {
    std::byte *p = file.data() + position;
    if (all_zero(p, record_header_bytes)) break;
    if (fix_lsns) store_u64(p + 8, lsn);
    fix_record_checksums(std::span(file).subspan(position), seed);
    if (std::to_integer<std::uint8_t>(p[24]) != static_cast<std::uint8_t>(RecordType::padding)) ++lsn;
    position += record_disk_bytes(load_u32(p + 16));
  }
}

Bytes make_segment(const Layout &layout, std::uint64_t id, std::uint64_t base_lsn,
                   std::span<const std::byte> data) {
  using namespace format;
  Bytes file;
  if ((layout.mode & 3) == 0) {
    file = bytes_of(data.first(std::min<std::size_t>(data.size(), file_bytes_max)));
  } else {
    const std::size_t data_bytes =
        std::min<std::size_t>(data.size(), file_bytes_max - segment_data_offset_bytes);
    file.assign(segment_data_offset_bytes + data_bytes, std::byte{0});
    SegmentHeader header;
    if ((layout.extras & 16) != 0) header.flags = segment_flag_recycled;
    header.format_version = segment_format_version_for(header.flags);
    header.block_size_bytes = block_size_bytes;
    header.segment_id = id;
    header.base_lsn = base_lsn;
    header.segment_bytes = header_segment_bytes(layout, data_bytes);
    header.created_unix_ms = 1795000000000ull;
    header.store_id = store_id;
    // encode_segment_header refuses sizes a reader would refuse: write a valid one, then patch
    // segment_bytes and the checksum so that recovery sees the fuzzer's choice.
    const std::uint64_t wanted = header.segment_bytes;
    header.segment_bytes = segment_bytes_small;
    encode_segment_header(header, file.data());
    store_u64(file.data() + 32, wanted);
    store_u32(file.data() + 60, crc32c_mask(crc32c(std::span<const std::byte>(file).first(60))));
    if (data_bytes > 0) std::memcpy(file.data() + segment_data_offset_bytes, data.data(), data_bytes);
  }
  const std::uint32_t seed = (layout.mode & 3) != 0 && (layout.extras & 16) != 0 ? record_crc_seed(id) : 0;
  if ((layout.mode & 4) != 0) fix_records(file, base_lsn, (layout.mode & 8) != 0, seed);
  if ((layout.mode & 16) != 0 && file.size() >= segment_header_bytes) {
    const std::uint64_t claimed = load_u64(file.data() + 32);
    if (claimed > file.size() && claimed <= file_bytes_max) file.resize(claimed, std::byte{0});
  }
  return file;
}

struct ReadBack {
  std::uint64_t first = 0, next = 0;
  std::map<std::uint64_t, Record> records;
};

// Reads everything the open store says it holds and checks that reads and scans agree.
// `must_read`: every LSN in [first, next) must read (no CLEAN marker was trusted).
ReadBack read_everything(Store &store, bool must_read, std::uint64_t records_max) {
  ReadBack out;
  out.first = store.first_lsn();
  out.next = store.next_lsn();
  // Built by appending: GCC 12 at -O3 flags `"[" + std::to_string(...)` with a false -Wrestrict.
  std::string range = "[";
  range += std::to_string(out.first) + ", " + std::to_string(out.next) + ")";
  FUZZ_CHECK(out.first <= out.next, "first_lsn after next_lsn: " + range);
  // Every record takes at least 32 bytes of a file the harness wrote: a store claiming more
  // records than that invented them (and looping over them would be a hang).
  FUZZ_CHECK(out.next - out.first <= records_max,
             "store claims " + range + ", more records than its files can hold (" +
                 std::to_string(records_max) + ")");
  for (std::uint64_t lsn = out.first; lsn < out.next; ++lsn) {
    Result<Record> got = store.read(lsn);
    if (!got.ok()) {
      FUZZ_CHECK(!message_has(got.status(), "index snapshot"),
                 "an index snapshot made read(" + std::to_string(lsn) + ") fail: " + got.status().to_string());
      FUZZ_CHECK(!must_read, "read(" + std::to_string(lsn) + ") in " + range + " after recovery: " +
                                 got.status().to_string());
      FUZZ_CHECK(got.status().code() == Errc::corruption || got.status().code() == Errc::io_error,
                 got.status().to_string());
      continue;
    }
    FUZZ_CHECK(got->lsn == lsn, "read(" + std::to_string(lsn) + ") returned lsn " + std::to_string(got->lsn));
    out.records.emplace(lsn, std::move(*got));
  }
  // A scan from the first LSN yields the same records, in order, and then ends.
  Result<Iterator> it = store.scan(out.first);
  if (it.ok()) {
    std::uint64_t expected = out.first;
    for (std::uint64_t steps = 0; steps <= out.next - out.first; ++steps) {
      Result<bool> more = it->next();
      if (!more.ok()) {
        FUZZ_CHECK(!must_read, "scan at " + std::to_string(expected) + ": " + more.status().to_string());
        break;
      }
      if (!*more) break;
      const RecordView &view = it->record();
      FUZZ_CHECK(view.lsn == expected, "scan yielded " + std::to_string(view.lsn) + ", expected " +
                                           std::to_string(expected));
      auto read = out.records.find(view.lsn);
      if (read != out.records.end())
        FUZZ_CHECK(read->second.stream == view.stream && read->second.type == view.type &&
                       std::equal(view.payload.begin(), view.payload.end(),
                                  read->second.payload.begin(), read->second.payload.end()),
                   "scan and read disagree at " + std::to_string(view.lsn));
      ++expected;
    }
    if (must_read) FUZZ_CHECK(expected == out.next, "scan ended at " + std::to_string(expected) + " of " + range);
  } else {
    FUZZ_CHECK(!must_read || out.first == out.next, "scan: " + it.status().to_string());
  }
  // A scan of each stream yields exactly that stream's records, in order.
  std::map<std::uint32_t, std::vector<std::uint64_t>> by_stream;
  for (const auto &[lsn, record] : out.records) by_stream[record.stream].push_back(lsn);
  if (must_read) {
    for (const auto &[stream, lsns] : by_stream) {
      Result<Iterator> s = store.scan(out.first, stream);
      FUZZ_CHECK(s.ok(), "scan of stream " + std::to_string(stream) + ": " + s.status().to_string());
      std::size_t seen = 0;
      for (std::uint64_t steps = 0; steps <= lsns.size(); ++steps) {
        Result<bool> more = s->next();
        FUZZ_CHECK(more.ok(), "stream scan: " + more.status().to_string());
        if (!*more) break;
        FUZZ_CHECK(seen < lsns.size() && s->record().lsn == lsns[seen] && s->record().stream == stream,
                   "stream " + std::to_string(stream) + " scan yielded lsn " +
                       std::to_string(s->record().lsn));
        ++seen;
      }
      FUZZ_CHECK(seen == lsns.size(), "stream " + std::to_string(stream) + " scan missed records");
    }
  }
  return out;
}

// Every record the store returned is intact on disk at its LSN (re-verified without the engine).
// Strictly (as a reader of the format would read the files) unless a CLEAN marker was trusted:
// then records behind damage recovery did not look at may be read too.
void check_on_disk(const std::string &dir, const ReadBack &back, bool resync) {
  const auto disk = walk_store(dir, walk_file_bytes_max, resync);
  for (const auto &[lsn, record] : back.records) {
    const DiskRecord wanted{record.stream, record.type, record.payload};
    FUZZ_CHECK(intact_on_disk(disk, lsn, wanted),
               "record " + std::to_string(lsn) + " (stream " + std::to_string(record.stream) +
                   ", type " + std::to_string(record.type) + ", " +
                   std::to_string(record.payload.size()) + " bytes) is not intact in the files");
  }
}

Options store_options(const Layout &layout, bool sync) {
  Options options;
  options.segment_bytes = segment_bytes_small;
  options.durability = sync ? Durability::sync : Durability::none;
  options.prealloc = PreallocMode::fallocate;
  // Small write groups keep executions fast (the engine zeroes a group buffer per open).
  options.write_group_bytes_max = 2 * format::block_size_bytes;
  options.create_if_missing = false;
  options.verify_on_open = (layout.mode & 64) != 0;
  options.strict_recovery = (layout.mode & 128) != 0;
  return options;
}

int run_input(const std::uint8_t *data, std::size_t size) {
  ByteReader in(data, size);
  Layout layout;
  layout.mode = in.u8();
  layout.extras = in.u8();
  layout.base_lsn = (layout.extras & 1) != 0 ? in.u64() : in.u8();
  if ((layout.mode & 3) == 2) layout.size_choice = in.u8();
  if ((layout.mode & 3) == 3) {
    layout.split = in.u16();
    layout.lsn_step = in.u8();
  }
  if ((layout.mode & 32) != 0) {
    layout.clean_next_lsn = in.u64();
    layout.clean_end_offset = in.u32();
  }
  const std::span<const std::byte> rest = in.rest();

  ScratchDir scratch;
  const std::string dir = scratch.store();
  FUZZ_CHECK(::mkdir(dir.c_str(), 0755) == 0, "mkdir " + dir);
  const std::uint64_t first_lsn = (layout.extras & 2) != 0 ? layout.base_lsn : 0;
  write_file(dir + "/META", format::encode_meta(format::MetaFile{store_id, first_lsn, 1}));

  std::uint64_t files_bytes = 0;
  if ((layout.mode & 3) == 3) {
    const std::size_t split = std::min<std::size_t>(layout.split, rest.size());
    const Bytes one = make_segment(layout, 1, layout.base_lsn, rest.first(split));
    const Bytes two = make_segment(layout, 2, layout.base_lsn + layout.lsn_step, rest.subspan(split));
    write_file(dir + "/" + format::numbered_name(1, format::segment_suffix), one);
    write_file(dir + "/" + format::numbered_name(2, format::segment_suffix), two);
    files_bytes = one.size() + two.size();
  } else {
    const Bytes one = make_segment(layout, 1, layout.base_lsn, rest);
    write_file(dir + "/" + format::numbered_name(1, format::segment_suffix), one);
    files_bytes = one.size();
  }
  const bool clean_marker = (layout.mode & 32) != 0;
  if (clean_marker)
    write_file(dir + "/CLEAN", format::encode_clean(format::CleanFile{
                                   store_id, layout.clean_next_lsn, 1, layout.clean_end_offset}));
  const std::uint64_t records_max = files_bytes / format::record_header_bytes;

  const bool sync = (layout.extras & 8) != 0;
  ReadBack first_open;
  {
    Result<std::unique_ptr<Store>> store = Store::open(dir, store_options(layout, sync));
    if (!store.ok()) return 0;  // refusing to open is a valid answer to a damaged store
    first_open = read_everything(**store, !clean_marker, records_max);
    if ((layout.extras & 4) == 0) {
      (void)(*store)->close();
      check_on_disk(dir, first_open, clean_marker);
      return 0;
    }
    // The store goes on after recovery: an append lands right after what was kept, unless
    // the log is full (next_lsn at the LSN limit, format/layout.h).
    const Bytes payload = pattern_payload(first_open.next, 7, 100);
    Result<std::uint64_t> lsn = (*store)->append(payload, 7);
    if (first_open.next == format::next_lsn_max)
      FUZZ_CHECK(lsn.status().code() == Errc::log_full, "append to a full log: " + lsn.status().to_string());
    if (!lsn.ok()) {
      (void)(*store)->close();
      return 0;
    }
    FUZZ_CHECK(*lsn == first_open.next, "append after recovery got lsn " + std::to_string(*lsn) +
                                            ", next_lsn was " + std::to_string(first_open.next));
    Status closed = (*store)->close();
    if (!closed.ok()) return 0;
    first_open.records.emplace(*lsn, Record{*lsn, 7, 1, payload});
    first_open.next = *lsn + 1;
  }
  // Reopened after a clean close, the store holds everything it held, and the new record.
  Options reopen = store_options(layout, sync);
  reopen.strict_recovery = true;  // nothing may need cutting now
  Result<std::unique_ptr<Store>> again = Store::open(dir, reopen);
  FUZZ_CHECK(again.ok(), "reopen after a clean close: " + again.status().to_string());
  const ReadBack second = read_everything(**again, !clean_marker, records_max + 1);
  (void)(*again)->close();
  FUZZ_CHECK(second.next == first_open.next,
             "next_lsn " + std::to_string(first_open.next) + " became " + std::to_string(second.next));
  for (const auto &[lsn, record] : first_open.records) {
    auto found = second.records.find(lsn);
    if (clean_marker && found == second.records.end()) continue;  // unreadable under CLEAN's trust
    FUZZ_CHECK(found != second.records.end() && found->second.payload == record.payload &&
                   found->second.stream == record.stream && found->second.type == record.type,
               "record " + std::to_string(lsn) + " changed or vanished across a clean reopen");
  }
  check_on_disk(dir, second, clean_marker);
  return 0;
}

}  // namespace
}  // namespace segstore::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  try {
    return segstore::fuzz::run_input(data, size);
  } catch (const segstore::fuzz::KnownFinding &) {
    return 0;  // an open finding this run was told to step over (SEGSTORE_FUZZ_SKIP)
  }
}
