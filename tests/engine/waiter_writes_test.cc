// A durable waiter writes the group its record is in on its own thread (one RWF_DSYNC write, or
// a write and a data sync where the flag is refused), however many threads wait: no reaper
// thread and no queue worker between the device and the thread that waits (docs/ENGINE.md
// "Writing on the waiter's thread"). These tests watch which thread makes each
// write of the segment files, through a File wrapper over the real disk's thread backend (whose
// queue also writes through the File interface, from its worker threads).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/store_fixture.h"
#include "format/layout.h"
#include "io/env.h"
#include "support/forwarding_env.h"

namespace segstore::testing {
namespace {

// Sets (or, with nullptr, unsets) an environment variable for one scope: the suite also runs
// with SEGSTORE_WAITER_WRITES=0 for the other tests, and these set it themselves.
class ScopedEnvVar {
 public:
  ScopedEnvVar(const char *name, const char *value) : name_(name) {
    if (const char *old = std::getenv(name)) old_ = old;
    if (value != nullptr)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnvVar() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnvVar(const ScopedEnvVar &) = delete;
  ScopedEnvVar &operator=(const ScopedEnvVar &) = delete;

 private:
  const char *name_;
  std::optional<std::string> old_;
};

enum class Call { dsync_write, write, data_sync };

// What the segment files saw: each call, the thread that made it and the bytes it wrote.
class CallLog {
 public:
  void add(Call call, std::size_t bytes = 0) {
    std::lock_guard lock(mu_);
    calls_.push_back({call, std::this_thread::get_id(), bytes});
  }
  // Calls of `call`, made by one of `threads` (or, with `inside` false, by none of them).
  std::size_t count(Call call, const std::set<std::thread::id> &threads, bool inside = true) const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const Entry &e : calls_)
      if (e.call == call && threads.contains(e.thread) == inside) n++;
    return n;
  }
  // The largest write of `call` made by one of `threads`.
  std::size_t largest(Call call, const std::set<std::thread::id> &threads) const {
    std::lock_guard lock(mu_);
    std::size_t bytes = 0;
    for (const Entry &e : calls_)
      if (e.call == call && threads.contains(e.thread)) bytes = std::max(bytes, e.bytes);
    return bytes;
  }

 private:
  struct Entry {
    Call call;
    std::thread::id thread;
    std::size_t bytes;
  };
  mutable std::mutex mu_;
  std::vector<Entry> calls_;
};

struct FileBehaviour {
  bool refuse_dsync = false;            // write_dsync_at answers "flag refused"
  std::size_t fail_dsync_write_at = 0;  // the n-th write_dsync_at (from 1) fails with EIO; 0: none
  std::atomic<std::size_t> dsync_writes{0};  // over every segment file
};

class WatchedFile final : public ForwardingFile {
 public:
  WatchedFile(std::unique_ptr<io::File> base, CallLog *log, FileBehaviour *behaviour)
      : ForwardingFile(std::move(base)), log_(log), behaviour_(behaviour) {}
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    log_->add(Call::write, data.size());
    return ForwardingFile::write_at(offset, data);
  }
  Status sync_data() override {
    log_->add(Call::data_sync);
    return ForwardingFile::sync_data();
  }
  Result<bool> write_dsync_at(std::uint64_t offset, std::span<const std::byte> data) override {
    log_->add(Call::dsync_write, data.size());
    if (behaviour_->refuse_dsync) return false;
    if (++behaviour_->dsync_writes == behaviour_->fail_dsync_write_at)
      return Status(Errc::io_error, "write " + path() + ": injected EIO (errno " + std::to_string(EIO) + ")");
    return ForwardingFile::write_dsync_at(offset, data);
  }

 private:
  CallLog *log_;
  FileBehaviour *behaviour_;
};

