// io/aligned_buffer.cc — block-aligned buffers: mapped and populated when large, heap otherwise.
#include "io/aligned_buffer.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "base/assert.h"

namespace segstore::io {
namespace {

std::atomic<std::size_t> mapped_bytes{0};

}  // namespace

std::size_t AlignedBuffer::mapped_bytes_in_use() { return mapped_bytes.load(std::memory_order_relaxed); }

void AlignedBuffer::reset(std::size_t bytes) {
  release();
  const std::size_t size = format::align_up(bytes == 0 ? 1 : bytes, format::block_size_bytes);
  if (size >= mapped_min_bytes) {
    // MAP_POPULATE faults every page in now, inside the one call; the pages come zeroed.
    void *mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mapped == MAP_FAILED) throw std::bad_alloc();
    // Invariant: mappings start on a page, and a page is a whole number of blocks (4 KiB on
    // every platform segstore builds for), so O_DIRECT accepts the buffer as it is.
    SEGSTORE_ASSERT(reinterpret_cast<std::uintptr_t>(mapped) % format::block_size_bytes == 0,
                    "mapping not aligned to a block");
    data_ = static_cast<std::byte *>(mapped);
    mapped_bytes.fetch_add(size, std::memory_order_relaxed);
  } else {
    data_ = static_cast<std::byte *>(std::aligned_alloc(format::block_size_bytes, size));
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_, 0, size);
  }
  size_ = size;
}

void AlignedBuffer::release() noexcept {
  if (data_ == nullptr) return;
  // The size decides how the buffer was made (reset): it never changes in between.
  if (size_ >= mapped_min_bytes) {
    ::munmap(data_, size_);
    mapped_bytes.fetch_sub(size_, std::memory_order_relaxed);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
  size_ = 0;
}

}  // namespace segstore::io
