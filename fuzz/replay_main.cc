// fuzz/replay_main.cc — main() for a harness built without libFuzzer: runs
// LLVMFuzzerTestOneInput over every file named on the command line, and over every regular file
// (sorted by name, not recursively) in every directory named there. This is how `./dev test`
// replays the checked-in corpora with gcc, so that each saved crash stays a regression test.
//
//   build/fuzz/record_decoder_replay fuzz/corpus/record_decoder/ crash-1234
//
// A harness that finds a bug aborts, so the first failing input ends the run; its name is
// printed before it runs. An input that runs longer than SEGSTORE_REPLAY_TIMEOUT_S seconds
// (default 60) is reported as a hang. Exit status 0 when every input passed, 1 when an argument
// could not be read or held no inputs.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);

namespace {

// The input running now, for the hang report (a plain buffer: read from a signal handler).
char current_input[4096];

void on_alarm(int) {
  const char prefix[] = "replay: input ran past its time limit (a hang): ";
  (void)!::write(2, prefix, sizeof prefix - 1);
  (void)!::write(2, current_input, std::strlen(current_input));
  (void)!::write(2, "\n", 1);
  std::abort();
}

bool run_file(const std::filesystem::path &path, unsigned timeout_s) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::snprintf(current_input, sizeof current_input, "%s", path.c_str());
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), bytes.size());
  // A copy of exactly the input's size, so that ASan sees a read one byte past it.
  std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  ::alarm(timeout_s);
  LLVMFuzzerTestOneInput(data.empty() ? nullptr : data.data(), data.size());
  ::alarm(0);
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  unsigned timeout_s = 60;
  if (const char *env = std::getenv("SEGSTORE_REPLAY_TIMEOUT_S"); env != nullptr)
    timeout_s = static_cast<unsigned>(std::strtoul(env, nullptr, 10));
  ::signal(SIGALRM, on_alarm);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 1;
  }
  std::size_t inputs = 0;
  bool ok = true;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code error;
    if (std::filesystem::is_directory(arg, error)) {
      std::vector<std::filesystem::path> files;
      for (const auto &entry : std::filesystem::directory_iterator(arg, error))
        if (entry.is_regular_file()) files.push_back(entry.path());
      if (error) {
        std::fprintf(stderr, "replay: cannot list %s: %s\n", arg.c_str(), error.message().c_str());
        ok = false;
      }
      std::sort(files.begin(), files.end());
      for (const auto &file : files) {
        ok = run_file(file, timeout_s) && ok;
        ++inputs;
      }
    } else {
      ok = run_file(arg, timeout_s) && ok;
      ++inputs;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "replay: %zu inputs in %.2f s%s\n", inputs, seconds,
               inputs == 0 ? ": no inputs (a missing corpus?)" : "");
  return ok && inputs > 0 ? 0 : 1;
}
