#!/bin/sh
# tests/cli/install_test.sh BUILD_DIR SOURCE_DIR — installs the build into a temporary DESTDIR
# and uses it the way a user of an installed libsegstore does: the C and C++ examples compiled
# with `pkg-config --cflags --libs segstore`, a C program linked with the static library through
# `pkg-config --static`, the installed CLI (its version, its man pages, no benchmark peers), the
# Python ctypes example and the Python module. A broken install (missing header, library,
# soname, .pc, CLI, man page) fails here. tests/cli/cmake_test.sh does the same for CMake's
# find_package.
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
for h in segstore.h store.h status.h export.h inspect.h version.h; do
  [ -f "$includedir/segstore/$h" ] || fail "header segstore/$h not installed in $includedir"
done
if [ -e "$includedir/segstore/version.h.in" ] || [ -e "$includedir/segstore/meson.build" ]; then
  fail "the build files of include/segstore were installed as headers"
fi
grep -q "define SEGSTORE_VERSION_STRING \"$(pkgconf --modversion)\"" "$includedir/segstore/version.h" ||
  fail "segstore/version.h does not announce version $(pkgconf --modversion)"
cli="$root$prefix/bin/segstore"
[ -x "$cli" ] || fail "the segstore CLI was not installed in $root$prefix/bin"
# The benchmark and its peers stay out of an install: nothing but the CLI in bin/, and the CLI
# links neither RocksDB nor LevelDB.
bin_files=$(ls "$root$prefix/bin")
[ "$bin_files" = segstore ] || fail "bin/ holds more than the CLI: $bin_files"
if env -u LD_LIBRARY_PATH ldd "$cli" | grep -E 'rocksdb|leveldb'; then fail "the installed CLI links a benchmark peer"; fi
# Man pages: segstore(1) and one per subcommand, each naming its options.
mandir="$root$prefix/share/man/man1"
for page in segstore segstore-append segstore-cat segstore-verify segstore-recover segstore-stat segstore-dump; do
  [ -s "$mandir/$page.1" ] || fail "man page $page.1 not installed in $mandir"
  head -n 1 "$mandir/$page.1" | grep -q "^\.TH $page 1 " || fail "$page.1 does not start with its .TH line"
done
# roff writes a dash as \-
grep -qF '\-\-durability' "$mandir/segstore-append.1" || fail "segstore-append.1 does not describe --durability"
grep -qF 'segstore\-append' "$mandir/segstore.1" || fail "segstore.1 does not list the append command"
if command -v man >/dev/null 2>&1; then
  MANWIDTH=80 man -l "$mandir/segstore-append.1" 2>"$tmp/man.err" | grep -q 'durability' ||
    fail "man cannot render segstore-append.1: $(cat "$tmp/man.err")"
fi

# The installed CLI runs as it is, without LD_LIBRARY_PATH: its RUNPATH ($ORIGIN/../LIBDIR)
# leads to the installed library, wherever the prefix is.
env -u LD_LIBRARY_PATH "$cli" --help >/dev/null 2>"$tmp/cli.err" ||
  fail "the installed CLI does not run without LD_LIBRARY_PATH: $(cat "$tmp/cli.err")"
cli_lib=$(env -u LD_LIBRARY_PATH ldd "$cli" | awk '$1 == "libsegstore.so.0" {print $3}')
[ -n "$cli_lib" ] && [ "$(realpath "$cli_lib")" = "$(realpath "$libdir/libsegstore.so.0")" ] ||
  fail "the installed CLI does not load $libdir/libsegstore.so.0: $(env -u LD_LIBRARY_PATH ldd "$cli")"

# segstore --version names the CLI's version, the loaded library's and the on-disk format's.
version=$(env -u LD_LIBRARY_PATH "$cli" --version) || fail "segstore --version failed"
[ "$version" = "segstore $(pkgconf --modversion) (libsegstore $(pkgconf --modversion), on-disk format version 1)" ] ||
  fail "segstore --version printed '$version'"

export LD_LIBRARY_PATH="$libdir"
# shellcheck disable=SC2046 # pkg-config output is meant to be split into words
# SEGSTORE_SANITIZE_FLAGS: a sanitizer build's library needs its runtime in the program too.
cc -std=c11 -Wall -Wextra -Werror ${SEGSTORE_SANITIZE_FLAGS:-} "$src/examples/c_api/main.c" $(pkgconf --cflags --libs) -o "$tmp/c_example" ||
  fail "the C example does not build against the install"
# shellcheck disable=SC2046
c++ -std=c++20 -Wall -Wextra -Werror ${SEGSTORE_SANITIZE_FLAGS:-} "$src/examples/cpp_api/main.cc" $(pkgconf --cflags --libs) -o "$tmp/cpp_example" ||
  fail "the C++ example does not build against the install"
# libsegstore.a from a C program, with what `pkg-config --static` adds (liburing, CRoaring,
# threads and the C++ runtime). A library directory holding only the archive is what a static
# install (-Ddefault_library=static) gives; the program then needs no libsegstore.so at all.
# (A sanitizer build's archive needs the sanitizer's own link, which the C++ driver does: skipped.)
if [ -z "${SEGSTORE_SANITIZE_FLAGS:-}" ]; then
  mkdir "$tmp/static-lib"
  cp "$libdir/libsegstore.a" "$tmp/static-lib/"
  # shellcheck disable=SC2046
  cc -std=c11 -Wall -Wextra -Werror "$src/examples/c_api/main.c" \
    $(pkgconf --define-variable=libdir="$tmp/static-lib" --static --cflags --libs) -o "$tmp/c_static_example" \
    2>"$tmp/static.err" || fail "the C example does not link libsegstore.a with pkg-config --static: $(head -c 3000 "$tmp/static.err")"
  if readelf -d "$tmp/c_static_example" | grep -q 'libsegstore'; then
    fail "c_static_example still needs a shared libsegstore: $(readelf -d "$tmp/c_static_example")"
  fi
  "$tmp/c_static_example" "$tmp/store_c_static" || fail "the statically linked C example failed"
fi

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
