// tests/log/segment_file_test.cc — the one segment header opener: what it reports for a valid
// header, a preallocated segment, a damaged block 0 and a file shorter than its header block.
#include "log/segment_file.h"

#include <gtest/gtest.h>

#include "recovery/recovery_fixture.h"

namespace segstore::recovery::testing {
namespace {

class SegmentFileTest : public RecoveryTest {
 protected:
  log::SegmentFileHeader open(const std::string &path) {
    io::OpenFlags flags;
    flags.direct = true;
    Result<log::SegmentFileHeader> opened = log::open_segment_file(*env_, path, flags);
    EXPECT_TRUE(opened.ok()) << opened.status().to_string();
    return opened.ok() ? std::move(*opened) : log::SegmentFileHeader{};
  }
};

TEST_F(SegmentFileTest, ValidHeaderIsDecodedAndBoundsTheRecords) {
  StoreBuilder b(dir(), test_segment_bytes, 500);
  b.append(100);
  b.flush();
  b.write();
  const log::SegmentFileHeader opened = open(b.segment_path(1));
  ASSERT_NE(opened.file, nullptr);
  EXPECT_EQ(opened.error, format::SegmentHeaderError::none);
  EXPECT_FALSE(opened.block0_all_zero);
  EXPECT_EQ(opened.header.segment_id, 1u);
  EXPECT_EQ(opened.header.base_lsn, 500u);
  EXPECT_EQ(opened.header.store_id, test_store_id);
  EXPECT_EQ(opened.file_bytes, test_segment_bytes);
  EXPECT_EQ(opened.limit(), test_segment_bytes);
}

TEST_F(SegmentFileTest, PreallocatedSegmentReadsAsAllZeroNotDamage) {
  StoreBuilder b(dir());
  b.append(100);
  b.flush();
  b.add_unused();
  b.write();
  const log::SegmentFileHeader opened = open(b.segment_path(2));
  EXPECT_TRUE(opened.block0_all_zero);
  EXPECT_EQ(opened.error, format::SegmentHeaderError::unused);
}

TEST_F(SegmentFileTest, FlippedHeaderByteIsAnErrorValue) {
  StoreBuilder b(dir());
  b.append(100);
  b.flush();
  b.write();
  flip_byte(b.segment_path(1), 20);  // inside the header's checksummed bytes
  const log::SegmentFileHeader opened = open(b.segment_path(1));
  EXPECT_FALSE(opened.block0_all_zero);
  EXPECT_NE(opened.error, format::SegmentHeaderError::none);
  EXPECT_NE(opened.error, format::SegmentHeaderError::unused);
}

TEST_F(SegmentFileTest, FileShorterThanItsHeaderBlockKeepsItsSize) {
  StoreBuilder b(dir());
  b.append(100);
  b.flush();
  b.write();
  shrink_file(b.segment_path(1), 0);
  const log::SegmentFileHeader opened = open(b.segment_path(1));
  EXPECT_EQ(opened.file_bytes, 0u);
  EXPECT_TRUE(opened.block0_all_zero) << "nothing read counts as zero: recovery reuses it as unused";
  EXPECT_EQ(opened.error, format::SegmentHeaderError::too_short);
}

TEST_F(SegmentFileTest, MissingFileIsAnIoErrorNotAValue) {
  io::OpenFlags flags;
  const std::string missing = path(format::numbered_name(9, format::segment_suffix));
  Result<log::SegmentFileHeader> opened = log::open_segment_file(*env_, missing, flags);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Errc::io_error);
  EXPECT_NE(opened.status().message().find(missing), std::string::npos) << opened.status().message();
}

}  // namespace
}  // namespace segstore::recovery::testing
