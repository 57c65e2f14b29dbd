// examples/event_store/accounts.cc — parsing, applying and (de)serialising account balances.
#include "accounts.h"

#include <charconv>
#include <optional>
#include <vector>

namespace event_store {

namespace {
constexpr std::size_t account_name_max_bytes = 64;
constexpr std::int64_t amount_max = 1'000'000'000'000;

// Snapshot layout (little endian), all fields checked on restore:
//   offset size field
//   0      4    magic "ACB1"
//   4      8    applied
//   12     8    rejected
//   20     8    malformed
//   28     4    account count N
//   32     ...  N times: u16 name length L, L bytes of name, i64 balance (names strictly ascending)
constexpr char snapshot_magic[4] = {'A', 'C', 'B', '1'};
constexpr std::size_t snapshot_fixed_bytes = 32;

struct Operation {
  enum class Kind { deposit, withdraw, transfer } kind;
  std::string_view from, to;
  std::int64_t amount = 0;
};

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > account_name_max_bytes) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t j = s.find(' ', i);
    const std::size_t end = j == std::string_view::npos ? s.size() : j;
    words.push_back(s.substr(i, end - i));
    i = end + 1;
  }
  return words;
}

// The parsed event, or nothing with *why set.
std::optional<Operation> parse(std::string_view event, std::string *why) {
  const std::vector<std::string_view> w = split_words(event);
  auto fail = [&](std::string message) {
    *why = std::move(message);
    return std::optional<Operation>();
  };
  auto amount_of = [&](std::string_view text) -> std::optional<std::int64_t> {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > amount_max) return std::nullopt;
    return value;
  };
  Operation op{};
  if (w.size() == 3 && (w[0] == "deposit" || w[0] == "withdraw")) {
    op.kind = w[0] == "deposit" ? Operation::Kind::deposit : Operation::Kind::withdraw;
    op.from = w[1];
  } else if (w.size() == 4 && w[0] == "transfer") {
    op.kind = Operation::Kind::transfer;
    op.from = w[1];
    op.to = w[2];
    if (!valid_name(op.to)) return fail("bad account name '" + std::string(op.to) + "'");
  } else {
    return fail("expected 'deposit|withdraw <account> <amount>' or 'transfer <from> <to> <amount>'");
  }
  if (!valid_name(op.from)) return fail("bad account name '" + std::string(op.from) + "'");
  std::optional<std::int64_t> amount = amount_of(w.back());
  if (!amount) return fail("amount must be an integer in 1.." + std::to_string(amount_max));
  op.amount = *amount;
  return op;
}

void put_u64(std::vector<std::byte> &out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

std::uint64_t get_u64(std::span<const std::byte> in, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in[at + i]) << (8 * i);
  return v;
}
}  // namespace

std::string Accounts::validate(std::string_view event) {
  std::string why;
  return parse(event, &why) ? std::string() : why;
}

void Accounts::reset() { *this = Accounts(); }

void Accounts::apply(std::uint64_t /*offset*/, std::span<const std::byte> event) {
  applied_++;
  std::string why;
  std::optional<Operation> op = parse(string_of(event), &why);
  if (!op) {
    malformed_++;
    return;
  }
  auto balance_of = [&](std::string_view name) -> std::int64_t & {
    auto it = balances_.find(name);
    if (it == balances_.end()) it = balances_.emplace(std::string(name), 0).first;
    return it->second;
  };
  switch (op->kind) {
    case Operation::Kind::deposit: balance_of(op->from) += op->amount; return;
    case Operation::Kind::withdraw:
    case Operation::Kind::transfer: {
      std::int64_t &from = balance_of(op->from);
      if (from < op->amount) {
        rejected_++;
        return;
      }
      from -= op->amount;
      if (op->kind == Operation::Kind::transfer) balance_of(op->to) += op->amount;
      return;
    }
  }
}

std::vector<std::byte> Accounts::snapshot() const {
  std::vector<std::byte> out;
  for (char c : snapshot_magic) out.push_back(static_cast<std::byte>(c));
  put_u64(out, applied_);
  put_u64(out, rejected_);
  put_u64(out, malformed_);
  const auto count = static_cast<std::uint32_t>(balances_.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(count >> (8 * i)));
  for (const auto &[name, balance] : balances_) {
    out.push_back(static_cast<std::byte>(name.size()));
    out.push_back(static_cast<std::byte>(name.size() >> 8));
    for (char c : name) out.push_back(static_cast<std::byte>(c));
    put_u64(out, static_cast<std::uint64_t>(balance));
  }
  return out;
}

bool Accounts::restore(std::span<const std::byte> state, std::string *error) {
  reset();
  auto fail = [&](std::string message) {
    *error = std::move(message);
    return false;
  };
  if (state.size() < snapshot_fixed_bytes) return fail("snapshot of " + std::to_string(state.size()) + " bytes is too short");
  for (std::size_t i = 0; i < 4; ++i)
    if (state[i] != static_cast<std::byte>(snapshot_magic[i])) return fail("not an accounts snapshot (magic)");
  applied_ = get_u64(state, 4);
  rejected_ = get_u64(state, 12);
  malformed_ = get_u64(state, 20);
  std::uint32_t count = 0;
  for (int i = 0; i < 4; ++i) count |= static_cast<std::uint32_t>(state[28 + i]) << (8 * i);
  std::size_t at = snapshot_fixed_bytes;
  std::string previous;
  for (std::uint32_t n = 0; n < count; ++n) {
    // Each length is checked against what is left before it is trusted: it may be the damage.
    if (state.size() - at < 2) return fail("account " + std::to_string(n) + " cut short");
    const std::size_t len = static_cast<std::size_t>(state[at]) | static_cast<std::size_t>(state[at + 1]) << 8;
    at += 2;
    if (state.size() - at < len + 8) return fail("account " + std::to_string(n) + " cut short");
    std::string name(reinterpret_cast<const char *>(state.data() + at), len);
    at += len;
    if (!valid_name(name) || (n > 0 && name <= previous))
      return fail("account " + std::to_string(n) + " has a bad or unordered name");
    balances_.emplace(name, static_cast<std::int64_t>(get_u64(state, at)));
    at += 8;
    previous = std::move(name);
  }
  if (at != state.size()) return fail(std::to_string(state.size() - at) + " bytes after the last account");
  return true;
}

}  // namespace event_store
