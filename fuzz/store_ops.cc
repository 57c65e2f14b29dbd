// fuzz/store_ops.cc — structure-aware: the input is a program of store operations, then damage.
//
// A store with tiny segments (16 KiB) is driven through appends, batches, truncate_after,
// syncs, reads and clean reopens chosen by the input, with a model of what it must hold. Then
// the input damages its files (bit flips, truncation, zeroed sectors and blocks, garbage
// sectors, the CLEAN marker removed or kept) and the store is reopened, which runs recovery.
// Checks:
//   - while running, every read equals the model, and a clean reopen returns exactly the model;
//   - a tailing iterator (next_wait(0), two records per operation) and a scanning one (three
//     next() per operation, read-ahead windows racing the operations) stay open across the
//     operations until a reopen: each record they return equals the model at that moment
//     (never one truncate_after removed), at the LSN they were to return next, and "at the
//     end" only at next_lsn(); they consume no input (the corpus keeps its meaning);
//   - without damage, the reopened store holds exactly what was written;
//   - with damage, what the reopened store returns is a prefix of what was written (same first
//     LSN, next LSN not beyond), every record read equals the one appended at that LSN, and
//     every record re-verifies in the files (an independent walk); the store takes an append
//     after recovery. A read may fail with corruption only where recovery did not look: damage
//     inside a sealed segment that its index snapshot stood in for, or behind a trusted CLEAN
//     marker; with verify_on_open and without CLEAN every read must succeed. A damaged index
//     snapshot must never make intact records unreadable (it is an accelerator, FORMAT.md).
//
// Input (ByteReader; missing bytes read as zero):
//   u8 config   bit 0 durability sync (else none)   bit 1 prealloc zero_fill (else fallocate)
//               bit 2 write groups of 64 KiB (else 8 KiB)  bit 3 keep CLEAN when damaging
//               bit 4 one write group in flight (else 4)
//               bit 5 verify_on_open (recovery trusts no index snapshot)
//   u8 op count (at most ops_max), then per op a u8 opcode and its arguments (see run_op)
//   u8 damage count (at most damages_max), then per damage: u8 file, u8 kind, u32 offset, u8 arg
#include <cstddef>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "fuzz/harness_support.h"
#include "segstore/store.h"

