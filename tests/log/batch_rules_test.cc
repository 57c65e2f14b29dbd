// tests/log/batch_rules_test.cc — the batch rules alone (log/batch_rules.h): every record type
// outside and inside a batch, and when the records read so far count.
#include "log/batch_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace segstore::log {
namespace {

using format::RecordType;

// The verdicts of a sequence of types, fed to one BatchRules.
std::vector<BatchVerdict> verdicts(const std::vector<RecordType> &types) {
  BatchRules rules;
  std::vector<BatchVerdict> out;
  for (RecordType type : types) out.push_back(rules.take(type));
  return out;
}

constexpr BatchVerdict pending = BatchVerdict::pending;
constexpr BatchVerdict complete = BatchVerdict::complete;
constexpr BatchVerdict violation = BatchVerdict::violation;

TEST(BatchRules, FullRecordsAndPaddingCountAtOnce) {
  EXPECT_EQ(verdicts({RecordType::full, RecordType::padding, RecordType::full}),
            (std::vector<BatchVerdict>{complete, complete, complete}));
}

TEST(BatchRules, ABatchCountsOnlyAtItsLast) {
  EXPECT_EQ(verdicts({RecordType::batch_first, RecordType::batch_middle, RecordType::batch_middle,
                      RecordType::batch_last, RecordType::full}),
            (std::vector<BatchVerdict>{pending, pending, pending, complete, complete}));
}

TEST(BatchRules, ABatchOfTwoHasNoMiddle) {
  BatchRules rules;
  EXPECT_EQ(rules.take(RecordType::batch_first), pending);
  EXPECT_TRUE(rules.in_batch());
  EXPECT_EQ(rules.take(RecordType::batch_last), complete);
  EXPECT_FALSE(rules.in_batch());
}

TEST(BatchRules, MiddleOrLastWithoutAFirstIsAViolation) {
  for (RecordType type : {RecordType::batch_middle, RecordType::batch_last}) {
    BatchRules rules;
    EXPECT_EQ(rules.take(type), violation);
    EXPECT_EQ(std::string(rules.violation()), "batch_middle or batch_last without a batch_first");
    EXPECT_FALSE(rules.in_batch()) << "a violation changes nothing";
  }
}

TEST(BatchRules, FullPaddingOrFirstInsideABatchIsAViolation) {
  const struct {
    RecordType type;
    const char *why;
  } cases[] = {{RecordType::full, "a full record inside an atomic batch"},
               {RecordType::padding, "padding inside an atomic batch"},
               {RecordType::batch_first, "a batch_first inside an atomic batch"}};
  for (const auto &c : cases) {
    BatchRules rules;
    ASSERT_EQ(rules.take(RecordType::batch_first), pending);
    EXPECT_EQ(rules.take(c.type), violation) << c.why;
    EXPECT_EQ(std::string(rules.violation()), c.why);
    EXPECT_TRUE(rules.in_batch()) << "the batch is still open after a violation";
  }
}

}  // namespace
}  // namespace segstore::log
