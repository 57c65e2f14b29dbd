// bench/micro/micro_main.cc — segstore-micro's main (Google Benchmark's flags apply).
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