namespace segstore::fuzz {
namespace {

constexpr std::uint64_t segment_bytes = format::segment_size_min_bytes;  // 16 KiB
constexpr unsigned ops_max = 48;
constexpr unsigned damages_max = 6;
constexpr std::uint32_t streams = 4;
// The largest payload one record of a 16 KiB segment can have.
constexpr std::uint32_t payload_max = format::payload_max_for_segment(segment_bytes);

struct ModelRecord {
  std::uint32_t stream = 0;
  std::uint8_t type = 0;
  std::uint32_t size = 0;
};

// What the store must hold: LSNs [first, next) densely.
struct Model {
  std::uint64_t first = 0;
  std::uint64_t next = 0;
  std::map<std::uint64_t, ModelRecord> records;
};

bool continues_batch(std::uint8_t type) {
  return type == static_cast<std::uint8_t>(format::RecordType::batch_middle) ||
         type == static_cast<std::uint8_t>(format::RecordType::batch_last);
}

std::string describe(std::uint64_t lsn) { return "lsn " + std::to_string(lsn); }

void check_record(const Record &got, std::uint64_t lsn, const ModelRecord &want, const char *when) {
  FUZZ_CHECK(got.lsn == lsn && got.stream == want.stream && got.type == want.type &&
                 got.payload == pattern_payload(lsn, want.stream, want.size),
             std::string(when) + ": " + describe(lsn) + " reads back as lsn " + std::to_string(got.lsn) +
                 " stream " + std::to_string(got.stream) + " type " + std::to_string(got.type) + " " +
                 std::to_string(got.payload.size()) + " bytes; appended stream " +
                 std::to_string(want.stream) + " type " + std::to_string(want.type) + " " +
                 std::to_string(want.size) + " bytes");
}

// The open store equals the model exactly: range, every read, and a full scan.
void check_exact(Store &store, const Model &model, const char *when) {
  FUZZ_CHECK(store.first_lsn() == model.first && store.next_lsn() == model.next,
             std::string(when) + ": store holds [" + std::to_string(store.first_lsn()) + ", " +
                 std::to_string(store.next_lsn()) + "), model [" + std::to_string(model.first) +
                 ", " + std::to_string(model.next) + ")");
  for (const auto &[lsn, want] : model.records) {
    Result<Record> got = store.read(lsn);
    FUZZ_CHECK(got.ok(), std::string(when) + ": read " + describe(lsn) + ": " + got.status().to_string());
    check_record(*got, lsn, want, when);
  }
  Result<Iterator> it = store.scan(model.first);
  FUZZ_CHECK(it.ok(), std::string(when) + ": scan: " + it.status().to_string());
  std::uint64_t lsn = model.first;
  for (std::size_t steps = 0; steps <= model.records.size(); ++steps) {
    Result<bool> more = it->next();
    FUZZ_CHECK(more.ok(), std::string(when) + ": scan at " + describe(lsn) + ": " + more.status().to_string());
    if (!*more) break;
    FUZZ_CHECK(it->record().lsn == lsn, std::string(when) + ": scan yielded lsn " +
                                            std::to_string(it->record().lsn) + " for " + describe(lsn));
    ++lsn;
  }
  FUZZ_CHECK(lsn == model.next, std::string(when) + ": scan ended at " + describe(lsn));
}

Options store_options(std::uint8_t config) {
  Options options;
  options.segment_bytes = segment_bytes;
  options.durability = (config & 1) != 0 ? Durability::sync : Durability::none;
  options.prealloc = (config & 2) != 0 ? PreallocMode::zero_fill : PreallocMode::fallocate;
  // Small write groups: the engine zeroes a whole group buffer per open, and at the default
  // 1 MiB that alone would take most of an execution.
  options.write_group_bytes_max = (config & 4) != 0 ? 16 * format::block_size_bytes
                                                    : 2 * format::block_size_bytes;
  options.inflight_groups_max = (config & 16) != 0 ? 1 : 4;
  options.verify_on_open = (config & 32) != 0;
  return options;
}

// Payload sizes: mostly small, sometimes around a block, sometimes as large as a segment takes.
std::uint32_t payload_size(ByteReader &in) {
  const std::uint8_t kind = in.u8();
  switch (kind % 8) {
    case 0: return 0;
    case 1: case 2: case 3: return in.u8();
    case 4: return static_cast<std::uint32_t>(in.range(0, 2 * format::block_size_bytes));
    case 5: return format::block_size_bytes - format::record_header_bytes - in.u8() % 64;
    case 6: return static_cast<std::uint32_t>(in.range(0, payload_max));
    default: return payload_max + in.u8() % 16;  // too large for the segment: refused
  }
}

class Driver {
 public:
  Driver(std::string dir, Options options) : dir_(std::move(dir)), options_(std::move(options)) {}

  bool open() {
    Result<std::unique_ptr<Store>> store = Store::open(dir_, options_);
    FUZZ_CHECK(store.ok(), "open of an undamaged store: " + store.status().to_string());
    store_ = std::move(*store);
    return true;
  }
  void start() {
    open();
    model_.first = model_.next = store_->next_lsn();
    FUZZ_CHECK(store_->first_lsn() == model_.first, "a new store is not empty");
  }
  void close() {
    tailer_.reset();
    scanner_.reset();
    Status closed = store_->close();
    FUZZ_CHECK(closed.ok(), "close: " + closed.to_string());
    store_.reset();
  }
  const Model &model() const { return model_; }

  // After every operation: two records of the tailer, three of the scan (they lag behind).
  void step_readers() {
    follow(tailer_, tailer_want_, true, 2);
    follow(scanner_, scanner_want_, false, 3);
  }

  void run_op(ByteReader &in) {
    run_op_inner(in);
    step_readers();
  }

  void run_op_inner(ByteReader &in) {
    const std::uint8_t op = in.u8();
    switch (op % 10) {
      case 0: case 1: case 2: append(in, false); break;
      case 3: append(in, true); break;
      case 4: batch(in); break;
      case 5: truncate(in); break;
      case 6: {
        Status synced = store_->sync();
        FUZZ_CHECK(synced.ok(), "sync: " + synced.to_string());
        FUZZ_CHECK(store_->durable_lsn() >= model_.next, "sync left durable_lsn below next_lsn");
        break;
      }
      case 7: read_one(in); break;
      case 8: {
        close();
        open();
        check_exact(*store_, model_, "clean reopen");
        break;
      }
      default: {
        // An append made durable on its own, whatever the store's mode.
        const std::uint32_t stream = in.u8() % streams;
        const std::uint32_t size = static_cast<std::uint32_t>(in.range(0, 300));
        Result<std::uint64_t> lsn = store_->append_async(pattern_payload(model_.next, stream, size), stream);
        FUZZ_CHECK(lsn.ok(), "append_async: " + lsn.status().to_string());
        accept(*lsn, stream, static_cast<std::uint8_t>(format::RecordType::full), size);
        Status durable = store_->wait_durable(*lsn);
        FUZZ_CHECK(durable.ok(), "wait_durable: " + durable.to_string());
        break;
      }
    }
  }

