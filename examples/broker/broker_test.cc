// examples/broker/broker_test.cc — the broker's core: meta record and snapshot codecs, topics,
// tailing subscriptions, and the offset reload path: restart through snapshot + replay, a
// snapshot the broker cannot decode, a snapshot file damaged on disk, malformed meta records,
// and kill -9 while committing and while writing an offsets snapshot.
//
// The crash tests run the committer in a child process (this binary, `--commit-child`), which
// reports each acknowledged commit and each snapshot it starts on a pipe (fd 3); the parent
// waits on the pipe, sends SIGKILL, and reloads.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "broker.h"
#include "meta_state.h"

using namespace broker;

namespace {

constexpr int ack_fd = 3;
constexpr std::size_t message_bytes = 9;  // tag + little-endian offset: atomic on a pipe
constexpr char snapshot_tag = 'S';        // commit acks carry the group number as the tag
constexpr unsigned child_groups = 3;
constexpr std::uint64_t child_commits_max = 100000;  // the child stops on its own eventually

std::string self_exe;

class TempDir {
 public:
  TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/broker-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error(std::string("mkdtemp: ") + strerror(errno));
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string sub(const std::string &name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

BrokerOptions test_options(std::uint64_t snapshot_every = 1000) {
  BrokerOptions options;
  options.segment_bytes = 1 << 20;  // a new store preallocates two segments: keep them small
  options.offsets_snapshot_every = snapshot_every;
  return options;
}

std::unique_ptr<Broker> open_broker(const std::string &dir, const BrokerOptions &options) {
  segstore::Result<std::unique_ptr<Broker>> b = Broker::open(dir, options);
  EXPECT_TRUE(b.ok()) << b.status().to_string();
  if (!b.ok()) throw std::runtime_error(b.status().to_string());
  return std::move(*b);
}

std::optional<std::uint64_t> committed(Broker &b, const std::string &group, const std::string &topic) {
  auto c = b.committed(group, topic);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? *c : std::nullopt;
}

std::unique_ptr<segstore::Store> open_raw(const std::string &dir) {
  segstore::Options options;
  options.segment_bytes = 1 << 20;
  auto store = segstore::Store::open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  if (!store.ok()) throw std::runtime_error(store.status().to_string());
  return std::move(*store);
}

std::span<const std::byte> bytes_of(const std::string &s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

TEST(MetaRecordCodec, RoundTripsAndRefusesEveryTruncationAndTrailingBytes) {
  for (const MetaRecord &record : {MetaRecord{MetaRecord::Kind::topic, 7, 0, "orders.eu"},
                                   MetaRecord{MetaRecord::Kind::commit, 3, 123456789012ull, "billing-1"}}) {
    std::vector<std::byte> bytes = encode_meta_record(record);
    std::string why;
    auto decoded = decode_meta_record(bytes, &why);
    ASSERT_TRUE(decoded) << why;
    EXPECT_EQ(decoded->kind, record.kind);
    EXPECT_EQ(decoded->stream, record.stream);
    EXPECT_EQ(decoded->offset, record.offset);
    EXPECT_EQ(decoded->name, record.name);
    for (std::size_t len = 0; len < bytes.size(); ++len)
      EXPECT_FALSE(decode_meta_record(std::span(bytes).first(len), &why)) << "cut to " << len;
    bytes.push_back(std::byte{0});
    EXPECT_FALSE(decode_meta_record(bytes, &why));
    EXPECT_NE(why.find("after the name"), std::string::npos) << why;
  }
  std::string why;
  const std::vector<std::byte> unknown{std::byte{'X'}, std::byte{1}};
  EXPECT_FALSE(decode_meta_record(unknown, &why));
  EXPECT_NE(why.find("unknown kind"), std::string::npos) << why;
}

TEST(MetaStateSnapshot, RoundTripsAndRefusesEveryTruncation) {
  MetaState state;
  std::string why;
  ASSERT_TRUE(state.apply({MetaRecord::Kind::topic, 1, 0, "a"}, 1, &why));
  ASSERT_TRUE(state.apply({MetaRecord::Kind::topic, 2, 0, "b"}, 2, &why));
  ASSERT_TRUE(state.apply({MetaRecord::Kind::commit, 1, 40, "g1"}, 3, &why));
  ASSERT_TRUE(state.apply({MetaRecord::Kind::commit, 2, 41, "g1"}, 4, &why));
  EXPECT_FALSE(state.apply({MetaRecord::Kind::commit, 9, 41, "g1"}, 5, &why));  // unknown stream
  EXPECT_FALSE(state.apply({MetaRecord::Kind::topic, 3, 0, "a"}, 6, &why));     // name taken
  const std::vector<std::byte> bytes = state.encode_snapshot();
  auto decoded = MetaState::decode_snapshot(bytes, &why);
  ASSERT_TRUE(decoded) << why;
  EXPECT_TRUE(*decoded == state);
  EXPECT_EQ(decoded->next_stream(), 3u);
  for (std::size_t len = 0; len < bytes.size(); ++len)
    EXPECT_FALSE(MetaState::decode_snapshot(std::span(bytes).first(len), &why)) << "cut to " << len;
}

TEST(Broker, SubscriptionsTailDurableMessagesOfTheirTopicOnly) {
  TempDir tmp;
  auto b = open_broker(tmp.sub("b"), test_options());
  auto sub = b->subscribe("orders", std::nullopt);  // before the topic has a message
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  std::vector<std::uint64_t> offsets;
  for (int i = 0; i < 5; ++i) {
    auto o = b->publish("orders", "order " + std::to_string(i));
    ASSERT_TRUE(o.ok()) << o.status().to_string();
    offsets.push_back(*o);
    ASSERT_TRUE(b->publish("other", "noise").ok());
  }
  for (int i = 0; i < 5; ++i) {
    auto m = sub->next(std::chrono::seconds(10));
    ASSERT_TRUE(m.ok() && *m) << "message " << i;
    EXPECT_EQ((*m)->offset, offsets[i]);
    EXPECT_EQ((*m)->payload, "order " + std::to_string(i));
  }
  auto none = sub->next(std::chrono::milliseconds(0));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  auto latest = b->subscribe("orders", -1);
  ASSERT_TRUE(latest.ok());
  auto o = b->publish("orders", "new");
  ASSERT_TRUE(o.ok());
  auto m = latest->next(std::chrono::seconds(10));
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_EQ((*m)->offset, *o);
  EXPECT_FALSE(b->subscribe("orders", 1'000'000).ok());  // past the end
  EXPECT_FALSE(b->subscribe("bad topic", std::nullopt).ok());
}

// The delivery thread's wait has no timeout: the connection's end wakes it through the
// subscription's canceller (server.cc), and a closed store ends it with store_closed.
TEST(Broker, ASubscriptionWaitIsEndedByItsCancellerAndByClose) {
  TempDir tmp;
  auto b = open_broker(tmp.sub("b"), test_options());
  auto sub = b->subscribe("orders", -1);
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  segstore::Status ended;
  std::thread waiter([&] { ended = sub->next(std::chrono::milliseconds::max()).status(); });
  sub->canceller().cancel();
  waiter.join();
  EXPECT_EQ(ended.code(), segstore::Errc::cancelled) << ended.to_string();

  waiter = std::thread([&] { ended = sub->next(std::chrono::milliseconds::max()).status(); });
  ASSERT_TRUE(b->close().ok());
  waiter.join();
  EXPECT_EQ(ended.code(), segstore::Errc::store_closed) << ended.to_string();
}

TEST(Broker, CommitsSurviveRestartThroughSnapshotAndReplay) {
  TempDir tmp;
  const std::string dir = tmp.sub("b");
  std::map<std::string, std::uint64_t> last;
  {
    auto b = open_broker(dir, test_options(10));
    for (int i = 0; i < 30; ++i) {
      const std::string topic = i % 2 ? "t1" : "t2", group = "g" + std::to_string(i % 3);
      auto o = b->publish(topic, "m");
      ASSERT_TRUE(o.ok());
      ASSERT_TRUE(b->commit(group, topic, *o).ok());
      last[group + "/" + topic] = *o;
    }
    EXPECT_FALSE(b->commit("g0", "nope", 0).ok());        // unknown topic
    EXPECT_FALSE(b->commit("g0", "t1", 1u << 30).ok());   // past the end
  }
  auto b = open_broker(dir, test_options(10));
  const ReloadInfo info = b->reload_info();
  EXPECT_TRUE(info.from_snapshot);
  EXPECT_EQ(info.records_replayed, 2u);  // 32 meta records (2 topics, 30 commits): snapshot after 30
  EXPECT_EQ(info.records_skipped, 0u);
  for (const auto &[key, offset] : last) {
    const std::string group = key.substr(0, key.find('/')), topic = key.substr(key.find('/') + 1);
    EXPECT_EQ(committed(*b, group, topic), offset) << key;
  }
  EXPECT_EQ(committed(*b, "never", "t1"), std::nullopt);
}

TEST(Broker, SnapshotTheBrokerCannotDecodeFallsBackToFullReplay) {
  TempDir tmp;
  const std::string dir = tmp.sub("b");
  std::uint64_t last = 0;
  {
    auto b = open_broker(dir, test_options(5));
    for (int i = 0; i < 12; ++i) {
      last = *b->publish("t", "m");
      ASSERT_TRUE(b->commit("g", "t", last).ok());
    }
  }
  {
    auto store = open_raw(dir);  // a newer snapshot with a valid checksum and a wrong body
    ASSERT_TRUE(store->write_snapshot(store->next_lsn() - 1, bytes_of("BRK1 but not really")).ok());
  }
  auto b = open_broker(dir, test_options(5));
  const ReloadInfo info = b->reload_info();
  EXPECT_FALSE(info.from_snapshot);
  ASSERT_FALSE(info.problems.empty());
  EXPECT_NE(info.problems[0].find("refused"), std::string::npos) << info.problems[0];
  EXPECT_EQ(info.records_replayed, 13u);  // the topic and 12 commits
  EXPECT_EQ(committed(*b, "g", "t"), last);
}

TEST(Broker, SnapshotFileDamagedOnDiskIsSkipped) {
  TempDir tmp;
  const std::string dir = tmp.sub("b");
  std::uint64_t last = 0;
  {
    auto b = open_broker(dir, test_options(4));
    for (int i = 0; i < 10; ++i) {
      last = *b->publish("t", "m");
      ASSERT_TRUE(b->commit("g", "t", last).ok());
    }
  }
  // Flip a byte in the middle of the newest snapshot file (docs/ENGINE.md: snapshots/<lsn>.snap).
  std::filesystem::path newest;
  for (const auto &entry : std::filesystem::directory_iterator(dir + "/snapshots"))
    if (entry.path().extension() == ".snap" && entry.path().filename() > newest.filename()) newest = entry.path();
  ASSERT_FALSE(newest.empty());
  {
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = std::filesystem::file_size(newest);
    f.seekg(static_cast<std::streamoff>(size / 2));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write(&c, 1);
  }
  auto b = open_broker(dir, test_options(4));
  EXPECT_EQ(committed(*b, "g", "t"), last);
  EXPECT_EQ(b->reload_info().records_skipped, 0u);
}

TEST(Broker, MalformedOffsetRecordsAreSkippedAndTheLastGoodCommitWins) {
  TempDir tmp;
  const std::string dir = tmp.sub("b");
  std::uint64_t good = 0;
  {
    auto b = open_broker(dir, test_options(0));
    good = *b->publish("t", "m");
    ASSERT_TRUE(b->commit("g", "t", good).ok());
    ASSERT_TRUE(b->publish("t", "m2").ok());
  }
  {
    // What a crashed or buggy writer could have left in the meta stream (stream 0): records
    // that passed segstore's checksums but are not whole broker records.
    auto store = open_raw(dir);
    const std::vector<std::byte> commit = encode_meta_record({MetaRecord::Kind::commit, 1, good + 1, "g"});
    std::vector<std::byte> trailing = commit;
    trailing.push_back(std::byte{7});
    const std::vector<std::vector<std::byte>> damaged = {
        std::vector<std::byte>(commit.begin(), commit.begin() + 9),                  // half a commit
        {std::byte{'Z'}, std::byte{0}, std::byte{1}},                                // unknown kind
        encode_meta_record({MetaRecord::Kind::commit, 99, good + 1, "g"}),           // unknown stream
        trailing,                                                                    // bytes after it
        {},                                                                          // empty
    };
    for (const auto &record : damaged) ASSERT_TRUE(store->append(record, 0).ok());
  }
  auto b = open_broker(dir, test_options(0));
  const ReloadInfo info = b->reload_info();
  EXPECT_EQ(info.records_skipped, 5u);
  EXPECT_EQ(info.records_replayed, 2u);
  EXPECT_EQ(committed(*b, "g", "t"), good);
  auto o = b->publish("t", "after");  // and the broker works on
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(b->commit("g", "t", *o).ok());
  EXPECT_EQ(committed(*b, "g", "t"), *o);
}

// --- crash tests ------------------------------------------------------------------------------

void send_message(char tag, std::uint64_t value) {
  unsigned char m[message_bytes];
  m[0] = static_cast<unsigned char>(tag);
  for (int i = 0; i < 8; ++i) m[1 + i] = static_cast<unsigned char>(value >> (8 * i));
  if (::write(ack_fd, m, sizeof m) != static_cast<ssize_t>(sizeof m)) _exit(4);
}

// The child: publishes a message and commits its offset for group n % child_groups, forever
// (bounded), reporting each acknowledged commit.
int commit_child(const std::string &dir, std::uint64_t snapshot_every) {
  BrokerOptions options = test_options(snapshot_every);
  options.on_snapshot_start = [](std::uint64_t lsn) { send_message(snapshot_tag, lsn); };
  auto b = Broker::open(dir, options);
  if (!b.ok()) return 2;
  for (std::uint64_t n = 0; n < child_commits_max; ++n) {
    const unsigned group = n % child_groups;
    // Built by appending: GCC 12 at -O3 flags `"m" + std::to_string(n)` with a false -Wrestrict.
    std::string message = "m", consumer_group = "g";
    message += std::to_string(n);
    consumer_group += std::to_string(group);
    auto o = (*b)->publish("t", message);
    if (!o.ok() || !(*b)->commit(consumer_group, "t", *o).ok()) return 3;
    send_message(static_cast<char>('0' + group), *o);
  }
  return 0;
}

struct Child {
  pid_t pid = -1;
  int fd = -1;
};

Child spawn_commit_child(const std::string &dir, std::uint64_t snapshot_every) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + strerror(errno));
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], ack_fd);
    const std::string every = std::to_string(snapshot_every);
    ::execl(self_exe.c_str(), self_exe.c_str(), "--commit-child", dir.c_str(), every.c_str(),
            static_cast<char *>(nullptr));
    _exit(127);
  }
  ::close(fds[1]);
  return Child{pid, fds[0]};
}

