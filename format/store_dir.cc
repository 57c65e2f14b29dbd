#include "format/store_dir.h"

#include <cstdio>
#include <cstring>

namespace segstore::format {

std::string join_path(const std::string &dir, const std::string &name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string numbered_name(std::uint64_t number, const char *suffix) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(number));
  return std::string(digits) + suffix;
}

std::optional<std::uint64_t> parse_numbered_name(const std::string &name, const char *suffix) {
  const std::size_t suffix_len = std::strlen(suffix);
  if (name.size() != 20 + suffix_len || name.compare(20, suffix_len, suffix) != 0) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(name[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace segstore::format
