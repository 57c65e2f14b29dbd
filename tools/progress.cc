// tools/progress.cc — see progress.h.
#include "progress.h"

#include <algorithm>
#include <cstdio>

#include <fmt/core.h>

#include "cli.h"

namespace segstore::cli {

namespace {
// Redrawing more often than this only costs terminal bandwidth.
constexpr std::chrono::milliseconds redraw_interval_ms{100};
// Nothing is drawn for commands that finish faster than this.
constexpr std::chrono::milliseconds first_draw_after_ms{300};
constexpr int bar_width_chars = 30;

std::string clock_text(double seconds) {
  const auto s = static_cast<std::uint64_t>(seconds);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}
}  // namespace

ProgressBar::ProgressBar(std::string label, std::uint64_t total_bytes, bool enabled)
    : label_(std::move(label)),
      total_(total_bytes),
      enabled_(enabled && stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::uint64_t done_bytes) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < first_draw_after_ms || now - last_draw_ < redraw_interval_ms) return;
  last_draw_ = now;
  draw(done_bytes);
}

void ProgressBar::draw(std::uint64_t done) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double fraction = total_ == 0 ? 0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
  const int filled = static_cast<int>(fraction * bar_width_chars);
  std::string bar(static_cast<std::size_t>(filled), '=');
  bar.resize(bar_width_chars, ' ');
  const std::string left =
      rate > 0 && total_ > done ? clock_text(static_cast<double>(total_ - done) / rate) + " left" : "";
  // \r returns to the line start and \033[K erases what a longer previous line left.
  fmt::print(stderr, "\r{} [{}] {:3.0f}% {}/s {}\033[K", label_, bar, fraction * 100,
             human_bytes(static_cast<std::uint64_t>(rate)), left);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace segstore::cli
