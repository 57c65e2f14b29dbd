// bench/fio.cc — runs fio jobs and reads their JSON.
#include "fio.h"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <nlohmann/json.hpp>

#include "runner.h"

namespace segstore::bench {

namespace {

std::string quote(const std::string &arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// Runs a shell command; returns its exit status and standard output.
int run_capture(const std::string &command, std::string *out) {
  FILE *pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 65536> buffer;
  std::size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out->append(buffer.data(), n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double percentile_us(const nlohmann::json &lat_ns, const char *key) {
  if (!lat_ns.contains("percentile")) return not_measured;
  const auto &p = lat_ns["percentile"];
  if (!p.contains(key)) return not_measured;
  return p[key].get<double>() / 1000.0;
}

std::string block_name(std::uint64_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "m";
  return std::to_string(bytes >> 10) + "k";
}

}  // namespace

Fio::Fio(std::string dir, double seconds, std::uint64_t file_bytes, bool enabled)
    : dir_(join_path(dir, "fio")), file_(join_path(dir_, "device.dat")), seconds_(seconds), file_bytes_(file_bytes) {
  if (!enabled) {
    why_ = "--no-fio";
    return;
  }
  std::string out;
  if (run_capture("fio --version 2>/dev/null", &out) != 0 || out.empty()) {
    why_ = "fio is not installed (Debian package fio; ./dev bench installs it)";
    return;
  }
  available_ = true;
}

bool Fio::prepare() {
  if (!available_) return false;
  if (prepared_) return true;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  // One sequential pass writing every block, then an fdatasync: the durable jobs write over
  // blocks that are allocated and written (no unwritten-extent conversion at each sync).
  const std::string command = "fio --name=layout --filename=" + quote(file_) +
                              " --size=" + std::to_string(file_bytes_) +
                              " --rw=write --bs=1m --iodepth=8 --ioengine=io_uring --direct=1"
                              " --end_fsync=1 --output-format=json 2>&1";
  std::string out;
  if (run_capture(command, &out) != 0) {
    available_ = false;
    why_ = "fio could not lay out " + file_ + ": " + out.substr(0, 300);
    return false;
  }
  prepared_ = true;
  return true;
}

FioResult Fio::run(const std::string &name, const std::vector<std::string> &args, bool is_read,
                   double block_bytes, double seconds) {
  if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  FioResult result = measure(name, args, is_read, block_bytes, seconds);
  cache_[name] = result;
  ran_.push_back(result);
  return result;
}

FioResult Fio::measure(const std::string &name, const std::vector<std::string> &args, bool is_read,
                       double block_bytes, double seconds) {
  FioResult result;
  result.job = name;
  result.block_bytes = block_bytes;
  if (!prepare()) {
    result.error = why_;
    return result;
  }
  std::string command = "fio --name=" + quote(name) + " --percentile_list=50:99:99.9 --lat_percentiles=1 --output-format=json";
  if (seconds > 0)
    command += " --filename=" + quote(file_) + " --size=" + std::to_string(file_bytes_) + " --time_based --runtime=" +
               std::to_string(std::max(200, static_cast<int>(seconds * 1000))) + "ms";
  for (const auto &arg : args) command += " " + arg;
  result.command = command;
  std::string out;
  const int rc = run_capture(command + " 2>&1", &out);
  try {
    // fio may print warnings before the JSON document.
    const std::size_t brace = out.find('{');
    if (rc != 0 || brace == std::string::npos) throw std::runtime_error("exit " + std::to_string(rc) + ": " + out.substr(0, 300));
    const nlohmann::json doc = nlohmann::json::parse(out.substr(brace));
    const auto &job = doc.at("jobs").at(0);
    if (job.at("error").get<int>() != 0) throw std::runtime_error("job error " + std::to_string(job["error"].get<int>()));
    // With several jobs (numjobs) fio reports each; sum rates, take the first job's latency.
    double ops = 0, bytes = 0;
    for (const auto &j : doc.at("jobs")) {
      const auto &side = j.at(is_read ? "read" : "write");
      ops += side.at("iops").get<double>();
      bytes += side.at("bw_bytes").get<double>();
    }
    result.ops_per_s = ops;
    result.mb_per_s = bytes / 1e6;
    const auto &side = job.at(is_read ? "read" : "write");
    const char *keys[] = {"50.000000", "99.000000", "99.900000"};
    double *fields[] = {&result.p50_us, &result.p99_us, &result.p999_us};
    // Latency as the application sees it: submission + completion (fio's lat, not its clat,
    // which starts after the submission call returned; with io_uring on a VM that call is the
    // device notification, about half of a QD1 read). segstore's latencies are timed around
    // the whole call too.
    const char *latency_key = side.contains("lat_ns") && side["lat_ns"].contains("percentile") ? "lat_ns" : "clat_ns";
    for (int i = 0; i < 3; ++i) {
      double us = percentile_us(side.at(latency_key), keys[i]);
      if (job.contains("sync") && job["sync"].contains("lat_ns") && job["sync"]["lat_ns"].value("N", 0) > 0)
        us += percentile_us(job["sync"]["lat_ns"], keys[i]);
      *fields[i] = us;
    }
  } catch (const std::exception &e) {
    result.error = std::string("fio ") + name + ": " + e.what();
  }
  return result;
}

FioResult Fio::seq_write(std::uint64_t block_bytes, int iodepth) {
  return run("seq write " + block_name(block_bytes) + " QD" + std::to_string(iodepth),
             {"--rw=write", "--bs=" + std::to_string(block_bytes), "--iodepth=" + std::to_string(iodepth),
              "--ioengine=io_uring", "--direct=1"},
             false, static_cast<double>(block_bytes));
}

FioResult Fio::seq_write_durable_end(std::uint64_t block_bytes, int iodepth) {
  return run("seq write " + block_name(block_bytes) + " QD" + std::to_string(iodepth) + " + end fsync",
             {"--rw=write", "--bs=" + std::to_string(block_bytes), "--iodepth=" + std::to_string(iodepth),
              "--ioengine=io_uring", "--direct=1", "--end_fsync=1"},
             false, static_cast<double>(block_bytes));
}

FioResult Fio::fresh_files_job(const std::string &name, std::vector<std::string> args, std::uint64_t block_bytes,
                               std::uint64_t file_bytes, std::uint64_t total_bytes) {
  const std::string fresh_dir = join_path(dir_, "fresh");
  remove_tree(fresh_dir);  // fresh space: never blocks written by an earlier job
  std::error_code ec;
  std::filesystem::create_directories(fresh_dir, ec);
  const std::uint64_t files = std::max<std::uint64_t>(1, total_bytes / file_bytes);
  // One file open at a time, each fdatasync'ed when closed: a segment sealed and the next begun.
  for (std::string arg : {"--directory=" + quote(fresh_dir), "--nrfiles=" + std::to_string(files),
                          "--filesize=" + std::to_string(file_bytes), "--size=" + std::to_string(files * file_bytes),
                          std::string("--file_service_type=sequential"), std::string("--openfiles=1"),
                          std::string("--fallocate=native"), std::string("--fsync_on_close=1")})
    args.push_back(arg);
  FioResult result = run(name, args, false, static_cast<double>(block_bytes), 0);
  remove_tree(fresh_dir);
  return result;
}

FioResult Fio::seq_write_fresh_files(std::uint64_t block_bytes, int iodepth, std::uint64_t file_bytes,
                                     std::uint64_t total_bytes) {
  return fresh_files_job("seq write " + block_name(block_bytes) + " QD" + std::to_string(iodepth) + " into fresh " +
                             block_name(file_bytes) + " files, fdatasync each",
                         {"--rw=write", "--bs=" + std::to_string(block_bytes), "--iodepth=" + std::to_string(iodepth),
                          "--ioengine=io_uring", "--direct=1"},
                         block_bytes, file_bytes, total_bytes);
}

FioResult Fio::durable_write_fresh_files(std::uint64_t block_bytes, int iodepth, std::uint64_t file_bytes,
                                         std::uint64_t total_bytes) {
  return fresh_files_job("write+fdatasync " + block_name(block_bytes) + " QD" + std::to_string(iodepth) +
                             " io_uring into fresh " + block_name(file_bytes) + " files",
                         {"--rw=write", "--bs=" + std::to_string(block_bytes), "--iodepth=" + std::to_string(iodepth),
                          "--ioengine=io_uring", "--direct=1", "--fdatasync=1"},
                         block_bytes, file_bytes, total_bytes);
}

FioResult Fio::seq_read(std::uint64_t block_bytes, int iodepth) {
  return run("seq read " + block_name(block_bytes) + " QD" + std::to_string(iodepth),
             {"--rw=read", "--bs=" + std::to_string(block_bytes), "--iodepth=" + std::to_string(iodepth),
              "--ioengine=io_uring", "--direct=1"},
             true, static_cast<double>(block_bytes));
}

FioResult Fio::seq_read_beside(std::uint64_t block_bytes, int iodepth, double seconds) {
  return measure("seq read " + block_name(block_bytes) + " QD" + std::to_string(iodepth) + " beside",
                 {"--rw=read", "--bs=" + std::to_string(block_bytes), "--iodepth=" + std::to_string(iodepth),
                  "--ioengine=io_uring", "--direct=1"},
                 true, static_cast<double>(block_bytes), seconds);
}

FioResult Fio::rand_read_4k_qd1() {
  return run("rand read 4k QD1", {"--rw=randread", "--bs=4k", "--iodepth=1", "--ioengine=io_uring", "--direct=1"},
             true, 4096);
}

FioResult Fio::rand_read_4k_qd1_beside(double seconds) {
  return measure("rand read 4k QD1 beside", {"--rw=randread", "--bs=4k", "--iodepth=1", "--ioengine=io_uring", "--direct=1"},
                 true, 4096, seconds);
}

FioResult Fio::rand_read_4k_jobs_beside(int jobs, double seconds) {
  return measure("rand read 4k QD1 x" + std::to_string(jobs) + " jobs beside",
                 {"--rw=randread", "--bs=4k", "--iodepth=1", "--ioengine=io_uring", "--direct=1",
                  "--numjobs=" + std::to_string(jobs)},
                 true, 4096, seconds);
}

FioResult Fio::rand_read(std::uint64_t block_bytes, int iodepth) {
  return run("rand read " + block_name(block_bytes) + " QD" + std::to_string(iodepth),
             {"--rw=randread", "--bs=" + std::to_string(block_bytes), "--iodepth=" + std::to_string(iodepth),
              "--ioengine=io_uring", "--direct=1"},
             true, static_cast<double>(block_bytes));
}

FioResult Fio::rand_read_4k_jobs(int jobs) {
  return run("rand read 4k QD1 x" + std::to_string(jobs) + " jobs",
             {"--rw=randread", "--bs=4k", "--iodepth=1", "--ioengine=io_uring", "--direct=1",
              "--numjobs=" + std::to_string(jobs)},
             true, 4096);
}

FioResult Fio::rand_read_4k_paced(int jobs, double iops_total, double seconds) {
  // fio's rate_iops is per job; at least 1 so that a tiny rate still paces.
  const long per_job = std::max(1L, std::lround(iops_total / jobs));
  return run("rand read 4k QD1 x" + std::to_string(jobs) + " jobs paced to " + std::to_string(per_job * jobs) + " IOPS",
             {"--rw=randread", "--bs=4k", "--iodepth=1", "--ioengine=psync", "--direct=1",
              "--numjobs=" + std::to_string(jobs), "--rate_iops=" + std::to_string(per_job)},
             true, 4096, seconds);
}

FioResult Fio::durable_write(std::uint64_t block_bytes, int iodepth, int jobs, bool uring) {
  const char *engine = jobs > 1 ? "psync" : (iodepth > 1 || uring) ? "io_uring" : "sync";
  std::string name = "write+fdatasync " + block_name(block_bytes) + " QD" + std::to_string(iodepth) + " " + engine;
  std::vector<std::string> args = {"--rw=write", "--bs=" + std::to_string(block_bytes), "--direct=1", "--fdatasync=1",
                                   "--iodepth=" + std::to_string(iodepth), std::string("--ioengine=") + engine};
  if (jobs > 1) {
    name += " x" + std::to_string(jobs) + " writers";
    args.push_back("--numjobs=" + std::to_string(jobs));
    args.push_back("--offset_increment=16m");
    args.push_back("--size=16m");  // each writer loops over its own 16 MiB region
  }
  return run(name, args, false, static_cast<double>(block_bytes));
}

FioResult Fio::durable_write_beside(std::uint64_t block_bytes, bool uring, double seconds) {
  const char *engine = uring ? "io_uring" : "sync";
  return measure("write+fdatasync " + block_name(block_bytes) + " QD1 " + engine + " beside",
                 {"--rw=write", "--bs=" + std::to_string(block_bytes), "--direct=1", "--fdatasync=1", "--iodepth=1",
                  std::string("--ioengine=") + engine},
                 false, static_cast<double>(block_bytes), seconds);
}

void Fio::remove_files() { remove_tree(dir_); }

}  // namespace segstore::bench
