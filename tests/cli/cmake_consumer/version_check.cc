// The three ways to ask for segstore's version agree: the macros of the headers compiled
// against, segstore_version() (C) and segstore::version() (C++) of the loaded library.
#include <cstdio>
#include <cstring>
#include <string>

#include <segstore/segstore.h>
#include <segstore/store.h>

int main() {
  const std::string macros = std::to_string(SEGSTORE_VERSION_MAJOR) + "." + std::to_string(SEGSTORE_VERSION_MINOR) +
                             "." + std::to_string(SEGSTORE_VERSION_PATCH);
  if (macros != SEGSTORE_VERSION_STRING || std::strcmp(segstore_version(), SEGSTORE_VERSION_STRING) != 0 ||
      segstore::version() != SEGSTORE_VERSION_STRING || SEGSTORE_FORMAT_VERSION < 1) {
    std::fprintf(stderr, "versions disagree: macros %s, string %s, segstore_version() %s, segstore::version() %.*s\n",
                 macros.c_str(), SEGSTORE_VERSION_STRING, segstore_version(),
                 static_cast<int>(segstore::version().size()), segstore::version().data());
    return 1;
  }
  std::printf("%s\n", segstore_version());
  return 0;
}
