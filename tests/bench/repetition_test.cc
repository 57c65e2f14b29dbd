// R1 and O1 repeat their short scans, each beside its own fio read (bench/scenario_common.cc
// median_repetition, set_vs_fio_beside): the figure is the repetition with the median ratio,
// not the median value over a median reference, and the target line names the spread.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "report.h"
#include "scenarios.h"

namespace segstore::bench {
namespace {

TEST(BenchRepetitions, MedianIsTakenOverTheRatiosNotTheValues) {
  // Values rise while the ratios do not: the fastest scan ran beside the fastest device.
  const std::vector<Repetition> runs = {{1000, 2000}, {1500, 1000}, {3000, 2500}, {1200, 1500}, {900, 1000}};
  // ratios 0.5, 1.5, 1.2, 0.8, 0.9: the median is 0.9 (index 4)
  EXPECT_EQ(median_repetition(runs), 4);
  Row row;
  set_vs_fio_beside(row, runs, "beside");
  EXPECT_DOUBLE_EQ(row.vs_fio, 0.9);
  EXPECT_EQ(row.vs_fio_job, "beside");
  EXPECT_DOUBLE_EQ(row.extra["vs_fio_min"], 0.5);
  EXPECT_DOUBLE_EQ(row.extra["vs_fio_max"], 1.5);
  EXPECT_DOUBLE_EQ(row.extra["fio_beside_mb_per_s"], 1000);
  EXPECT_DOUBLE_EQ(row.extra["repetitions"], 5);
}

TEST(BenchRepetitions, EvenCountTakesTheLowerMiddle) {
  const std::vector<Repetition> runs = {{1, 1}, {4, 1}, {2, 1}, {3, 1}};
  EXPECT_EQ(median_repetition(runs), 2);  // ratios 1, 4, 2, 3: lower middle is 2
}

TEST(BenchRepetitions, WithoutFioTheMedianValueIsShownAndNoRatioIsSet) {
  const std::vector<Repetition> runs = {{300, not_measured}, {100, not_measured}, {200, not_measured}};
  EXPECT_EQ(median_repetition(runs), 2);
  Row row;
  set_vs_fio_beside(row, runs, "beside");
  EXPECT_FALSE(measured(row.vs_fio));
  EXPECT_EQ(median_repetition({}), -1);
}

TEST(BenchRepetitions, TargetLineNamesTheSpreadOfTheRepetitions) {
  Report report;
  Table r1;
  r1.id = "R1";
  Row row;
  row.name = "segstore";
  row.config = "scan all, 1 KiB records";
  row.extra["device_mb_per_s"] = 1800;
  set_vs_fio_beside(row, {{1800, 2000}, {1000, 2000}, {2100, 2000}}, "beside");
  r1.rows.push_back(row);
  report.tables.push_back(r1);
  evaluate_targets(report);
  ASSERT_EQ(report.targets.size(), 1u);
  EXPECT_EQ(report.targets[0].status, TargetStatus::met);  // median 0.90
  EXPECT_NE(report.targets[0].measured.find("median of 3"), std::string::npos) << report.targets[0].measured;
  EXPECT_NE(report.targets[0].measured.find("0.50x-1.05x"), std::string::npos) << report.targets[0].measured;
}

}  // namespace
}  // namespace segstore::bench
