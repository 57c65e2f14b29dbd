// tests/io/aligned_buffer_test.cc — io::AlignedBuffer below and above mapped_min_bytes (heap,
// and a populated mapping): whole blocks, block-aligned, zeroed, writable to the last byte;
// moves hand the memory over; reset gives a zeroed buffer again; the count of mapped bytes
// follows every mapping made and undone.
#include "io/aligned_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "format/layout.h"

namespace segstore::io {
namespace {

using format::block_size_bytes;

bool all_zero(const AlignedBuffer &b) {
  return std::all_of(b.data(), b.data() + b.size(), [](std::byte x) { return x == std::byte{0}; });
}

// Sizes on both sides of the heap/mapping boundary, and off block boundaries.
constexpr std::size_t sizes[] = {0, 1, block_size_bytes, AlignedBuffer::mapped_min_bytes - 1,
                                 AlignedBuffer::mapped_min_bytes, AlignedBuffer::mapped_min_bytes + 1,
                                 (1u << 20) + 100};

TEST(AlignedBuffer, EverySizeIsWholeBlocksAlignedAndZeroed) {
  for (std::size_t bytes : sizes) {
    SCOPED_TRACE("bytes " + std::to_string(bytes));
    AlignedBuffer b(bytes);
    EXPECT_GE(b.size(), std::max<std::size_t>(bytes, 1));
    EXPECT_LT(b.size(), std::max<std::size_t>(bytes, 1) + block_size_bytes);
    EXPECT_EQ(b.size() % block_size_bytes, 0u);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % block_size_bytes, 0u);
    EXPECT_TRUE(all_zero(b));
    b.data()[0] = std::byte{1};
    b.data()[b.size() - 1] = std::byte{2};  // writable to its last byte
    EXPECT_EQ(b.data()[b.size() - 1], std::byte{2});
  }
}

TEST(AlignedBuffer, ResetGivesAZeroedBufferOfTheNewSize) {
  AlignedBuffer b(AlignedBuffer::mapped_min_bytes * 2);
  std::fill(b.data(), b.data() + b.size(), std::byte{0x5a});
  b.reset(block_size_bytes);  // mapped to heap
  EXPECT_EQ(b.size(), block_size_bytes);
  EXPECT_TRUE(all_zero(b));
  std::fill(b.data(), b.data() + b.size(), std::byte{0x5a});
  b.reset(AlignedBuffer::mapped_min_bytes);  // heap to mapped
  EXPECT_EQ(b.size(), AlignedBuffer::mapped_min_bytes);
  EXPECT_TRUE(all_zero(b));
}

TEST(AlignedBuffer, MovesHandTheMemoryOver) {
  for (std::size_t bytes : {std::size_t{block_size_bytes}, AlignedBuffer::mapped_min_bytes}) {
    AlignedBuffer a(bytes);
    a.data()[7] = std::byte{7};
    std::byte *memory = a.data();
    AlignedBuffer b(std::move(a));
    EXPECT_EQ(a.data(), nullptr);
    EXPECT_EQ(a.size(), 0u);
    EXPECT_EQ(b.data(), memory);
    EXPECT_EQ(b.data()[7], std::byte{7});
    AlignedBuffer c(block_size_bytes);  // the other kind or the same: its memory is given back
    c = std::move(b);
    EXPECT_EQ(c.data(), memory);
    EXPECT_EQ(c.size(), bytes);
    EXPECT_EQ(b.data(), nullptr);
  }
}

// Single-threaded test binary: nothing else maps buffers while it runs.
TEST(AlignedBuffer, MappedBytesInUseCountEveryMappingUntilItsRelease) {
  const std::size_t before = AlignedBuffer::mapped_bytes_in_use();
  {
    AlignedBuffer small(block_size_bytes);
    EXPECT_EQ(AlignedBuffer::mapped_bytes_in_use(), before);  // heap buffers are not counted
    AlignedBuffer a(AlignedBuffer::mapped_min_bytes + 1);
    EXPECT_EQ(AlignedBuffer::mapped_bytes_in_use(), before + a.size());
    AlignedBuffer b(std::move(a));  // a move hands the mapping over: counted once
    EXPECT_EQ(AlignedBuffer::mapped_bytes_in_use(), before + b.size());
    const std::size_t b_size = b.size();
    b.reset(1u << 20);
    EXPECT_EQ(AlignedBuffer::mapped_bytes_in_use(), before + (1u << 20)) << "the old mapping of " << b_size << " stays counted";
    small = std::move(b);  // heap to mapped by assignment
    EXPECT_EQ(AlignedBuffer::mapped_bytes_in_use(), before + (1u << 20));
    small.reset(block_size_bytes);
    EXPECT_EQ(AlignedBuffer::mapped_bytes_in_use(), before);
    b.reset(AlignedBuffer::mapped_min_bytes);
  }
  EXPECT_EQ(AlignedBuffer::mapped_bytes_in_use(), before);  // the destructor releases b's mapping
}

}  // namespace
}  // namespace segstore::io
