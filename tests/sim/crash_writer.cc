// tests/sim/crash_writer.cc — a writer for the kill -9 tests (kill_test.cc).
//
//   crash_writer DIR FIRST_ID MODE [SEGMENT_BYTES]
//     MODE plain     appends with durability sync, forever
//          snapshot  the same, and a snapshot after every third record
//
// Appends payload FIRST_ID, FIRST_ID + 1, ... (crash_payload.h) and prints, flushed, one line per
// acknowledgement: "A <lsn> <id>" once the append returned (durable), "S <lsn>" once
// write_snapshot(lsn) returned. Runs until killed; exits 1 on any error (after printing it).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "segstore/store.h"
#include "sim/crash_payload.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: crash_writer DIR FIRST_ID plain|snapshot [SEGMENT_BYTES]\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::uint64_t id = std::strtoull(argv[2], nullptr, 10);
  const std::string mode = argv[3];
  segstore::Options options;
  options.durability = segstore::Durability::sync;
  if (argc > 4) options.segment_bytes = std::strtoull(argv[4], nullptr, 10);
  options.snapshots_kept = 2;
  segstore::Result<std::unique_ptr<segstore::Store>> store = segstore::Store::open(dir, options);
  if (!store.ok()) {
    std::fprintf(stderr, "crash_writer: open: %s\n", store.status().to_string().c_str());
    return 1;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  for (std::uint64_t n = 0;; ++n, ++id) {
    const std::vector<std::byte> payload = segstore::sim::crash_payload(id, segstore::sim::crash_payload_extra(id));
    segstore::Result<std::uint64_t> lsn = (*store)->append(payload, static_cast<std::uint32_t>(id % 3));
    if (!lsn.ok()) {
      std::fprintf(stderr, "crash_writer: append: %s\n", lsn.status().to_string().c_str());
      return 1;
    }
    std::printf("A %llu %llu\n", static_cast<unsigned long long>(*lsn), static_cast<unsigned long long>(id));
    if (mode == "snapshot" && n % 3 == 2) {
      const std::vector<std::byte> state = segstore::sim::crash_payload(*lsn, 100 + *lsn % 500);
      segstore::Status s = (*store)->write_snapshot(*lsn, state);
      if (!s.ok()) {
        std::fprintf(stderr, "crash_writer: write_snapshot: %s\n", s.to_string().c_str());
        return 1;
      }
      std::printf("S %llu\n", static_cast<unsigned long long>(*lsn));
    }
  }
}
