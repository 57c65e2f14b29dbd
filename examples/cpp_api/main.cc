// examples/cpp_api/main.cc — libsegstore from C++: a durable event log with streams, a batch,
// a scan of one stream, and the store's statistics.
//
// Build against an installed libsegstore:
//   c++ -std=c++20 main.cc $(pkg-config --cflags --libs segstore) -o cpp_example
// Run: ./cpp_example /tmp/example-store
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <segstore/store.h>

namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

int fail(const char *what, const segstore::Status &status) {
  std::fprintf(stderr, "%s: %s\n", what, status.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STORE_DIR\n", argv[0]);
    return 2;
  }
  segstore::Options options;
  options.durability = segstore::Durability::sync;  // append returns once the record is durable
  auto opened = segstore::Store::open(argv[1], options);
  if (!opened) return fail("open", opened.status());
  segstore::Store &store = **opened;

  constexpr std::uint32_t orders = 1, payments = 2;
  auto lsn = store.append(bytes("order 17: 2 books"), orders);
  if (!lsn) return fail("append", lsn.status());
  const std::uint64_t first = *lsn;

  // Several records atomically: after a crash either all of them are there or none.
  const std::vector<segstore::BatchEntry> batch = {{payments, bytes("payment for order 17")},
                                                   {orders, bytes("order 17: shipped")}};
  auto batch_lsn = store.append_batch(batch);
  if (!batch_lsn) return fail("append_batch", batch_lsn.status());
  std::printf("appended LSN %llu, then a batch at LSN %llu..%llu\n", static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(*batch_lsn), static_cast<unsigned long long>(*batch_lsn + 1));

  auto record = store.read(first);
  if (!record) return fail("read", record.status());
  std::printf("read LSN %llu: %.*s\n", static_cast<unsigned long long>(record->lsn),
              static_cast<int>(record->payload.size()), reinterpret_cast<const char *>(record->payload.data()));

  auto it = store.scan(first, orders);
  if (!it) return fail("scan", it.status());
  int seen = 0;
  while (true) {
    auto more = it->next();
    if (!more) return fail("next", more.status());
    if (!*more) break;
    const segstore::RecordView &r = it->record();
    std::printf("orders stream, LSN %llu: %.*s\n", static_cast<unsigned long long>(r.lsn),
                static_cast<int>(r.payload.size()), reinterpret_cast<const char *>(r.payload.data()));
    ++seen;
  }
  if (seen != 2) return 1;

  const segstore::Stats stats = store.stats();
  std::printf("first LSN %llu, next LSN %llu, durable LSN %llu, %llu segment(s), backend %s\n",
              static_cast<unsigned long long>(stats.first_lsn), static_cast<unsigned long long>(stats.next_lsn),
              static_cast<unsigned long long>(stats.durable_lsn),
              static_cast<unsigned long long>(stats.segment_count), stats.io_backend.c_str());
  segstore::Status closed = store.close();
  if (!closed) return fail("close", closed);
  return 0;
}
