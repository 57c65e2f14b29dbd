// fuzz/harness_support.h — what the fuzz harnesses share: a reader that turns the fuzzer's bytes
// into decisions, a fresh store directory per input, a check that aborts with a message (the
// fuzzer reports it as a crash, the replayer as a failed test), and an independent walk of a
// store's segment files that says which records are intact on disk.
//
// Everything here is for harnesses only; nothing in the library includes it.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "format/store_dir.h"
#include "format/crc32c.h"
#include "format/endian.h"
#include "format/layout.h"
#include "format/record.h"
#include "format/segment_header.h"
#include "format/small_files.h"
#include "segstore/status.h"

namespace segstore::fuzz {

using Bytes = std::vector<std::byte>;

// A failed check: the harness found a bug. Aborting makes libFuzzer save the input as a crash
// and makes the replayer (and so the meson test) fail.
// The scratch directory of the input running now (left in place when a check fails).
inline std::string &current_scratch_dir() {
  static std::string path;
  return path;
}

[[noreturn]] inline void check_failed(const char *file, int line, const char *condition,
                                      const std::string &message) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s: %s\n", file, line, condition,
               message.c_str());
  if (!current_scratch_dir().empty())
    std::fprintf(stderr, "fuzz: the input's files are left in %s\n", current_scratch_dir().c_str());
  std::abort();
}
#define FUZZ_CHECK(cond, message)                                                    \
  do {                                                                               \
    if (!(cond)) ::segstore::fuzz::check_failed(__FILE__, __LINE__, #cond, (message)); \
  } while (0)

// Open findings: bugs reported to their owner and not fixed yet. A long fuzzing run may step
// over them so that it keeps exploring instead of stopping at the same crash every time:
// fuzz/run sets SEGSTORE_FUZZ_SKIP to the names listed in fuzz/open-findings. Replays never set
// it, so the saved input of an open finding (fuzz/findings/<harness>/) still fails there.
struct KnownFinding {
  const char *name;
};
// Throws KnownFinding (caught by the harness's entry point, which then ends the input) when
// `matches` and `name` is being skipped; otherwise returns and the caller's check fails.
inline void step_over_known(const char *name, bool matches) {
  if (!matches) return;
  const char *skip = std::getenv("SEGSTORE_FUZZ_SKIP");
  if (skip == nullptr) return;
  const std::string list = std::string(",") + skip + ",";
  if (list.find(std::string(",") + name + ",") != std::string::npos) throw KnownFinding{name};
}
inline bool message_has(const Status &status, const char *text) {
  return status.message().find(text) != std::string::npos;
}

// Consumes the fuzzer's bytes front to back. When they run out every read returns zero, so a
// short input is still a complete (if boring) program.
class ByteReader {
 public:
  ByteReader(const std::uint8_t *data, std::size_t size) : data_(data), size_(size) {}
  std::size_t remaining() const { return size_ - position_; }
  bool empty() const { return remaining() == 0; }
  std::uint8_t u8() { return empty() ? 0 : data_[position_++]; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) | (static_cast<std::uint32_t>(u16()) << 16); }
  std::uint64_t u64() { return static_cast<std::uint64_t>(u32()) | (static_cast<std::uint64_t>(u32()) << 32); }
  bool flag() { return (u8() & 1) != 0; }
  // A value in [low, high] (inclusive), from as few bytes as the range needs.
  std::uint64_t range(std::uint64_t low, std::uint64_t high) {
    const std::uint64_t span = high - low;
    std::uint64_t value = 0;
    if (span <= 0xff) value = u8();
    else if (span <= 0xffff) value = u16();
    else if (span <= 0xffffffffu) value = u32();
    else value = u64();
    return span == UINT64_MAX ? value : low + value % (span + 1);
  }
  // The rest of the input.
  std::span<const std::byte> rest() {
    std::span<const std::byte> out(reinterpret_cast<const std::byte *>(data_) + position_,
                                   remaining());
    position_ = size_;
    return out;
  }

 private:
  const std::uint8_t *data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

// A directory for one input, removed when the input is done. Under /dev/shm when it exists
// (tmpfs: fsync is free, so executions stay fast), else $TMPDIR, else /tmp;
// SEGSTORE_FUZZ_TMPDIR overrides both; SEGSTORE_FUZZ_KEEP=1 keeps it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string base = "/tmp";
    if (const char *env = std::getenv("SEGSTORE_FUZZ_TMPDIR"); env != nullptr && *env != '\0') {
      base = env;
    } else if (::access("/dev/shm", W_OK) == 0) {
      base = "/dev/shm";
    } else if (const char *tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') {
      base = tmp;
    }
    std::string pattern = base + "/segstore-fuzz-XXXXXX";
    const char *made = ::mkdtemp(pattern.data());
    FUZZ_CHECK(made != nullptr, "mkdtemp " + pattern + ": " + std::strerror(errno));
    path_ = made;
    current_scratch_dir() = path_;
  }
  ~ScratchDir() {
    current_scratch_dir().clear();
    // SEGSTORE_FUZZ_KEEP=1 keeps the directory for a look at what an input left behind.
    if (const char *keep = std::getenv("SEGSTORE_FUZZ_KEEP"); keep != nullptr && *keep == '1') {
      std::fprintf(stderr, "fuzz: kept %s\n", path_.c_str());
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir &) = delete;
  ScratchDir &operator=(const ScratchDir &) = delete;
  const std::string &path() const { return path_; }
  // The store lives in a subdirectory so that the harness can also test a missing one.
  std::string store() const { return path_ + "/store"; }

 private:
  std::string path_;
};

