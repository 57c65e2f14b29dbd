// tools/record_format.h — how `segstore cat` writes a record:
//   text    the payload and a newline (what `append` reads back line by line)
//   hex     "<lsn> <stream> <payload as hex>" per line
//   json    one JSON object per line: {"lsn":..,"stream":..,"payload":"<UTF-8 text>"}, or
//           "payload_base64" when the payload is not valid UTF-8
//   framed  a 4-byte little-endian length and the payload (what `append --framed` reads)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "segstore/store.h"

namespace segstore::cli {

enum class RecordFormat { text, hex, json, framed };

std::optional<RecordFormat> parse_record_format(std::string_view name);
// Appends the record's bytes in `format` to `out`.
void format_record(RecordFormat format, const RecordView &record, std::string &out);

}  // namespace segstore::cli
