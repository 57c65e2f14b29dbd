// tools/cmd_append.cc — `segstore append DIR`: records from standard input into the store.
//
// Input is one record per line (the newline stripped; an empty line is an empty record) or,
// with --framed, a 4-byte little-endian length followed by that many bytes, repeated. With
// --ack each LSN is printed (and flushed) once its record is durable: a line on stdout is a
// promise that the record survives a crash, which crash tests and pipelines rely on.
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
  std::vector<std::byte> record;
  std::uint64_t appended = 0, first_lsn = 0, last_lsn = 0;
  int code = exit_ok;
  while (true) {
    Result<bool> more = input.next(record);
    if (!more.ok()) {
      code = fail(command, Status(more.status().code(), more.status().message()));
      break;
    }
    if (!*more) break;
    Result<std::uint64_t> lsn = store.append(record, args.stream);
    if (!lsn.ok()) {
      code = fail(command, Status(lsn.status().code(), fmt::format("{} (record {} of the input; {} appended "
                                                                    "before it)",
                                                                    lsn.status().message(), input.count(), appended)));
      break;
    }
    if (appended == 0) first_lsn = *lsn;
    last_lsn = *lsn;
    ++appended;
    if (args.ack) {
      // In sync mode append() returned only once the record was durable.
      if (options.durability != Durability::sync) {
        Status durable = store.wait_durable(*lsn);
        if (!durable.ok()) {
          code = fail(command, durable);
          break;
        }
      }
      if (!out.write(fmt::format("{}\n", *lsn)) || !out.flush()) break;  // the reader left
    }
  }
  const Stats session = store.stats();  // before close: the session's figures
  Status closed = store.close();
  if (args.store.stats) fmt::print(stderr, "{}\n", stats_to_json(session).dump(2));
  if (!closed.ok() && code == exit_ok) code = fail(command, closed);
  if (stderr_is_terminal() && code == exit_ok) {
    if (appended == 0)
      fmt::print(stderr, "appended nothing to {}\n", args.dir);
    else
      fmt::print(stderr, "appended {} record{} to {} (LSN {}..{})\n", appended, appended == 1 ? "" : "s",
                 args.dir, first_lsn, last_lsn);
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
      "The store is created if missing. With --ack each LSN is printed once the record is durable.");
  cmd->add_option("DIR", args->dir, "store directory")->required();
  cmd->add_option("--stream", args->stream, "stream (topic) the records belong to")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--durability", args->durability,
                  "sync: each append waits for the device; interval: a background flush; none: at close")
      ->check(CLI::IsMember({"sync", "interval", "none"}))
      ->capture_default_str();
  cmd->add_option("--segment-bytes", args->segment_bytes,
                  "size of new segment files: a multiple of 4096 from 16384 to 1073741824 (default 64 MiB)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--framed", args->framed, "read length-prefixed binary records instead of lines");
  add_store_options(cmd, args->store);
  cmd->add_flag("--ack", args->ack, "print each record's LSN once it is durable, one per line, flushed at once");
  return [args] { return run_append(*args); };
}

}  // namespace segstore::cli
