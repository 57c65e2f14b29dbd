// tools/cmd_append.cc — `segstore append DIR`: records from standard input into the store.
//
// Input is one record per line (the newline stripped; an empty line is an empty record) or,
// with --framed, a 4-byte little-endian length followed by that many bytes, repeated. With
// --ack each LSN is printed (and flushed) once its record is durable: a line on stdout is a
// promise that the record survives a crash, which crash tests and pipelines rely on.
//
// Records already waiting on standard input are appended as one group and made durable
// together (one device sync for the group, as Kafka's console producer batches what it has
// read): `seq 1000000 | segstore append DIR` costs a sync per pipe buffer, not per line. A
// group ends when no further record is waiting, so a line typed or sent alone is still made
// durable (and acknowledged) at once.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

#include <fmt/core.h>

#include "cli.h"
#include "store_options.h"
#include "segstore/store.h"

namespace segstore::cli {

namespace {

// Input records are capped at the library's largest payload (segstore::record_payload_max_bytes)
// before they are buffered, so a stray binary stream cannot make the tool allocate without bound.
constexpr std::size_t frame_length_bytes = 4;
constexpr std::size_t stdin_buffer_bytes = 1u << 16;
// A group of waiting records is cut at this much payload, so that the first record of a long
// burst is acknowledged without waiting for the whole burst to be read.
constexpr std::size_t group_payload_bytes_max = 4u << 20;

struct AppendArgs {
  std::string dir;
  std::uint32_t stream = 0;
  std::string durability = "sync";
  std::uint64_t segment_bytes = 0;  // 0: the library's default
  bool framed = false;
  bool ack = false;
  StoreOptionArgs store;  // --prealloc, --no-spare-segment, --inflight-groups, --stats
};

// Standard input through read(2), so that SIGINT/SIGTERM (EINTR) end the input cleanly.
class InputRecords {
 public:
  explicit InputRecords(bool framed) : framed_(framed), buffer_(stdin_buffer_bytes) {}

  // true: `record` holds the next record; false: the input ended. Errors: invalid_argument for
  // malformed input, io_error for a failed read.
  Result<bool> next(std::vector<std::byte> &record) {
    record.clear();
    ++count_;
    return framed_ ? next_frame(record) : next_line(record);
  }
  std::uint64_t count() const { return count_; }
  std::uint64_t offset() const { return consumed_; }

  // Can next() return a record without waiting for the writer of standard input? A complete
  // record is buffered, or standard input has bytes (or its end) ready to read. A partial
  // line with nothing more ready means the writer is in the middle of it: not waiting.
  bool record_waiting() const {
    if (complete_record_buffered()) return true;
    pollfd input{STDIN_FILENO, POLLIN, 0};
    return ::poll(&input, 1, 0) == 1 && (input.revents & (POLLIN | POLLHUP)) != 0;
  }

 private:
  // Refills the buffer. false at the end of input (or when a stop was requested).
  Result<bool> fill() {
    while (true) {
      const ssize_t n = ::read(STDIN_FILENO, buffer_.data(), buffer_.size());
      if (n > 0) {
        begin_ = 0;
        end_ = static_cast<std::size_t>(n);
        return true;
      }
      if (n == 0) return false;
      if (errno == EINTR) {
        if (stop_requested()) return false;
        continue;
      }
      return Status(Errc::io_error, std::string("reading standard input: ") + std::strerror(errno));
    }
  }

  Result<bool> next_line(std::vector<std::byte> &record) {
    bool any = false;  // bytes of this line seen (an unterminated last line still counts)
    while (true) {
      if (begin_ == end_) {
        Result<bool> more = fill();
        if (!more.ok()) return more.status();
        if (!*more) return any;
      }
      any = true;
      const std::byte *start = buffer_.data() + begin_;
      const void *newline = std::memchr(start, '\n', end_ - begin_);
      const std::size_t take = newline ? static_cast<std::size_t>(static_cast<const std::byte *>(newline) - start)
                                       : end_ - begin_;
      if (record.size() + take > record_payload_max_bytes)
        return Status(Errc::record_too_large, fmt::format("line {} of the input is longer than the largest "
                                                          "record ({} bytes)", count_, record_payload_max_bytes));
      record.insert(record.end(), start, start + take);
      begin_ += take + (newline ? 1 : 0);
      consumed_ += take + (newline ? 1 : 0);
      if (newline) return true;
    }
  }

