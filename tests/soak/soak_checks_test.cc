// The soak's checkers must catch what they are there to catch: a damaged payload, a lost,
// moved or foreign record, an unread acknowledged record, and report latencies and drift right.
#include <gtest/gtest.h>

#include <memory>
#include <variant>

#include "ack_ledger.h"
#include "latency_histogram.h"
#include "payload.h"
#include "io/aligned_buffer.h"
#include "resources.h"
#include "soak_run.h"

namespace segstore::soak {
namespace {

std::vector<std::byte> payload_of(std::uint32_t writer, std::uint64_t seq, std::size_t bytes = 100) {
  std::vector<std::byte> payload;
  make_payload(PayloadId{writer, seq}, bytes, payload);
  return payload;
}

constexpr std::chrono::milliseconds no_patience{0};

TEST(SoakPayload, RoundTripsItsWriterAndSeq) {
  for (std::size_t bytes : {payload_header_bytes, std::size_t{21}, std::size_t{100}, std::size_t{65536}}) {
    std::variant<PayloadId, std::string> parsed = parse_payload(payload_of(7, 123456789, bytes));
    ASSERT_TRUE(std::holds_alternative<PayloadId>(parsed)) << std::get<std::string>(parsed);
    EXPECT_EQ(std::get<PayloadId>(parsed).writer, 7u);
    EXPECT_EQ(std::get<PayloadId>(parsed).seq, 123456789u);
  }
}

TEST(SoakPayload, FlippedFillerByteIsNamedWithItsOffset) {
  std::vector<std::byte> payload = payload_of(3, 9);
  payload[57] ^= std::byte{1};
  std::variant<PayloadId, std::string> parsed = parse_payload(payload);
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_NE(std::get<std::string>(parsed).find("offset 57"), std::string::npos) << std::get<std::string>(parsed);
}

TEST(SoakPayload, ShortenedPayloadIsRefused) {
  std::vector<std::byte> payload = payload_of(3, 9);
  payload.pop_back();
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_payload(payload)));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_payload(std::span(payload).first(10))));
}

TEST(SoakLedger, AcceptsEachAcknowledgedRecordAtItsLsn) {
  AckLedger ledger(2);
  ledger.acknowledge(0, 10);
  ledger.acknowledge(1, 11);
  ledger.acknowledge(0, 12);
  EXPECT_EQ(ledger.check(10, payload_of(0, 0), no_patience), std::nullopt);
  EXPECT_EQ(ledger.check(11, payload_of(1, 0), no_patience), std::nullopt);
  EXPECT_EQ(ledger.check(12, payload_of(0, 1), no_patience), std::nullopt);
  EXPECT_EQ(ledger.acknowledged(), 3u);
  EXPECT_EQ(ledger.checked(), 3u);
  EXPECT_EQ(ledger.unchecked(), "");
}

TEST(SoakLedger, LostRecordIsCaughtAtTheWritersNextRecord) {
  AckLedger ledger(1);
  ledger.acknowledge(0, 10);
  ledger.acknowledge(0, 11);
  std::optional<std::string> wrong = ledger.check(11, payload_of(0, 1), no_patience);
  ASSERT_TRUE(wrong.has_value());
  EXPECT_NE(wrong->find("seq 0 (acknowledged at LSN 10) was due"), std::string::npos) << *wrong;
}

TEST(SoakLedger, RecordAtAnotherLsnThanAcknowledgedIsCaught) {
  AckLedger ledger(1);
  ledger.acknowledge(0, 10);
  std::optional<std::string> wrong = ledger.check(11, payload_of(0, 0), no_patience);
  ASSERT_TRUE(wrong.has_value());
  EXPECT_NE(wrong->find("was acknowledged at LSN 10"), std::string::npos) << *wrong;
}

TEST(SoakLedger, RecordNoWriterWasGivenIsCaught) {
  AckLedger ledger(1);
  EXPECT_TRUE(ledger.check(5, payload_of(0, 0), no_patience).has_value());
  EXPECT_TRUE(ledger.check(5, payload_of(4, 0), no_patience).has_value());  // no such writer
}

TEST(SoakLedger, AcknowledgedRecordNeverReadBackIsReported) {
  AckLedger ledger(3);
  ledger.acknowledge(2, 40);
  EXPECT_NE(ledger.unchecked().find("writer 2 seq 0 at LSN 40"), std::string::npos) << ledger.unchecked();
}

TEST(SoakLedger, CheckWaitsForTheWriterToReportItsLsn) {
  AckLedger ledger(1);
  std::thread writer([&] { ledger.acknowledge(0, 3); });
  EXPECT_EQ(ledger.check(3, payload_of(0, 0), std::chrono::seconds(30)), std::nullopt);
  writer.join();
}

TEST(SoakLatency, MaxIsExactAndQuantilesWithinASixteenth) {
  LatencyHistogram histogram;
  for (std::uint64_t ns = 1; ns <= 100000; ++ns) histogram.add(ns * 1000);
  EXPECT_EQ(histogram.max_ns(), 100000u * 1000);
  const double p99 = static_cast<double>(histogram.quantile_ns(0.99)), exact = 99000.0 * 1000;
  EXPECT_GE(p99, exact);
  EXPECT_LE(p99, exact * (1 + 1.0 / 16));
  LatencyHistogram other;
  other.add(5);
  other.merge(histogram);
  EXPECT_EQ(other.count(), 100001u);
  EXPECT_EQ(other.quantile_ns(1e-9), 5u);
}