 private:
  void accept(std::uint64_t lsn, std::uint32_t stream, std::uint8_t type, std::uint32_t size) {
    FUZZ_CHECK(lsn == model_.next, "append got " + describe(lsn) + ", expected " + describe(model_.next));
    model_.records[lsn] = ModelRecord{stream, type, size};
    ++model_.next;
  }

  void append(ByteReader &in, bool sync_override) {
    const std::uint32_t stream = in.u8() % streams;
    const std::uint32_t size = payload_size(in);
    const Bytes payload = pattern_payload(model_.next, stream, size);
    Result<std::uint64_t> lsn = sync_override ? store_->append(payload, stream, Durability::sync)
                                              : store_->append(payload, stream);
    if (size > payload_max) {
      FUZZ_CHECK(!lsn.ok() && lsn.status().code() == Errc::record_too_large,
                 "a " + std::to_string(size) + "-byte record in a 16 KiB segment: " +
                     (lsn.ok() ? "accepted" : lsn.status().to_string()));
      return;
    }
    FUZZ_CHECK(lsn.ok(), "append of " + std::to_string(size) + " bytes: " + lsn.status().to_string());
    accept(*lsn, stream, static_cast<std::uint8_t>(format::RecordType::full), size);
  }

  void batch(ByteReader &in) {
    const std::size_t count = 1 + in.u8() % 5;
    std::vector<Bytes> payloads;
    std::vector<BatchEntry> entries;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> shape;  // stream, size
    std::uint64_t disk_bytes = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t stream = in.u8() % streams;
      const std::uint32_t size = (in.u8() % 2) != 0 ? static_cast<std::uint32_t>(in.range(0, 6000)) : in.u8();
      payloads.push_back(pattern_payload(model_.next + i, stream, size));
      shape.emplace_back(stream, size);
      disk_bytes += format::record_disk_bytes(size);
    }
    for (std::size_t i = 0; i < count; ++i) entries.push_back(BatchEntry{shape[i].first, payloads[i]});
    Result<std::uint64_t> first = store_->append_batch(entries);
    // A batch must fit in one segment's data area.
    if (disk_bytes > segment_bytes - format::segment_data_offset_bytes) {
      FUZZ_CHECK(!first.ok(), "a batch of " + std::to_string(disk_bytes) + " bytes was accepted");
      return;
    }
    if (!first.ok()) {
      // Refusing a batch that would fit is allowed only with record_too_large (the engine may
      // keep room for padding); anything else is a bug.
      FUZZ_CHECK(first.status().code() == Errc::record_too_large,
                 "append_batch of " + std::to_string(disk_bytes) + " bytes: " + first.status().to_string());
      return;
    }
    for (std::size_t i = 0; i < count; ++i) {
      using format::RecordType;
      RecordType type = RecordType::batch_middle;
      if (count == 1) type = RecordType::full;
      else if (i == 0) type = RecordType::batch_first;
      else if (i + 1 == count) type = RecordType::batch_last;
      accept(*first + i, shape[i].first, static_cast<std::uint8_t>(type), shape[i].second);
    }
  }

  void truncate(ByteReader &in) {
    // Keep range ends in [first - 1, next - 1]; first - 1 only when first > 0.
    const std::uint64_t low = model_.first > 0 ? model_.first - 1 : model_.first;
    if (model_.next == 0 || model_.next - 1 < low) return;
    const std::uint64_t keep_last = low + in.u16() % (model_.next - low);
    // A cut inside an atomic batch is refused and changes nothing (it would keep a batch
    // without its batch_last, which recovery drops with everything after it).
    if (auto cut = model_.records.find(keep_last + 1); cut != model_.records.end() && continues_batch(cut->second.type)) {
      Status refused = store_->truncate_after(keep_last);
      FUZZ_CHECK(refused.code() == Errc::splits_batch,
                 "truncate_after(" + std::to_string(keep_last) + ") inside a batch: " + refused.to_string());
      FUZZ_CHECK(store_->next_lsn() == model_.next, "a refused truncate_after moved next_lsn to " +
                                                        std::to_string(store_->next_lsn()));
      return;
    }
    Status truncated = store_->truncate_after(keep_last);
    FUZZ_CHECK(truncated.ok(), "truncate_after(" + std::to_string(keep_last) + "): " + truncated.to_string());
    model_.records.erase(model_.records.upper_bound(keep_last), model_.records.end());
    model_.next = keep_last + 1;
    FUZZ_CHECK(store_->next_lsn() == model_.next, "truncate_after left next_lsn " +
                                                      std::to_string(store_->next_lsn()));
  }

