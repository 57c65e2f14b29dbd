"""tests/python/test_segstore.py — the Python module `segstore` (python/segstore_module.cc).

Run by `meson test --suite python` (PYTHONPATH holds the built module); each test has a fresh
store in pytest's tmp_path.
"""
import os
import threading

import pytest
import segstore

SMALL = dict(segment_bytes=64 * 1024, preallocate_next_segment=False, prealloc=segstore.Prealloc.FALLOCATE)


def open_small(path, **options):
    return segstore.open(str(path), **{**SMALL, **options})


def test_round_trip_batch_and_scans(tmp_path):
    with open_small(tmp_path / "s") as s:
        assert s.append(b"first") == 0
        assert s.append(bytearray(b"second"), stream=2) == 1
        assert s.append("third, as UTF-8", stream=2) == 2
        assert s.append_batch([b"b0", (3, b"b1"), (2, memoryview(b"b2"))]) == 3
        assert s.next_lsn == 6 and s.durable_lsn == 6 and s.first_lsn == 0
        r = s.read(4)
        assert (r.lsn, r.stream, r.payload) == (4, 3, b"b1")
        assert [r.payload for r in s.scan()] == [b"first", b"second", b"third, as UTF-8", b"b0", b"b1", b"b2"]
        assert [r.lsn for r in s.scan(from_lsn=2, stream=2)] == [2, 5]
        assert s.dir == str(tmp_path / "s")
    with open_small(tmp_path / "s") as s:  # reopened: everything is still there
        assert s.next_lsn == 6 and s.read(5).payload == b"b2"


def test_errors_carry_their_code(tmp_path):
    with open_small(tmp_path / "s") as s:
        with pytest.raises(segstore.Error) as e:
            s.read(7)
        assert e.value.code == segstore.Errc.lsn_out_of_range and e.value.name == "lsn_out_of_range"
        assert "LSN 7" in str(e.value)
        with pytest.raises(segstore.Error) as e:
            s.append(b"x" * (64 * 1024))
        assert e.value.code == segstore.Errc.record_too_large
        with pytest.raises(segstore.Error) as e:
            segstore.open(str(tmp_path / "s"))  # already open
        assert e.value.code == segstore.Errc.store_in_use
    with pytest.raises(segstore.Error) as e:
        segstore.open(str(tmp_path / "t"), segment_bytes=12345)
    assert e.value.code == segstore.Errc.invalid_argument and "segment_bytes" in str(e.value)
    with pytest.raises(TypeError):
        segstore.open(str(tmp_path / "u"), no_such_option=1)
    s = open_small(tmp_path / "v")
    s.close()
    with pytest.raises(segstore.Error) as e:
        s.append(b"late")
    assert e.value.code == segstore.Errc.store_closed


def test_async_appends_and_durability(tmp_path):
    with open_small(tmp_path / "s", durability=segstore.Durability.NONE) as s:
        lsn = s.append_async(b"queued", stream=1)
        assert lsn == 0
        assert s.wait_until_durable(lsn, timeout=0) is False  # a none-mode store syncs on request only
        s.wait_durable(lsn)
        assert s.durable_lsn == 1 and s.wait_until_durable(lsn, timeout=0) is True
        s.append(b"lazy")
        assert s.durable_lsn == 1
        s.append(b"now", durability=segstore.Durability.SYNC)
        assert s.durable_lsn == 3
        s.append(b"lazy again")
        assert [r.lsn for r in s.scan(durable_only=True)] == [0, 1, 2]
        s.sync()
        assert s.durable_lsn == 4


def test_tail_waits_with_the_gil_released(tmp_path):
    """A writer thread appends only after it saw the reader's first record: a reader that held
    the GIL while waiting would starve it and time out."""
    count = 200
    with open_small(tmp_path / "s", durability=segstore.Durability.NONE) as s:
        def writer():
            assert s.wait_for_lsn(0, timeout=30)
            for i in range(1, count):
                s.append(b"%d" % i)
        thread = threading.Thread(target=writer)
        thread.start()
        s.append(b"0")
        got = []
        for r in s.tail(timeout=30):  # would end after 30 s without a record
            got.append(int(r.payload))
            if len(got) == count:
                break
        thread.join()
    assert got == list(range(count))


def test_tail_timeout_ends_iteration_and_next_returns_none(tmp_path):
    with open_small(tmp_path / "s") as s:
        s.append(b"only")
        assert [r.payload for r in s.tail(timeout=0.01)] == [b"only"]
        it = s.scan()
        assert it.next().payload == b"only"
        assert it.next() is None  # at the end, no wait
        assert it.next(timeout=0.01) is None
        assert s.wait_for_lsn(1, timeout=0.01) is False