TEST(SoakResources, DriftIsGrowthFromTheFirstSample) {
  std::vector<ResourceSample> samples = {{0, 100, 10, 0}, {10, 300, 9, 0}, {20, 200, 12, 0}};
  EXPECT_EQ(rss_drift(samples).last_minus_first(), 100);
  EXPECT_EQ(rss_drift(samples).max_minus_first(), 200);
  EXPECT_EQ(fd_drift(samples).max_minus_first(), 2);
  ResourceSample now = sample_resources(0);
  EXPECT_GT(now.rss_bytes, 0u);
  EXPECT_GE(now.open_fds, 3u);  // stdin, stdout, stderr at least
}

// What a leak would grow shows in the memory held: a heap block and a mapped buffer each count
// while alive and stop counting when freed (single-threaded binary: nothing else allocates).
TEST(SoakResources, MemoryHeldCountsHeapBlocksAndMappedBuffers) {
  constexpr std::size_t bytes = 4u << 20;
  const std::uint64_t before = sample_resources(0).held_bytes;
  auto heap_block = std::make_unique<std::byte[]>(bytes);
  heap_block[bytes - 1] = std::byte{1};
  const std::uint64_t with_heap = sample_resources(0).held_bytes;
  EXPECT_GE(with_heap, before + bytes);
  {
    io::AlignedBuffer mapped(bytes);
    EXPECT_GE(sample_resources(0).held_bytes, with_heap + bytes);
  }
  heap_block.reset();
  EXPECT_LT(sample_resources(0).held_bytes, before + bytes);
}

// Memory-held samples in MiB, one every 10 s after warm-up.
std::vector<ResourceSample> held_series(const std::vector<double> &mib) {
  std::vector<ResourceSample> samples;
  for (std::size_t i = 0; i < mib.size(); ++i) {
    ResourceSample sample{10.0 * static_cast<double>(i), 0, 10, 0};
    sample.held_bytes = static_cast<std::uint64_t>(mib[i] * (1 << 20));
    samples.push_back(sample);
  }
  return samples;
}

TEST(SoakResources, TrendTellsALeakFromAClimbThatLevelsOff) {
  const auto bound = static_cast<std::int64_t>(SoakConfig{}.held_late_growth_bound_bytes);
  // A climb that ends (an earlier CI run's RSS after warm-up, docs/TESTING.md: it ended at 130 s).
  const Trend climb = held_trend(held_series({77.4, 83.5, 84.4, 94.9, 96.0, 97.3, 99.4, 98.2, 97.5}));
  EXPECT_LT(climb.late_minus_middle(), bound) << climb.middle << " -> " << climb.late;
  // Memory held by tailers left behind for a while (a soak's samples of the memory held, with
  // two such episodes; docs/TESTING.md), and the same with both episodes in the last third.
  const Trend episodes = held_trend(held_series({28.0, 30.3, 29.5, 30.6, 55.1, 34.0, 34.5, 71.9, 29.3, 32.9, 31.9, 32.0}));
  EXPECT_LT(episodes.late_minus_middle(), 4ll << 20) << episodes.middle << " -> " << episodes.late;
  const Trend late_episodes = held_trend(held_series({28.0, 30.3, 29.5, 30.6, 34.0, 34.5, 29.3, 32.9, 55.1, 71.9, 31.9, 32.0}));
  EXPECT_LT(late_episodes.late_minus_middle(), 4ll << 20) << late_episodes.middle << " -> " << late_episodes.late;
  // A leak of 0.3 MiB/s (a buffer per trim or snapshot would leak faster) from the same level.
  std::vector<double> leaking;
  for (int i = 0; i < 9; ++i) leaking.push_back(95.0 + 3.0 * i);
  const Trend leak = held_trend(held_series(leaking));
  EXPECT_GT(leak.late_minus_middle(), bound) << leak.middle << " -> " << leak.late;
  EXPECT_EQ(leak.first, static_cast<std::int64_t>(95.0 * (1 << 20)));
  // Too few samples to have thirds: both are the last one.
  const Trend short_run = held_trend(held_series({50.0, 70.0}));
  EXPECT_EQ(short_run.middle, short_run.late);
  EXPECT_EQ(short_run.late, static_cast<std::int64_t>(70.0 * (1 << 20)));
}

// The resident set's bound: its floor at the end against the first sample.
TEST(SoakResources, RssTrendIsTheFloorOfTheLastThirdAgainstTheFirstSample) {
  std::vector<ResourceSample> samples = held_series({1, 1, 1, 1, 1, 1});
  const double rss_mib[] = {40.0, 45.0, 120.0, 50.0, 130.0, 60.0};
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i].rss_bytes = static_cast<std::uint64_t>(rss_mib[i] * (1 << 20));
  const Trend rss = rss_trend(samples);
  EXPECT_EQ(rss.first, static_cast<std::int64_t>(40.0 * (1 << 20)));
  EXPECT_EQ(rss.late, static_cast<std::int64_t>(60.0 * (1 << 20)));  // 130 is an episode, 60 the floor
  EXPECT_EQ(rss.late_minus_first(), static_cast<std::int64_t>(20.0 * (1 << 20)));
  EXPECT_EQ(held_trend(samples).late_minus_first(), 0);
}

}  // namespace
}  // namespace segstore::soak