  // Up to `count` records of one reader, each checked against the model; a scan that reached
  // the end starts again at the first LSN at its next step.
  void follow(std::optional<Iterator> &it, std::uint64_t &want, bool tailing, unsigned count) {
    const char *name = tailing ? "tailer" : "scan";
    if (!it) {
      Result<Iterator> opened = store_->scan(model_.first);
      FUZZ_CHECK(opened.ok(), std::string(name) + ": scan: " + opened.status().to_string());
      it.emplace(std::move(*opened));
      want = model_.first;
    }
    for (unsigned i = 0; i < count; ++i) {
      Result<bool> more = tailing ? it->next_wait(std::chrono::milliseconds(0)) : it->next();
      FUZZ_CHECK(more.ok(), std::string(name) + " at " + describe(want) + ": " + more.status().to_string());
      if (!*more) {
        // After a truncate below it the walk waits at its LSN for the log to grow back.
        FUZZ_CHECK(want >= model_.next, std::string(name) + " says 'at the end' at " + describe(want) +
                                            " of a log ending at " + describe(model_.next));
        if (!tailing) it.reset();
        return;
      }
      const RecordView &rec = it->record();
      FUZZ_CHECK(rec.lsn == want, std::string(name) + " returned " + describe(rec.lsn) + " for " + describe(want));
      const auto expected = model_.records.find(rec.lsn);
      FUZZ_CHECK(expected != model_.records.end(), std::string(name) + " returned " + describe(rec.lsn) +
                                                        " past the log's end " + describe(model_.next));
      check_record(Record{rec.lsn, rec.stream, rec.type, Bytes(rec.payload.begin(), rec.payload.end())}, rec.lsn,
                   expected->second, tailing ? "tailer" : "scan");
      want = rec.lsn + 1;
    }
  }

  void read_one(ByteReader &in) {
    if (model_.records.empty()) return;
    const std::uint64_t lsn = model_.first + in.u16() % (model_.next - model_.first);
    Result<Record> got = store_->read(lsn);
    FUZZ_CHECK(got.ok(), "read " + describe(lsn) + ": " + got.status().to_string());
    check_record(*got, lsn, model_.records.at(lsn), "read while running");
  }

