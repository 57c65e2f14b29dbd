// segstore/export.h — symbol visibility. libsegstore.so is built with hidden visibility; only
// declarations marked SEGSTORE_API are exported.
#pragma once

#if defined(SEGSTORE_BUILDING_LIBRARY)
#define SEGSTORE_API __attribute__((visibility("default")))
#else
#define SEGSTORE_API
#endif
