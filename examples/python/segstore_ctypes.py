#!/usr/bin/env python3
"""libsegstore from Python through ctypes and the C API (segstore/segstore.h): no build step.

Python programs normally `import segstore` (the module built with the library: batches, async
appends, tailing waits, stats; examples/python/orders_tail.py). This file shows the C API from a
foreign function interface, as any language with one can use it.

    python3 segstore_ctypes.py /tmp/example-store

The library is found as libsegstore.so.0 on the loader's path (LD_LIBRARY_PATH for a private
install) or at $SEGSTORE_LIB. Any language with a C FFI can do the same.
"""
import ctypes
import os
import sys

# Error codes of segstore.h that Python code wants to tell apart.
SEGSTORE_E_LSN_OUT_OF_RANGE = -3
SEGSTORE_E_BUFFER_TOO_SMALL = -12
SEGSTORE_DURABILITY_SYNC = 0


class SegstoreError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{message} (code {code})")
        self.code = code


def _load():
    lib = ctypes.CDLL(os.environ.get("SEGSTORE_LIB", "libsegstore.so.0"))
    c_void_p, c_int, c_uint32, c_uint64, c_size_t = (ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32,
                                                     ctypes.c_uint64, ctypes.c_size_t)
    P = ctypes.POINTER
    signatures = {
        "segstore_options_create": (c_void_p, []),
        "segstore_options_destroy": (None, [c_void_p]),
        "segstore_options_set_durability": (c_int, [c_void_p, c_int]),
        "segstore_options_set_segment_bytes": (c_int, [c_void_p, c_uint64]),
        "segstore_open": (c_int, [ctypes.c_char_p, c_void_p, P(c_void_p)]),
        "segstore_close": (c_int, [c_void_p]),
        "segstore_append": (c_int, [c_void_p, c_uint32, ctypes.c_char_p, c_size_t, P(c_uint64)]),
        "segstore_sync": (c_int, [c_void_p]),
        "segstore_read": (c_int, [c_void_p, c_uint64, c_void_p, c_size_t, P(c_size_t), P(c_uint32)]),
        "segstore_iter_open": (c_int, [c_void_p, c_uint64, P(c_void_p)]),
        "segstore_iter_open_stream": (c_int, [c_void_p, c_uint64, c_uint32, P(c_void_p)]),
        "segstore_iter_next": (c_int, [c_void_p, P(c_uint64), P(c_uint32), P(c_void_p), P(c_size_t)]),
        "segstore_iter_close": (None, [c_void_p]),
        "segstore_first_lsn": (c_uint64, [c_void_p]),
        "segstore_next_lsn": (c_uint64, [c_void_p]),
        "segstore_durable_lsn": (c_uint64, [c_void_p]),
        "segstore_truncate_after": (c_int, [c_void_p, c_uint64]),
        "segstore_trim_before": (c_int, [c_void_p, c_uint64]),
        "segstore_strerror": (ctypes.c_char_p, [c_int]),
        "segstore_last_error_message": (ctypes.c_char_p, []),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


_lib = _load()


def _check(rc):
    if rc < 0:
        raise SegstoreError(rc, _lib.segstore_last_error_message().decode())
    return rc


class Store:
    """A segstore log. Use as a context manager so that it is closed (flushed, unlocked)."""

    def __init__(self, path, durability=SEGSTORE_DURABILITY_SYNC, segment_bytes=None):
        opts = _lib.segstore_options_create()
        try:
            _check(_lib.segstore_options_set_durability(opts, durability))
            if segment_bytes is not None:
                _check(_lib.segstore_options_set_segment_bytes(opts, segment_bytes))
            handle = ctypes.c_void_p()
            _check(_lib.segstore_open(os.fsencode(path), opts, ctypes.byref(handle)))
        finally:
            _lib.segstore_options_destroy(opts)
        self._s = handle

    def close(self):
        if self._s:
            handle, self._s = self._s, None
            _check(_lib.segstore_close(handle))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def append(self, payload: bytes, stream: int = 0) -> int:
        lsn = ctypes.c_uint64()
        _check(_lib.segstore_append(self._s, stream, payload, len(payload), ctypes.byref(lsn)))
        return lsn.value

    def read(self, lsn: int):
        """Returns (stream, payload). Asks for the size first when the guess is too small."""
        length, stream = ctypes.c_size_t(), ctypes.c_uint32()
        buf = ctypes.create_string_buffer(256)
        rc = _lib.segstore_read(self._s, lsn, buf, len(buf), ctypes.byref(length), ctypes.byref(stream))
        if rc == SEGSTORE_E_BUFFER_TOO_SMALL:
            buf = ctypes.create_string_buffer(length.value)
            rc = _lib.segstore_read(self._s, lsn, buf, len(buf), ctypes.byref(length), ctypes.byref(stream))
        _check(rc)
        return stream.value, buf.raw[:length.value]

    def scan(self, from_lsn: int = 0, stream=None):
        """Yields (lsn, stream, payload) in LSN order up to the current end of the log."""
        it = ctypes.c_void_p()
        if stream is None:
            _check(_lib.segstore_iter_open(self._s, from_lsn, ctypes.byref(it)))
        else:
            _check(_lib.segstore_iter_open_stream(self._s, from_lsn, stream, ctypes.byref(it)))
        try:
            lsn, st, data, size = ctypes.c_uint64(), ctypes.c_uint32(), ctypes.c_void_p(), ctypes.c_size_t()
            while _check(_lib.segstore_iter_next(it, ctypes.byref(lsn), ctypes.byref(st), ctypes.byref(data),
                                                 ctypes.byref(size))) == 1:
                # The data pointer is valid until the next call: copy it out now.
                yield lsn.value, st.value, ctypes.string_at(data, size.value) if size.value else b""
        finally:
            _lib.segstore_iter_close(it)

    def sync(self):
        _check(_lib.segstore_sync(self._s))

    def truncate_after(self, lsn: int):
        _check(_lib.segstore_truncate_after(self._s, lsn))

    def trim_before(self, lsn: int):
        _check(_lib.segstore_trim_before(self._s, lsn))

    @property
    def first_lsn(self):
        return _lib.segstore_first_lsn(self._s)

    @property
    def next_lsn(self):
        return _lib.segstore_next_lsn(self._s)

    @property
    def durable_lsn(self):
        return _lib.segstore_durable_lsn(self._s)


def main(path):
    with Store(path) as store:
        first = store.append(b"hello from python", stream=1)
        store.append(b"\x00binary\xff", stream=2)
        store.append(b"", stream=1)  # an empty record is a record
        print(f"appended LSN {first}..{store.next_lsn - 1}; durable up to {store.durable_lsn}")
        assert store.read(first) == (1, b"hello from python")
        assert store.read(first + 1) == (2, b"\x00binary\xff")
        big = bytes(range(256)) * 4  # larger than read()'s first buffer
        lsn = store.append(big, stream=3)
        assert store.read(lsn) == (3, big)
        try:
            store.read(store.next_lsn)
            raise AssertionError("reading past the end must fail")
        except SegstoreError as e:
            assert e.code == SEGSTORE_E_LSN_OUT_OF_RANGE, e
            print(f"reading past the end: {e}")
        for lsn, stream, payload in store.scan(first, stream=1):
            print(f"stream 1, LSN {lsn}: {payload!r}")
        assert [r[0] for r in store.scan(first)] == [first, first + 1, first + 2, first + 3]
    print("ok")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} STORE_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
