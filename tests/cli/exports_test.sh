#!/usr/bin/env bash
# tests/cli/exports_test.sh LIBSEGSTORE_SO — libsegstore.so exports the public API only: the C API
# (segstore_*) and namespace segstore (C++), each with at least the functions the headers name.
set -euo pipefail
lib=$1
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
  echo "$symbols" | grep -qF "$expected" || { echo "exports_test: $lib does not export $expected"; exit 1; }
done
echo "exports_test: $(echo "$symbols" | wc -l) symbols, all public"