  // Reads exactly `bytes` into `out`; false when the input ended first (after `got` bytes).
  Result<bool> read_exact(std::byte *out, std::size_t bytes, std::size_t &got) {
    got = 0;
    while (got < bytes) {
      if (begin_ == end_) {
        Result<bool> more = fill();
        if (!more.ok()) return more.status();
        if (!*more) return false;
      }
      const std::size_t take = std::min(bytes - got, end_ - begin_);
      std::memcpy(out + got, buffer_.data() + begin_, take);
      begin_ += take;
      got += take;
      consumed_ += take;
    }
    return true;
  }

  Result<bool> next_frame(std::vector<std::byte> &record) {
    const std::uint64_t frame_offset = consumed_;
    std::byte length_bytes[frame_length_bytes];
    std::size_t got = 0;
    Result<bool> whole = read_exact(length_bytes, frame_length_bytes, got);
    if (!whole.ok()) return whole.status();
    if (!*whole) {
      if (got == 0) return false;  // the input ended between frames: its clean end
      return Status(Errc::invalid_argument, fmt::format("framed input ends inside the length of frame {} "
                                                        "(byte offset {})", count_, frame_offset));
    }
    std::uint32_t length = 0;
    for (std::size_t i = 0; i < frame_length_bytes; ++i)
      length |= std::to_integer<std::uint32_t>(length_bytes[i]) << (8 * i);  // little-endian
    if (length > record_payload_max_bytes)
      return Status(Errc::record_too_large,
                    fmt::format("frame {} (byte offset {}) says {} bytes, more than the largest record ({} bytes)",
                                count_, frame_offset, length, record_payload_max_bytes));
    record.resize(length);
    whole = read_exact(record.data(), length, got);
    if (!whole.ok()) return whole.status();
    if (!*whole)
      return Status(Errc::invalid_argument, fmt::format("framed input ends inside frame {} (byte offset {}): "
                                                        "{} of {} bytes", count_, frame_offset, got, length));
    return true;
  }

  bool complete_record_buffered() const {
    const std::size_t buffered = end_ - begin_;
    if (!framed_) return std::memchr(buffer_.data() + begin_, '\n', buffered) != nullptr;
    if (buffered < frame_length_bytes) return false;
    std::uint32_t length = 0;
    for (std::size_t i = 0; i < frame_length_bytes; ++i)
      length |= std::to_integer<std::uint32_t>(buffer_[begin_ + i]) << (8 * i);
    return buffered - frame_length_bytes >= length;
  }

