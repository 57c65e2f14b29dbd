#!/usr/bin/env python3
"""The CLI (build/tools/segstore) against a hostile directory or an unlucky operator.

Usage: hostile_cli_test.py [unittest args, e.g. a class name]; the CLI's path is in $SEGSTORE_CLI.
tests/hostile/meson.build runs each class (one class of attack) as a meson test of the suite
`hostile`. Stores are small (16 KiB segments) so that every test takes well under a second or
two. Nothing sleeps to wait for something: a command that should end is given HANG_TIMEOUT_S,
which only a hang reaches, and memory is measured per child with wait4().

New attacks go into the class of their kind (FIFOs, symbolic links, sparse and huge files,
forged ids, forged lengths, operator errors), one test per reproduction.
"""
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

CLI = os.environ.get("SEGSTORE_CLI", "segstore")
HANG_TIMEOUT_S = 20  # only a hang reaches it: every command here ends in well under a second
SEGMENT_BYTES = 16384
RECORDS = 50
# What a read-only command may use beyond what the program takes as it starts, whatever the size
# of the files it is shown: a file read whole takes its size (600 MiB and more in these tests).
RSS_WORK_KIB = 64 * 1024
SEGMENT_FILE = "{:020d}.seg"
INDEX_FILE = "{:020d}.idx"
SNAPSHOT_FILE = "{:020d}.snap"
EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


class Run:
    def __init__(self, rc, out, err, maxrss_kib, seconds):
        self.rc, self.out, self.err, self.maxrss_kib, self.seconds = rc, out, err, maxrss_kib, seconds

    def __repr__(self):
        return (f"exit {self.rc}, {self.maxrss_kib} KiB max RSS, {self.seconds:.2f} s\n"
                f"stdout: {self.out[:1500]!r}\nstderr: {self.err[:1500]}")


def run(*args, stdin=b"", nofile=None, timeout=HANG_TIMEOUT_S):
    """Runs the CLI to its end (killed after `timeout`: a hang) and measures its own peak RSS."""
    def limit():
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([CLI, *map(str, args)], stdin=subprocess.PIPE, stdout=out, stderr=err,
                                preexec_fn=limit)
        # The CLI may exit (refusing the directory) before it reads its input: the write, or the
        # flush of the buffered write at close, then meets a closed pipe.
        try:
            proc.stdin.write(stdin)
        except BrokenPipeError:
            pass
        try:
            proc.stdin.close()  # the descriptor is closed even when the flush fails
        except BrokenPipeError:
            pass
        # A hang is ended by a timer that kills the process; the wait itself blocks until it ends.
        hung = threading.Event()

        def kill_hung():
            hung.set()
            proc.kill()

        timer = threading.Timer(timeout, kill_hung)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        if hung.is_set():
            raise AssertionError(f"segstore {' '.join(map(str, args))}: still running after {timeout} s (a hang)")
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, out.read(), err.read().decode(errors="replace"), usage.ru_maxrss,
                   time.monotonic() - started)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def lines(n, start=0):
    return "".join(f"rec {i}\n" for i in range(start, start + n)).encode()


_rss_bound_kib = None


def rss_bound_kib():
    """The peak RSS a read-only command may reach: the program as it starts (`--version`: ~10 MiB
    of program and libraries, ~93 MiB under AddressSanitizer, whose runtime is most of it) plus
    RSS_WORK_KIB. A fixed bound of 96 MiB left ASan builds 1-3 MiB of room and failed by 132 KiB."""
    global _rss_bound_kib
    if _rss_bound_kib is None:
        started = run("--version")
        assert started.rc == EXIT_OK, started
        _rss_bound_kib = started.maxrss_kib + RSS_WORK_KIB
    return _rss_bound_kib


class HostileTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="segstore-hostile-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def store(self, name="s", records=RECORDS, segment_bytes=SEGMENT_BYTES, one_per_sync=False):
        """A store of `records` records "rec i" in small segments (the issue's base store).
        `append` groups the lines waiting on its input into one sync; with one_per_sync each
        record is its own append, so each takes its own block, as in the reproductions."""
        path = os.path.join(self.tmp, name)
        if one_per_sync:
            for i in range(records):
                r = run("append", path, "--segment-bytes", segment_bytes, stdin=b"rec %d\n" % i)
                self.assertEqual(r.rc, EXIT_OK, r)
            return path
        r = run("append", path, "--segment-bytes", segment_bytes, stdin=lines(records))
        self.assertEqual(r.rc, EXIT_OK, r)
        return path

    def segment_ids(self, store):
        return sorted(int(n[:20]) for n in os.listdir(store) if n.endswith(".seg"))

    def used_segment_ids(self, store):
        """Segments whose header block is written (not the preallocated one)."""
        ids = []
        for i in self.segment_ids(store):
            with open(os.path.join(store, SEGMENT_FILE.format(i)), "rb") as f:
                if f.read(8) == b"SGSTSEG1":
                    ids.append(i)
        return ids

    def store_id(self, store):
        with open(os.path.join(store, "META"), "rb") as f:
            return struct.unpack_from("<Q", f.read(64), 16)[0]

    def write_snapshot(self, store, lsn, state, damage_state=False):
        """An application snapshot file (format/small_files.h) for `lsn` holding `state`."""
        header = bytearray(64)
        header[0:8] = b"SGSTSNAP"
        struct.pack_into("<IIQQQ", header, 8, 1, masked_crc(state), self.store_id(store), lsn, len(state))
        struct.pack_into("<I", header, 60, masked_crc(bytes(header[:60])))
        if damage_state:
            state = bytes([state[0] ^ 0x40]) + state[1:]
        os.makedirs(os.path.join(store, "snapshots"), exist_ok=True)
        path = os.path.join(store, "snapshots", SNAPSHOT_FILE.format(lsn))
        with open(path, "wb") as f:
            f.write(bytes(header) + state)
        return path

    def cat_payloads(self, store, *extra):
        r = run("cat", store, *extra)
        return r, r.out.decode(errors="replace").splitlines()

    def assert_ends(self, r, *, rc=None, names=()):
        """The command ended (no hang, no abort) with `rc`, its message naming `names`."""
        self.assertGreaterEqual(r.rc, 0, f"killed by a signal: {r}")
        if rc is not None:
            self.assertEqual(r.rc, rc, r)
        for name in names:
            self.assertIn(name, r.err + r.out.decode(errors="replace"), r)


# --- hostile files: FIFOs -------------------------------------------------------------------------