bool read_message(int fd, char *tag, std::uint64_t *value) {
  unsigned char m[message_bytes];
  std::size_t got = 0;
  while (got < sizeof m) {
    const ssize_t n = ::read(fd, m + got, sizeof m - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  *tag = static_cast<char>(m[0]);
  *value = 0;
  for (int i = 0; i < 8; ++i) *value |= static_cast<std::uint64_t>(m[1 + i]) << (8 * i);
  return true;
}

// After the kill: each group's offset is its last acknowledged commit, except that the one
// commit in flight at the kill may have become durable (then it is that group's next offset).
void check_offsets_after_kill(const std::string &dir, const std::map<unsigned, std::uint64_t> &acked) {
  auto b = open_broker(dir, test_options());
  EXPECT_EQ(b->reload_info().records_skipped, 0u);
  unsigned ahead = 0;
  for (unsigned g = 0; g < child_groups; ++g) {
    const std::optional<std::uint64_t> got = committed(*b, "g" + std::to_string(g), "t");
    auto it = acked.find(g);
    if (it == acked.end()) {
      ahead += got.has_value();
      continue;
    }
    ASSERT_TRUE(got.has_value()) << "group " << g << " lost its committed offset " << it->second;
    ASSERT_GE(*got, it->second) << "group " << g << " went back before its acknowledged commit";
    ahead += *got > it->second;
  }
  EXPECT_LE(ahead, 1u) << "more groups moved on than commits were in flight";
}

void kill_after_acks(std::uint64_t snapshot_every, bool at_snapshot, int rounds) {
  for (int round = 0; round < rounds; ++round) {
    const std::uint64_t seed = std::random_device{}();
    std::mt19937_64 rng(seed);
    const std::uint64_t kill_after = 1 + rng() % 300;
    SCOPED_TRACE("seed " + std::to_string(seed) + ": kill after " + std::to_string(kill_after) + " commits" +
                 (at_snapshot ? ", at the next snapshot" : ""));
    TempDir tmp;
    const std::string dir = tmp.sub("b");
    Child child = spawn_commit_child(dir, snapshot_every);
    std::map<unsigned, std::uint64_t> acked;
    std::uint64_t acks = 0;
    char tag = 0;
    std::uint64_t value = 0;
    bool ready = false;
    while (!ready && read_message(child.fd, &tag, &value)) {
      if (tag != snapshot_tag) {
        acked[static_cast<unsigned>(tag - '0')] = value;
        acks++;
      }
      ready = acks >= kill_after && (!at_snapshot || tag == snapshot_tag);
    }
    ASSERT_TRUE(ready) << "the child ended before it was killed";
    ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
    EXPECT_TRUE(WIFSIGNALED(status)) << "status " << status;
    // Acks the child sent before it died and we had not read yet count too: drain the pipe.
    while (read_message(child.fd, &tag, &value))
      if (tag != snapshot_tag) acked[static_cast<unsigned>(tag - '0')] = value;
    ::close(child.fd);
    check_offsets_after_kill(dir, acked);
  }
}

TEST(BrokerCrash, KillDuringCommitsResumesAtTheLastDurableCommit) { kill_after_acks(50, false, 3); }

TEST(BrokerCrash, KillDuringAnOffsetsSnapshotResumesAtTheLastDurableCommit) { kill_after_acks(7, true, 4); }

}  // namespace

int main(int argc, char **argv) {
  self_exe = std::filesystem::canonical("/proc/self/exe").string();
  if (argc == 4 && std::string(argv[1]) == "--commit-child")
    return commit_child(argv[2], std::strtoull(argv[3], nullptr, 10));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
