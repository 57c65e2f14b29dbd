// The benchmark's report (bench/report_text.cc, bench/report_charts.cc) on hand-made tables:
// a peer this build lacks is named at the top and its targets print NOT MEASURED, never MISSED;
// a measured figure below its goal prints MISSED; the charts get every ratio with its goal and
// the durable workloads' latencies.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "report.h"
#include "target_lookup.h"

namespace segstore::bench {
namespace {

Row segstore_row(const std::string &config, double records_per_s) {
  Row row;
  row.name = "segstore";
  row.config = config;
  row.records_per_s = records_per_s;
  return row;
}

// A W3 table as a run without RocksDB produces it: no ratio to RocksDB on any row.
Report run_without_rocksdb() {
  Report report;
  report.unavailable_peers = {{"rocksdb", "not built in: librocksdb-dev was not found"}};
  Table w3;
  w3.id = "W3";
  w3.rows = {segstore_row("1 KiB, 16 threads, sync", 40000), segstore_row("1 KiB, 64 threads, sync", 90000)};
  report.tables.push_back(w3);
  return report;
}

template <typename Print>
std::string printed(Print print) {
  char *text = nullptr;
  std::size_t size = 0;
  std::FILE *out = open_memstream(&text, &size);
  print(out);
  std::fclose(out);
  std::string result(text, size);
  std::free(text);
  return result;
}

TEST(BenchReport, UnavailablePeerIsNamedAtTheTop) {
  const Report report = run_without_rocksdb();
  const std::string header = printed([&](std::FILE *out) { print_header(report, out); });
  EXPECT_NE(header.find("PEER NOT AVAILABLE: rocksdb: not built in: librocksdb-dev was not found"), std::string::npos)
      << header;
}

TEST(BenchReport, TargetsOfAnUnavailablePeerAreNotMeasuredNeverMissed) {
  Report report = run_without_rocksdb();
  evaluate_targets(report);
  // Two goals against RocksDB, two against fio (not run either).
  ASSERT_EQ(report.targets.size(), 4u);
  int against_rocksdb = 0;
  for (const Target &t : report.targets) {
    EXPECT_EQ(t.status, TargetStatus::not_measured) << t.goal;
    if (t.goal.find("RocksDB") == std::string::npos) continue;
    against_rocksdb++;
    EXPECT_NE(t.measured.find("rocksdb is not available"), std::string::npos) << t.measured;
  }
  EXPECT_EQ(against_rocksdb, 2);
  const std::string text = printed([&](std::FILE *out) { print_targets(report, out); });
  EXPECT_NE(text.find("NOT MEASURED"), std::string::npos) << text;
  EXPECT_EQ(text.find("MISSED"), std::string::npos) << text;
  EXPECT_EQ(text.find("issue"), std::string::npos) << text;  // targets are named, not a tracker's
}

TEST(BenchReport, MeasuredFigureBelowItsGoalIsMissed) {
  Report report;
  Table w3;
  w3.id = "W3";
  w3.rows = {segstore_row("1 KiB, 16 threads, sync", 40000), segstore_row("1 KiB, 64 threads, sync", 90000)};
  w3.rows[0].extra["vs_rocksdb_16_threads_sync"] = 2.0;   // goal 5
  w3.rows[1].extra["vs_rocksdb_16_threads_sync"] = 12.0;  // goal 10
  report.tables.push_back(w3);
  evaluate_targets(report);
  ASSERT_EQ(report.targets.size(), 4u);
  EXPECT_EQ(report.targets[0].status, TargetStatus::missed);
  EXPECT_EQ(report.targets[1].status, TargetStatus::met);
  const std::string text = printed([&](std::FILE *out) { print_targets(report, out); });
  EXPECT_NE(text.find("MISSED"), std::string::npos) << text;
}

Row fio_ops_row(const std::string &job, double ops_per_s) {
  Row row;
  row.system = System::fio;
  row.name = "fio";
  row.config = job;
  row.extra["ops_per_s"] = ops_per_s;
  return row;
}

TEST(BenchReport, GroupCommitGoalsAgainstFioUseItsOperationsPerSecond) {
  Report report;
  Table w2;
  w2.id = "W2";
  w2.rows = {segstore_row("1 KiB, 1 thread, sync", 6000), fio_ops_row("write+fdatasync 4k QD1 sync", 7000)};
  report.tables.push_back(w2);
  Table w3;
  w3.id = "W3";
  w3.rows = {segstore_row("1 KiB, 4 threads, sync", 13000), segstore_row("1 KiB, 16 threads, sync", 30000),
             fio_ops_row("write+fdatasync 4k QD1 psync x4 writers", 10000),
             fio_ops_row("write+fdatasync 4k QD1 psync x16 writers", 28000)};
  report.tables.push_back(w3);
  evaluate_targets(report);
  const Target *four = target_named(report, "4 threads >= 2.0 x fio QD1");
  ASSERT_NE(four, nullptr);
  EXPECT_DOUBLE_EQ(four->value, 13000.0 / 7000);  // below 2: missed
  EXPECT_EQ(four->status, TargetStatus::missed);
  // The device's own rate for four writers beside it, from the 4-writer job (not the 16-writer one).
  EXPECT_NE(four->measured.find("vs fio 4 writers 1.30x"), std::string::npos) << four->measured;
  const Target *sixteen = target_named(report, "16 threads >= 1.0 x fio 16 writers");
  ASSERT_NE(sixteen, nullptr);
  EXPECT_DOUBLE_EQ(sixteen->value, 30000.0 / 28000);
  EXPECT_EQ(sixteen->status, TargetStatus::met);
}

// W3's rows over recycled segments are shown beside the new store's; the goals count the new store's.
TEST(BenchReport, GroupCommitGoalsCountTheNewStoreNotTheRecycledSegments) {
  Report report;
  Table w3;
  w3.id = "W3";
  Row recycled = segstore_row("recycled segments, 1 KiB, 16 threads, sync", 150000);
  recycled.extra["vs_rocksdb_16_threads_sync"] = 6.0;
  Row fresh = segstore_row("1 KiB, 16 threads, sync", 50000);
  fresh.extra["vs_rocksdb_16_threads_sync"] = 2.0;
  w3.rows = {recycled, fresh};
  report.tables.push_back(w3);
  evaluate_targets(report);
  const Target *sixteen = target_named(report, "16 threads >= 5 x RocksDB");
  ASSERT_NE(sixteen, nullptr);
  EXPECT_DOUBLE_EQ(sixteen->value, 2.0);
  EXPECT_EQ(sixteen->status, TargetStatus::missed);
}

TEST(BenchReport, MixedWorkloadGoals) {
  Report report;
  Table m1;
  m1.id = "M1";
  Row appenders = segstore_row("16 appenders with 4 tailers + 4 readers, sync", 20000);
  appenders.extra["vs_alone"] = 0.9;
  Row tailers = segstore_row("4 tailers, durable_only, lag behind the ack", 80000);
  tailers.p99_us = 7000;  // above 5 ms
  tailers.extra["not_durable_seen"] = 1;
  m1.rows = {appenders, tailers};
  report.tables.push_back(m1);
  evaluate_targets(report);
  ASSERT_EQ(report.targets.size(), 3u);
  EXPECT_EQ(report.targets[0].status, TargetStatus::met);
  EXPECT_EQ(report.targets[1].status, TargetStatus::missed);
  EXPECT_EQ(report.targets[2].status, TargetStatus::missed);  // one record seen before it was durable
}

TEST(BenchReport, RatioChartHasEveryComparedRowAndTheGoals) {
  Report report;
  Table w2;
  w2.id = "W2";
  Row synced = segstore_row("1 KiB, 1 thread, sync", 6000);
  synced.vs_fio = 0.8;
  synced.vs_fio_job = "QD1 4 KiB write+fdatasync";
  Row other = segstore_row("4 KiB, 1 thread, sync", 5000);
  other.vs_peer = 3.0;
  other.vs_peer_name = "rocksdb";
  w2.rows = {synced, other};
  report.tables.push_back(w2);
  Table w3 = run_without_rocksdb().tables[0];
  w3.rows[0].extra["vs_rocksdb_16_threads_sync"] = 6.0;
  report.tables.push_back(w3);
  evaluate_targets(report);
  const std::vector<RatioBar> bars = ratio_bars(report);
  ASSERT_EQ(bars.size(), 4u);  // two W2 rows, two W3 goals against RocksDB
  EXPECT_EQ(bars[0].label, "W2 1 KiB, 1 thread, sync vs fio QD1 4 KiB write+fdatasync");
  EXPECT_DOUBLE_EQ(bars[0].ratio, 0.8);
  EXPECT_DOUBLE_EQ(bars[0].goal, 0.95);
  EXPECT_EQ(bars[1].label, "W2 4 KiB, 1 thread, sync vs rocksdb");
  EXPECT_FALSE(measured(bars[1].goal));
  EXPECT_DOUBLE_EQ(bars[2].ratio, 6.0);
  EXPECT_DOUBLE_EQ(bars[2].goal, 5.0);
  EXPECT_NE(bars[3].label.find("NOT MEASURED"), std::string::npos) << bars[3].label;
  EXPECT_DOUBLE_EQ(bars[3].goal, 10.0);
}

// M1's appenders, and the same beside fio's reads (the bound), are drawn against the appenders
// alone; the goal is on the first only, and the target names the bound beside its figure.
TEST(BenchReport, MixedWorkloadRatiosAreChartedAgainstTheAppendersAlone) {
  Report report;
  Table m1;
  m1.id = "M1";
  Row appenders = segstore_row("16 appenders with 4 tailers + 4 readers, sync", 20000);
  appenders.extra["vs_alone"] = 0.7;
  Row bound = segstore_row("16 appenders with 4 tailers beside fio's reads at the readers' rate, sync", 15000);
  bound.extra["vs_alone"] = 0.5;
  m1.rows = {segstore_row("16 appenders alone, sync", 28000), appenders, bound};
  report.tables.push_back(m1);
  evaluate_targets(report);
  ASSERT_FALSE(report.targets.empty());
  EXPECT_NE(report.targets[0].measured.find("beside fio's reads at the readers' rate: 0.50x"), std::string::npos)
      << report.targets[0].measured;
  const std::vector<RatioBar> bars = ratio_bars(report);
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_EQ(bars[0].label, "M1 " + bound.config + " vs the appenders alone");
  EXPECT_DOUBLE_EQ(bars[0].ratio, 0.5);
  EXPECT_FALSE(measured(bars[0].goal));
  EXPECT_EQ(bars[1].label, "M1 " + appenders.config + " vs the appenders alone");
  EXPECT_DOUBLE_EQ(bars[1].ratio, 0.7);
  EXPECT_DOUBLE_EQ(bars[1].goal, 0.85);
}

TEST(BenchReport, LatencyChartHasTheDurableWorkloadsAndFio) {
  Report report;
  auto with_latency = [](System system, const std::string &name, const std::string &config, double p50) {
    Row row;
    row.system = system;
    row.name = name;
    row.config = config;
    row.p50_us = p50;
    row.p99_us = 2 * p50;
    row.p999_us = 3 * p50;
    return row;
  };
  Table w1{"W1", "", "", {with_latency(System::segstore, "segstore", "1 KiB, 1 thread, none + final sync", 1)}, {}};
  Table w2{"W2", "", "", {with_latency(System::segstore, "segstore", "1 KiB, 1 thread, sync", 150),
                          with_latency(System::fio, "fio", "QD1 4 KiB write+fdatasync", 140),
                          with_latency(System::peer, "rocksdb", "1 KiB, 1 thread, sync", 300)}, {}};
  Table w5{"W5", "", "", {with_latency(System::segstore, "segstore", "1 KiB, 1 thread, sync", 150),
                          with_latency(System::segstore, "segstore", "1 KiB, 1 thread, none + final sync", 2)}, {}};
  report.tables = {w1, w2, w5};
  const std::vector<LatencyGroup> groups = durable_latencies(report);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].label, "W2 segstore 1 KiB, 1 thread, sync");
  EXPECT_EQ(groups[1].label, "W2 fio QD1 4 KiB write+fdatasync");
  EXPECT_DOUBLE_EQ(groups[1].p999_us, 420);
  EXPECT_EQ(groups[2].label, "W5 segstore 1 KiB, 1 thread, sync");
}

}  // namespace
}  // namespace segstore::bench
