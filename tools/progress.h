// tools/progress.h — a one-line progress bar on standard error with bytes/s and time left,
// drawn only when standard error is a terminal (scripts and logs stay clean).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace segstore::cli {

class ProgressBar {
 public:
  // `enabled` false draws nothing (also when stderr is not a terminal).
  ProgressBar(std::string label, std::uint64_t total_bytes, bool enabled = true);
  ~ProgressBar();
  ProgressBar(const ProgressBar &) = delete;
  ProgressBar &operator=(const ProgressBar &) = delete;

  void update(std::uint64_t done_bytes);
  void set_total(std::uint64_t total_bytes) { total_ = total_bytes; }
  // Erases the bar (called by the destructor too).
  void finish();

 private:
  void draw(std::uint64_t done);

  std::string label_;
  std::uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace segstore::cli
