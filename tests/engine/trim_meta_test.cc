// trim_before writes META (a temporary file, its data sync, a rename, a directory sync) before
// any segment goes. Those device syncs must not hold up appends and reads: on a busy disk they
// take hundreds of milliseconds, and the soak saw every appender stall behind them. The test
// holds the trim inside its META rename and checks that an append and a read finish meanwhile.
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "engine/gate.h"
#include "engine/store_fixture.h"
#include "io/env.h"
#include "support/forwarding_env.h"

namespace segstore::testing {
namespace {

// The real Env, except that a rename onto META waits, once armed, until release().
class MetaRenameGate final : public ForwardingEnv {
 public:
  explicit MetaRenameGate(std::shared_ptr<io::Env> base) : ForwardingEnv(std::move(base)) {}

  void arm() { gate_.arm(); }
  // Waits until a META rename is being held; false when none came within `timeout`.
  bool wait_until_holding(std::chrono::seconds timeout) { return gate_.wait_until_holding(timeout); }
  void release() { gate_.release(); }

  Status rename(const std::string &from, const std::string &to) override {
    if (to.ends_with("/META")) gate_.pass();
    return base().rename(from, to);
  }
  std::string describe() const override { return "meta-gate(" + base().describe() + ")"; }

 private:
  Gate gate_;
};

// Far longer than an append or a read takes even on a loaded machine; far shorter than never.
constexpr std::chrono::seconds bounded_wait{20};

TEST(TrimMeta, AppendsAndReadsGoOnWhileTrimWritesMeta) {
  TempDir dir;
  auto gate = std::make_shared<MetaRenameGate>(io::make_posix_env({}));
  Options options = small_segments(Durability::none);
  options.env = gate;
  auto store = open_or_die(dir.path(), options);
  for (std::uint64_t i = 0; i < 600; ++i) SEGSTORE_ASSERT_OK(store->append(payload_for(i, 300)));
  SEGSTORE_ASSERT_OK(store->sync());
  ASSERT_GE(store->stats().segment_count, 3u);
  const std::uint64_t cut = 500;

  gate->arm();
  std::future<Status> trimmed = std::async(std::launch::async, [&] { return store->trim_before(cut); });
  ASSERT_TRUE(gate->wait_until_holding(bounded_wait)) << "trim_before never wrote META";
  // While the trim waits inside its META write:
  std::future<Result<std::uint64_t>> appended =
      std::async(std::launch::async, [&] { return store->append(payload_for(600, 300)); });
  std::future<Result<Record>> read = std::async(std::launch::async, [&] { return store->read(550); });
  const bool append_finished = appended.wait_for(bounded_wait) == std::future_status::ready;
  const bool read_finished = read.wait_for(bounded_wait) == std::future_status::ready;
  gate->release();

  EXPECT_TRUE(append_finished) << "an append waited for the trim's META write";
  EXPECT_TRUE(read_finished) << "a read waited for the trim's META write";
  SEGSTORE_ASSERT_OK(trimmed.get());
  Result<std::uint64_t> lsn = appended.get();
  SEGSTORE_ASSERT_OK(lsn);
  EXPECT_EQ(*lsn, 600u);
  Result<Record> record = read.get();
  SEGSTORE_ASSERT_OK(record);
  EXPECT_EQ(record->payload, payload_for(550, 300));
  EXPECT_EQ(store->first_lsn(), cut);
  EXPECT_EQ(store->read(cut - 1).status().code(), Errc::lsn_out_of_range);

  // The trim is on disk: after a reopen the log starts at the cut and holds the append.
  SEGSTORE_ASSERT_OK(store->close());
  store = open_or_die(dir.path(), small_segments(Durability::none));
  EXPECT_EQ(store->first_lsn(), cut);
  EXPECT_EQ(store->next_lsn(), 601u);
  Result<Record> last = store->read(600);
  SEGSTORE_ASSERT_OK(last);
  EXPECT_EQ(last->payload, payload_for(600, 300));
}

}  // namespace
}  // namespace segstore::testing