// The real disk with the thread backend; the segment files are watched.
class WatchedEnv final : public ForwardingEnv {
 public:
  WatchedEnv(CallLog *log, FileBehaviour *behaviour)
      : ForwardingEnv(io::make_posix_env(thread_backend())), log_(log), behaviour_(behaviour) {}
  Result<std::unique_ptr<io::File>> open_file(const std::string &path, io::OpenFlags flags) override {
    Result<std::unique_ptr<io::File>> file = base().open_file(path, flags);
    if (!file.ok() || !path.ends_with(".seg")) return file;
    return std::unique_ptr<io::File>(std::make_unique<WatchedFile>(std::move(*file), log_, behaviour_));
  }
  std::string describe() const override { return "watched(" + base().describe() + ")"; }

 private:
  static io::EnvOptions thread_backend() {
    io::EnvOptions options;
    options.backend = io::EnvOptions::Backend::thread;
    return options;
  }
  CallLog *log_;
  FileBehaviour *behaviour_;
};

constexpr std::size_t record_bytes = 1000;

Options watched_options(CallLog *log, FileBehaviour *behaviour) {
  // One segment for every record of a test: no roll, so no seal's sync and no second waiter.
  Options options = small_segments(Durability::sync, 8u << 20);
  options.env = std::make_shared<WatchedEnv>(log, behaviour);
  return options;
}

void expect_records_read_back(const std::string &dir, std::uint64_t records) {
  Options plain = small_segments(Durability::sync, 8u << 20);
  auto store = open_or_die(dir, plain);
  ASSERT_EQ(store->next_lsn(), records);
  for (std::uint64_t i = 0; i < records; ++i) {
    Result<Record> record = store->read(i);
    SEGSTORE_ASSERT_OK(record);
    EXPECT_EQ(record->payload, payload_for(i, record_bytes)) << "LSN " << i;
  }
}

// Sync appends of one thread; returns how many were acknowledged before the first failure.
std::uint64_t append_synced(Store &store, std::uint64_t records, Status *first_failure = nullptr) {
  for (std::uint64_t i = 0; i < records; ++i) {
    Result<std::uint64_t> lsn = store.append(payload_for(i, record_bytes));
    if (!lsn.ok()) {
      if (first_failure != nullptr) *first_failure = lsn.status();
      return i;
    }
  }
  return records;
}

// One thread appends `records` durable records to a new store in `dir`, then closes it.
void append_alone(const std::string &dir, CallLog *log, FileBehaviour *behaviour, std::uint64_t records) {
  auto store = open_or_die(dir, watched_options(log, behaviour));
  ASSERT_EQ(append_synced(*store, records), records);
  SEGSTORE_ASSERT_OK(store->close());
}

// Each test's store directory and what its segment files saw.
class WaiterWrites : public ::testing::Test {
 protected:
  TempDir dir;
  CallLog log;
  FileBehaviour behaviour;
};

TEST_F(WaiterWrites, ALoneDurableAppenderWritesOnItsOwnThread) {
  ScopedEnvVar unset("SEGSTORE_WAITER_WRITES", nullptr);  // the default
  constexpr std::uint64_t records = 50;
  append_alone(dir.path(), &log, &behaviour, records);
  const std::set<std::thread::id> me{std::this_thread::get_id()};
  // One durable write per append, each made by the appender itself; none by a queue worker.
  EXPECT_GE(log.count(Call::dsync_write, me), records);
  EXPECT_EQ(log.count(Call::dsync_write, me, false), 0u);
  expect_records_read_back(dir.path(), records);
}

TEST_F(WaiterWrites, SwitchedOffEveryGroupGoesThroughTheQueue) {
  ScopedEnvVar off("SEGSTORE_WAITER_WRITES", "0");
  constexpr std::uint64_t records = 50;
  append_alone(dir.path(), &log, &behaviour, records);
  const std::set<std::thread::id> me{std::this_thread::get_id()};
  // (This thread's plain writes are the zero-filling of the segment the open created.)
  EXPECT_EQ(log.count(Call::dsync_write, me), 0u);
  // The queue's workers write every group, with RWF_DSYNC or linked to a data sync
  // (SEGSTORE_SYNC_WRITES may choose either).
  EXPECT_GE(log.count(Call::dsync_write, me, false) + log.count(Call::write, me, false), records);
  expect_records_read_back(dir.path(), records);
}

