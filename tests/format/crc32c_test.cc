// tests/format/crc32c_test.cc — CRC32C against the published vectors, the two implementations
// against each other, composition of extend, and the stored-CRC mask.
#include "format/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>

#include "tests/format/damage.h"

namespace segstore::format {
namespace {

using testing::Bytes;
using testing::bytes_of;
using testing::random_bytes;

using ExtendFunction = std::uint32_t (*)(std::uint32_t, const std::byte *, std::size_t);

struct Implementation {
  const char *name;
  ExtendFunction extend;
  bool (*available)();
};

bool always() { return true; }

const Implementation implementations[] = {
    {"portable", crc32c_extend_portable, always},
    {"hardware", crc32c_extend_hardware, crc32c_hardware_available},
    {"isal", crc32c_extend_isal, crc32c_isal_available},
    {"dispatched", crc32c_extend, always},
};

class Crc32cTest : public ::testing::TestWithParam<Implementation> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) GTEST_SKIP() << GetParam().name << " is not available here";
  }
  std::uint32_t crc(const Bytes &bytes) const {
    return GetParam().extend(0, bytes.data(), bytes.size());
  }
};

TEST_P(Crc32cTest, PublishedCheckValueOf123456789) {
  EXPECT_EQ(crc(bytes_of("123456789")), 0xE3069283u);
}

TEST_P(Crc32cTest, EmptyInputIsZero) { EXPECT_EQ(crc(Bytes{}), 0u); }

// RFC 3720 (iSCSI) appendix B.4 vectors.
TEST_P(Crc32cTest, Rfc3720ThirtyTwoZeroBytes) { EXPECT_EQ(crc(Bytes(32, std::byte{0})), 0x8A9136AAu); }

TEST_P(Crc32cTest, Rfc3720ThirtyTwoOnesBytes) {
  EXPECT_EQ(crc(Bytes(32, std::byte{0xff})), 0x62A8AB43u);
}

TEST_P(Crc32cTest, Rfc3720AscendingBytes) {
  Bytes bytes(32);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i);
  EXPECT_EQ(crc(bytes), 0x46DD794Eu);
}

TEST_P(Crc32cTest, Rfc3720DescendingBytes) {
  Bytes bytes(32);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(31 - i);
  EXPECT_EQ(crc(bytes), 0x113FDB5Cu);
}

TEST_P(Crc32cTest, ExtendOverEverySplitEqualsWholeCrc) {
  std::mt19937_64 rng(11);
  const Bytes all = random_bytes(rng, 300);
  const std::uint32_t whole = crc(all);
  for (std::size_t split = 0; split <= all.size(); ++split) {
    const std::uint32_t first = GetParam().extend(0, all.data(), split);
    EXPECT_EQ(GetParam().extend(first, all.data() + split, all.size() - split), whole)
        << "split at " << split;
  }
}

TEST_P(Crc32cTest, ExtendOverThreePiecesEqualsWholeCrc) {
  const Bytes all = bytes_of("123456789");
  std::uint32_t c = GetParam().extend(0, all.data(), 2);
  c = GetParam().extend(c, all.data() + 2, 5);
  c = GetParam().extend(c, all.data() + 7, 2);
  EXPECT_EQ(c, 0xE3069283u);
}

INSTANTIATE_TEST_SUITE_P(AllImplementations, Crc32cTest, ::testing::ValuesIn(implementations),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(Crc32cImplementations, HardwareEqualsPortableAtEveryLengthAndStartOffset) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937_64 rng(20261123);
  const Bytes buffer = random_bytes(rng, 1024 + 16);
  for (std::size_t start = 0; start < 16; ++start) {
    for (std::size_t length = 0; length <= 1024; ++length) {
      const std::byte *p = buffer.data() + start;
      const std::uint32_t seed = static_cast<std::uint32_t>(length * 2654435761u);
      ASSERT_EQ(crc32c_extend_hardware(seed, p, length), crc32c_extend_portable(seed, p, length))
          << "start " << start << " length " << length;
    }
  }
}