class FifoTest(HostileTestCase):
    """A FIFO under a store file's name: every command ends at once, naming the file."""

    def plant_fifo(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        os.mkfifo(path)
        return path

    def read_only_commands_end(self, store, fifo):
        # stat describes (exit 0, the file listed with its problem); the others report it.
        for args in (["stat", store], ["verify", store], ["cat", store], ["dump", store]):
            r = run(*args)
            self.assert_ends(r, names=[os.path.basename(fifo), "FIFO"])
            if args[0] != "stat":
                self.assertNotEqual(r.rc, EXIT_OK, f"{args[0]} said nothing about {fifo}: {r}")

    def test_fifo_named_like_a_segment(self):
        store = self.store()
        fifo = self.plant_fifo(os.path.join(store, SEGMENT_FILE.format(max(self.segment_ids(store)) + 1)))
        self.read_only_commands_end(store, fifo)
        r = run("append", store, stdin=b"X\n")
        self.assert_ends(r, rc=EXIT_USAGE, names=["not_a_regular_file", os.path.basename(fifo), "FIFO"])

    def test_fifo_named_clean_leaves_the_store_usable(self):
        store = self.store()
        fifo = self.plant_fifo(os.path.join(store, "CLEAN"))
        r = run("verify", store)
        self.assert_ends(r, rc=EXIT_PROBLEM, names=["CLEAN"])
        r = run("append", store, "--ack", stdin=b"X\n")
        self.assert_ends(r, rc=EXIT_OK)
        self.assertEqual(r.out, b"%d\n" % RECORDS)
        self.assertTrue(os.path.exists(fifo))

    def test_fifo_named_like_a_snapshot(self):
        store = self.store()
        fifo = self.plant_fifo(os.path.join(store, "snapshots", SNAPSHOT_FILE.format(10)))
        for args in (["stat", store], ["verify", store]):
            r = run(*args)
            self.assert_ends(r, names=[os.path.basename(fifo)])
        r = run("verify", store)
        self.assertEqual(r.rc, EXIT_PROBLEM, r)
        self.assert_ends(run("append", store, stdin=b"X\n"), rc=EXIT_OK)

    def test_fifo_named_meta(self):
        store = self.store()
        fifo = self.plant_fifo(os.path.join(store, "META"))
        for args in (["stat", store], ["verify", store], ["cat", store], ["dump", store]):
            self.assert_ends(run(*args))
        self.assert_ends(run("append", store, stdin=b"X\n"), rc=EXIT_USAGE, names=["META", "FIFO"])
        self.assertTrue(os.path.exists(fifo))

    def test_fifo_named_like_an_index(self):
        store = self.store()
        first = self.segment_ids(store)[0]
        idx = os.path.join(store, INDEX_FILE.format(first))
        os.unlink(idx)
        self.plant_fifo(idx)
        r = run("verify", store)
        self.assert_ends(r, rc=EXIT_PROBLEM, names=[os.path.basename(idx)])
        self.assert_ends(run("stat", store), rc=EXIT_OK)
        r, payloads = self.cat_payloads(store)
        self.assert_ends(r, rc=EXIT_OK)
        self.assertEqual(payloads, [f"rec {i}" for i in range(RECORDS)])

    def test_fifo_named_lock_or_events_log(self):
        store = self.store()
        self.plant_fifo(os.path.join(store, "LOCK"))
        self.assert_ends(run("append", store, stdin=b"X\n"), rc=EXIT_USAGE, names=["LOCK", "FIFO"])
        os.unlink(os.path.join(store, "LOCK"))
        self.plant_fifo(os.path.join(store, "events.log"))
        r = run("append", store, "--ack", stdin=b"X\n")
        self.assert_ends(r, rc=EXIT_OK)
        self.assertEqual(r.out, b"%d\n" % RECORDS)

    def test_append_never_waits_on_a_fifo(self):
        """append ends by itself at a FIFO named META; before, it blocked in open() and retried
        the open after SIGTERM's EINTR, holding the lock, until killed."""
        store = self.store()
        self.plant_fifo(os.path.join(store, "META"))
        proc = subprocess.Popen([CLI, "append", store], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            try:
                rc = proc.wait(timeout=HANG_TIMEOUT_S / 2)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=HANG_TIMEOUT_S / 2)
                except subprocess.TimeoutExpired:
                    self.fail("append blocked at a FIFO and ignored SIGTERM")
                self.fail("append blocked at a FIFO until SIGTERM")
            self.assertEqual(rc, EXIT_USAGE)
            self.assertIn("not_a_regular_file", proc.stderr.read().decode(errors="replace"))
        finally:
            proc.kill()
            proc.wait()
            proc.stderr.close()


# --- hostile files: symbolic links ---------------------------------------------------------------

class SymlinkTest(HostileTestCase):
    """A symbolic link under a name segstore writes is never followed."""

    def test_lock_symlink_does_not_create_its_target(self):
        store = self.store()
        target = os.path.join(self.tmp, "created-through-lock")
        os.unlink(os.path.join(store, "LOCK"))
        os.symlink(target, os.path.join(store, "LOCK"))
        r = run("append", store, stdin=b"X\n")
        self.assert_ends(r, rc=EXIT_USAGE, names=["LOCK", "symbolic link", "not_a_regular_file"])
        self.assertFalse(os.path.lexists(target))

    def test_meta_tmp_symlink_is_not_written_through(self):
        new_store = os.path.join(self.tmp, "new")
        os.mkdir(new_store)
        target = os.path.join(self.tmp, "victim")
        open(target, "wb").close()  # empty: what an interrupted creation could have left
        os.symlink(target, os.path.join(new_store, "META.tmp"))
        r = run("append", new_store, stdin=b"X\n")
        self.assert_ends(r, names=["META.tmp"])
        self.assertNotEqual(r.rc, EXIT_OK, r)
        self.assertEqual(os.path.getsize(target), 0)

    def test_events_log_symlink_is_not_appended_to(self):
        store = self.store()
        target = os.path.join(self.tmp, "victim.log")
        with open(target, "wb") as f:
            f.write(b"keep\n")
        os.unlink(os.path.join(store, "events.log"))
        os.symlink(target, os.path.join(store, "events.log"))
        # Every open of a store without CLEAN logs its recovery in events.log.
        os.unlink(os.path.join(store, "CLEAN"))
        r = run("append", store, "--ack", stdin=b"X\n")
        self.assert_ends(r, rc=EXIT_OK)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"keep\n")

    def test_snapshot_symlink_is_reported_not_followed(self):
        store = self.store()
        elsewhere = self.write_snapshot(store, 10, b"state" * 10)
        outside = os.path.join(self.tmp, "outside.snap")
        os.rename(elsewhere, outside)
        os.symlink(outside, elsewhere)
        r = run("verify", store)
        self.assert_ends(r, rc=EXIT_PROBLEM, names=["symbolic link", os.path.basename(elsewhere)])

    def test_created_files_are_mode_0640(self):
        old = os.umask(0o022)
        try:
            store = self.store()
        finally:
            os.umask(old)
        for name in ["META", "LOCK", "events.log", SEGMENT_FILE.format(self.segment_ids(store)[0]),
                     INDEX_FILE.format(self.segment_ids(store)[0])]:
            self.assertEqual(os.stat(os.path.join(store, name)).st_mode & 0o777, 0o640, name)


