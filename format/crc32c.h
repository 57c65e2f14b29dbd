// format/crc32c.h — CRC32C (Castagnoli, reflected polynomial 0x82F63B78).
//
// Uses ISA-L's crc32_iscsi for large inputs when the build has it (meson option isal), the
// SSE4.2 crc32 instruction when the CPU has it (checked once at run time), else a portable
// slicing-by-8 table. All give identical results; tests check them against the
// published vectors (CRC32C("123456789") == 0xE3069283).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace segstore::format {

// Extends `crc` (the CRC of earlier bytes; 0 for none) over `data`. extend(0, all) ==
// extend(extend(0, a), b) when all == a ++ b.
std::uint32_t crc32c_extend(std::uint32_t crc, const std::byte *data, std::size_t size);
inline std::uint32_t crc32c(std::span<const std::byte> data) {
  return crc32c_extend(0, data.data(), data.size());
}

// The implementations, exposed so tests can compare them. crc32c_hardware_available() says
// whether crc32c_extend_hardware may be called; crc32c_isal_available() whether the build has
// ISA-L (libisal, its crc32_iscsi: same polynomial), used for inputs of 256 bytes and more.
std::uint32_t crc32c_extend_portable(std::uint32_t crc, const std::byte *data, std::size_t size);
std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const std::byte *data, std::size_t size);
std::uint32_t crc32c_extend_isal(std::uint32_t crc, const std::byte *data, std::size_t size);
bool crc32c_hardware_available();
bool crc32c_isal_available();

// Stored CRCs are masked (rotated and offset) so that the CRC of bytes that themselves contain
// an embedded CRC is not trivially related to it, and so that an all-zero field never equals
// the CRC of all-zero bytes.
inline constexpr std::uint32_t crc_mask_delta = 0xa282ead8u;
inline std::uint32_t crc32c_mask(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + crc_mask_delta;
}
inline std::uint32_t crc32c_unmask(std::uint32_t masked) {
  const std::uint32_t rot = masked - crc_mask_delta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace segstore::format
