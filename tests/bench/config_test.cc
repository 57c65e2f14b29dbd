// The benchmark's command line (bench/config.cc): CLI11 parsing, the presets, the output paths,
// and usage errors with exit code 2.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config.h"

namespace segstore::bench {
namespace {

struct Parsed {
  std::optional<Config> config;
  int exit_code = -1;
};

Parsed parse(std::vector<std::string> words) {
  words.insert(words.begin(), "segstore-bench");
  std::vector<char *> argv;
  for (std::string &w : words) argv.push_back(w.data());
  Parsed parsed;
  parsed.config = parse_config(static_cast<int>(argv.size()), argv.data(), &parsed.exit_code);
  return parsed;
}

TEST(BenchConfig, DefaultsAreTheFullPresetWithOutputsInTheDataDirectory) {
  Parsed p = parse({});
  ASSERT_TRUE(p.config);
  EXPECT_FALSE(p.config->quick);
  EXPECT_EQ(p.config->seconds_per_run, 5.0);
  EXPECT_TRUE(p.config->only.empty());
  EXPECT_TRUE(p.config->run_fio);
  EXPECT_TRUE(p.config->run_peers);
  EXPECT_EQ(p.config->busy_cpus, 0u);
  EXPECT_EQ(p.config->json_path, "./segstore-data/bench-results.json");
  EXPECT_EQ(p.config->ratio_png_path, "./segstore-data/bench-ratios.png");
  EXPECT_EQ(p.config->latency_png_path, "./segstore-data/bench-latency.png");
}

TEST(BenchConfig, EveryOptionReachesTheConfig) {
  Parsed p = parse({"--quick", "--dir", "/data/b", "--out", "/tmp/run.json", "--only", "w1, R2", "--io-backend",
                    "uring", "--prealloc", "fallocate", "--write-group-bytes", "65536", "--inflight-groups", "8",
                    "--seconds", "0.25", "--scan-repeats", "7", "--no-fio", "--no-peers", "--busy-cpus", "2"});
  ASSERT_TRUE(p.config);
  const Config &c = *p.config;
  EXPECT_TRUE(c.quick);
  EXPECT_EQ(c.dir, "/data/b");
  EXPECT_EQ(c.json_path, "/tmp/run.json");
  EXPECT_EQ(c.png_path, "/tmp/run.png");
  EXPECT_EQ(c.ratio_png_path, "/tmp/run-ratios.png");
  EXPECT_EQ(c.latency_png_path, "/tmp/run-latency.png");
  EXPECT_EQ(c.only, (std::set<std::string>{"W1", "R2"}));
  EXPECT_EQ(c.io_backend, IoBackendKind::uring);
  EXPECT_EQ(c.prealloc, PreallocMode::fallocate);
  EXPECT_EQ(c.write_group_bytes_max, 65536u);
  EXPECT_EQ(c.inflight_groups_max, 8u);
  EXPECT_EQ(c.seconds_per_run, 0.25);  // --seconds overrides the quick preset's 0.5
  EXPECT_EQ(c.w1_volume_bytes, 256u << 20);
  EXPECT_EQ(c.scan_repeats, 7);  // overrides the quick preset's 1
  EXPECT_FALSE(c.run_fio);
  EXPECT_FALSE(c.run_peers);
  EXPECT_EQ(c.busy_cpus, 2u);
}

TEST(BenchConfig, UsageErrorsExitWithTwo) {
  for (const std::vector<std::string> &bad :
       std::vector<std::vector<std::string>>{{"--only", "W1,W9"},
                                             {"--io-backend", "floppy"},
                                             {"--prealloc", "sometimes"},
                                             {"--seconds", "0"},
                                             {"--seconds", "601"},
                                             {"--inflight-groups", "0"},
                                             {"--busy-cpus", "257"},
                                             {"--dir"},
                                             {"--bogus"}}) {
    Parsed p = parse(bad);
    EXPECT_FALSE(p.config) << bad[0];
    EXPECT_EQ(p.exit_code, 2) << bad[0];
  }
}

TEST(BenchConfig, HelpExitsWithZero) {
  Parsed p = parse({"--help"});
  EXPECT_FALSE(p.config);
  EXPECT_EQ(p.exit_code, 0);
}

}  // namespace
}  // namespace segstore::bench
