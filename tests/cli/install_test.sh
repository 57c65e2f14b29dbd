#!/bin/sh
# tests/cli/install_test.sh BUILD_DIR SOURCE_DIR — installs the build into a temporary DESTDIR
# and uses it the way a user of an installed libsegstore does: the C and C++ examples compiled
# with `pkg-config --cflags --libs segstore`, the installed CLI, the Python ctypes example and
# the Python module.
# A broken install (missing header, library, soname, .pc, CLI) fails here.
set -eu
build=$1
src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/segstore-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"

fail() { echo "install_test: $*" >&2; exit 1; }

meson install -C "$build" --destdir "$root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "meson install failed"; }

pc=$(find "$root" -name segstore.pc | head -n 1)
[ -n "$pc" ] || fail "segstore.pc was not installed"
pcdir=$(dirname "$pc")
# The .pc names the configured prefix; under DESTDIR the files live below $root.
prefix=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=prefix segstore)
export PKG_CONFIG_PATH="$pcdir"
pkgconf() { pkg-config --define-variable=prefix="$root$prefix" "$@" segstore; }
libdir=$(pkgconf --variable=libdir)
includedir=$(pkgconf --variable=includedir)
echo "installed under $root$prefix: libdir $libdir"

# The library: versioned file, soname link, soname, static archive; the public headers; the CLI.
[ -f "$libdir/libsegstore.so.0.1.0" ] || fail "libsegstore.so.0.1.0 missing in $libdir"
[ -L "$libdir/libsegstore.so.0" ] || fail "libsegstore.so.0 link missing"
[ -e "$libdir/libsegstore.so" ] || fail "libsegstore.so (development link) missing"
[ -f "$libdir/libsegstore.a" ] || fail "static libsegstore.a missing"
soname=$(objdump -p "$libdir/libsegstore.so.0.1.0" | awk '/SONAME/ {print $2}')
[ "$soname" = "libsegstore.so.0" ] || fail "soname is '$soname', expected libsegstore.so.0"
for h in segstore.h store.h status.h export.h inspect.h; do
  [ -f "$includedir/segstore/$h" ] || fail "header segstore/$h not installed in $includedir"
done
cli="$root$prefix/bin/segstore"
[ -x "$cli" ] || fail "the segstore CLI was not installed in $root$prefix/bin"

# The installed CLI runs as it is, without LD_LIBRARY_PATH: its RUNPATH ($ORIGIN/../LIBDIR)
# leads to the installed library, wherever the prefix is.
env -u LD_LIBRARY_PATH "$cli" --help >/dev/null 2>"$tmp/cli.err" ||
  fail "the installed CLI does not run without LD_LIBRARY_PATH: $(cat "$tmp/cli.err")"
cli_lib=$(env -u LD_LIBRARY_PATH ldd "$cli" | awk '$1 == "libsegstore.so.0" {print $3}')
[ -n "$cli_lib" ] && [ "$(realpath "$cli_lib")" = "$(realpath "$libdir/libsegstore.so.0")" ] ||
  fail "the installed CLI does not load $libdir/libsegstore.so.0: $(env -u LD_LIBRARY_PATH ldd "$cli")"

export LD_LIBRARY_PATH="$libdir"
# shellcheck disable=SC2046 # pkg-config output is meant to be split into words
# SEGSTORE_SANITIZE_FLAGS: a sanitizer build's library needs its runtime in the program too.
cc -std=c11 -Wall -Wextra -Werror ${SEGSTORE_SANITIZE_FLAGS:-} "$src/examples/c_api/main.c" $(pkgconf --cflags --libs) -o "$tmp/c_example" ||
  fail "the C example does not build against the install"
# shellcheck disable=SC2046
c++ -std=c++20 -Wall -Wextra -Werror ${SEGSTORE_SANITIZE_FLAGS:-} "$src/examples/cpp_api/main.cc" $(pkgconf --cflags --libs) -o "$tmp/cpp_example" ||
  fail "the C++ example does not build against the install"
# They must load the installed library, not the build tree's.
ldd "$tmp/c_example" | grep -q "$libdir/libsegstore.so.0" || fail "c_example does not use $libdir: $(ldd "$tmp/c_example")"

"$tmp/c_example" "$tmp/store_c" || fail "the C example failed"
"$tmp/cpp_example" "$tmp/store_cpp" || fail "the C++ example failed"
# SEGSTORE_PYTHON_PRELOAD: in a sanitizer build, the sanitizer runtime Python must load first.
LD_PRELOAD=${SEGSTORE_PYTHON_PRELOAD:-} python3 "$src/examples/python/segstore_ctypes.py" "$tmp/store_py" ||
  fail "the Python example failed"
# The Python module, when the build has one (python3-dev and pybind11-dev were found): installed
# next to the prefix's other modules, it imports and loads the installed library.
if ls "$build"/python/segstore*.so >/dev/null 2>&1; then
  module=$(find "$root$prefix" -name 'segstore*.so' -path '*-packages/*' | head -n 1)
  [ -n "$module" ] || fail "the Python module was not installed below $root$prefix"
  LD_PRELOAD=${SEGSTORE_PYTHON_PRELOAD:-} PYTHONPATH=$(dirname "$module") python3 -c "
import segstore, sys
with segstore.open(sys.argv[1], preallocate_next_segment=False) as s:
    assert s.append_batch([(1, b'from python'), (1, b'installed')]) == 0
    assert [r.payload for r in s.scan(stream=1)] == [b'from python', b'installed']
" "$tmp/store_module" || fail "the installed Python module failed"
fi

# The installed CLI reads what the examples wrote.
"$cli" cat "$tmp/store_c" --stream 1 >"$tmp/cat.out" || fail "installed segstore cat failed"
grep -q "user 1 ordered a book" "$tmp/cat.out" || fail "installed segstore cat printed: $(cat "$tmp/cat.out")"
"$cli" verify "$tmp/store_cpp" >/dev/null || fail "installed segstore verify failed"
echo "install_test: ok"