  std::string dir_;
  Options options_;
  std::unique_ptr<Store> store_;
  Model model_;
  // Readers kept open across operations (dropped at every close).
  std::optional<Iterator> tailer_, scanner_;
  std::uint64_t tailer_want_ = 0, scanner_want_ = 0;
};

enum class Damage : std::uint8_t { flip_bit, shrink_file, zero_sector, zero_block, garbage_sector };
constexpr std::uint8_t damage_kinds = 5;

// Applies one damage to one of the store's files; returns a description, or "" when none.
std::string apply_damage(const std::string &dir, ByteReader &in) {
  std::vector<std::string> files;
  for (const std::string &name : list_files(dir))
    if (name != "LOCK" && name != "events.log") files.push_back(name);
  const std::uint8_t which = in.u8();
  const auto kind = static_cast<Damage>(in.u8() % damage_kinds);
  const std::uint32_t where = in.u32();
  const std::uint8_t arg = in.u8();
  if (files.empty()) return "";
  const std::string path = dir + "/" + files[which % files.size()];
  std::optional<Bytes> bytes = read_file(path, 1u << 20);
  if (!bytes || bytes->empty()) return "";
  const std::size_t offset = where % bytes->size();
  switch (kind) {
    case Damage::flip_bit: (*bytes)[offset] ^= static_cast<std::byte>(1u << (arg % 8)); break;
    case Damage::shrink_file: bytes->resize(offset); break;
    case Damage::zero_sector:
    case Damage::zero_block:
    case Damage::garbage_sector: {
      const std::size_t unit = kind == Damage::zero_block ? format::block_size_bytes : format::sector_size_bytes;
      const std::size_t start = offset / unit * unit;
      const std::size_t end = std::min(bytes->size(), start + unit);
      for (std::size_t i = start; i < end; ++i)
        (*bytes)[i] = kind == Damage::garbage_sector ? static_cast<std::byte>((i * 131 + arg) & 0xff) : std::byte{0};
      break;
    }
  }
  write_file(path, *bytes);
  return files[which % files.size()] + " kind " + std::to_string(static_cast<int>(kind)) + " at " +
         std::to_string(offset);
}

int run_input(const std::uint8_t *data, std::size_t size) {
  ByteReader in(data, size);
  const std::uint8_t config = in.u8();
  const Options options = store_options(config);
  ScratchDir scratch;
  const std::string dir = scratch.store();

  Driver driver(dir, options);
  driver.start();
  const unsigned ops = in.u8() % (ops_max + 1);
  for (unsigned i = 0; i < ops && !in.empty(); ++i) driver.run_op(in);
  driver.close();
  const Model model = driver.model();

  // Damage. Without CLEAN the reopen scans (as after a crash); with it, open trusts the marker.
  const unsigned damages = in.u8() % (damages_max + 1);
  std::string damage_log;
  for (unsigned i = 0; i < damages; ++i) {
    const std::string done = apply_damage(dir, in);
    if (!done.empty()) damage_log += (damage_log.empty() ? "" : "; ") + done;
  }
  const bool keep_clean = (config & 8) != 0;
  if (!keep_clean) ::unlink((dir + "/CLEAN").c_str());

  Result<std::unique_ptr<Store>> store = Store::open(dir, options);
  if (damage_log.empty()) {
    FUZZ_CHECK(store.ok(), "reopen without damage: " + store.status().to_string());
    check_exact(**store, model, "reopen without damage");
    (void)(*store)->close();
    // Every record re-verifies in the files, as any reader of the format would read them.
    const auto disk = walk_store(dir, 1u << 20, /*resync=*/false);
    for (const auto &[at, want] : model.records)
      FUZZ_CHECK(intact_on_disk(disk, at, DiskRecord{want.stream, want.type,
                                                     pattern_payload(at, want.stream, want.size)}),
                 describe(at) + " is not intact in the files of an undamaged store");
    return 0;
  }
  if (!store.ok()) return 0;  // refusing a damaged store is a valid answer

  // With damage: a prefix of what was written, every record as appended.
  Store &s = **store;
  const std::uint64_t first = s.first_lsn(), next = s.next_lsn();
  const std::string context = "after damage (" + damage_log + "), store holds [" + std::to_string(first) +
                              ", " + std::to_string(next) + "), written [" + std::to_string(model.first) +
                              ", " + std::to_string(model.next) + ")";
  FUZZ_CHECK(first <= next, context);
  FUZZ_CHECK(next <= model.next, "records invented: " + context);
  if (first < next) FUZZ_CHECK(first == model.first, "not a prefix: " + context);
  std::map<std::uint64_t, Record> returned;
  for (std::uint64_t lsn = first; lsn < next; ++lsn) {
    Result<Record> got = s.read(lsn);
    if (!got.ok()) {
      FUZZ_CHECK(!message_has(got.status(), "index snapshot"),
                 "a damaged index snapshot made " + describe(lsn) + " unreadable; " + context + ": " +
                     got.status().to_string());
      // Only where recovery did not look (see the top of this file) may damage wait for a read.
      FUZZ_CHECK(got.status().code() == Errc::corruption && (keep_clean || !options.verify_on_open),
                 "read " + describe(lsn) + " " + context + ": " + got.status().to_string());
      continue;
    }
    check_record(*got, lsn, model.records.at(lsn), context.c_str());
    returned.emplace(lsn, std::move(*got));
  }
  // The store goes on: an append gets the next LSN and reads back.
  const Bytes payload = pattern_payload(next, 1, 64);
  Result<std::uint64_t> lsn = s.append(payload, 1);
  if (lsn.ok()) {
    FUZZ_CHECK(*lsn == next, "append after recovery got " + describe(*lsn) + "; " + context);
    Result<Record> got = s.read(*lsn);
    FUZZ_CHECK(got.ok(), "append after recovery does not read back: " + got.status().to_string() + "; " + context);
    FUZZ_CHECK(got->payload == payload, "append after recovery reads back other bytes; " + context);
  } else if (lsn.status().code() == Errc::data_loss) {
    // Damage that proves acknowledged records lost (a record or .idx past the cut says they were
    // durable): the store refuses writes until the loss is accepted (docs/RECOVERY.md), and its
    // recovery report must say so.
    FUZZ_CHECK(s.recovery_report().acknowledged_data_lost,
               "append refused with data_loss but recovery reported no loss; " + context);
  } else {
    FUZZ_CHECK(keep_clean, "append after recovery: " + lsn.status().to_string() + "; " + context);
  }
  (void)s.close();
  // Every record returned re-verifies in the files (looking past damage: the store may read a
  // record behind a damaged one through its index).
  const auto disk = walk_store(dir, 1u << 20, /*resync=*/true);
  for (const auto &[at, record] : returned)
    FUZZ_CHECK(intact_on_disk(disk, at, DiskRecord{record.stream, record.type, record.payload}),
               describe(at) + " is not intact in the files; " + context);
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
