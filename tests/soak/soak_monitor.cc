// tests/soak/soak_monitor.cc — the soak's resource sampler, append watchdog and disk probe
// (soak_run.h).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "pacing.h"
#include "soak_run.h"

namespace segstore::soak {

// --- sampler -----------------------------------------------------------------------------------

void SoakRun::run_sampler() {
  double next_sample_s = config_.warmup_s;
  while (!wait_for_stop(std::chrono::milliseconds(1000))) {
    watch_appends_in_flight();
    if (elapsed_s() < next_sample_s) continue;
    ResourceSample sample = sample_resources(elapsed_s());
    std::fprintf(stderr, "soak: %6.0f s  RSS %7.1f MiB  held %6.1f MiB  fds %4llu  load %.2f  acknowledged %llu\n",
                 sample.elapsed_s, static_cast<double>(sample.rss_bytes) / (1 << 20),
                 static_cast<double>(sample.held_bytes) / (1 << 20), static_cast<unsigned long long>(sample.open_fds),
                 sample.load_average_1m, static_cast<unsigned long long>(ledger_.acknowledged()));
    std::lock_guard lock(mu_);
    totals_.samples.push_back(sample);
    next_sample_s += config_.sample_period_s;
  }
}

// An append that never returns would hang the run: past the hang limit the process ends with
// a message (the store's files stay for inspection).
void SoakRun::watch_appends_in_flight() {
  const std::int64_t now = now_ns();
  std::int64_t longest_ns = 0;
  for (const auto &state : writer_states_) {
    const std::int64_t started = state->append_started_ns.load();
    if (started != 0) longest_ns = std::max(longest_ns, now - started);
  }
  {
    std::lock_guard lock(mu_);
    totals_.longest_in_flight_ms = std::max<std::uint64_t>(totals_.longest_in_flight_ms, longest_ns / 1'000'000);
  }
  if (longest_ns > std::chrono::duration_cast<std::chrono::nanoseconds>(config_.hang_limit).count()) {
    std::fprintf(stderr, "SOAK FAILED: an append has been in flight for %lld s (hang limit %lld s); store left in %s\n",
                 static_cast<long long>(longest_ns / 1'000'000'000), static_cast<long long>(config_.hang_limit.count()),
                 config_.dir.c_str());
    std::_Exit(1);
  }
}

// --- disk probe --------------------------------------------------------------------------------

// The same device without segstore, two 4 KiB writes + fdatasync each round on files beside the
// store: an overwrite of block 0 (a device flush only) and an append (the size changes, so ext4
// also commits its journal, as a sync of segstore's unwritten extents does; the file starts over
// at 16 MiB). A stall of the store while a probe sync also took long is the machine's.
void SoakRun::run_disk_probe() {
  const std::filesystem::path beside = std::filesystem::path(config_.dir).parent_path();
  const std::string overwrite_path = beside / "disk-probe-overwrite", append_path = beside / "disk-probe-append";
  const int overwrite_fd = ::open(overwrite_path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0640);
  const int append_fd = ::open(append_path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0640);
  if (overwrite_fd < 0 || append_fd < 0) fail("disk probe: open beside " + config_.dir + ": " + std::strerror(errno));
  constexpr std::uint64_t append_file_max_bytes = 16 << 20;
  std::vector<char> block(4096, 'p');
  std::uint64_t append_offset = 0;
  LatencyHistogram overwrite_latency, append_latency;
  while (overwrite_fd >= 0 && append_fd >= 0 && !wait_for_stop(std::chrono::milliseconds(100))) {
    if (append_offset >= append_file_max_bytes && ::ftruncate(append_fd, 0) == 0) append_offset = 0;
    for (const bool appending : {false, true}) {
      const int fd = appending ? append_fd : overwrite_fd;
      const off_t offset = appending ? static_cast<off_t>(append_offset) : 0;
      const std::int64_t started = now_ns();
      probe_started_ns_.store(started);
      const bool synced =
          ::pwrite(fd, block.data(), block.size(), offset) == static_cast<ssize_t>(block.size()) && ::fdatasync(fd) == 0;
      probe_started_ns_.store(0);
      if (!synced) return fail(std::string("disk probe: write or fdatasync beside the store: ") + std::strerror(errno));
      const std::int64_t ended = now_ns();
      (appending ? append_latency : overwrite_latency).add(static_cast<std::uint64_t>(ended - started));
      remember_probe_sync(ProbeSync{started, ended, appending});
      if (appending) append_offset += block.size();
    }
  }
  for (const int fd : {overwrite_fd, append_fd})
    if (fd >= 0) ::close(fd);
  ::unlink(overwrite_path.c_str());
  ::unlink(append_path.c_str());
  std::lock_guard lock(mu_);
  totals_.probe_overwrite_latency.merge(overwrite_latency);
  totals_.probe_append_latency.merge(append_latency);
}

void SoakRun::remember_probe_sync(const ProbeSync &sync) {
  std::lock_guard lock(probe_mu_);
  if (probe_syncs_.size() < probe_syncs_kept) {
    probe_syncs_.push_back(sync);
  } else {
    probe_syncs_[probe_next_] = sync;
    probe_next_ = (probe_next_ + 1) % probe_syncs_kept;
  }
}

std::string SoakRun::probe_syncs_during(std::int64_t from_ns, std::int64_t to_ns) const {
  std::int64_t longest_ns[2] = {0, 0};  // overwrite, append
  bool any = false;
  {
    std::lock_guard lock(probe_mu_);
    for (const ProbeSync &sync : probe_syncs_) {
      if (sync.ended_ns <= from_ns || sync.started_ns >= to_ns) continue;
      any = true;
      longest_ns[sync.appends] = std::max(longest_ns[sync.appends], sync.ended_ns - sync.started_ns);
    }
  }
  if (!any) return "; no disk probe sync ran meanwhile)";
  return "; the disk probe's longest fdatasync meanwhile: overwrite " + std::to_string(longest_ns[0] / 1'000'000) +
         " ms, append " + std::to_string(longest_ns[1] / 1'000'000) + " ms)";
}

}  // namespace segstore::soak
