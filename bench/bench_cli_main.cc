// bench/bench_cli_main.cc — segstore-bench, the benchmark program (never installed: it links the peers).
#include "bench_main.h"

int main(int argc, char **argv) { return segstore_bench_main(argc, argv); }