# --- hostile files: sparse and huge files --------------------------------------------------------

class SparseFileTest(HostileTestCase):
    """A file's size is a claim: it bounds no allocation (streamed, or refused by a format bound)."""

    def sparse(self, path, size):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.truncate(size)
        return path

    def assert_small(self, r):
        self.assertLess(r.maxrss_kib, rss_bound_kib(), r)

    def test_sparse_600_mib_snapshot(self):
        store = self.store()
        snap = self.sparse(os.path.join(store, "snapshots", SNAPSHOT_FILE.format(10)), 600 << 20)
        for args in (["stat", store], ["verify", store], ["dump", store]):
            r = run(*args)
            self.assert_ends(r)
            self.assert_small(r)
        r = run("verify", store)
        self.assert_ends(r, rc=EXIT_PROBLEM, names=[os.path.basename(snap)])

    def test_sparse_100_gib_snapshot(self):
        store = self.store()
        snap = self.sparse(os.path.join(store, "snapshots", SNAPSHOT_FILE.format(10)), 100 << 30)
        r = run("stat", store)
        self.assert_ends(r, rc=EXIT_OK, names=["PROBLEM: bad_magic"])
        self.assert_small(r)
        r = run("verify", store)
        self.assert_ends(r, rc=EXIT_PROBLEM, names=[os.path.basename(snap)])
        self.assert_small(r)
        self.assert_ends(run("append", store, stdin=b"X\n"), rc=EXIT_OK)

    def test_sparse_snapshot_with_a_valid_header_is_streamed(self):
        """A checksummed header that claims 600 MiB of state over a sparse file."""
        store = self.store()
        path = self.write_snapshot(store, 10, b"s" * 64)
        with open(path, "r+b") as f:
            header = bytearray(f.read(64))
            struct.pack_into("<Q", header, 32, 600 << 20)
            struct.pack_into("<I", header, 60, masked_crc(bytes(header[:60])))
            f.seek(0)
            f.write(header)
            f.truncate(64 + (600 << 20))
        r = run("verify", store)
        self.assert_ends(r, rc=EXIT_PROBLEM, names=["state_checksum"])
        self.assert_small(r)


# --- hostile files: forged ids ---------------------------------------------------------------------

class ForgedIdTest(HostileTestCase):
    def test_stray_segment_with_the_largest_id(self):
        store = self.store()
        stray = os.path.join(store, SEGMENT_FILE.format(2**64 - 1))
        with open(stray, "wb") as f:
            f.truncate(SEGMENT_BYTES)
        for n in range(2):  # each append opens the store and may create a segment
            r = run("append", store, "--ack", stdin=lines(200, 1000 * (n + 1)))
            self.assert_ends(r, rc=EXIT_OK)
        self.assertLess(max(i for i in self.segment_ids(store) if i != 2**64 - 1), 1000)
        r = run("verify", store)
        self.assert_ends(r, names=[os.path.basename(stray)])
        r = run("stat", store)
        self.assert_ends(r, rc=EXIT_OK, names=[os.path.basename(stray)])
        r, payloads = self.cat_payloads(store)
        self.assertEqual(len(payloads), RECORDS + 400, r)


# --- hostile files: forged lengths --------------------------------------------------------------

class ForgedLengthTest(HostileTestCase):
    def test_sparse_1_gib_index_beside_a_segment_claiming_1_gib(self):
        store = self.store()
        first = self.used_segment_ids(store)[0]
        seg = os.path.join(store, SEGMENT_FILE.format(first))
        with open(seg, "r+b") as f:
            header = bytearray(f.read(64))
            struct.pack_into("<Q", header, 32, 1 << 30)  # segment_bytes
            struct.pack_into("<I", header, 60, masked_crc(bytes(header[:60])))
            f.seek(0)
            f.write(header)
        idx = os.path.join(store, INDEX_FILE.format(first))
        with open(idx, "r+b") as f:
            f.truncate(1 << 30)
        for args in (["stat", store], ["verify", store], ["dump", store], ["cat", store]):
            r = run(*args)
            self.assert_ends(r)
            self.assertLess(r.maxrss_kib, rss_bound_kib(), r)
            self.assertLess(r.seconds, 5, r)


