// format/crc32c.cc — CRC32C, portable (slicing-by-8), SSE4.2, and ISA-L's crc32_iscsi where
// the build found it (three interleaved streams of crc32 with PCLMUL folding: several times the
// one-stream SSE4.2 loop on large buffers), chosen once at run time.
//
// Convention: the stored state of a CRC is the finished value (complemented). Extending first
// undoes the final complement (~crc), runs the register over the new bytes, and complements
// again, so extend(extend(0, a), b) == extend(0, a ++ b) and extend(0, "123456789") ==
// 0xE3069283 (the published check value: init 0xFFFFFFFF, final xor 0xFFFFFFFF, reflected).
#include "format/crc32c.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "format/endian.h"

#if SEGSTORE_HAVE_ISAL
#include <isa-l/crc.h>

#include <climits>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define SEGSTORE_CRC32C_X86 1
#else
#define SEGSTORE_CRC32C_X86 0
#endif

namespace segstore::format {
namespace {

// Castagnoli polynomial 0x1EDC6F41, bit-reversed (the CRC is reflected: LSB first).
constexpr std::uint32_t crc32c_poly_reflected = 0x82F63B78u;

// tables[0] is the classic byte-at-a-time table. tables[k][b] is the CRC register after
// feeding byte b followed by k zero bytes, which lets one step consume 8 input bytes with 8
// independent lookups (slicing-by-8). Computed at compile time: no mutable state.
using SliceTables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr SliceTables make_slice_tables() {
  SliceTables tables{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? crc32c_poly_reflected : 0u);
    tables[0][byte] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t byte = 0; byte < 256; ++byte) {
      const std::uint32_t prev = tables[k - 1][byte];
      tables[k][byte] = (prev >> 8) ^ tables[0][prev & 0xffu];
    }
  }
  return tables;
}

constexpr SliceTables slice_tables = make_slice_tables();
static_assert(slice_tables[0][1] == 0xF26B8303u, "CRC32C table spot check");
static_assert(slice_tables[0][128] == crc32c_poly_reflected, "CRC32C table spot check");

std::uint32_t crc_step_byte(std::uint32_t reg, std::byte b) {
  return (reg >> 8) ^ slice_tables[0][(reg ^ std::to_integer<std::uint32_t>(b)) & 0xffu];
}

using ExtendFunction = std::uint32_t (*)(std::uint32_t, const std::byte *, std::size_t);

// Below this many bytes the one-stream loop is at least as fast as ISA-L's folding code (whose
// setup costs more than it saves on a record header); measured with segstore-micro's
// BM_Crc32c* (docs/BENCHMARKS.md).
constexpr std::size_t isal_min_bytes = 256;

#if SEGSTORE_HAVE_ISAL
std::uint32_t extend_isal_or_hardware(std::uint32_t crc, const std::byte *data, std::size_t size) {
  return size < isal_min_bytes ? crc32c_extend_hardware(crc, data, size) : crc32c_extend_isal(crc, data, size);
}
#endif

ExtendFunction choose_extend() {
#if SEGSTORE_HAVE_ISAL
  if (crc32c_isal_available() && crc32c_hardware_available()) return extend_isal_or_hardware;
  if (crc32c_isal_available()) return crc32c_extend_isal;
#endif
  return crc32c_hardware_available() ? crc32c_extend_hardware : crc32c_extend_portable;
}

}  // namespace

std::uint32_t crc32c_extend_portable(std::uint32_t crc, const std::byte *data, std::size_t size) {
  std::uint32_t reg = ~crc;
  const auto &t = slice_tables;
  // Loads go through load_u32 (explicit little-endian), so the result does not depend on the
  // host's byte order or on the alignment of `data`.
  while (size >= 8) {
    const std::uint32_t lo = reg ^ load_u32(data);
    const std::uint32_t hi = load_u32(data + 4);
    reg = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
          t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^ t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
    data += 8;
    size -= 8;
  }
  while (size > 0) {
    reg = crc_step_byte(reg, *data);
    ++data;
    --size;
  }
  return ~reg;
}

#if SEGSTORE_CRC32C_X86

__attribute__((target("sse4.2"))) std::uint32_t crc32c_extend_hardware(std::uint32_t crc,
                                                                      const std::byte *data,
                                                                      std::size_t size) {
  std::uint32_t reg = ~crc;
  // Single bytes until `data` is 8-aligned, so the 8-byte loads below do not straddle cache
  // lines needlessly; memcpy keeps the loads well-defined whatever the alignment.
  while (size > 0 && (reinterpret_cast<std::uintptr_t>(data) & 7u) != 0) {
    reg = _mm_crc32_u8(reg, std::to_integer<std::uint8_t>(*data));
    ++data;
    --size;
  }
#if defined(__x86_64__)
  std::uint64_t reg64 = reg;
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, data, sizeof word);  // x86 is little-endian: byte 0 is fed first
    reg64 = _mm_crc32_u64(reg64, word);
    data += 8;
    size -= 8;
  }
  reg = static_cast<std::uint32_t>(reg64);
#else
  while (size >= 4) {
    std::uint32_t word;
    std::memcpy(&word, data, sizeof word);
    reg = _mm_crc32_u32(reg, word);
    data += 4;
    size -= 4;
  }
#endif
  while (size > 0) {
    reg = _mm_crc32_u8(reg, std::to_integer<std::uint8_t>(*data));
    ++data;
    --size;
  }
  return ~reg;
}

bool crc32c_hardware_available() {
  // __builtin_cpu_init is idempotent; calling it makes the answer right even when this runs
  // from a static constructor before libgcc's own initialisation.
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

#else  // not x86: no hardware path; the portable code answers for it.

std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const std::byte *data, std::size_t size) {
  return crc32c_extend_portable(crc, data, size);
}

bool crc32c_hardware_available() { return false; }

#endif

#if SEGSTORE_HAVE_ISAL

// ISA-L keeps the raw register (no final complement) and takes an int length: the register is
// complemented around the call, and longer inputs go in pieces.
std::uint32_t crc32c_extend_isal(std::uint32_t crc, const std::byte *data, std::size_t size) {
  constexpr std::size_t piece_max = std::size_t{1} << 30;
  std::uint32_t reg = ~crc;
  while (size > 0) {
    const std::size_t piece = std::min(size, piece_max);
    // crc32_iscsi only reads the buffer; its parameter is not const-qualified.
    auto *bytes = reinterpret_cast<unsigned char *>(const_cast<std::byte *>(data));
    reg = crc32_iscsi(bytes, static_cast<int>(piece), reg);
    data += piece;
    size -= piece;
  }
  return ~reg;
}

bool crc32c_isal_available() { return true; }

#else

std::uint32_t crc32c_extend_isal(std::uint32_t crc, const std::byte *data, std::size_t size) {
  return crc32c_extend_hardware(crc, data, size);
}

bool crc32c_isal_available() { return false; }

#endif

std::uint32_t crc32c_extend(std::uint32_t crc, const std::byte *data, std::size_t size) {
  // Chosen once (thread-safe static initialisation); never changes afterwards.
  static const ExtendFunction extend = choose_extend();
  return extend(crc, data, size);
}

}  // namespace segstore::format
