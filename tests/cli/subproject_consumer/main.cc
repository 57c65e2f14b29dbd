// tests/cli/subproject_consumer/main.cc — appends one record to a new store and reads it back,
// through the public header only. Usage: consumer STORE_DIR. Exit 0 when the record came back.
#include <cstdio>
#include <string_view>

#include <segstore/store.h>

namespace {

int fail(const char *what, const segstore::Status &status) {
  std::fprintf(stderr, "consumer: %s: %s\n", what, status.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STORE_DIR\n", argv[0]);
    return 2;
  }
  constexpr std::string_view payload = "built as a subproject";
  auto opened = segstore::Store::open(argv[1]);
  if (!opened) return fail("open", opened.status());
  segstore::Store &store = **opened;

  auto lsn = store.append(std::as_bytes(std::span(payload.data(), payload.size())));
  if (!lsn) return fail("append", lsn.status());
  auto record = store.read(*lsn);
  if (!record) return fail("read", record.status());
  const std::string_view read_back(reinterpret_cast<const char *>(record->payload.data()), record->payload.size());
  if (read_back != payload) {
    std::fprintf(stderr, "consumer: LSN %llu read back '%.*s', appended '%.*s'\n",
                 static_cast<unsigned long long>(*lsn), static_cast<int>(read_back.size()), read_back.data(),
                 static_cast<int>(payload.size()), payload.data());
    return 1;
  }
  segstore::Status closed = store.close();
  if (!closed.ok()) return fail("close", closed);
  std::printf("consumer: LSN %llu read back: %.*s\n", static_cast<unsigned long long>(*lsn),
              static_cast<int>(read_back.size()), read_back.data());
  return 0;
}