# --- lost acknowledged data: a lost tail, a deleted LOCK, a forged META ---------------------------

class DataLossTest(HostileTestCase):
    """What the issue's data-loss reproductions did through the CLI: never a reused LSN, never a
    second writer, never a segment deleted on the word of one field."""

    def json_records(self, store):
        import json
        r = run("cat", store, "--format", "json")
        return r, [json.loads(line) for line in r.out.decode().splitlines()]

    def lose_tail(self, mutate):
        store = self.store(one_per_sync=True)
        last = os.path.join(store, SEGMENT_FILE.format(self.used_segment_ids(store)[-1]))
        mutate(last)
        r = run("recover", store)
        self.assert_ends(r, rc=EXIT_PROBLEM, names=["DATA LOSS"])
        r = run("append", store, "--ack", stdin=b"X\n")
        self.assert_ends(r)
        if r.rc == EXIT_OK:  # continued past every LSN handed out, or refused: never LSN 49 again
            self.assertGreaterEqual(int(r.out), RECORDS, r)
        r, records = self.json_records(store)
        self.assertFalse([rec for rec in records if rec["lsn"] < RECORDS and rec["payload"] == "X"], r)

    def test_zeroed_tail_block_is_reported_and_its_lsns_never_reused(self):
        def zero_block_2(path):
            with open(path, "r+b") as f:
                f.seek(8192)
                f.write(bytes(4096))
        self.lose_tail(zero_block_2)

    def test_truncated_tail_is_reported_and_its_lsns_never_reused(self):
        self.lose_tail(lambda path: os.truncate(path, 8192))

    def test_deleting_lock_never_admits_a_second_writer(self):
        store = self.store()
        a = subprocess.Popen([CLI, "append", store, "--ack"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            a.stdin.write(b"A1\n")
            a.stdin.flush()
            self.assertEqual(a.stdout.readline(), b"%d\n" % RECORDS)
            os.unlink(os.path.join(store, "LOCK"))
            b = run("append", store, "--ack", stdin=b"B1\n")
            self.assert_ends(b, rc=EXIT_USAGE, names=["store_in_use"])
            a.stdin.write(b"A2\n")
            a.stdin.close()
            self.assertEqual(a.stdout.readline(), b"%d\n" % (RECORDS + 1))
            self.assertEqual(a.wait(timeout=HANG_TIMEOUT_S), EXIT_OK)
        finally:
            a.kill()
            a.wait()
            a.stdout.close()
            a.stderr.close()
        r, payloads = self.cat_payloads(store)
        self.assertEqual(payloads[RECORDS:], ["A1", "A2"], r)
        self.assert_ends(run("verify", store), rc=EXIT_OK)

    def test_meta_min_segment_id_at_the_limit_deletes_no_segment(self):
        store = self.store()
        segments = self.used_segment_ids(store)
        with open(os.path.join(store, "META"), "r+b") as f:
            meta = bytearray(f.read(64))
            struct.pack_into("<Q", meta, 32, 2**64 - 1)
            struct.pack_into("<I", meta, 60, masked_crc(bytes(meta[:60])))
            f.seek(0)
            f.write(meta)
        r = run("recover", store)
        self.assert_ends(r)
        self.assertNotEqual(r.rc, EXIT_OK, r)
        names = [n for _, _, files in os.walk(store) for n in files]  # the store and quarantine/
        for i in segments:
            self.assertTrue([n for n in names if SEGMENT_FILE.format(i) in n], f"segment {i} was deleted: {r}")


# --- operator errors --------------------------------------------------------------------------------

class OperatorErrorTest(HostileTestCase):
    def plant_preallocation(self, store, segment_bytes=SEGMENT_BYTES):
        """The zero-filled next segment that the preallocator of an open with `segment_bytes`
        leaves (made here so that the test does not depend on its thread's timing)."""
        ids = self.segment_ids(store)
        path = os.path.join(store, SEGMENT_FILE.format(max(ids, default=0) + 1))
        with open(path, "wb") as f:
            f.truncate(segment_bytes)

    def test_retry_after_record_too_large_without_segment_bytes(self):
        store = os.path.join(self.tmp, "a3")
        big = b"y" * 20000 + b"\n"
        r = run("append", store, "--segment-bytes", SEGMENT_BYTES, stdin=big)
        self.assert_ends(r, rc=EXIT_USAGE, names=["record_too_large"])
        if not self.segment_ids(store):
            self.plant_preallocation(store)
        for _ in range(2):
            r = run("append", store, "--ack", stdin=big)
            self.assert_ends(r, rc=EXIT_OK)
        r, payloads = self.cat_payloads(store)
        self.assertEqual(r.rc, EXIT_OK, r)
        self.assertEqual(payloads, ["y" * 20000] * 2)

    def test_reopen_with_a_larger_segment_size(self):
        store = os.path.join(self.tmp, "grow")
        self.assert_ends(run("append", store, "--segment-bytes", SEGMENT_BYTES, stdin=b"a\nb\n"), rc=EXIT_OK)
        if len(self.segment_ids(store)) == len(self.used_segment_ids(store)):
            self.plant_preallocation(store)
        r = run("append", store, "--segment-bytes", 4 * SEGMENT_BYTES, "--ack", stdin=b"z" * 30000 + b"\n")
        self.assert_ends(r, rc=EXIT_OK)
        self.assertEqual(r.out, b"2\n")
        self.assert_ends(run("verify", store), rc=EXIT_OK)

    def test_cat_from_past_the_lsn_range(self):
        store = self.store()
        r = run("cat", store, "--from", 2**64)
        self.assert_ends(r, rc=EXIT_USAGE, names=["18446744073709551616", "out of range"])

    def test_cat_stream_not_a_number(self):
        store = self.store()
        r = run("cat", store, "--stream", "abc")
        self.assert_ends(r, rc=EXIT_USAGE, names=["'abc' is not a whole number"])
        self.assertLess(len(r.err), 400, r)

    def test_cat_serves_the_prefix_before_a_bad_middle_segment_header(self):
        store = self.store(one_per_sync=True)
        used = self.used_segment_ids(store)
        self.assertGreaterEqual(len(used), 3)
        with open(os.path.join(store, SEGMENT_FILE.format(used[1])), "r+b") as f:
            f.seek(20)
            f.write(b"\xff")
        r, payloads = self.cat_payloads(store)
        self.assert_ends(r, rc=EXIT_PROBLEM, names=[SEGMENT_FILE.format(used[1])])
        self.assertGreater(len(payloads), 0)
        self.assertEqual(payloads, [f"rec {i}" for i in range(len(payloads))])

    def test_cat_meta_of_a_newer_version(self):
        store = self.store()
        with open(os.path.join(store, "META"), "r+b") as f:
            f.seek(8)
            f.write(struct.pack("<I", 2))
        for command in ("cat", "stat", "append"):
            r = run(command, store, stdin=b"X\n")
            self.assert_ends(r, rc=EXIT_USAGE, names=["unsupported_version"])

    def test_verify_wording(self):
        store = self.store()
        r = run("verify", store)
        self.assert_ends(r, rc=EXIT_OK, names=[f"{RECORDS} records read", f"the log holds LSN 0..{RECORDS - 1}"])

    def test_recover_exit_reflects_a_damaged_snapshot(self):
        store = self.store()
        snap = self.write_snapshot(store, 10, b"state" * 20, damage_state=True)
        self.assert_ends(run("verify", store), rc=EXIT_PROBLEM, names=[os.path.basename(snap)])
        r = run("recover", store)
        self.assert_ends(r, rc=EXIT_PROBLEM, names=[os.path.basename(snap), "state_checksum"])

    def test_300_segments_with_64_descriptors(self):
        store = os.path.join(self.tmp, "many")
        payload = b"p" * 4000
        r = run("append", store, "--segment-bytes", SEGMENT_BYTES, "--durability", "none",
                stdin=b"".join(payload + b"\n" for _ in range(900)))
        self.assert_ends(r, rc=EXIT_OK)
        self.assertGreaterEqual(len(self.segment_ids(store)), 300)
        os.unlink(os.path.join(store, "CLEAN"))  # recovery scans: it must not hold every segment open
        r = run("recover", store, nofile=64)
        self.assert_ends(r, rc=EXIT_OK)
        r = run("append", store, "--ack", stdin=b"last\n", nofile=64)
        self.assert_ends(r, rc=EXIT_OK)
        self.assertEqual(r.out, b"900\n")
        r = run("cat", store, "--from", 899, nofile=64)
        self.assert_ends(r, rc=EXIT_OK)
        self.assertEqual(r.out, payload + b"\nlast\n")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], *sys.argv[1:]], verbosity=2)
