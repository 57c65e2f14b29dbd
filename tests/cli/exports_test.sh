#!/usr/bin/env bash
# tests/cli/exports_test.sh LIBSEGSTORE_SO SEGSTORE_H — libsegstore.so exports the public API only:
# the C API (segstore_*) and namespace segstore (C++); every function segstore.h declares is
# exported, and so are the C++ API's main entry points.
set -euo pipefail
# The symbol list is searched with here-strings, not `echo | grep -q`: grep -q exits at its first
# match, and under pipefail the echo that then meets a closed pipe (SIGPIPE) fails the check.
lib=$1
header=$2
symbols=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | c++filt)
[ -n "$symbols" ] || { echo "exports_test: no symbols exported by $lib"; exit 1; }
foreign=$(echo "$symbols" | grep -v -E '^(segstore_|segstore::|typeinfo (name )?for segstore::|vtable for segstore::)' || true)
if [ -n "$foreign" ]; then
  echo "exports_test: $lib exports symbols outside the public API:"
  echo "$foreign" | head -20
  exit 1
fi
for expected in segstore_open segstore_append segstore_read segstore_iter_next segstore_strerror \
                'segstore::Store::open(' 'segstore::Store::append(' 'segstore::Iterator::next('; do
  grep -qF "$expected" <<<"$symbols" || { echo "exports_test: $lib does not export $expected"; exit 1; }
done
# Every C function of the header (declared as "SEGSTORE_API <type> <name>(").
declared=$(tr '\n' ' ' <"$header" | grep -oE 'SEGSTORE_API [^;(]*\(' | grep -oE 'segstore_[a-z0-9_]+ *\($' | tr -d ' (' | sort -u)
[ "$(echo "$declared" | wc -l)" -ge 50 ] || { echo "exports_test: found only $(echo "$declared" | wc -l) functions in $header"; exit 1; }
for function in $declared; do
  grep -qE "^$function(@|$)" <<<"$symbols" || { echo "exports_test: $lib does not export $function (declared in $header)"; exit 1; }
done
echo "exports_test: $(echo "$symbols" | wc -l) symbols, all public; the $(echo "$declared" | wc -l) functions of segstore.h among them"
