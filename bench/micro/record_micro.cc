// bench/micro/record_micro.cc — encoding and decoding one record (header, payload CRC, copy).
#include <benchmark/benchmark.h>

#include <vector>

#include "format/crc32c.h"
#include "format/record.h"

namespace {

using namespace segstore::format;

std::vector<std::byte> payload_of(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(i * 37 + 1);
  return bytes;
}

// What the engine does per record: the payload CRC, then header + copy into the group buffer.
void BM_EncodeRecord(benchmark::State &state) {
  const auto payload = payload_of(static_cast<std::size_t>(state.range(0)));
  std::vector<std::byte> out(record_disk_bytes(payload.size()));
  std::uint64_t lsn = 1;
  for (auto _ : state) {
    RecordHeader header;
    header.payload_crc = crc32c(payload);
    header.lsn = lsn++;
    header.payload_bytes = static_cast<std::uint32_t>(payload.size());
    benchmark::DoNotOptimize(encode_record(header, payload, out.data()));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_EncodeRecord)->Arg(128)->Arg(1024)->Arg(4096)->Arg(65536);

// Decoding checks both CRCs, the type, the reserved fields and the expected LSN.
void BM_DecodeRecord(benchmark::State &state) {
  const auto payload = payload_of(static_cast<std::size_t>(state.range(0)));
  std::vector<std::byte> encoded(record_disk_bytes(payload.size()));
  RecordHeader header;
  header.payload_crc = crc32c(payload);
  header.lsn = 7;
  header.payload_bytes = static_cast<std::uint32_t>(payload.size());
  encode_record(header, payload, encoded.data());
  const std::uint64_t expected = 7;
  for (auto _ : state) {
    const DecodeOutcome outcome = decode_record(encoded, &expected);
    if (outcome.error != RecordError::none) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(outcome.record.payload.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_DecodeRecord)->Arg(128)->Arg(1024)->Arg(4096)->Arg(65536);

}  // namespace
