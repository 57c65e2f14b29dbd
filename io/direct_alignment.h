// io/direct_alignment.h — the O_DIRECT alignment rule, checked before a request reaches the
// kernel.
//
// O_DIRECT moves bytes between the device and the caller's memory without the page cache, so
// the buffer address, the file offset and the length must all be multiples of the device's
// logical block size (512 or 4096 bytes, depending on the device). segstore uses one rule for
// every device: multiples of format::block_size_bytes (4096). A misaligned request is refused
// here with invalid_argument, never submitted: the kernel would answer EINVAL (or, for a group
// whose later part is misaligned, only after the first part was written).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "format/layout.h"
#include "segstore/status.h"

namespace segstore::io {

constexpr bool is_block_aligned(std::uint64_t value) {
  return value % format::block_size_bytes == 0;
}

// ok, or invalid_argument naming what is misaligned:
// "write /d/f at offset 4100: O_DIRECT needs offset, length and buffer address to be multiples
// of 4096 (offset 4100, length 4096, buffer 0x7f..000)".
inline Status check_direct_alignment(const char *what, const std::string &path,
                                     std::uint64_t offset, const void *buffer,
                                     std::size_t length) {
  const auto address = reinterpret_cast<std::uintptr_t>(buffer);
  if (is_block_aligned(offset) && is_block_aligned(length) && is_block_aligned(address)) {
    return Status();
  }
  char address_text[32];
  std::snprintf(address_text, sizeof address_text, "%#zx", static_cast<std::size_t>(address));
  return Status(Errc::invalid_argument,
                std::string(what) + " " + path + " at offset " + std::to_string(offset) +
                    ": O_DIRECT needs offset, length and buffer address to be multiples of " +
                    std::to_string(format::block_size_bytes) + " (offset " +
                    std::to_string(offset) + ", length " + std::to_string(length) +
                    ", buffer " + address_text + ")");
}

}  // namespace segstore::io
