#!/usr/bin/env bash
# tests/bench/configure_peers_test.sh SOURCE_DIR — the benchmark sees its peers whatever ran
# first. A build dir is configured without the peers (-Dpeers=disabled stands for a
# configuration made before librocksdb-dev and libleveldb-dev were installed: meson then keeps
# its cached "not found"), then bench/configure_peers.sh — what `./dev bench` runs — must
# leave it configured with every peer whose package is installed, and a second run must change
# nothing. A peer whose package is missing must stay out (segstore-bench names it instead).
set -euo pipefail
src=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/segstore-peers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "configure_peers_test: $*" >&2; exit 1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

build="$tmp/build"
# The least that configures the benchmark: no tests, no examples.
meson setup "$build" "$src" -Dpeers=disabled -Dtests=false -Dexamples=false >"$tmp/setup.log" 2>&1 ||
  { cat "$tmp/setup.log" >&2; fail "meson setup failed"; }
config="$build/bench/peers_config.h"
[ -f "$config" ] || fail "bench/meson.build wrote no peers_config.h"
if grep -q '^#define SEGSTORE_BENCH_HAVE_' "$config"; then fail "-Dpeers=disabled still configured a peer: $(cat "$config")"; fi

(cd "$src" && bench/configure_peers.sh "$build") 2>"$tmp/configure.err" ||
  fail "configure_peers.sh failed: $(cat "$tmp/configure.err")"
expected_reconfigure=false
for entry in "rocksdb librocksdb-dev SEGSTORE_BENCH_HAVE_ROCKSDB" "leveldb libleveldb-dev SEGSTORE_BENCH_HAVE_LEVELDB"; do
  read -r name package macro <<<"$entry"
  if installed "$package"; then
    expected_reconfigure=true
    grep -q "^#define $macro" "$config" || fail "$package is installed, but the configuration still lacks $name: $(cat "$config")"
  else
    grep -q "^#undef $macro" "$config" || fail "$package is not installed, yet $name is configured: $(cat "$config")"
  fi
done
if $expected_reconfigure; then
  grep -q "configuring it afresh" "$tmp/configure.err" || fail "configure_peers.sh did not say why it reconfigured"
fi

# Once the configuration has the installed peers, nothing more happens.
(cd "$src" && bench/configure_peers.sh "$build") 2>"$tmp/again.err" || fail "second run failed: $(cat "$tmp/again.err")"
[ ! -s "$tmp/again.err" ] || fail "a second run configured again: $(cat "$tmp/again.err")"
echo "configure_peers_test: ok"
