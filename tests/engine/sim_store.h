// tests/engine/sim_store.h — a store on the simulated disk, for engine tests that need a device
// error at a chosen moment (testing/sim_env.h).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "testing/sim_env.h"
#include "segstore/store.h"
#include "support/temp_dir.h"

namespace segstore::testing {

class SimStore {
 public:
  explicit SimStore(Durability durability, std::uint32_t flush_interval_ms = 10)
      : disk_(SimDisk::make(seed, host_.path())), dir_(host_.sub("store")) {
    // The store's events.log is written to the host's file system, not the simulated disk.
    std::error_code ignored;
    std::filesystem::create_directories(dir_, ignored);
    std::shared_ptr<io::Env> env = disk_->env();
    EXPECT_TRUE(env->make_dir(dir_).ok());
    EXPECT_TRUE(env->sync_dir(host_.path()).ok());
    options_.segment_bytes = 64 * 1024;
    options_.durability = durability;
    options_.flush_interval_ms = flush_interval_ms;
    options_.write_group_bytes_max = 16 * 1024;
    options_.prealloc = PreallocMode::fallocate;
    options_.direct_io = false;
    options_.env = env;
  }

  std::unique_ptr<Store> open() {
    Result<std::unique_ptr<Store>> store = Store::open(dir_, options_);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    if (!store.ok()) throw std::runtime_error(store.status().to_string());
    return std::move(*store);
  }

  // The next data sync of the first segment fails (EIO): the store turns read-only. The first
  // segment exists once a record was appended.
  void fail_next_segment_sync() { disk_->arm({SimOp::sync, 1, SimFault::sync_eio, first_segment_name}); }
  // The nth operation of kind `op` on the first segment from now (1 = the next) gets `fault`.
  void fail_segment_op(SimOp op, std::uint64_t nth, SimFault fault) { disk_->arm({op, nth, fault, first_segment_name}); }

 private:
  static constexpr std::uint64_t seed = 1;
  static constexpr const char *first_segment_name = "00000000000000000001.seg";
  TempDir host_;
  std::shared_ptr<SimDisk> disk_;
  std::string dir_;
  Options options_;
};

}  // namespace segstore::testing