  const bool framed_;
  std::vector<std::byte> buffer_;
  std::size_t begin_ = 0, end_ = 0;
  std::uint64_t count_ = 0;     // records asked for so far (1-based number of the current one)
  std::uint64_t consumed_ = 0;  // input bytes consumed
};

Durability durability_of(const std::string &name) {
  if (name == "interval") return Durability::interval;
  if (name == "none") return Durability::none;
  return Durability::sync;
}

// What one group of records from the input became.
struct Group {
  std::uint64_t first_lsn = 0;
  std::uint64_t records = 0;
  bool input_ended = false;
  int code = exit_ok;  // a failure stops the command after the group's records are settled
};

// Appends one group: its first record may wait for input, the others are those already
// waiting (up to group_payload_bytes_max). `queue_only`: append_async, the caller makes the
// group durable with one wait; otherwise each append follows the store's durability mode.
Group append_group(Store &store, InputRecords &input, const AppendArgs &args, bool queue_only,
                   std::uint64_t appended_before) {
  constexpr std::string_view command = "append";
  Group group;
  std::vector<std::byte> record;
  std::size_t group_bytes = 0;
  do {
    Result<bool> more = input.next(record);
    if (!more.ok()) {
      group.code = fail(command, Status(more.status().code(), more.status().message()));
      return group;
    }
    if (!*more) {
      group.input_ended = true;
      return group;
    }
    Result<std::uint64_t> lsn = queue_only ? store.append_async(record, args.stream) : store.append(record, args.stream);
    if (!lsn.ok()) {
      group.code = fail(command, Status(lsn.status().code(),
                                        fmt::format("{} (record {} of the input; {} appended before it)",
                                                    lsn.status().message(), input.count(),
                                                    appended_before + group.records)));
      return group;
    }
    if (group.records == 0) group.first_lsn = *lsn;
    ++group.records;
    group_bytes += record.size();
  } while (group_bytes < group_payload_bytes_max && input.record_waiting());
  return group;
}

int run_append(const AppendArgs &args) {
  constexpr std::string_view command = "append";
  install_stop_signals();
  Options options;
  options.durability = durability_of(args.durability);
  if (args.segment_bytes != 0) options.segment_bytes = args.segment_bytes;
  apply_store_options(args.store, options);
  Result<std::unique_ptr<Store>> opened = Store::open(args.dir, options);
  if (!opened.ok()) return fail(command, opened.status());
  Store &store = **opened;
  Output out;

  InputRecords input(args.framed);
  std::uint64_t appended = 0, first_lsn = 0;
  // Sync mode, and --ack in any mode, make each group durable before reading the next one.
  const bool wait_per_group = options.durability == Durability::sync || args.ack;
  int code = exit_ok;
  bool input_ended = false;
  while (!input_ended && code == exit_ok) {
    const Group group = append_group(store, input, args, wait_per_group, appended);
    input_ended = group.input_ended;
    code = group.code;
    if (group.records == 0) continue;
    if (appended == 0) first_lsn = group.first_lsn;
    appended += group.records;
    if (!wait_per_group) continue;
    // A line on stdout promises a durable record: the group's records (appended before any
    // failure that ended it) are waited for, then acknowledged.
    const std::uint64_t group_last_lsn = group.first_lsn + group.records - 1;
    Status durable = store.wait_durable(group_last_lsn);
    if (!durable.ok()) {
      if (code == exit_ok) code = fail(command, durable);
      break;
    }
    if (args.ack) {
      std::string lsns;
      for (std::uint64_t lsn = group.first_lsn; lsn <= group_last_lsn; ++lsn)
        fmt::format_to(std::back_inserter(lsns), "{}\n", lsn);
      if (!out.write(lsns) || !out.flush()) break;  // the reader left
    }
  }
  const Stats session = store.stats();  // before close: the session's figures
  Status closed = store.close();
  if (args.store.stats) fmt::print(stderr, "{}\n", stats_to_json(session).dump(2));
  if (!closed.ok() && code == exit_ok) code = fail(command, closed);
  // The summary goes to standard error for scripts too (stdout holds the --ack LSNs).
  if (code == exit_ok) {
    if (appended == 0)
      fmt::print(stderr, "appended nothing to {}\n", args.dir);
    else
      fmt::print(stderr, "appended {} record{} to {} (LSN {}..{})\n", appended, appended == 1 ? "" : "s",
                 args.dir, first_lsn, first_lsn + appended - 1);
  }
  return code;
}

}  // namespace

Command add_append_command(CLI::App &app) {
  auto args = std::make_shared<AppendArgs>();
  CLI::App *cmd = app.add_subcommand("append", "Append records from standard input (lines, or length-prefixed with --framed)");
  cmd->footer(
      "Reads standard input: one record per line (the newline stripped; an empty line is an empty\n"
      "record) or, with --framed, a 4-byte little-endian length followed by the bytes, repeated.\n"
      "The store is created if missing. With --ack each LSN is printed once the record is durable.\n"
      "Records already waiting on standard input are appended as one group and made durable together\n"
      "(one device sync per group, at most 4 MiB of payload); a record that arrives alone is made\n"
      "durable at once. A summary line goes to standard error at the end.");
  cmd->add_option("DIR", args->dir, "store directory")->required();
  cmd->add_option("--stream", args->stream, "stream (topic) the records belong to")->capture_default_str()
      ->check(whole_number_at_most(UINT32_MAX));
  cmd->add_option("--durability", args->durability,
                  "sync: each append waits for the device; interval: a background flush; none: at close")
      ->check(CLI::IsMember({"sync", "interval", "none"}))
      ->capture_default_str();
  cmd->add_option("--segment-bytes", args->segment_bytes,
                  "size of new segment files: a multiple of 4096 from 16384 to 1073741824 (default 64 MiB)")
      ->check(whole_number_at_most(UINT64_MAX));
  cmd->add_flag("--framed", args->framed, "read length-prefixed binary records instead of lines");
  add_store_options(cmd, args->store);
  cmd->add_flag("--ack", args->ack, "print each record's LSN once it is durable, one per line, flushed at once");
  return [args] { return run_append(*args); };
}

}  // namespace segstore::cli