def test_cancel_ends_a_wait_from_another_thread(tmp_path):
    with open_small(tmp_path / "s") as s:
        it = s.tail()
        outcome = []

        def reader():
            try:
                it.next(timeout=None)
                outcome.append("record")
            except segstore.Error as e:
                outcome.append(e.code)
        thread = threading.Thread(target=reader)
        thread.start()
        it.cancel()  # before or during the wait: either way it ends it
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert outcome == [segstore.Errc.cancelled]


def test_stats(tmp_path):
    with open_small(tmp_path / "s") as s:
        for i in range(20):
            s.append(b"payload %d" % i, stream=i % 2)
        st = s.stats()
    assert st["next_lsn"] == 20 and st["appends"] == 20
    assert st["records_per_stream"] == {0: 10, 1: 10}
    assert st["disk_bytes"] == st["segment_count"] * 64 * 1024
    latency = st["append_latency_us"]
    assert latency["count"] == 20 and 0 < latency["p50"] <= latency["p99"] <= latency["p999"] <= latency["max"]
    assert 1 <= st["sync_latency_us"]["count"] <= st["syncs"]
    assert st["group_records"]["count"] >= 1 and st["group_bytes"]["max"] % 4096 == 0
    assert set(st["recovery"]) == {"ran", "duration_us", "segments_scanned", "records_scanned", "bytes_scanned",
                                   "cut", "bytes_quarantined"}
    assert st["io_backend"]


def test_snapshots_and_the_due_callback(tmp_path):
    due = []
    with open_small(tmp_path / "s", snapshot_every_records=5, on_snapshot_due=due.append) as s:
        assert s.latest_snapshot() is None
        for i in range(11):
            s.append(b"e")
        assert due == [4, 9]
        s.write_snapshot(9, b"state@9")
        assert s.latest_snapshot() == (9, b"state@9")
        with pytest.raises(segstore.Error) as e:
            s.write_snapshot(11, b"future")
        assert e.value.code == segstore.Errc.lsn_out_of_range


def test_logger_hears_recovery_cut_a_torn_tail(tmp_path):
    path = tmp_path / "s"
    with open_small(path) as s:
        for _ in range(3):
            s.append(b"kept")
        end = s.stats()["log_bytes"]
    with open(path / "00000000000000000001.seg", "r+b") as f:  # bytes that are no record past the end
        f.seek(end)
        f.write(b"not a record header, not padding, not zeros" * 4)
    os.remove(path / "CLEAN")  # as after a crash
    heard = []
    with open_small(path, logger=lambda level, message: heard.append((level, message))) as s:
        assert s.next_lsn == 3 and s.read(2).payload == b"kept"
        assert s.stats()["recovery"]["ran"]
        assert "cut" in s.recovery_report()
    assert len(heard) == 1
    level, message = heard[0]
    assert level == segstore.LogLevel.WARNING and str(path) in message


def test_truncate_trim_reset(tmp_path):
    with open_small(tmp_path / "s", durability=segstore.Durability.NONE) as s:
        for i in range(10):
            s.append(b"%d" % i)
        s.truncate_after(6)
        assert s.next_lsn == 7
        s.trim_before(3)
        assert s.first_lsn == 3
        s.reset_to(100)
        assert s.first_lsn == s.next_lsn == 100 and s.append(b"x") == 100


def test_no_spare_segment_keeps_one_file(tmp_path):
    with open_small(tmp_path / "s") as s:
        for i in range(5):
            s.append(b"line %d" % i)
    assert sorted(p.name for p in (tmp_path / "s").glob("*.seg")) == ["00000000000000000001.seg"]


def test_recycled_segments_reuse_trimmed_files(tmp_path):
    payload = bytes(range(256)) + bytes(44)  # 300 bytes: about 180 records per 64 KiB segment
    with open_small(tmp_path / "s", recycled_segments_max=2) as s:
        for _ in range(2000):
            s.append(payload)
        s.trim_before(1500)
        assert 1 <= s.stats()["free_files"] <= 2
        for _ in range(1000):
            s.append(payload)
        assert s.stats()["segments_recycled"] >= 1
        assert all(r.payload == payload for r in s.scan(from_lsn=s.first_lsn))
        assert s.next_lsn == 3000
    with open_small(tmp_path / "s", recycled_segments_max=2) as s:  # reopened: every record reads back
        assert s.next_lsn == 3000 and s.read(2999).payload == payload