// Where RWF_DSYNC is refused (EOPNOTSUPP/EINVAL from the file system), the waiter writes and
// then syncs the file, and asks for the flag only once.
TEST_F(WaiterWrites, ARefusedFlagFallsBackToAWriteAndADataSync) {
  ScopedEnvVar on("SEGSTORE_WAITER_WRITES", "1");
  behaviour.refuse_dsync = true;
  constexpr std::uint64_t records = 30;
  append_alone(dir.path(), &log, &behaviour, records);
  const std::set<std::thread::id> me{std::this_thread::get_id()};
  EXPECT_EQ(log.count(Call::dsync_write, me), 1u);
  EXPECT_GE(log.count(Call::write, me), records);
  EXPECT_GE(log.count(Call::data_sync, me), records);
  expect_records_read_back(dir.path(), records);
}

// A waiter's write fails: its append reports the failure, the store turns read-only, and every
// record acknowledged before stays readable after a reopen.
TEST_F(WaiterWrites, AFailedWriteTurnsTheStoreReadOnlyAndKeepsWhatWasAcknowledged) {
  ScopedEnvVar on("SEGSTORE_WAITER_WRITES", "1");
  behaviour.fail_dsync_write_at = 21;
  std::uint64_t acknowledged = 0;
  {
    auto store = open_or_die(dir.path(), watched_options(&log, &behaviour));
    Status failure;
    acknowledged = append_synced(*store, 40, &failure);
    // The append whose group failed learns it as every later one does: read-only, and why.
    EXPECT_EQ(failure.code(), Errc::read_only) << failure.to_string();
    EXPECT_NE(failure.to_string().find("injected EIO"), std::string::npos) << failure.to_string();
    ASSERT_GE(acknowledged, 10u);
    ASSERT_LT(acknowledged, 40u);
    Result<std::uint64_t> after = store->append(payload_for(acknowledged, record_bytes));
    ASSERT_FALSE(after.ok());
    EXPECT_EQ(after.status().code(), Errc::read_only) << after.status().to_string();
    EXPECT_EQ(store->durable_lsn(), acknowledged);
    (void)store->close();
  }
  Options plain = small_segments(Durability::sync, 8u << 20);
  auto store = open_or_die(dir.path(), plain);
  ASSERT_GE(store->next_lsn(), acknowledged);
  for (std::uint64_t i = 0; i < acknowledged; ++i) {
    Result<Record> record = store->read(i);
    SEGSTORE_ASSERT_OK(record);
    EXPECT_EQ(record->payload, payload_for(i, record_bytes)) << "LSN " << i;
  }
}

// `threads` appenders each make `per_thread` durable appends of `payload_bytes` to a new store in
// `dir`, then it is closed; returns the appenders' thread ids.
std::set<std::thread::id> append_from_threads(const std::string &dir, const Options &options, unsigned threads,
                                              std::uint64_t per_thread, std::size_t payload_bytes) {
  std::set<std::thread::id> appenders;
  auto store = open_or_die(dir, options);
  std::vector<std::thread> workers;
  std::mutex ids_mu;
  std::vector<Status> failures(threads);
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      {
        std::lock_guard lock(ids_mu);
        appenders.insert(std::this_thread::get_id());
      }
      for (std::uint64_t i = 0; i < per_thread; ++i) {
        Result<std::uint64_t> lsn = store->append(payload_for(t * per_thread + i, payload_bytes));
        if (!lsn.ok()) {
          failures[t] = lsn.status();
          return;
        }
      }
    });
  }
  for (auto &w : workers) w.join();
  for (const Status &s : failures) EXPECT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(store->durable_lsn(), threads * per_thread);
  const Status closed = store->close();
  EXPECT_TRUE(closed.ok()) << closed.to_string();
  return appenders;
}

