// engine/version.cc — the version of the loaded library (segstore/version.h), and the tie
// between the format version the public header announces and the one the writers use.
#include "segstore/version.h"

#include "format/layout.h"

static_assert(SEGSTORE_FORMAT_VERSION == segstore::format::format_version,
              "segstore/version.h announces a format version other than the one format/layout.h writes");

extern "C" const char *segstore_version(void) { return SEGSTORE_VERSION_STRING; }

namespace segstore {

std::string_view version() noexcept { return SEGSTORE_VERSION_STRING; }

}  // namespace segstore
