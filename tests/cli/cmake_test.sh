#!/bin/sh
# tests/cli/cmake_test.sh BUILD_DIR SOURCE_DIR CMAKE NINJA — installs the build into a temporary
# DESTDIR and builds tests/cli/cmake_consumer against it with CMake, as a CMake user would:
# find_package(segstore CONFIG REQUIRED) and target_link_libraries(app segstore::segstore) (and
# segstore::segstore_static); then runs the C and C++ examples and the version check it built.
set -eu
build=$1
src=$2
cmake=$3
ninja=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/segstore-cmake.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"

fail() { echo "cmake_test: $*" >&2; exit 1; }

meson install -C "$build" --destdir "$root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "meson install failed"; }
config=$(find "$root" -name segstoreConfig.cmake | head -n 1)
[ -n "$config" ] || fail "segstoreConfig.cmake was not installed"
[ -f "$(dirname "$config")/segstoreConfigVersion.cmake" ] || fail "segstoreConfigVersion.cmake was not installed"
# The prefix under DESTDIR: the package finds its files relative to itself.
prefix=$(cd "$(dirname "$config")/../../.." && pwd)
case "$config" in */lib/*-linux-gnu/cmake/*) prefix=$(dirname "$prefix") ;; esac

# SEGSTORE_SANITIZE_FLAGS: a sanitizer build's library needs its runtime in the programs too.
static=ON
[ -n "${SEGSTORE_SANITIZE_FLAGS:-}" ] && static=OFF
"$cmake" -S "$src/tests/cli/cmake_consumer" -B "$tmp/build" -G Ninja -DCMAKE_MAKE_PROGRAM="$ninja" \
  -DCMAKE_PREFIX_PATH="$prefix" -DSEGSTORE_EXAMPLES="$src/examples" -DSEGSTORE_STATIC=$static \
  -DCMAKE_C_FLAGS="-Wall -Wextra -Werror ${SEGSTORE_SANITIZE_FLAGS:-}" \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror ${SEGSTORE_SANITIZE_FLAGS:-}" \
  -DCMAKE_EXE_LINKER_FLAGS="${SEGSTORE_SANITIZE_FLAGS:-}" >"$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log" >&2; fail "cmake could not configure the consumer against $prefix"; }
grep -q "segstore .* from $prefix" "$tmp/configure.log" || fail "find_package found another segstore: $(grep 'segstore ' "$tmp/configure.log")"
"$cmake" --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "the consumer does not build"; }

# The imported target carries the library's path: the programs run without LD_LIBRARY_PATH
# (CMake sets their build RUNPATH) and load the installed library. (meson test sets
# LD_LIBRARY_PATH to the build tree, which would win over RUNPATH.)
unset LD_LIBRARY_PATH
ldd "$tmp/build/c_example" | grep -q "$prefix/.*libsegstore.so.0" ||
  fail "c_example does not load the installed library: $(ldd "$tmp/build/c_example")"
"$tmp/build/c_example" "$tmp/store_c" >/dev/null || fail "the C example built with CMake failed"
"$tmp/build/cpp_example" "$tmp/store_cpp" >/dev/null || fail "the C++ example built with CMake failed"
"$tmp/build/version_check" || fail "the versions disagree"
if [ "$static" = ON ]; then
  if readelf -d "$tmp/build/c_static_example" | grep -q libsegstore; then fail "c_static_example links the shared library"; fi
  "$tmp/build/c_static_example" "$tmp/store_c_static" >/dev/null || fail "the C example linked with segstore::segstore_static failed"
fi
echo "cmake_test: ok"
