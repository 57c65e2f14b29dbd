// io/aligned_buffer.h — heap memory aligned for O_DIRECT.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <utility>

#include "format/layout.h"

namespace segstore::io {

// A block-aligned, zero-initialised byte buffer whose capacity is a multiple of the block size.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t bytes) { reset(bytes); }
  AlignedBuffer(AlignedBuffer &&other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer &operator=(AlignedBuffer &&other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  ~AlignedBuffer() { std::free(data_); }

  void reset(std::size_t bytes) {
    std::free(data_);
    size_ = format::align_up(bytes == 0 ? 1 : bytes, format::block_size_bytes);
    data_ = static_cast<std::byte *>(std::aligned_alloc(format::block_size_bytes, size_));
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_, 0, size_);
  }
  std::byte *data() { return data_; }
  const std::byte *data() const { return data_; }
  std::size_t size() const { return size_; }
  std::span<std::byte> span() { return {data_, size_}; }

 private:
  std::byte *data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace segstore::io
