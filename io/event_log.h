// io/event_log.h — the store's events.log: one line per event an operator should be able to
// look up later (a store created, recovery's report, a truncation, a trim, a store turned
// read-only), "<UTC time> <message>".
//
// Written through the store's Env like every file the store writes, so relative to the store
// directory it locked (io/env.h, bind_env_to_dir) and never through a symbolic link, a FIFO or
// anything but a regular file. Best effort: a failure to log never fails the operation being
// logged; it is reported through the logger with the event it could not record.
#pragma once

#include <string>

#include "io/env.h"
#include "segstore/log.h"

namespace segstore::io {

void append_event(Env &env, const std::string &store_dir, const std::string &message, const Logger &logger);

}  // namespace segstore::io
