#!/usr/bin/env python3
"""examples/log_server/log_server_test.py — the log server over 127.0.0.1.

Usage: log_server_test.py <path to log_server>

Concurrent clients, then kill -9 and a restart: every acknowledged line is there (sync and
interval modes); SIGTERM shuts down cleanly with every acknowledged line durable; queries;
malformed commands; retention by size. Every wait is on a socket, a pipe or an event, bounded by
a timeout; nothing sleeps.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

SERVER = None
IO_TIMEOUT_S = 60  # a bound on every wait: reaching it fails the test


class Server:
    """A log_server process on an ephemeral port of 127.0.0.1. Every one started is killed at
    the end of the test if it is still running (a failed test must not leave servers behind)."""
    started = []

    def __init__(self, directory, *args):
        self.proc = subprocess.Popen([SERVER, '--dir', directory, '--port', '0', '--bind', '127.0.0.1', *args],
                                     stdout=subprocess.PIPE, text=True)
        # The server prints its banner once it listens (or exits with the cause on stderr).
        self.banner = self.proc.stdout.readline()
        match = re.search(r'listening on 127\.0\.0\.1:(\d+)', self.banner)
        if not match:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f'log_server did not start: {self.banner!r}')
        self.port = int(match.group(1))
        Server.started.append(self)

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=IO_TIMEOUT_S)

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=IO_TIMEOUT_S)
        return self.proc.returncode, out


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=IO_TIMEOUT_S)
        self.reader = self.sock.makefile('rb')

    def send(self, lines):
        self.sock.sendall(b''.join(line.encode() + b'\n' for line in lines))

    def readline(self):
        line = self.reader.readline()
        if not line:
            raise EOFError('the server closed the connection')
        return line.decode().rstrip('\n')

    def ask(self, line):
        self.send([line])
        return self.readline()

    def query(self, line):
        """Sends a TAIL/GREP; returns ({lsn: text}, the END line)."""
        self.send([line])
        rows = {}
        while True:
            reply = self.readline()
            if reply.startswith('END') or reply.startswith('ERR'):
                return rows, reply
            lsn, _, text = reply.partition(' ')
            rows[int(lsn)] = text

    def close(self):
        self.reader.close()
        self.sock.close()

    __del__ = close  # one-shot clients close when collected


def run_clients(port, clients, windows, window, on_ack, stop=None):
    """Each client sends `windows` windows of `window` pipelined LOG lines and reads the acks;
    on_ack(lsn, text) for each. A client ends early when the connection ends or `stop` is set.
    Returns the threads and a list that collects unexpected errors."""
    errors = []

    def client(cid):
        rng = random.Random(cid)
        try:
            c = Client(port)
        except OSError as e:
            errors.append(f'client {cid}: connect: {e}')
            return
        try:
            for w in range(windows):
                if stop is not None and stop.is_set():
                    break
                texts = [f'client{cid} line{w * window + i} ' + 'x' * rng.randint(0, 200) for i in range(window)]
                c.send(['LOG ' + t for t in texts])
                for t in texts:
                    reply = c.readline()
                    if not reply.startswith('OK '):
                        errors.append(f'client {cid}: {reply!r} for {t!r}')
                        return
                    on_ack(int(reply[3:]), t)
        except (OSError, EOFError):
            pass  # the server went away (killed or stopping): acks so far are what counts
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(cid,)) for cid in range(clients)]
    for t in threads:
        t.start()
    return threads, errors


class LogServerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='log-server-test-')
        self.store = os.path.join(self.dir, 'store')

    def tearDown(self):
        for server in Server.started:
            if server.proc.poll() is None:
                server.kill9()
            else:
                server.proc.stdout.close()
        Server.started.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def all_lines(self, port):
        c = Client(port)
        rows, end = c.query('GREP 0')
        c.close()
        self.assertTrue(end.startswith('END') and 'truncated' not in end, end)
        return rows

    def kill9_during_concurrent_clients(self, durability):
        args = ['--durability', durability, '--segment-bytes', str(1 << 20), '--query-lines-max', '1000000']
        server = Server(self.store, *args)
        acked = {}
        lock = threading.Lock()
        enough = threading.Event()
        threshold = random.randint(100, 1500)
        twice = []

        def on_ack(lsn, text):
            with lock:
                if lsn in acked:
                    twice.append(lsn)
                acked[lsn] = text
                if len(acked) >= threshold:
                    enough.set()

        threads, errors = run_clients(server.port, clients=8, windows=60, window=10, on_ack=on_ack)
        self.assertTrue(enough.wait(IO_TIMEOUT_S), f'only {len(acked)} acks of {threshold}')
        server.kill9()
        for t in threads:
            t.join(IO_TIMEOUT_S)
        self.assertEqual(errors, [])
        self.assertEqual(twice, [], 'LSNs acknowledged twice')
        with lock:
            acked_at_kill = dict(acked)

        server = Server(self.store, *args)
        self.assertIn('recovery ran', server.banner)  # no clean-shutdown marker after kill -9
        present = self.all_lines(server.port)
        missing = [lsn for lsn in acked_at_kill if present.get(lsn) != acked_at_kill[lsn]]
        self.assertEqual(missing, [], f'{len(missing)} of {len(acked_at_kill)} acknowledged lines lost or changed')
        server.terminate()

    def test_kill9_sync_mode_loses_no_acknowledged_line(self):
        self.kill9_during_concurrent_clients('sync')

    def test_kill9_interval_mode_loses_no_acknowledged_line(self):
        self.kill9_during_concurrent_clients('interval')

    def test_sigterm_makes_everything_acknowledged_durable_and_closes_cleanly(self):
        args = ['--durability', 'interval', '--segment-bytes', str(1 << 20), '--query-lines-max', '1000000']
        server = Server(self.store, *args)
        acked = {}
        lock = threading.Lock()
        some = threading.Event()

        def on_ack(lsn, text):
            with lock:
                acked[lsn] = text
                if len(acked) >= 200:
                    some.set()

        threads, errors = run_clients(server.port, clients=4, windows=500, window=10, on_ack=on_ack)
        self.assertTrue(some.wait(IO_TIMEOUT_S))
        code, out = server.terminate()  # while the clients are still sending
        for t in threads:
            t.join(IO_TIMEOUT_S)
        self.assertEqual(errors, [])
        self.assertEqual(code, 0, out)
        self.assertIn('stopped cleanly', out)

        server = Server(self.store, *args)
        self.assertIn('recovery skipped (clean shutdown)', server.banner)
        present = self.all_lines(server.port)
        self.assertEqual({lsn: present.get(lsn) for lsn in acked}, acked)
        server.terminate()

    def test_queries_and_malformed_commands(self):
        server = Server(self.store, '--query-lines-max', '3', '--line-bytes-max', '1000')
        c = Client(server.port)
        for i in range(6):
            self.assertEqual(c.ask(f'LOG request {i} status={"500" if i % 2 else "200"}'), f'OK {i}')
        rows, end = c.query('TAIL 2')
        self.assertEqual(rows, {4: 'request 4 status=200', 5: 'request 5 status=500'})
        self.assertEqual(end, 'END 2')
        rows, end = c.query('GREP 2 status=500')
        self.assertEqual(sorted(rows), [3, 5])
        self.assertEqual(end, 'END 2')
        rows, end = c.query('GREP 0')  # more than query-lines-max: the answer says where to go on
        self.assertEqual(sorted(rows), [0, 1, 2])
        self.assertEqual(end, 'END 3 truncated next=3')
        rows, end = c.query('TAIL 100')
        self.assertEqual(sorted(rows), [3, 4, 5])
        for bad in ['FOO', 'TAIL', 'TAIL x', 'GREP', 'GREP -1 a', '', 'LOG ' + 'y' * 2000]:
            self.assertTrue(c.ask(bad).startswith('ERR'), bad)
        self.assertEqual(c.ask('PING'), 'PONG')  # the connection survived all of them
        self.assertEqual(c.ask('LOG after errors'), 'OK 6')
        self.assertRegex(c.ask('STATS'), r'^STATS first=0 next=7 durable=7 ')
        c.close()
        code, out = server.terminate()
        self.assertEqual(code, 0, out)

    def test_retention_keeps_the_log_near_the_size_limit(self):
        segment = 64 * 1024
        server = Server(self.store, '--durability', 'interval', '--segment-bytes', str(segment),
                        '--retain-bytes', str(4 * segment), '--line-bytes-max', '4096')
        c = Client(server.port)
        payload = 'z' * 1000
        for w in range(100):  # 100 windows of 20 lines of 1 KB: about 2 MB, 30 segments
            c.send([f'LOG {w} {payload}'] * 20)
            for _ in range(20):
                self.assertTrue(c.readline().startswith('OK '))
        stats = dict(kv.split('=') for kv in c.ask('STATS').split()[1:])
        self.assertGreater(int(stats['first']), 0, stats)
        self.assertLessEqual(int(stats['segments']), 4 + 2, stats)  # limit, active, one being sealed
        rows, end = c.query('GREP 0')
        self.assertEqual(min(rows), int(stats['first']))
        rows, end = c.query('TAIL 1')
        self.assertEqual(list(rows), [1999])
        c.close()
        server.terminate()


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit('usage: log_server_test.py <log_server binary>')
    SERVER = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0], '-v'] + sys.argv[2:])
