#!/usr/bin/env python3
"""End-to-end tests of the `segstore` CLI (tests/cli/meson.build runs each class as a test).

Usage: cli_test.py [unittest args, e.g. a class name]; the CLI's path is in $SEGSTORE_CLI.
Each test works in a fresh temporary directory. Nothing sleeps to wait for something: a test
that waits for output blocks on the pipe, bounded by a timeout that only a hang reaches.
"""
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import unittest

CLI = os.environ.get("SEGSTORE_CLI", "segstore")
# Only a hang reaches this: every wait below normally ends in milliseconds.
HANG_TIMEOUT_S = 60
SEGMENT_FILE = "{:020d}.seg"
INDEX_FILE = "{:020d}.idx"
RECORD_HEADER_BYTES = 32
RECORD_PAYLOAD_MAX_BYTES = 8 << 20  # segstore::record_payload_max_bytes (include/segstore/store.h)
SMALL_SEGMENT_BYTES = 16384  # the minimum: a few hundred small records span several segments


def run(*args, stdin=b"", check_rc=None):
    """Runs the CLI; returns (rc, stdout bytes, stderr text)."""
    proc = subprocess.run([CLI, *map(str, args)], input=stdin, capture_output=True, timeout=HANG_TIMEOUT_S)
    err = proc.stderr.decode(errors="replace")
    if check_rc is not None and proc.returncode != check_rc:
        raise AssertionError(f"segstore {' '.join(map(str, args))}: exit {proc.returncode}, wanted {check_rc}\n"
                             f"stdout: {proc.stdout[:2000]!r}\nstderr: {err}")
    return proc.returncode, proc.stdout, err


def framed(payloads):
    return b"".join(struct.pack("<I", len(p)) + p for p in payloads)


# --- damage helpers (docs/FORMAT.md byte tables) -------------------------------------------------

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


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x40]))


def shrink_file(path, size):
    os.truncate(path, size)