inline Bytes bytes_of(std::span<const std::byte> span) { return Bytes(span.begin(), span.end()); }

inline void write_file(const std::string &path, std::span<const std::byte> bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  FUZZ_CHECK(fd >= 0, "open " + path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    FUZZ_CHECK(n > 0, "write " + path + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

// Reads at most max_bytes of a file; nullopt when it cannot be opened.
inline std::optional<Bytes> read_file(const std::string &path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return std::nullopt;
  Bytes out;
  std::byte chunk[65536];
  while (out.size() < max_bytes) {
    const ssize_t n = ::read(fd, chunk, std::min(sizeof chunk, max_bytes - out.size()));
    if (n <= 0) break;
    out.insert(out.end(), chunk, chunk + n);
  }
  ::close(fd);
  return out;
}

inline std::uint64_t file_size(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// Names of the regular files in `dir`, sorted.
inline std::vector<std::string> list_files(const std::string &dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto &entry : std::filesystem::directory_iterator(dir, error))
    if (entry.is_regular_file(error)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The payload the structure-aware harness writes for a record: derived from what identifies
// it, so the harness need not keep every payload and a record moved or mixed up shows.
inline Bytes pattern_payload(std::uint64_t lsn, std::uint32_t stream, std::uint32_t size) {
  Bytes payload(size);
  std::uint64_t state = lsn * 0x9e3779b97f4a7c15ull ^ (std::uint64_t{stream} << 32) ^ size;
  for (std::uint32_t i = 0; i < size; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    payload[i] = static_cast<std::byte>(state >> 56);
  }
  return payload;
}

// Recomputes a record's checksums in place (payload CRC when the payload is present, then the
// header CRC): lets the fuzzer reach the checks that run after the checksums.
// `seed`: the segment's record checksum seed (format::record_crc_seed_of its header; 0: none).
inline void fix_record_checksums(std::span<std::byte> bytes, std::uint32_t seed = 0) {
  using namespace format;
  if (bytes.size() < record_header_bytes) return;
  const std::uint64_t payload_bytes = load_u32(bytes.data() + 16);
  if (record_header_bytes + payload_bytes <= bytes.size()) {
    const std::uint32_t crc = crc32c(bytes.subspan(record_header_bytes, payload_bytes));
    store_u32(bytes.data() + 4, crc32c_mask(crc));
  }
  store_u32(bytes.data(), crc32c_mask(crc32c_extend(seed, bytes.data() + 4, record_header_bytes - 4)));
}

// A record found intact on disk by the reference walk.
struct DiskRecord {
  std::uint32_t stream = 0;
  std::uint8_t type = 0;
  Bytes payload;
  bool operator==(const DiskRecord &) const = default;
};

// Walks one segment file as docs/FORMAT.md "Reading a segment" says, without any engine code:
// header, then records from offset 4096 with the expected LSN, batches delivered only when
// their batch_last is present. Adds what it delivers to *out (an LSN may appear in more than
// one file: stale copies, so a multimap).
// Strict (resync false): stops at the first record that fails, as a reader of the format does.
// Resync (after damage): where a record fails, looks for the next one that decodes at the
// following 8-byte positions and goes on from there. The store may read such records through
// its index, and each is still intact where it is; so, in this mode, are the members of a batch
// whose later record was damaged after it was durable (a point read verifies the record it
// returns, not its whole batch): batch members are delivered one by one. Likewise the members
// found after damage whose batch's earlier records the damage took (the store reads them
// through its index too): after a break, members of no open batch are delivered until the next
// full record or batch_first.
inline void walk_segment(std::span<const std::byte> file, std::uint64_t store_id, bool resync,
                         std::multimap<std::uint64_t, DiskRecord> *out) {
  using namespace format;
  SegmentHeader header;
  const auto block0 = file.first(std::min<std::size_t>(file.size(), segment_header_block_bytes));
  if (decode_segment_header(block0, &header) != SegmentHeaderError::none) return;
  if (header.store_id != store_id) return;
  const std::uint64_t end = std::min<std::uint64_t>(file.size(), header.segment_bytes);
  std::uint64_t position = segment_data_offset_bytes;
  std::uint64_t expected = header.base_lsn;
  bool expected_known = true;
  std::vector<std::pair<std::uint64_t, DiskRecord>> batch;
  bool batch_open = false;
  bool after_break = false;  // resync: a record failed and no full record or batch_first came since
  // A record that breaks the rules: stop, or (resync) drop the open batch and look further.
  // Strict: a batch is delivered whole at its batch_last. Resync: each member at once.
  auto keep_in_batch = [&](std::uint64_t lsn, DiskRecord disk) {
    if (resync)
      out->emplace(lsn, std::move(disk));
    else
      batch.emplace_back(lsn, std::move(disk));
  };
  auto broken = [&](std::uint64_t at) {
    batch.clear();
    batch_open = false;
    after_break = true;
    expected_known = false;
    position = at + record_alignment_bytes;
    return resync;
  };
  // Each pass moves forward by at least 8 bytes, so the loop ends.
  while (position < end) {
    const auto rest = file.subspan(position, end - position);
    const DecodeOutcome outcome =
        decode_record(rest, expected_known ? &expected : nullptr, record_crc_seed_of(header));
    if (outcome.error != RecordError::none) {
      if (!broken(position)) break;
      continue;
    }
    const DecodedRecord &record = outcome.record;
    const std::uint64_t at = position;
    if (!expected_known) {
      expected = record.header.lsn;
      expected_known = true;
    }
    position += record.disk_bytes;
    const RecordType type = record.header.type;
    if (type == RecordType::padding) {
      if (batch_open && !broken(at)) break;  // malformed: padding inside a batch
      continue;
    }
    DiskRecord disk{record.header.stream, static_cast<std::uint8_t>(type),
                    Bytes(record.payload.begin(), record.payload.end())};
    const std::uint64_t lsn = expected++;
    if (type == RecordType::full) {
      if (batch_open) {
        if (!broken(at)) break;
        continue;
      }
      after_break = false;
      out->emplace(lsn, std::move(disk));
    } else if (type == RecordType::batch_first) {
      if (batch_open) {
        if (!broken(at)) break;
        continue;
      }
      after_break = false;
      batch_open = true;
      keep_in_batch(lsn, std::move(disk));
    } else {
      if (!batch_open && resync && after_break) {
        out->emplace(lsn, std::move(disk));  // its batch's opening lay in the damage
        continue;
      }
      if (!batch_open) {
        if (!broken(at)) break;
        continue;
      }
      keep_in_batch(lsn, std::move(disk));
      if (type == RecordType::batch_last) {
        for (auto &[batch_lsn, batch_record] : batch) out->emplace(batch_lsn, std::move(batch_record));
        batch.clear();
        batch_open = false;
      }
    }
  }
}

// Every record intact in the store's live segment files (ids at or above META's
// min_segment_id), by LSN. Files are read up to max_file_bytes each. `resync` as for
// walk_segment.
inline std::multimap<std::uint64_t, DiskRecord> walk_store(const std::string &dir,
                                                           std::size_t max_file_bytes,
                                                           bool resync) {
  std::multimap<std::uint64_t, DiskRecord> records;
  const std::optional<Bytes> meta_bytes = read_file(dir + "/" + format::meta_file_name, 4096);
  format::MetaFile meta;
  if (!meta_bytes || format::decode_meta(*meta_bytes, &meta) != format::SmallFileError::none)
    return records;
  for (const std::string &name : list_files(dir)) {
    const std::optional<std::uint64_t> id = format::parse_numbered_name(name, format::segment_suffix);
    if (!id || *id < meta.min_segment_id) continue;
    const std::optional<Bytes> file = read_file(dir + "/" + name, max_file_bytes);
    if (file) walk_segment(*file, meta.store_id, resync, &records);
  }
  return records;
}

// True when `records` holds an intact copy of (lsn, stream, type, payload).
inline bool intact_on_disk(const std::multimap<std::uint64_t, DiskRecord> &records,
                           std::uint64_t lsn, const DiskRecord &record) {
  auto [first, last] = records.equal_range(lsn);
  for (auto it = first; it != last; ++it)
    if (it->second == record) return true;
  return false;
}

inline std::string hex_prefix(std::span<const std::byte> bytes, std::size_t max_bytes = 16) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
    const unsigned b = std::to_integer<unsigned>(bytes[i]);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  if (bytes.size() > max_bytes) out += "...";
  return out;
}

}  // namespace segstore::fuzz
