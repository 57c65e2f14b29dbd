// bench/bench_main.h — the entry point of segstore-bench (`./dev bench`).
//
// Runs the workloads W1..W4, R1..R3 and O1 against a store in --dir, measures the device with
// fio and the peers (RocksDB, LevelDB, a plain log file) in the same run, prints a table per
// workload, and writes a JSON file and PNG charts. docs/BENCHMARKS.md explains every figure.
//
// argv[0] is the program's name; options follow. Returns the process exit code: 0 when every selected workload ran, 1 when one failed, 2 on a usage error.
#pragma once

int segstore_bench_main(int argc, char **argv);
