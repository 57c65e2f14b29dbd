// tools/record_format.cc — see record_format.h.
#include "record_format.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

namespace segstore::cli {

namespace {

std::string_view as_chars(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char *>(bytes.data()), bytes.size()};
}

// RFC 3629: rejects overlong forms, surrogates and code points past U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // the sequence runs past the end
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static const std::uint32_t min_of_length[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_of_length[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

std::string base64(std::span<const std::byte> bytes) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = std::to_integer<std::uint32_t>(bytes[i]) << 16 |
                            std::to_integer<std::uint32_t>(bytes[i + 1]) << 8 |
                            std::to_integer<std::uint32_t>(bytes[i + 2]);
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += alphabet[v >> 6 & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest != 0) {
    std::uint32_t v = std::to_integer<std::uint32_t>(bytes[i]) << 16;
    if (rest == 2) v |= std::to_integer<std::uint32_t>(bytes[i + 1]) << 8;
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += rest == 2 ? alphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

std::optional<RecordFormat> parse_record_format(std::string_view name) {
  if (name == "text") return RecordFormat::text;
  if (name == "hex") return RecordFormat::hex;
  if (name == "json") return RecordFormat::json;
  if (name == "framed") return RecordFormat::framed;
  return std::nullopt;
}

void format_record(RecordFormat format, const RecordView &record, std::string &out) {
  switch (format) {
    case RecordFormat::text:
      out.append(as_chars(record.payload));
      out += '\n';
      return;
    case RecordFormat::hex: {
      fmt::format_to(std::back_inserter(out), "{} {} ", record.lsn, record.stream);
      static const char digits[] = "0123456789abcdef";
      for (std::byte b : record.payload) {
        const auto v = std::to_integer<unsigned>(b);
        out += digits[v >> 4];
        out += digits[v & 15];
      }
      out += '\n';
      return;
    }
    case RecordFormat::json: {
      nlohmann::json line = {{"lsn", record.lsn}, {"stream", record.stream}, {"bytes", record.payload.size()}};
      const std::string_view text = as_chars(record.payload);
      if (valid_utf8(text)) {
        line["payload"] = std::string(text);
      } else {
        line["payload_base64"] = base64(record.payload);
      }
      out += line.dump();
      out += '\n';
      return;
    }
    case RecordFormat::framed: {
      const auto n = static_cast<std::uint32_t>(record.payload.size());
      for (int i = 0; i < 4; ++i) out += static_cast<char>(n >> (8 * i) & 0xFF);  // little-endian
      out.append(as_chars(record.payload));
      return;
    }
  }
}

}  // namespace segstore::cli
