// examples/event_store/accounts.h — the example state machine: account balances.
//
// Events are text lines:
//   deposit <account> <amount>
//   withdraw <account> <amount>          rejected (no effect) when the balance is too small
//   transfer <from> <to> <amount>        rejected when <from>'s balance is too small
// <account> is 1..64 of [A-Za-z0-9_-]; <amount> is 1..10^12. Accounts start at 0.
// apply() is total and deterministic: a malformed event is counted and otherwise ignored, so
// the state is always a pure function of the events in the log.
//
// Thread-safety: none of its own; the EventStore calls it under its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "event_store.h"

namespace event_store {

class Accounts final : public StateMachine {
 public:
  // "" when `event` is a well-formed event, else why not.
  static std::string validate(std::string_view event);

  void reset() override;
  void apply(std::uint64_t offset, std::span<const std::byte> event) override;
  std::vector<std::byte> snapshot() const override;
  bool restore(std::span<const std::byte> state, std::string *error) override;

  const std::map<std::string, std::int64_t, std::less<>> &balances() const { return balances_; }
  std::uint64_t applied() const { return applied_; }      // events applied
  std::uint64_t rejected() const { return rejected_; }    // well-formed but refused (funds)
  std::uint64_t malformed() const { return malformed_; }  // not an event of this machine
  bool operator==(const Accounts &other) const {
    return balances_ == other.balances_ && applied_ == other.applied_ && rejected_ == other.rejected_ &&
           malformed_ == other.malformed_;
  }

 private:
  std::map<std::string, std::int64_t, std::less<>> balances_;
  std::uint64_t applied_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t malformed_ = 0;
};

}  // namespace event_store
