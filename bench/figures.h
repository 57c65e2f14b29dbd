// bench/figures.h — what a measurement produces: rows of a workload's table.
//
// A Row is one measured configuration of one system (segstore, fio, or a peer). Rates are per
// second of wall time; MB is 10^6 bytes of payload (fio: bytes written or read); latencies are
// microseconds. NaN means "does not apply" or "not measured" and prints as "-".
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace segstore::bench {

inline constexpr double not_measured = std::numeric_limits<double>::quiet_NaN();
inline bool measured(double value) { return !std::isnan(value); }

enum class System { segstore, fio, peer };

struct Row {
  System system = System::segstore;
  std::string name;    // "segstore", "fio", "rocksdb", "leveldb", "plain-log"
  std::string config;  // what was measured, e.g. "1 KiB, 16 threads, sync"
  double record_bytes = not_measured;
  int threads = 1;
  double records_per_s = not_measured;
  double mb_per_s = not_measured;
  double p50_us = not_measured, p99_us = not_measured, p999_us = not_measured;
  // Segstore rows only: the figure divided by the matching fio job's and by the best peer's.
  double vs_fio = not_measured;
  std::string vs_fio_job;
  double vs_peer = not_measured;
  std::string vs_peer_name;
  std::map<std::string, double> extra;  // e.g. average_group_records, blocks_read, seconds
  std::string detail;                   // printed in the last column ("group 15.2 records")
  std::string error;                    // set when the measurement failed
};

struct Table {
  std::string id;          // "W1"
  std::string title;       // "streaming appends, durability none + final sync"
  std::string parameters;  // printed under the title
  std::vector<Row> rows;
  std::vector<std::string> notes;
};

// Latency samples in microseconds.
class Latencies {
 public:
  void reserve(std::size_t n) { us_.reserve(n); }
  void add(double us) { us_.push_back(us); }
  void merge(const Latencies &other) { us_.insert(us_.end(), other.us_.begin(), other.us_.end()); }
  std::size_t size() const { return us_.size(); }
  // Nearest-rank percentile, p in (0, 100]; NaN without samples. Sorts in place.
  double percentile(double p);
  void fill(Row &row) {
    row.p50_us = percentile(50);
    row.p99_us = percentile(99);
    row.p999_us = percentile(99.9);
  }

 private:
  std::vector<double> us_;
  bool sorted_ = false;
};

}  // namespace segstore::bench
