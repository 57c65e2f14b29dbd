// io/event_log.cc — see io/event_log.h.
#include "io/event_log.h"

#include <ctime>

#include "base/log.h"
#include "format/store_dir.h"

namespace segstore::io {

void append_event(Env &env, const std::string &store_dir, const std::string &message, const Logger &logger) {
  const std::string path = format::join_path(store_dir, format::events_file_name);
  char stamp[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string line = std::string(stamp) + " " + message + "\n";
  OpenFlags flags;
  flags.create = true;
  flags.write = true;
  flags.append = true;
  Status status;
  Result<std::unique_ptr<File>> file = env.open_file(path, flags);
  if (!file.ok()) status = file.status();
  Result<std::uint64_t> size = status.ok() ? (*file)->size() : Result<std::uint64_t>(status);
  if (!size.ok()) status = size.status();
  // One write: with O_APPEND it lands whole at the end, wherever another writer left the end.
  if (status.ok()) status = (*file)->write_at(*size, std::as_bytes(std::span(line)));
  if (!status.ok())
    base::log(logger, LogLevel::warning, "cannot append to " + path + ": " + status.to_string() + "; event: " + message);
}

}  // namespace segstore::io
