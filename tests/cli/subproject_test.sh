#!/bin/sh
# tests/cli/subproject_test.sh SOURCE_DIR MESON NINJA — segstore as a meson subproject.
#
# Builds tests/cli/subproject_consumer (a project outside this one) with subprojects/segstore
# linked to the source tree, so that `dependency('segstore', fallback: ...)` builds libsegstore
# from source and hands out segstore_dep; then runs the consumer, which appends one record and
# reads it back. --force-fallback-for keeps an installed segstore.pc from being picked instead.
# It compiles the library once more, so it is a suite of its own (subproject) and uses a plain
# build type (no optimisation, no debug info): the fastest compile.
set -eu
src=$(cd "$1" && pwd)
meson=$2
ninja=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/segstore-subproject.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "subproject_test: $*" >&2; exit 1; }

consumer="$tmp/consumer"
mkdir -p "$consumer/subprojects"
cp "$src/tests/cli/subproject_consumer/meson.build" "$src/tests/cli/subproject_consumer/main.cc" "$consumer/"
ln -s "$src" "$consumer/subprojects/segstore"

"$meson" setup "$tmp/build" "$consumer" --buildtype=plain --force-fallback-for=segstore \
  >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log" >&2; fail "meson setup of the consumer failed"; }
# As a subproject segstore builds its library alone: no CLI, benchmark, examples or tests.
grep -q "Executing subproject segstore" "$tmp/setup.log" || { cat "$tmp/setup.log" >&2; fail "segstore was not used as a subproject"; }
"$ninja" -C "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "the consumer does not build"; }
for unwanted in segstore segstore-bench event_store gtest; do
  if find "$tmp/build/subprojects" -name "$unwanted" -type f | grep -q .; then
    fail "the subproject build made '$unwanted' (only the library belongs in it)"
  fi
done
[ -f "$tmp/build/subprojects/segstore/libsegstore.so.0.1.0" ] || fail "no libsegstore.so.0.1.0 in the subproject build"

"$tmp/build/consumer" "$tmp/store" || fail "the consumer failed"
echo "subproject_test: ok ($(grep -c 'Compiling' "$tmp/build.log") files compiled)"
