// tests/recovery/recovery_fixture.h — running recover_log on a built store and checking what it
// kept (an independent walk of the files), what it cut, and that a second run changes nothing.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "format/store_dir.h"
#include "format/record.h"
#include "io/env.h"
#include "damage.h"
#include "recovery/recover.h"
#include "store_builder.h"
#include "test_env.h"
#include "support/temp_dir.h"

namespace segstore::recovery::testing {

// Every file under a directory (relative path -> bytes; directories as "<dir>"), events.log
// left out: it is the one file every recovery run appends to.
using DirImage = std::map<std::string, Bytes>;

inline DirImage image_of(const std::string &dir) {
  DirImage image;
  for (const auto &entry : std::filesystem::recursive_directory_iterator(dir)) {
    // A plain prefix cut (std::filesystem::relative resolves symlinks: a readlink per part).
    const std::string rel = entry.path().string().substr(dir.size() + 1);
    if (rel == format::events_file_name) continue;
    if (entry.is_directory()) {
      image[rel] = {};
      image[rel].push_back(std::byte{'D'});
    } else {
      image[rel] = read_file(entry.path().string());
    }
  }
  return image;
}

inline std::vector<std::string> quarantine_files(const std::string &dir, const std::string &suffix = "") {
  std::vector<std::string> names;
  const std::string q = format::join_path(dir, format::quarantine_dir_name);
  if (!std::filesystem::exists(q)) return names;
  for (const auto &entry : std::filesystem::directory_iterator(q)) {
    const std::string name = entry.path().filename().string();
    if (suffix.empty() || (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0))
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct RecoveryRun {
  Result<RecoveredLog> log = Status(Errc::invalid_argument, "not run");
  RecoveryReport report;
};

class RecoveryTest : public ::testing::Test {
 protected:
  const std::string &dir() const { return dir_override_.empty() ? temp_.path() : dir_override_; }
  std::string path(const std::string &name) const { return format::join_path(dir(), name); }

  RecoveryRun recover(const format::MetaFile &meta, const Options &options = {}, bool clean = false,
                      io::Env *env = nullptr) {
    RecoveryRun run;
    run.log = recover_log(env != nullptr ? *env : *env_, dir(), meta, clean, options, &run.report);
    return run;
  }

  // The records of the recovered log, walked from the files independently of recovery: LSNs
  // must be dense from the first segment's base, each record's payload as the builder wrote it.
  // Returns the LSNs kept.
  std::vector<std::uint64_t> walk_kept(const RecoveredLog &log) {
    std::vector<std::uint64_t> lsns;
    std::uint64_t expected = log.segments.empty() ? log.next_lsn : log.segments.front().base_lsn;
    for (const auto &seg : log.segments) {
      EXPECT_EQ(seg.base_lsn, expected) << "segments must join: " << seg.path;
      const Bytes bytes = read_file(seg.path);
      std::uint64_t pos = format::segment_data_offset_bytes;
      std::uint64_t lsn = seg.base_lsn;
      while (pos < seg.end_offset) {
        const format::DecodeOutcome out =
            format::decode_record(std::span<const std::byte>(bytes).subspan(pos, seg.end_offset - pos), &lsn);
        if (out.error != format::RecordError::none) {
          ADD_FAILURE() << "kept record at offset " << pos << " of " << seg.path << " fails: "
                        << format::record_error_name(out.error);
          break;
        }
        if (out.record.header.type != format::RecordType::padding) {
          const Bytes want = payload_of(lsn, out.record.payload.size());
          EXPECT_TRUE(std::equal(want.begin(), want.end(), out.record.payload.begin(), out.record.payload.end()))
              << "payload of LSN " << lsn;
          lsns.push_back(lsn++);
        }
        pos += out.record.disk_bytes;
      }
      EXPECT_EQ(pos, seg.end_offset) << seg.path;
      EXPECT_EQ(lsn, seg.end_lsn()) << seg.path << ": record_count disagrees with the records";
      // Everything after the kept records is zero: nothing of the cut is left in the log.
      if (&seg == &log.segments.back()) {
        for (std::uint64_t i = seg.end_offset; i < bytes.size(); ++i)
          if (bytes[i] != std::byte{0}) {
            ADD_FAILURE() << "non-zero byte at " << i << " after the end of " << seg.path;
            break;
          }
      }
      expected = seg.end_lsn();
    }
    EXPECT_EQ(expected, log.next_lsn);
    return lsns;
  }

  // The log holds exactly LSNs [first, first + count).
  void expect_prefix(const RecoveredLog &log, std::uint64_t first, std::uint64_t count) {
    const std::vector<std::uint64_t> lsns = walk_kept(log);
    ASSERT_EQ(lsns.size(), count);
    for (std::uint64_t i = 0; i < count; ++i) ASSERT_EQ(lsns[i], first + i);
    EXPECT_EQ(log.next_lsn, first + count);
  }

  // Recovery of what recovery left changes nothing and cuts nothing.
  void expect_second_recovery_changes_nothing(const format::MetaFile &meta, const Options &options = {},
                                              io::Env *env = nullptr) {
    const DirImage before = image_of(dir());
    RecoveryRun again = recover(meta, options, false, env);
    ASSERT_TRUE(again.log.ok()) << again.log.status().to_string();
    EXPECT_FALSE(again.report.cut) << again.report.to_string();
    EXPECT_EQ(again.report.bytes_quarantined, 0u);
    const DirImage after = image_of(dir());
    EXPECT_EQ(before.size(), after.size());
    for (const auto &[name, bytes] : before) {
      auto it = after.find(name);
      if (it == after.end()) {
        ADD_FAILURE() << name << " disappeared in the second recovery";
        continue;
      }
      EXPECT_TRUE(it->second == bytes) << name << " changed in the second recovery";
    }
    for (const auto &[name, bytes] : after)
      EXPECT_TRUE(before.count(name) == 1) << name << " appeared in the second recovery";
  }

  // A store of `segments` segments: every one but the last sealed (about 48 KiB of records,
  // with its index snapshot), the last about `last_bytes` of records. Records of 40..640 bytes
  // on streams 0..2, a flush every 5 records (so durable_lag varies), an atomic batch of 4 near
  // the end of each segment, and a final flush.
  static StoreBuilder make_store(const std::string &dir, int segments = 3, std::uint64_t last_bytes = 20 * 1024) {
    StoreBuilder b(dir);
    std::uint64_t n = 0;
    for (int s = 0; s < segments; ++s) {
      if (s > 0) b.roll();
      const std::uint64_t target = s + 1 < segments ? 48 * 1024 : last_bytes;
      do {
        b.append(40 + (n * 37) % 600, static_cast<std::uint32_t>(n % 3));
        if (++n % 5 == 0) b.flush();
      } while (b.last_used().end_offset < target);
      b.append_batch(4, 100, 1);
      b.append(64, 2);
    }
    b.flush();
    return b;
  }

  segstore::testing::TempDir temp_;
  std::string dir_override_;  // when set, dir() is this instead of temp_
  std::shared_ptr<io::Env> env_ = io::make_posix_env({});
};

}  // namespace segstore::recovery::testing