def fix_index_checksums(path):
    """Recomputes body_crc and header_crc of an index snapshot after its body was changed."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        struct.pack_into("<I", data, 64, masked_crc(bytes(data[80:])))
        struct.pack_into("<I", data, 76, masked_crc(bytes(data[0:76])))
        f.seek(0)
        f.write(data)


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="segstore-cli-")
        self.tmp = self._tmp.name
        self.store = os.path.join(self.tmp, "store")

    def tearDown(self):
        self._tmp.cleanup()

    def append_lines(self, lines, *extra, ack=True):
        """Appends lines as records; returns their LSNs (printed with --ack once durable). The
        lines wait on stdin together, so they are appended as groups, packed densely."""
        data = b"".join(line + b"\n" for line in lines)
        _, out, _ = run("append", self.store, *(["--ack"] if ack else []), *extra, stdin=data, check_rc=0)
        return [int(x) for x in out.split()]

    def segment(self, n):
        return os.path.join(self.store, SEGMENT_FILE.format(n))

    def dump_entries(self, segment_id):
        """Record headers of a segment as dicts, parsed from `segstore dump`."""
        _, out, _ = run("dump", self.store, "--segment", segment_id, check_rc=0)
        entries = []
        for line in out.decode().splitlines():
            fields = line.split()
            if len(fields) >= 8 and fields[0].isdigit():
                entries.append({"offset": int(fields[0]), "lsn": int(fields[1]), "stream": int(fields[2]),
                                "type": fields[3], "length": int(fields[4]), "check": " ".join(fields[7:])})
        return entries


class AppendCatTest(CliTestCase):
    def test_lines_round_trip_including_empty_records(self):
        data = b"alpha\nbeta\n\ngamma"  # the last line has no newline; the third is empty
        rc, out, _ = run("append", self.store, "--ack", stdin=data)
        self.assertEqual(rc, 0)
        self.assertEqual(out, b"0\n1\n2\n3\n")
        _, out, _ = run("cat", self.store, check_rc=0)
        self.assertEqual(out, b"alpha\nbeta\n\ngamma\n")

    def test_framed_binary_with_zero_bytes_and_empty_records(self):
        payloads = [b"\x00\x01\x02\x00", b"", b"\n\n\x00", bytes(range(256)) * 10, b""]
        _, out, _ = run("append", self.store, "--framed", "--ack", stdin=framed(payloads), check_rc=0)
        self.assertEqual(out.split(), [b"0", b"1", b"2", b"3", b"4"])
        _, out, _ = run("cat", self.store, "--format", "framed", check_rc=0)
        self.assertEqual(out, framed(payloads))

    def test_truncated_frame_is_refused_with_its_position(self):
        data = framed([b"ok"]) + struct.pack("<I", 10) + b"short"
        rc, out, err = run("append", self.store, "--framed", "--ack", stdin=data)
        self.assertEqual(rc, 2)
        self.assertEqual(out, b"0\n")  # the whole frame before it was appended
        self.assertIn("frame 2", err)
        self.assertIn("byte offset 6", err)

    def test_line_over_the_largest_record_is_refused_with_the_cause(self):
        # RECORD_PAYLOAD_MAX_BYTES is segstore::record_payload_max_bytes: the largest record fits.
        data = b"x" * RECORD_PAYLOAD_MAX_BYTES + b"\n" + b"y" * (RECORD_PAYLOAD_MAX_BYTES + 1) + b"\n"
        rc, out, err = run("append", self.store, "--ack", stdin=data)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, b"0\n")  # the largest record was appended, the next one refused
        self.assertIn("record_too_large", err)
        self.assertIn(f"line 2 of the input is longer than the largest record ({RECORD_PAYLOAD_MAX_BYTES} bytes)",
                      err)
        _, out, _ = run("cat", self.store, "--format", "framed", check_rc=0)
        self.assertEqual(out, framed([b"x" * RECORD_PAYLOAD_MAX_BYTES]))

    def test_frame_over_the_largest_record_is_refused_before_its_bytes(self):
        # Only the length is sent: the tool must refuse it without waiting for 8 MiB of input.
        data = framed([b"ok"]) + struct.pack("<I", RECORD_PAYLOAD_MAX_BYTES + 1)
        rc, out, err = run("append", self.store, "--framed", "--ack", stdin=data)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, b"0\n")
        self.assertIn("record_too_large", err)
        self.assertIn(f"frame 2 (byte offset 6) says {RECORD_PAYLOAD_MAX_BYTES + 1} bytes, more than the largest "
                      f"record ({RECORD_PAYLOAD_MAX_BYTES} bytes)", err)

    def test_from_stream_count(self):
        self.append_lines([b"a%d" % i for i in range(5)], "--stream", "1")
        self.append_lines([b"b%d" % i for i in range(5)], "--stream", "2")
        _, out, _ = run("cat", self.store, "--stream", "2", check_rc=0)
        self.assertEqual(out.split(), [b"b%d" % i for i in range(5)])
        _, out, _ = run("cat", self.store, "--from", "3", "--count", "4", check_rc=0)
        self.assertEqual(out.split(), [b"a3", b"a4", b"b0", b"b1"])
        _, out, _ = run("cat", self.store, "--from", "6", "--stream", "1", check_rc=0)
        self.assertEqual(out, b"")
        _, out, _ = run("cat", self.store, "--from", "100", check_rc=0)
        self.assertEqual(out, b"")

    def test_json_and_hex_formats(self):
        self.append_lines([b"text", b"caf\xc3\xa9"], "--stream", "9")
        run("append", self.store, "--framed", stdin=framed([b"\xff\x00"]), check_rc=0)
        _, out, _ = run("cat", self.store, "--format", "json", check_rc=0)
        rows = [json.loads(line) for line in out.decode().splitlines()]
        self.assertEqual(rows[0], {"lsn": 0, "stream": 9, "bytes": 4, "payload": "text"})
        self.assertEqual(rows[1]["payload"], "café")
        self.assertEqual(rows[2], {"lsn": 2, "stream": 0, "bytes": 2, "payload_base64": "/wA="})
        _, out, _ = run("cat", self.store, "--format", "hex", "--from", "2", check_rc=0)
        self.assertEqual(out, b"2 0 ff00\n")

    def test_records_span_many_segments(self):
        lines = [b"record-%04d" % i for i in range(800)]
        lsns = self.append_lines(lines, "--segment-bytes", SMALL_SEGMENT_BYTES, "--durability", "none")
        self.assertEqual(lsns, list(range(800)))
        _, out, _ = run("cat", self.store, check_rc=0)
        self.assertEqual(out.split(), lines)
        stat = json.loads(run("stat", self.store, "--json", check_rc=0)[1])
        self.assertGreater(len([s for s in stat["segments"] if s["state"] == "sealed"]), 2)

    def test_ack_in_none_and_interval_modes_waits_for_durability(self):
        for mode in ("none", "interval"):
            _, out, _ = run("append", self.store, "--durability", mode, "--ack", stdin=b"x\ny\n", check_rc=0)
            self.assertEqual(len(out.split()), 2)
        _, out, _ = run("cat", self.store, check_rc=0)
        self.assertEqual(out, b"x\ny\nx\ny\n")

    def test_cat_stops_quietly_when_its_reader_goes_away(self):
        self.append_lines([b"line-%d" % i for i in range(20000)], "--durability", "none", ack=False)
        proc = subprocess.Popen([CLI, "cat", self.store], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(proc.stdout.readline(), b"line-0\n")
        proc.stdout.close()
        self.assertEqual(proc.wait(timeout=HANG_TIMEOUT_S), 0)
        self.assertEqual(proc.stderr.read(), b"")
        proc.stderr.close()


class AppendGroupTest(CliTestCase):
    """Lines already waiting on stdin are appended as one group and made durable together; a
    line that arrives alone is made durable (and acknowledged) without waiting for more."""

    def test_waiting_lines_share_their_device_syncs(self):
        # One sync per line would pad each record to its own 4 KiB block: 2,000 blocks. In
        # groups the records are packed (40 bytes each: about 20 blocks), and a sync per pipe
        # read at most pads one block per group.
        n = 2000
        lsns = self.append_lines([b"%04d" % i for i in range(n)])  # --durability sync, --ack
        self.assertEqual(lsns, list(range(n)))
        stat = json.loads(run("stat", self.store, "--json", check_rc=0)[1])
        active = [seg for seg in stat["segments"] if seg["state"] == "active"]
        self.assertEqual(len(active), 1)
        blocks = active[0]["end_offset"] // 4096
        self.assertLess(blocks, n // 10, f"{blocks} blocks for {n} records: the lines were not grouped")
        self.assertEqual(run("cat", self.store, check_rc=0)[1].split(), [b"%04d" % i for i in range(n)])

    def test_a_line_alone_is_acknowledged_before_more_input(self):
        proc = subprocess.Popen([CLI, "append", self.store, "--ack"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        try:
            for line, want in [(b"first\n", [0]), (b"second\nthird\n", [1, 2])]:
                proc.stdin.write(line)
                got = b""
                while got.count(b"\n") < line.count(b"\n"):
                    ready, _, _ = select.select([proc.stdout.fileno()], [], [], HANG_TIMEOUT_S)
                    self.assertTrue(ready, f"no acknowledgement for {line!r} while stdin stays open")
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    self.assertNotEqual(chunk, b"", "append ended early")
                    got += chunk
                self.assertEqual([int(x) for x in got.split()], want)
            proc.stdin.close()
            self.assertEqual(proc.wait(timeout=HANG_TIMEOUT_S), 0)
            self.assertIn(f"appended 3 records to {self.store} (LSN 0..2)", proc.stderr.read().decode())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_summary_goes_to_scripts_too(self):
        _, _, err = run("append", self.store, stdin=b"a\nb\nc\n", check_rc=0)
        self.assertIn(f"appended 3 records to {self.store} (LSN 0..2)", err)
        _, _, err = run("append", self.store, "--durability", "none", stdin=b"", check_rc=0)
        self.assertIn(f"appended nothing to {self.store}", err)


class FollowTest(CliTestCase):
    def read_lines(self, proc, n):
        """Reads n lines from the follower's stdout, waiting on the pipe (bounded by a timeout).
        Reads the raw descriptor: select() cannot see what a buffered reader already holds."""
        fd = proc.stdout.fileno()
        while self.pending.count(b"\n") < n:
            ready, _, _ = select.select([fd], [], [], HANG_TIMEOUT_S)
            self.assertTrue(ready, f"no output from cat --follow; have {self.pending!r}")
            chunk = os.read(fd, 65536)
            self.assertNotEqual(chunk, b"", f"cat --follow ended early; have {self.pending!r}")
            self.pending += chunk
        lines = self.pending.split(b"\n")
        self.pending = b"\n".join(lines[n:])
        return lines[:n]

    def follow(self, *extra):
        self.pending = b""
        return subprocess.Popen([CLI, "cat", self.store, "--follow", *extra], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, bufsize=0)

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=HANG_TIMEOUT_S)
        proc.stdout.close()
        proc.stderr.close()
        return rc

    def test_follow_picks_up_records_appended_by_another_process(self):
        self.append_lines([b"before"])
        proc = self.follow()
        try:
            self.assertEqual(self.read_lines(proc, 1), [b"before"])
            # Another process appends while cat follows: cat holds no lock, so append can open.
            self.append_lines([b"one", b"two"])
            self.assertEqual(self.read_lines(proc, 2), [b"one", b"two"])
            # Across segment rolls too.
            more = [b"roll-%03d" % i for i in range(400)]
            self.append_lines(more, "--segment-bytes", SMALL_SEGMENT_BYTES, "--durability", "none", ack=False)
            self.assertEqual(self.read_lines(proc, len(more)), more)
        finally:
            rc = self.stop(proc)
        self.assertEqual(rc, 0)

    def test_follow_of_one_stream_from_an_lsn(self):
        self.append_lines([b"skip", b"keep-a"], "--stream", "5")
        proc = self.follow("--stream", "5", "--from", "1")
        try:
            self.assertEqual(self.read_lines(proc, 1), [b"keep-a"])
            self.append_lines([b"other"], "--stream", "6")
            self.append_lines([b"keep-b"], "--stream", "5")
            self.assertEqual(self.read_lines(proc, 1), [b"keep-b"])
        finally:
            self.assertEqual(self.stop(proc), 0)

    def test_follow_ends_with_count(self):
        self.append_lines([b"first"])
        proc = self.follow("--count", "2")
        self.assertEqual(self.read_lines(proc, 1), [b"first"])
        self.append_lines([b"second", b"third"])
        self.assertEqual(self.read_lines(proc, 1), [b"second"])
        self.assertEqual(proc.wait(timeout=HANG_TIMEOUT_S), 0)
        self.assertEqual(self.pending + proc.stdout.read(), b"")
        proc.stdout.close()
        proc.stderr.close()


class VerifyTest(CliTestCase):
    def make_store(self, n=600, sealed_min=2):
        """Records packed densely into 16 KiB segments: 600 of them fill a few segments."""
        self.append_lines([b"payload-%05d" % i for i in range(n)], "--segment-bytes", SMALL_SEGMENT_BYTES,
                          "--durability", "none", ack=False)
        stat = json.loads(run("stat", self.store, "--json", check_rc=0)[1])
        sealed = [s for s in stat["segments"] if s["state"] == "sealed"]
        self.assertGreaterEqual(len(sealed), sealed_min)
        return stat

    def verify(self, want_rc):
        rc, out, err = run("verify", self.store)
        self.assertEqual(rc, want_rc, f"stdout: {out.decode()}\nstderr: {err}")
        return out.decode()

    def test_clean_store_verifies(self):
        self.make_store()
        out = self.verify(0)
        self.assertIn("600 records read", out)
        self.assertIn("the log holds LSN 0..599", out)
        self.assertIn("ok: no problems found", out)

    def test_empty_store_verifies(self):
        run("append", self.store, stdin=b"", check_rc=0)
        self.assertIn("no records", self.verify(0))

    def test_flipped_payload_byte_in_sealed_segment_is_located(self):
        self.make_store()
        target = next(e for e in self.dump_entries(1) if e["lsn"] == 7 and e["type"] == "full")
        flip_byte(self.segment(1), target["offset"] + RECORD_HEADER_BYTES + 3)
        out = self.verify(1)
        self.assertIn(f"problem: {self.segment(1)} at offset {target['offset']} (LSN 7): record payload_checksum",
                      out)
        # dump shows the same record as bad, cat stops there with exit 1
        self.assertIn("BAD: payload_checksum", run("dump", self.store, "--segment", "1", check_rc=1)[1].decode())
        rc, out_cat, err = run("cat", self.store)
        self.assertEqual(rc, 1)
        self.assertEqual(out_cat.split(), [b"payload-%05d" % i for i in range(7)])
        self.assertIn(f"{self.segment(1)} at offset {target['offset']} (LSN 7): payload_checksum", err)

    def test_flipped_header_byte_is_located(self):
        self.make_store()
        target = next(e for e in self.dump_entries(2) if e["type"] == "full")
        flip_byte(self.segment(2), target["offset"] + 8)  # inside the lsn field
        out = self.verify(1)
        self.assertIn(f"problem: {self.segment(2)} at offset {target['offset']} (LSN {target['lsn']}): record "
                      f"header_checksum", out)

    def test_truncated_segment_is_located(self):
        self.make_store()
        shrink_file(self.segment(1), 8192)
        out = self.verify(1)
        self.assertIn(f"problem: {self.segment(1)} at offset 8192: segment_size file_truncated", out)
        # the records that were cut off also break the LSN sequence into segment 2
        self.assertIn(f"problem: {self.segment(2)} at offset 0", out)
        self.assertIn("lsn_gap", out)

    def test_corrupt_index_snapshot_checksum_is_located(self):
        self.make_store()
        idx = os.path.join(self.store, INDEX_FILE.format(1))
        flip_byte(idx, 90)  # in the body
        out = self.verify(1)
        self.assertIn(f"problem: {idx} at offset 80: index_snapshot body_checksum", out)

    def test_index_snapshot_disagreeing_with_its_segment_is_located(self):
        """An .idx whose checksums are right but whose entries are wrong: only a recomputation
        from the records finds it."""
        self.make_store()
        idx = os.path.join(self.store, INDEX_FILE.format(1))
        with open(idx, "r+b") as f:
            data = bytearray(f.read())
            entry_count = struct.unpack_from("<I", data, 12)[0]
            self.assertGreater(entry_count, 1)
            lsn_delta, offset = struct.unpack_from("<II", data, 80 + 8)  # entry 1
            struct.pack_into("<II", data, 80 + 8, lsn_delta, offset + 8)
            f.seek(0)
            f.write(data)
        fix_index_checksums(idx)
        out = self.verify(1)
        self.assertIn(f"problem: {idx} at offset 88: index_mismatch entries: sparse index entry 1", out)

    def test_corrupt_application_snapshot_is_located(self):
        self.make_store(10, sealed_min=0)
        os.makedirs(os.path.join(self.store, "snapshots"), exist_ok=True)
        snap = os.path.join(self.store, "snapshots", "{:020d}.snap".format(5))
        with open(snap, "wb") as f:
            f.write(b"SGSTSNAP" + bytes(56) + b"state")
        out = self.verify(1)
        self.assertIn(f"problem: {snap} at offset 0 (LSN 5): snapshot", out)


class RecoverTest(CliTestCase):
    def test_clean_store_recovers_with_nothing_cut(self):
        self.append_lines([b"a", b"b"])
        rc, out, err = run("recover", self.store)
        self.assertEqual(rc, 0, err)
        self.assertIn("recovery:", out.decode())
        self.assertNotIn("log cut", out.decode())
        self.assertEqual(run("cat", self.store, check_rc=0)[1], b"a\nb\n")

    def test_torn_tail_is_cut_and_quarantined(self):
        self.append_lines([b"keep-%d" % i for i in range(5)] + [b"torn"])
        last = self.dump_entries(1)
        torn = next(e for e in last if e["lsn"] == 5 and e["type"] == "full")
        flip_byte(self.segment(1), torn["offset"] + RECORD_HEADER_BYTES)  # its payload
        self.assertEqual(run("verify", self.store)[0], 1)
        rc, out, err = run("recover", self.store)
        text = out.decode()
        self.assertEqual(rc, 1, f"{text}\n{err}")
        self.assertIn(f"log cut in {SEGMENT_FILE.format(1)} at offset {torn['offset']} (first LSN cut 5)", text)
        self.assertIn("moved to", text)
        # LSN 5 had been acknowledged (the clean close's index snapshot covers it): the loss is
        # recorded, verify reports it and appends are refused until it is accepted
        self.assertIn("DATA LOSS: acknowledged records 5..5", text)
        rc, out, _ = run("verify", self.store)
        self.assertEqual(rc, 1)
        self.assertIn(b"data_loss", out)
        rc, _, err = run("append", self.store, stdin=b"late\n")
        self.assertEqual(rc, 2)
        self.assertIn("data_loss", err)
        run("recover", self.store, "--accept-loss")
        # afterwards the store is consistent and holds exactly the records before the damage
        self.assertEqual(run("verify", self.store)[0], 0)
        self.assertEqual(run("cat", self.store, check_rc=0)[1].split(), [b"keep-%d" % i for i in range(5)])
        stat = json.loads(run("stat", self.store, "--json", check_rc=0)[1])
        self.assertGreater(len(stat["quarantine"]), 0)

    def test_strict_refuses_to_cut(self):
        self.append_lines([b"a", b"b", b"c"])
        e = next(e for e in self.dump_entries(1) if e["lsn"] == 2 and e["type"] == "full")
        flip_byte(self.segment(1), e["offset"] + RECORD_HEADER_BYTES)
        rc, _, err = run("recover", self.store, "--strict")
        self.assertEqual(rc, 1)
        self.assertIn("recovery_required", err)

    def test_recover_does_not_create_a_store(self):
        os.makedirs(self.store)
        rc, _, err = run("recover", self.store)
        self.assertEqual(rc, 2)
        self.assertIn("not a segstore store", err)
        self.assertEqual(os.listdir(self.store), [])


class StatDumpTest(CliTestCase):
    def test_stat_json_parses_back(self):
        self.append_lines([b"x" * 100] * 300, "--stream", "1", "--segment-bytes", SMALL_SEGMENT_BYTES, ack=False)
        self.append_lines([b"y"] * 7, "--stream", "2")
        stat = json.loads(run("stat", self.store, "--json", check_rc=0)[1])
        self.assertEqual(stat["first_lsn"], 0)
        self.assertEqual(stat["next_lsn"], 307)
        self.assertEqual(stat["durable_lsn"], 307)
        self.assertEqual(stat["records_per_stream"], {"1": 300, "2": 7})
        self.assertTrue(stat["clean_shutdown"])
        self.assertFalse(stat["in_use"])
        used = [s for s in stat["segments"] if s["state"] in ("sealed", "active")]
        self.assertEqual([s["state"] for s in used][-1], "active")
        self.assertEqual(sum(s["records"] for s in used), 307)
        for a, b in zip(used, used[1:]):
            self.assertEqual(b["base_lsn"], a["base_lsn"] + a["records"])
        self.assertEqual(stat["disk"]["segment_file_bytes"], sum(s["file_bytes"] for s in stat["segments"]))
        self.assertIsNone(used[0]["problem"])
        text = run("stat", self.store, check_rc=0)[1].decode()
        self.assertIn("first 0, next 307, durable 307", text)
        self.assertIn("stream          2  7 records", text)

    def test_small_store_options_and_the_library_statistics(self):
        _, _, err = run("append", self.store, "--segment-bytes", 65536, "--no-spare-segment", "--prealloc",
                        "fallocate", "--inflight-groups", 2, "--stats", stdin=b"a\nb\nc\nd\ne\n", check_rc=0)
        # the JSON object, then the summary line
        session, _ = json.JSONDecoder().raw_decode(err[err.index("{"):])
        self.assertEqual(session["next_lsn"], 5)
        # the CLI queues each group's records without waiting (append_async), then waits once:
        # one call in 16 of those is timed, the first included
        self.assertEqual(session["append_latency_us"]["count"], 1)
        self.assertGreaterEqual(session["sync_latency_us"]["count"], 1)
        self.assertEqual(session["disk_bytes"], 65536)  # one segment, no spare
        segments = lambda: sorted(n for n in os.listdir(self.store) if n.endswith(".seg"))
        self.assertEqual(len(segments()), 1)
        stat = json.loads(run("stat", self.store, "--json", "--open", check_rc=0)[1])
        library = stat["library_stats"]
        self.assertEqual((library["next_lsn"], library["disk_bytes"]), (5, 65536))
        self.assertFalse(library["recovery"]["cut"])
        self.assertEqual(len(segments()), 1)  # looking added no file
        self.assertIn("opened      recovery", run("stat", self.store, "--open", check_rc=0)[1].decode())
        self.assertNotIn("library_stats", json.loads(run("stat", self.store, "--json", check_rc=0)[1]))
        run("append", self.store, "--inflight-groups", 0, check_rc=2)
        run("append", self.store, "--prealloc", "sometimes", check_rc=2)

    def test_stat_of_missing_and_foreign_directories(self):
        rc, _, err = run("stat", os.path.join(self.tmp, "nope"))
        self.assertEqual(rc, 2)
        self.assertIn("does not exist", err)
        rc, _, err = run("stat", self.tmp)
        self.assertEqual(rc, 2)
        self.assertIn("no META file", err)

    def test_dump_lists_every_record_header(self):
        self.append_lines([b"hello", b"log-structured"], "--stream", "3")
        entries = self.dump_entries(1)
        full = [e for e in entries if e["type"] == "full"]
        self.assertEqual([(e["lsn"], e["stream"], e["length"]) for e in full], [(0, 3, 5), (1, 3, 14)])
        self.assertEqual(full[0]["offset"], 4096)
        self.assertTrue(all(e["check"] == "ok" for e in entries))
        out = run("dump", self.store, "--segment", "1", "--from-offset", full[1]["offset"], check_rc=0)[1].decode()
        self.assertIn("clean_end (1 record, next LSN 2)", out)
        self.assertNotIn(" hello", out)
        rc, _, err = run("dump", self.store, "--segment", "99")
        self.assertEqual(rc, 2)
        self.assertIn("no segment 99", err)
        rc, _, err = run("dump", self.store, "--segment", "1", "--from-offset", "4097")
        self.assertEqual(rc, 2)
        self.assertIn("not a record position", err)


class UsageTest(CliTestCase):
    def expect_usage_error(self, args, message):
        rc, out, err = run(*args)
        self.assertEqual(rc, 2, f"segstore {args}: {err}")
        self.assertIn(message, err)
        self.assertEqual(out, b"")

    def test_missing_dir(self):
        for command in ("append", "cat", "verify", "recover", "stat", "dump"):
            self.expect_usage_error([command], "DIR is required")

    def test_bad_numbers(self):
        self.expect_usage_error(["cat", self.store, "--count", "abc"], "--count")
        self.expect_usage_error(["cat", self.store, "--from", "-1"], "--from")
        self.expect_usage_error(["cat", self.store, "--stream", "4294967296"], "--stream")
        self.expect_usage_error(["append", self.store, "--segment-bytes", "1e3x"], "--segment-bytes")
        self.expect_usage_error(["dump", self.store, "--segment", "one"], "--segment")

    def test_bad_values(self):
        self.expect_usage_error(["cat", self.store, "--format", "xml"], "--format")
        self.expect_usage_error(["append", self.store, "--durability", "sometimes"], "--durability")
        self.expect_usage_error(["append", self.store, "--segment-bytes", "1000"], "segment_bytes 1000")
        self.expect_usage_error(["dump", self.store, "--from-offset", "4096"], "--from-offset needs --segment")

    def test_unknown_flag_and_command(self):
        self.expect_usage_error(["cat", self.store, "--bogus"], "--bogus")
        self.expect_usage_error(["frobnicate"], "frobnicate")
        self.expect_usage_error([], "subcommand")

    def test_store_errors_name_the_path_and_cause(self):
        self.expect_usage_error(["cat", os.path.join(self.tmp, "missing")], "does not exist")
        self.expect_usage_error(["verify", self.tmp], "no META file")
        a_file = os.path.join(self.tmp, "file")
        open(a_file, "w").close()
        self.expect_usage_error(["append", a_file], f"{a_file} exists but is not a directory")

    def test_store_in_use_is_refused_by_writers_only(self):
        self.append_lines([b"a"])
        holder = subprocess.Popen([CLI, "append", self.store, "--ack"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            holder.stdin.write(b"held\n")
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline(), b"1\n")  # it has the store open now
            self.expect_usage_error(["append", self.store], "store_in_use")
            self.assertEqual(run("cat", self.store, check_rc=0)[1], b"a\nheld\n")  # readers need no lock
            stat = json.loads(run("stat", self.store, "--json", check_rc=0)[1])
            self.assertTrue(stat["in_use"])
            self.assertEqual(stat["lock_holder_pid"], holder.pid)
            self.assertIsNone(stat["durable_lsn"])
        finally:
            holder.stdin.close()
            self.assertEqual(holder.wait(timeout=HANG_TIMEOUT_S), 0)
            holder.stdout.close()
            holder.stderr.close()

    def test_every_command_has_help(self):
        for command in ("append", "cat", "verify", "recover", "stat", "dump"):
            rc, out, _ = run(command, "--help")
            self.assertEqual(rc, 0)
            self.assertIn(b"Usage: segstore " + command.encode(), out)
        rc, out, _ = run("--help")
        self.assertEqual(rc, 0)
        for command in ("append", "cat", "verify", "recover", "stat", "dump"):
            self.assertIn(command.encode(), out)
        # The benchmark is its own program (segstore-bench), not a command of the installed CLI.
        self.expect_usage_error(["bench"], "unknown command")

    def test_version_names_the_tool_library_and_format(self):
        rc, out, _ = run("--version")
        self.assertEqual(rc, 0)
        self.assertRegex(out.decode(), r"^segstore (\d+\.\d+\.\d+) \(libsegstore \1, on-disk format version 1\)\n$")

    def test_man_pages_come_from_the_help_text(self):
        for command in ("append", "cat", "verify", "recover", "stat", "dump"):
            rc, page, _ = run("--man", command)
            self.assertEqual(rc, 0)
            self.assertTrue(page.startswith(b".TH segstore-" + command.encode() + b" 1 "), page[:80])
            _, help_text, _ = run(command, "--help")
            # every long option of --help is described on the page (roff writes - as \-)
            for option in set(re.findall(rb"--[a-z][a-z-]+", help_text)) - {b"--help"}:
                self.assertIn(option.replace(b"-", b"\\-"), page, f"{command}: {option!r} missing from its man page")
        rc, page, _ = run("--man")
        self.assertEqual(rc, 0)
        self.assertIn(b"segstore\\-append", page)
        self.expect_usage_error(["--man", "frobnicate"], "unknown command")


if __name__ == "__main__":
    unittest.main(verbosity=2)
