// segstore/export.h — symbol visibility. libsegstore.so is built with hidden visibility; only
// declarations marked SEGSTORE_API are exported. SEGSTORE_LOCAL keeps a member of an exported
// class (the Impl classes behind Store and Iterator) out of the ABI: a nested class would
// otherwise inherit its enclosing class's default visibility and export every member.
#pragma once

#if defined(SEGSTORE_BUILDING_LIBRARY)
#define SEGSTORE_API __attribute__((visibility("default")))
#define SEGSTORE_LOCAL __attribute__((visibility("hidden")))
#else
#define SEGSTORE_API
#define SEGSTORE_LOCAL
#endif
