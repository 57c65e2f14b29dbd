// fuzz/corpus_gen.cc — writes the seed corpora of the harnesses from the real encoders and a
// real store, in the input layout each harness documents at its top:
//
//   build/fuzz/corpus_gen fuzz/corpus        # writes fuzz/corpus/<harness>/seed-<name>
//
// Seeds are small (a few KiB) valid inputs plus a few typical damages; the fuzzer mutates from
// there. Rerun it when a harness's input layout changes, and keep crash-* files (the regression
// inputs) untouched: this program only writes seed-* files.
#include <cstdio>
#include <filesystem>
#include <string>

#include "log/segment_index.h"
#include "format/index_snapshot.h"
#include "fuzz/harness_support.h"
#include "segstore/store.h"

namespace segstore::fuzz {
namespace {

constexpr std::uint64_t store_id = 0x0123456789abcdefull;  // segment_scan's META store_id

std::filesystem::path out_root;
int written = 0;

void seed(const std::string &harness, const std::string &name, const Bytes &bytes) {
  const auto dir = out_root / harness;
  std::filesystem::create_directories(dir);
  write_file((dir / ("seed-" + name)).string(), bytes);
  ++written;
}

Bytes text(const std::string &s) {
  Bytes out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes &p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes u8s(std::initializer_list<unsigned> values) {
  Bytes out;
  for (unsigned v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

Bytes le(std::uint64_t value, int bytes) {
  Bytes out(bytes);
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<std::byte>(value >> (8 * i));
  return out;
}

Bytes record(std::uint64_t lsn, std::uint32_t stream, format::RecordType type, const Bytes &payload,
             std::uint32_t durable_lag = 0, std::uint32_t seed = 0) {
  format::RecordHeader header;
  header.lsn = lsn;
  header.stream = stream;
  header.type = type;
  header.durable_lag = durable_lag;
  Bytes out(format::record_disk_bytes(payload.size()));
  format::encode_record(header, payload, out.data(), seed);
  return out;
}

Bytes padding(std::uint64_t next_lsn, std::uint64_t disk_bytes) {
  Bytes out(disk_bytes);
  format::encode_padding(next_lsn, disk_bytes, out.data());
  return out;
}

// ---- record_decoder: u8 mode, then records back to back ----
void record_decoder_seeds() {
  using format::RecordType;
  const Bytes hello = record(1, 1, RecordType::full, text("hello"));
  const Bytes log = record(2, 2, RecordType::full, text("log-structured"), 1);
  seed("record_decoder", "full-hello", cat({u8s({0}), hello}));
  // A recycled segment's records: mode bit 3, the segment id (5) in bits 4..7.
  const std::uint32_t seed_5 = format::record_crc_seed(5);
  seed("record_decoder", "recycled-seeded",
       cat({u8s({8 | (5 << 4) | 2}), record(20, 1, RecordType::full, text("recycled"), 0, seed_5),
            record(21, 1, RecordType::full, text("second life"), 0, seed_5)}));
  seed("record_decoder", "two-records-expected-lsn", cat({u8s({2}), hello, log}));
  seed("record_decoder", "empty-payload", cat({u8s({0}), record(7, 0, RecordType::full, {})}));
  seed("record_decoder", "padding-40", cat({u8s({0}), padding(3, 40)}));
  seed("record_decoder", "batch", cat({u8s({0}), record(10, 3, RecordType::batch_first, text("a")),
                                       record(11, 3, RecordType::batch_middle, text("bb")),
                                       record(12, 3, RecordType::batch_last, text("ccc"))}));
  seed("record_decoder", "gap-13", cat({u8s({0}), record(5, 9, RecordType::full, text("thirteen-byte"))}));
  seed("record_decoder", "payload-1000", cat({u8s({0}), record(1, 4, RecordType::full, pattern_payload(1, 4, 1000))}));
  seed("record_decoder", "zero-header", cat({u8s({0}), Bytes(40, std::byte{0})}));
  seed("record_decoder", "truncated-header", cat({u8s({0}), Bytes(hello.begin(), hello.begin() + 20)}));
  Bytes torn = hello;
  torn[33] ^= std::byte{0x40};
  seed("record_decoder", "payload-flip", cat({u8s({0}), torn}));
  seed("record_decoder", "payload-flip-fixed", cat({u8s({1}), torn}));
  seed("record_decoder", "wrong-lsn-expected", cat({u8s({6}), hello}));
  Bytes past_end = hello;
  past_end.resize(36);
  seed("record_decoder", "length-past-end", cat({u8s({0}), past_end}));
}

// ---- segment_scan: see fuzz/segment_scan.cc for the layout ----

// A segment's data area (from offset 4096) written by the real engine, up to its last non-zero
// byte plus one zero header.
struct EngineSegments {
  std::vector<Bytes> data_areas;  // per segment file, in id order
  std::vector<std::uint64_t> base_lsns;
  std::vector<Bytes> files;  // whole files, trimmed the same way
};

Bytes trim_zeros(const Bytes &bytes, std::size_t keep_from) {
  std::size_t end = bytes.size();
  while (end > keep_from && bytes[end - 1] == std::byte{0}) --end;
  end = std::min(bytes.size(), format::align_up(end, 8) + format::record_header_bytes);
  return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(end));
}

template <typename Fill>
EngineSegments engine_segments(Fill fill) {
  ScratchDir scratch;
  Options options;
  options.segment_bytes = format::segment_size_min_bytes;
  options.durability = Durability::none;
  options.prealloc = PreallocMode::fallocate;
  {
    Result<std::unique_ptr<Store>> store = Store::open(scratch.store(), options);
    FUZZ_CHECK(store.ok(), store.status().to_string());
    fill(**store);
    FUZZ_CHECK((*store)->close().ok(), "close");
  }
  EngineSegments out;
  for (const std::string &name : list_files(scratch.store())) {
    if (!format::parse_numbered_name(name, format::segment_suffix)) continue;
    Bytes file = *read_file(scratch.store() + "/" + name, 1u << 20);
    format::SegmentHeader header;
    if (format::decode_segment_header(std::span<const std::byte>(file).first(4096), &header) !=
        format::SegmentHeaderError::none)
      continue;  // a preallocated, unused segment
    // Patch in the harness's store id so that raw-mode seeds belong to its store.
    format::store_u64(file.data() + 48, store_id);
    format::store_u32(file.data() + 60,
                      format::crc32c_mask(format::crc32c(std::span<const std::byte>(file).first(60))));
    const Bytes trimmed = trim_zeros(file, format::segment_data_offset_bytes);
    out.files.push_back(trimmed);
    out.data_areas.emplace_back(trimmed.begin() + format::segment_data_offset_bytes, trimmed.end());
    out.base_lsns.push_back(header.base_lsn);
  }
  return out;
}

void segment_scan_seeds() {
  // Layout byte bits: 0-1 header mode, 2 fix CRCs, 3 fix LSNs, 4 pad, 5 CLEAN, 6 verify, 7 strict.
  const EngineSegments small = engine_segments([](Store &s) {
    (void)s.append(text("hello"), 1);
    (void)s.append(text("log-structured"), 2);
    (void)s.sync();
    (void)s.append(pattern_payload(2, 1, 300), 1);
    BatchEntry batch[] = {{3, text("first")}, {3, text("middle")}, {4, text("last")}};
    (void)s.append_batch(batch);
  });
  FUZZ_CHECK(small.data_areas.size() == 1, "one segment expected");
  const Bytes &data = small.data_areas[0];
  const unsigned base = static_cast<unsigned>(small.base_lsns[0]);
  // Bit 4 pads each file to its header's segment_bytes, as the engine's preallocation does.
  seed("segment_scan", "header-data", cat({u8s({1 | 16, 0, base}), data}));
  seed("segment_scan", "header-data-append", cat({u8s({1 | 16, 4, base}), data}));
  seed("segment_scan", "header-data-append-sync", cat({u8s({1 | 16, 4 | 8, base}), data}));
  seed("segment_scan", "header-data-verify-strict", cat({u8s({1 | 16 | 64 | 128, 0, base}), data}));
  seed("segment_scan", "raw-file", cat({u8s({16, 0, base}), small.files[0]}));
  seed("segment_scan", "fix-crc-lsn", cat({u8s({1 | 4 | 8 | 16, 0, base}), data}));
  // A recycled segment (extras bit 4): its records re-checksummed with its id as seed, followed
  // by a previous life's bytes (the same records unseeded) instead of zeros.
  Bytes stale_after = data;
  stale_after.insert(stale_after.end(), data.begin(), data.end());
  seed("segment_scan", "recycled-fix-crc-lsn", cat({u8s({1 | 4 | 8 | 16, 16, base}), data}));
  seed("segment_scan", "recycled-previous-life-after", cat({u8s({1 | 16, 16 | 4, base}), stale_after}));
  seed("segment_scan", "size-choice", cat({u8s({2 | 16, 0, base, 2}), data}));
  seed("segment_scan", "clean-marker",
       cat({u8s({1 | 16 | 32, 0, base}), le(base + 6, 8), le(4096 + ((data.size() - 32) / 4096 + 1) * 4096, 4), data}));
  Bytes torn = data;
  torn[60] ^= std::byte{1};  // inside the second record: a torn tail
  seed("segment_scan", "torn-second-record", cat({u8s({1 | 16, 4, base}), torn}));
  Bytes no_last = data;
  // The batch_last record is the last one; zero it (and what follows) to leave a batch open.
  no_last.resize(no_last.size() - 32 - format::record_disk_bytes(4));
  no_last.resize(no_last.size() + 64, std::byte{0});
  seed("segment_scan", "batch-incomplete", cat({u8s({1 | 16, 0, base}), no_last}));
  seed("segment_scan", "base-lsn-high",
       cat({u8s({1 | 4 | 8 | 16, 1 | 2}), le(UINT64_MAX - 3, 8), data}));

  // Two segments from the encoders: 1 holds LSNs 0..2, 2 holds 3..4.
  using format::RecordType;
  const Bytes one = cat({record(0, 1, RecordType::full, text("zero")), record(1, 2, RecordType::full, text("one")),
                         record(2, 1, RecordType::full, text("two")), Bytes(32, std::byte{0})});
  const Bytes two = cat({record(3, 1, RecordType::full, text("three"), 2), record(4, 2, RecordType::full, text("four")),
                         Bytes(32, std::byte{0})});
  seed("segment_scan", "two-segments", cat({u8s({3 | 16, 0, 0}), le(one.size(), 2), u8s({3}), one, two}));
  seed("segment_scan", "two-segments-gap", cat({u8s({3 | 16, 4, 0}), le(one.size(), 2), u8s({5}), one, two}));
  seed("segment_scan", "empty-data", u8s({1 | 16, 0, 0}));
  seed("segment_scan", "zero-block0", cat({u8s({0, 0, 0}), Bytes(4096 + 64, std::byte{0})}));
}

// ---- index_snapshot: u8 mode, then the .idx file ----
void index_snapshot_seeds() {
  auto snapshot = [](const log::SegmentIndex &index, std::uint64_t records) {
    format::IndexHeader header;
    header.format_version = format::format_version;
    header.segment_id = 1;
    header.base_lsn = 1;
    header.store_id = store_id;
    header.record_count = records;
    header.end_offset = 8192;
    return format::encode_index_snapshot(header, index.to_body());
  };
  log::SegmentIndex empty;
  seed("index_snapshot", "empty", cat({u8s({0}), snapshot(empty, 0)}));
  log::SegmentIndex two;  // the worked example of docs/FORMAT.md
  two.add_record(0, 4096, 1);
  two.add_record(1, 4136, 2);
  seed("index_snapshot", "worked-example", cat({u8s({0}), snapshot(two, 2)}));
  log::SegmentIndex many;
  std::uint32_t offset = 4096;
  for (std::uint32_t i = 0; i < 40; ++i) {
    many.add_record(i, offset, i % 5);
    offset += 1000;
  }
  seed("index_snapshot", "forty-records-five-streams", cat({u8s({0}), snapshot(many, 40)}));
  log::SegmentIndex run;  // one stream in every block: a run container
  for (std::uint32_t i = 0; i < 300; ++i) run.add_record(i, 4096 * (i + 1), 9);
  Bytes run_file = snapshot(run, 300);
  seed("index_snapshot", "run-container", cat({u8s({0}), run_file}));
  seed("index_snapshot", "run-container-fix", cat({u8s({3}), run_file}));
  Bytes header_only(run_file.begin(), run_file.begin() + format::index_header_bytes);
  seed("index_snapshot", "header-only", cat({u8s({0}), header_only}));
  Bytes flipped = snapshot(two, 2);
  flipped[100] ^= std::byte{4};
  seed("index_snapshot", "bitmap-flip-fixed", cat({u8s({1}), flipped}));
}

// ---- small_files: u8 mode, then the file ----
void small_files_seeds() {
  seed("small_files", "meta", cat({u8s({0}), format::encode_meta({store_id, 1, 1})}));
  seed("small_files", "clean", cat({u8s({0}), format::encode_clean({store_id, 3, 1, 8192})}));
  seed("small_files", "snapshot-empty", cat({u8s({0}), format::encode_snapshot({store_id, 5, 0}, {})}));
  seed("small_files", "snapshot-state",
       cat({u8s({0}), format::encode_snapshot({store_id, 99, 0}, pattern_payload(1, 2, 200))}));
  Bytes meta = format::encode_meta({store_id, 1, 1});
  meta[45] = std::byte{1};  // a reserved byte, checksum fixed by the mode
  seed("small_files", "meta-reserved-fixed", cat({u8s({1 | 4 | 8}), meta}));
  Bytes snap = format::encode_snapshot({store_id, 5, 0}, text("state"));
  snap.push_back(std::byte{0});  // one byte more than state_bytes says
  seed("small_files", "snapshot-long", cat({u8s({0}), snap}));
  seed("small_files", "snapshot-long-fixed", cat({u8s({3 | 4 | 8}), snap}));
  seed("small_files", "short", cat({u8s({0}), text("SGSTMETA")}));
}

// ---- store_ops: config, op count, ops, damage count, damages (fuzz/store_ops.cc) ----
void store_ops_seeds() {
  // Opcodes (op % 10): 0-2 append, 3 append sync, 4 batch, 5 truncate_after, 6 sync, 7 read,
  // 8 clean reopen, 9 append_async + wait_durable. Append: stream, size kind, size bytes.
  const Bytes appends = u8s({0, 1, 1, 20, 1, 2, 1, 200, 2, 3, 4, 0x10, 0x08, 6, 7, 0, 0});
  seed("store_ops", "appends-no-damage", cat({u8s({0, 5}), appends, u8s({0})}));
  const Bytes mixed = u8s({
      0, 1, 1, 50,                    // append stream 1, 50 bytes
      4, 2, 0, 10, 1, 1, 0x00, 0x04,  // batch of 3? (count 1 + 2), stream 0 10 bytes, stream 1 1024
      1, 2, 0, 0,                     // stream 2, empty
      6,                              // sync
      7, 1, 0,                        // read
      5, 2, 0,                        // truncate_after
      8,                              // clean reopen
      9, 3, 100,                      // append_async 100 bytes
      3, 0, 6, 0x00, 0x20,            // append sync, large
  });
  seed("store_ops", "mixed-no-damage", cat({u8s({1, 10}), mixed, u8s({0})}));
  // Damages: file index, kind (0 flip, 1 shrink, 2 zero sector, 3 zero block, 4 garbage), u32
  // offset, arg.
  seed("store_ops", "mixed-flip", cat({u8s({0, 10}), mixed, u8s({1, 0, 0}), le(4096 + 40, 4), u8s({3})}));
  seed("store_ops", "mixed-shrink", cat({u8s({0, 10}), mixed, u8s({1, 0, 1}), le(5000, 4), u8s({0})}));
  seed("store_ops", "mixed-zero-sector", cat({u8s({0, 10}), mixed, u8s({1, 0, 2}), le(4096, 4), u8s({0})}));
  seed("store_ops", "mixed-zero-block-keep-clean",
       cat({u8s({8, 10}), mixed, u8s({1, 0, 3}), le(4096, 4), u8s({0})}));
  seed("store_ops", "mixed-garbage-two", cat({u8s({2 | 4, 10}), mixed, u8s({2, 1, 4}), le(8192, 4), u8s({7}),
                                              u8s({2, 0}), le(0, 4), u8s({1})}));
  seed("store_ops", "mixed-flip-verify", cat({u8s({32, 10}), mixed, u8s({1, 1, 0}), le(4096 + 40, 4), u8s({3})}));
  // Enough appends to fill several 16 KiB segments, then damage in a middle one.
  Bytes fill;
  for (int i = 0; i < 24; ++i) {
    const Bytes op = u8s({0, static_cast<unsigned>(i % 4), 4, static_cast<unsigned>(i * 37 % 256), 0x06});
    fill.insert(fill.end(), op.begin(), op.end());
  }
  // Files sort as 01.idx 01.seg 02.idx 02.seg ...: file 3 is the second segment.
  seed("store_ops", "segments-damage-middle",
       cat({u8s({16, 24}), fill, u8s({1, 3, 0}), le(6000, 4), u8s({5})}));
}

}  // namespace
}  // namespace segstore::fuzz

int main(int argc, char **argv) {
  using namespace segstore::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT   (writes CORPUS_ROOT/<harness>/seed-*)\n", argv[0]);
    return 2;
  }
  out_root = argv[1];
  record_decoder_seeds();
  segment_scan_seeds();
  index_snapshot_seeds();
  small_files_seeds();
  store_ops_seeds();
  std::fprintf(stderr, "corpus_gen: wrote %d seeds under %s\n", written, argv[1]);
  return 0;
}