// Every record of append_from_threads intact after a reopen (their order across threads is the
// store's: each thread's payloads are recognisable by their number).
void expect_every_payload_once(const std::string &dir, std::uint64_t records, std::size_t payload_bytes) {
  Options plain = small_segments(Durability::sync, 8u << 20);
  auto store = open_or_die(dir, plain);
  ASSERT_EQ(store->next_lsn(), records);
  std::set<std::vector<std::byte>> expected;
  for (std::uint64_t n = 0; n < records; ++n) expected.insert(payload_for(n, payload_bytes));
  for (std::uint64_t lsn = 0; lsn < records; ++lsn) {
    Result<Record> record = store->read(lsn);
    SEGSTORE_ASSERT_OK(record);
    EXPECT_EQ(expected.erase(record->payload), 1u) << "LSN " << lsn << " holds no expected payload, or one twice";
  }
}

// As many appenders as write slots: each waits alone for its own group, so every group is
// written by one of the appenders, never by a queue worker (TSan runs this with the suite).
TEST_F(WaiterWrites, AsManyAppendersAsSlotsEachWriteTheirOwnGroups) {
  ScopedEnvVar on("SEGSTORE_WAITER_WRITES", "1");
  Options options = watched_options(&log, &behaviour);
  constexpr unsigned threads = 4;
  options.inflight_groups_max = threads;
  constexpr std::uint64_t per_thread = 100;
  const std::set<std::thread::id> appenders =
      append_from_threads(dir.path(), options, threads, per_thread, record_bytes);
  EXPECT_EQ(log.count(Call::dsync_write, appenders, false), 0u);
  EXPECT_GE(log.count(Call::dsync_write, appenders), 1u);
  expect_every_payload_once(dir.path(), threads * per_thread, record_bytes);
}

// More appenders than write slots: while one group's sync runs, the next gathers the records of
// several appenders, and the appender that cuts it writes it, for all of them. A group of more
// than `slots` records has more waiters than slots, which the queue alone used to write.
TEST_F(WaiterWrites, MoreAppendersThanSlotsWriteGatheredGroupsThemselves) {
  ScopedEnvVar on("SEGSTORE_WAITER_WRITES", "1");
  Options options = watched_options(&log, &behaviour);
  constexpr unsigned slots = 4;
  options.inflight_groups_max = slots;
  constexpr unsigned threads = 16;
  constexpr std::uint64_t per_thread = 60;
  // A record of 4,032 bytes on disk: `slots` of them, with the segment header's block before
  // the first, fill no more than slots + 1 blocks, so a longer write holds more records.
  constexpr std::size_t payload_bytes = 4000;
  constexpr std::size_t bytes_of_slots_records = (slots + 1) * format::block_size_bytes;
  const std::set<std::thread::id> appenders =
      append_from_threads(dir.path(), options, threads, per_thread, payload_bytes);
  EXPECT_GT(log.largest(Call::dsync_write, appenders), bytes_of_slots_records)
      << "no appender wrote a group of more than " << slots << " records";
  expect_every_payload_once(dir.path(), threads * per_thread, payload_bytes);
}

// A value other than 0 or 1 is named in one warning (per process: a store per connection must not
// repeat it) and leaves the waiter's own writes on, as without the variable.
TEST_F(WaiterWrites, AnUnknownValueIsReportedAndLeavesTheWritesOn) {
  ScopedEnvVar bad("SEGSTORE_WAITER_WRITES", "yes");
  std::mutex warnings_mu;
  std::vector<std::string> warnings;
  Options options = watched_options(&log, &behaviour);
  options.logger = [&](LogLevel level, const std::string &message) {
    std::lock_guard lock(warnings_mu);
    if (level == LogLevel::warning && message.find("SEGSTORE_WAITER_WRITES") != std::string::npos)
      warnings.push_back(message);
  };
  constexpr std::uint64_t records = 20;
  for (int opens = 0; opens < 2; ++opens) {
    auto store = open_or_die(dir.path(), options);
    ASSERT_EQ(append_synced(*store, records), records);
    SEGSTORE_ASSERT_OK(store->close());
  }
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("SEGSTORE_WAITER_WRITES=yes"), std::string::npos) << warnings[0];
  const std::set<std::thread::id> me{std::this_thread::get_id()};
  EXPECT_GE(log.count(Call::dsync_write, me), 2 * records);
  EXPECT_EQ(log.count(Call::dsync_write, me, false), 0u);
}

}  // namespace
}  // namespace segstore::testing