// ISA-L's folding code has its own paths for lengths and alignments (and the register is
// complemented around it): every length up to 4 KiB + 64 at 64 start offsets, random seeds.
TEST(Crc32cImplementations, IsalEqualsPortableAtEveryLengthAndStartOffset) {
  if (!crc32c_isal_available()) GTEST_SKIP() << "built without ISA-L";
  std::mt19937_64 rng(20261205);
  const Bytes buffer = random_bytes(rng, 4096 + 64 + 64);
  for (std::size_t start = 0; start < 64; ++start) {
    for (std::size_t length = 0; length <= 4096 + 64; length += (start % 8 == 0 ? 1 : 7)) {
      const std::byte *p = buffer.data() + start;
      const std::uint32_t seed = static_cast<std::uint32_t>(rng());
      ASSERT_EQ(crc32c_extend_isal(seed, p, length), crc32c_extend_portable(seed, p, length))
          << "start " << start << " length " << length;
    }
  }
}

// The dispatched function switches implementation at a size threshold: both sides of it agree.
TEST(Crc32cImplementations, DispatchedEqualsPortableAroundEveryPowerOfTwo) {
  std::mt19937_64 rng(17);
  const Bytes buffer = random_bytes(rng, 1 << 17);
  for (std::size_t size = 1; size <= buffer.size(); size *= 2) {
    for (std::size_t length : {size - 1, size, size + 1}) {
      if (length > buffer.size()) continue;
      ASSERT_EQ(crc32c_extend(7, buffer.data(), length), crc32c_extend_portable(7, buffer.data(), length)) << length;
    }
  }
}

TEST(Crc32cImplementations, DispatchedChoiceEqualsPortableOnLargeInput) {
  std::mt19937_64 rng(5);
  const Bytes buffer = random_bytes(rng, 1 << 20);
  EXPECT_EQ(crc32c(buffer), crc32c_extend_portable(0, buffer.data(), buffer.size()));
}

TEST(Crc32cImplementations, SingleBitFlipChangesCrc) {
  std::mt19937_64 rng(9);
  Bytes bytes = random_bytes(rng, 4096);
  const std::uint32_t before = crc32c(bytes);
  for (std::size_t bit = 0; bit < bytes.size() * 8; bit += 97) {
    bytes[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    EXPECT_NE(crc32c(bytes), before) << "bit " << bit;
    bytes[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
  }
  EXPECT_EQ(crc32c(bytes), before);
}

TEST(Crc32cMask, UnmaskUndoesMask) {
  std::mt19937_64 rng(3);
  const std::array<std::uint32_t, 5> fixed = {0u, 1u, 0xFFFFFFFFu, 0xE3069283u, crc_mask_delta};
  for (std::uint32_t v : fixed) EXPECT_EQ(crc32c_unmask(crc32c_mask(v)), v) << v;
  for (int i = 0; i < 10000; ++i) {
    const auto v = static_cast<std::uint32_t>(rng());
    ASSERT_EQ(crc32c_unmask(crc32c_mask(v)), v) << v;
    ASSERT_EQ(crc32c_mask(crc32c_unmask(v)), v) << v;
  }
}

// The worked example of docs/FORMAT.md: rotate right by 15, add 0xa282ead8.
TEST(Crc32cMask, WorkedExampleFromFormatDoc) {
  // 0xE3069283 rotated right by 15 bits is 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5.
  EXPECT_EQ((0xE3069283u >> 15) | (0xE3069283u << 17), 0x2507C60Du);
  EXPECT_EQ(crc32c_mask(0xE3069283u), 0xC78AB0E5u);
}

TEST(Crc32cMask, MaskedCrcDiffersFromCrc) {
  const std::uint32_t c = crc32c(bytes_of("123456789"));
  EXPECT_NE(crc32c_mask(c), c);
  // An all-zero stored field is not the masked CRC of all-zero bytes.
  EXPECT_NE(crc32c_mask(crc32c(Bytes(28, std::byte{0}))), 0u);
}

}  // namespace
}  // namespace segstore::format
