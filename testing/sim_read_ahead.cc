// testing/sim_read_ahead.cc — read-ahead on the simulated disk (testing/sim_read_ahead.h).
#include "testing/sim_read_ahead.h"

#include <mutex>
#include <set>

#include "testing/sim_env.h"

namespace segstore::testing {
namespace {

class SimReadAhead final : public io::ReadAhead {
 public:
  explicit SimReadAhead(std::uint64_t seed) : random_(seed) {}

  void submit(io::AheadRead &read) override {
    read.done = false;
    read.bytes = 0;
    read.status = Status();
    bool now = false;
    {
      std::lock_guard lock(mu_);
      now = random_.chance(0.5);
      if (!now) deferred_.insert(&read);
    }
    if (now) perform(read);
  }

  void wait(io::AheadRead &read) override {
    bool deferred = false;
    {
      std::lock_guard lock(mu_);
      deferred = deferred_.erase(&read) != 0;
    }
    if (deferred) perform(read);
  }

 private:
  static void perform(io::AheadRead &read) {
    Result<std::size_t> got = read.file->read_at(read.offset, read.out);
    if (got.ok()) read.bytes = *got;
    else read.status = got.status();
    read.done = true;
  }

  std::mutex mu_;  // submit and wait may come from several threads, each on its own reads
  SimRandom random_;
  std::set<io::AheadRead *> deferred_;  // submitted, to be read when waited for
};

}  // namespace

std::unique_ptr<io::ReadAhead> make_sim_read_ahead(std::uint64_t seed) {
  return std::make_unique<SimReadAhead>(seed);
}

}  // namespace segstore::testing
