#!/usr/bin/env bash
# bench/configure_peers.sh BUILD_DIR — makes BUILD_DIR's configuration build every benchmark
# peer whose Debian package is installed (`./dev bench` runs it after installing them).
#
# Why: on a fresh clone `./dev test` configures build/ before `./dev bench` installs
# librocksdb-dev and libleveldb-dev, and meson keeps its first answer for a library or header it
# did not find (even `meson setup --reconfigure` prints "Has header "leveldb/db.h" : NO
# (cached)"). The benchmark would then run without its peers. BUILD_DIR/bench/peers_config.h
# (bench/meson.build) says what the configuration found; when an installed peer is missing
# from it, the build dir is configured afresh (meson setup --wipe keeps the options given).
# A peer whose package is not installed stays out: segstore-bench names it at the top of its
# output and reports its targets as NOT MEASURED.
set -euo pipefail
dir=$(realpath -m "${1:?usage: bench/configure_peers.sh BUILD_DIR}")
cd "$(dirname "$0")/.."

# peer name, its Debian package, and its macro in peers_config.h
peers=("rocksdb librocksdb-dev SEGSTORE_BENCH_HAVE_ROCKSDB"
       "leveldb libleveldb-dev SEGSTORE_BENCH_HAVE_LEVELDB")
config="$dir/bench/peers_config.h"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

stale=()
for entry in "${peers[@]}"; do
  read -r name package macro <<<"$entry"
  installed "$package" || continue
  # No peers_config.h: this build dir does not build the benchmark (-Dbench=disabled) or was
  # configured by an older tree; either way it must be configured again.
  if [ ! -f "$config" ] || ! grep -q "^#define $macro" "$config"; then stale+=("$name"); fi
done
[ ${#stale[@]} -eq 0 ] && exit 0

echo "bench: $dir was configured without ${stale[*]} (installed since): configuring it afresh" >&2
meson setup --wipe "$dir" -Dbench=enabled -Dpeers=auto >"$dir/setup-peers.log" 2>&1 ||
  { cat "$dir/setup-peers.log" >&2; echo "bench: meson setup --wipe $dir failed" >&2; exit 1; }
for entry in "${peers[@]}"; do
  read -r name package macro <<<"$entry"
  if installed "$package" && ! grep -q "^#define $macro" "$config"; then
    echo "bench: $package is installed but meson still does not find $name (see $dir/meson-logs/meson-log.txt)" >&2
    exit 1
  fi
done
