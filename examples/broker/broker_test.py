#!/usr/bin/env python3
"""examples/broker/broker_test.py — the broker over 127.0.0.1.

Usage: broker_test.py <broker> <plain_broker> <broker_load>

Publishers and a tailing subscriber; a subscriber that reconnects resumes after its commit;
kill -9 and restart lose no acknowledged message and no committed offset; SIGTERM; malformed
commands; heartbeats drop a silent subscriber and keep a live one; the load generator against both
brokers. Every wait is on a socket, a pipe or an event, bounded by a timeout; nothing sleeps.
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

BROKER = PLAIN = LOAD = None
IO_TIMEOUT_S = 60  # a bound on every wait: reaching it fails the test


class Server:
    """A broker (or plain_broker) process on an ephemeral port of 127.0.0.1; every one started
    is killed at the end of the test if it still runs."""
    started = []

    def __init__(self, binary, directory, *args):
        self.proc = subprocess.Popen([binary, '--dir', directory, '--port', '0', '--bind', '127.0.0.1', *args],
                                     stdout=subprocess.PIPE, text=True)
        self.banner = self.proc.stdout.readline()  # printed once it listens
        match = re.search(r'listening on 127\.0\.0\.1:(\d+)', self.banner)
        if not match:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f'{binary} did not start: {self.banner!r}')
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
        self.msgs = []

    def send(self, *lines):
        self.sock.sendall(b''.join(line.encode() + b'\n' for line in lines))

    def readline(self):
        line = self.reader.readline()
        if not line:
            raise EOFError('the broker closed the connection')
        return line.decode().rstrip('\n')

    def ask(self, line):
        """Sends a command and returns its answer; MSG lines that arrive first are kept for
        read_msg (a subscribed connection gets both)."""
        self.send(line)
        while True:
            reply = self.readline()
            if not reply.startswith('MSG '):
                return reply
            self.msgs.append(reply)

    def read_msg(self):
        """The next MSG line as (topic, offset, payload); other lines fail the test."""
        line = self.msgs.pop(0) if self.msgs else self.readline()
        verb, topic, offset, payload = (line.split(' ', 3) + [''])[:4]
        if verb != 'MSG':
            raise AssertionError(f'expected MSG, got {line!r}')
        return topic, int(offset), payload

    def close(self):
        self.reader.close()
        self.sock.close()

    __del__ = close  # one-shot clients (Client(port).ask(...)) close when collected


class BrokerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='broker-test-')
        self.store = os.path.join(self.dir, 'store')
        self.args = ['--segment-bytes', str(1 << 20)]

    def tearDown(self):
        for server in Server.started:
            if server.proc.poll() is None:
                server.kill9()
            server.proc.stdout.close()
        Server.started.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def publish_concurrently(self, port, topic, publishers, count, window, on_ack, stop=None):
        """Threads publishing `count` messages each, `window` pipelined; on_ack(offset, payload)."""
        errors = []

        def publisher(pid):
            c = Client(port)
            try:
                for first in range(0, count, window):
                    if stop is not None and stop.is_set():
                        break
                    payloads = [f'p{pid}-m{first + i}-' + 'x' * random.randint(0, 100) for i in range(window)]
                    c.send(*[f'PUB {topic} {p}' for p in payloads])
                    for p in payloads:
                        reply = c.readline()
                        if not reply.startswith('OK '):
                            errors.append(f'{reply!r} for {p}')
                            return
                        on_ack(int(reply[3:]), p)
            except (OSError, EOFError):
                pass  # the broker went away: the acks so far are what counts
            finally:
                c.close()

        threads = [threading.Thread(target=publisher, args=(i,)) for i in range(publishers)]
        for t in threads:
            t.start()
        return threads, errors

    def test_publishers_and_a_tailing_subscriber(self):
        server = Server(BROKER, self.store, *self.args)
        sub = Client(server.port)
        self.assertEqual(sub.ask('SUB news'), 'SUBSCRIBED news 0')  # before any message
        acked, lock = {}, threading.Lock()

        def on_ack(offset, payload):
            with lock:
                acked[offset] = payload

        threads, errors = self.publish_concurrently(server.port, 'news', 4, 50, 5, on_ack)
        other = Client(server.port)
        self.assertTrue(other.ask('PUB sport goal').startswith('OK '))  # another topic: not delivered
        received = []
        while len(received) < 200:
            received.append(sub.read_msg())
        for t in threads:
            t.join(IO_TIMEOUT_S)
        self.assertEqual(errors, [])
        self.assertEqual([r[1] for r in received], sorted(acked))  # every message, in offset order
        self.assertEqual({r[1]: r[2] for r in received}, acked)
        self.assertEqual({r[0] for r in received}, {'news'})
        self.assertEqual(sub.ask('PING'), 'PONG')  # nothing else was queued for the subscriber
        code, out = server.terminate()
        self.assertEqual(code, 0, out)

    def test_a_subscriber_that_reconnects_resumes_after_its_commit(self):
        server = Server(BROKER, self.store, *self.args)
        pub = Client(server.port)
        offsets = [int(pub.ask(f'PUB jobs job{i}')[3:]) for i in range(30)]
        a = Client(server.port)
        self.assertEqual(a.ask('OFFSET workers jobs'), 'OFFSET workers jobs -1')
        self.assertEqual(a.ask('SUB jobs'), 'SUBSCRIBED jobs 0')  # where the scan starts: the oldest LSN
        got = [a.read_msg() for _ in range(12)]
        self.assertEqual([g[2] for g in got], [f'job{i}' for i in range(12)])
        self.assertEqual(a.ask(f'COMMIT workers jobs {got[-1][1]}'), 'OK')
        a.close()
        b = Client(server.port)
        reply = b.ask('OFFSET workers jobs')
        committed = int(reply.split()[-1])
        self.assertEqual(committed, offsets[11])
        self.assertEqual(b.ask(f'SUB jobs {committed + 1}'), f'SUBSCRIBED jobs {committed + 1}')
        self.assertEqual(b.read_msg()[1:], (offsets[12], 'job12'))
        server.terminate()

    def test_kill9_and_restart_lose_no_acknowledged_message_and_no_committed_offset(self):
        server = Server(BROKER, self.store, '--offsets-snapshot-every', '20', *self.args)
        acked, lock, enough = {}, threading.Condition(), threading.Event()
        threshold = random.randint(50, 600)
        commits = {'acked': None, 'in_flight': None}
        publishers_done = threading.Event()

        def on_ack(offset, payload):
            with lock:
                acked[offset] = payload
                lock.notify_all()
                if len(acked) >= threshold:
                    enough.set()

        def committer():
            # Every 40 acks, commits the newest acknowledged offset. (Not after every ack: a
            # commit makes everything before it durable, which would hide lost messages.)
            c = Client(server.port)
            try:
                while not publishers_done.is_set():
                    with lock:
                        if not lock.wait_for(lambda: len(acked) >= 40 * (1 + len(done)) or publishers_done.is_set(),
                                             IO_TIMEOUT_S):
                            return
                        newest = max(acked)
                    commits['in_flight'] = newest
                    if c.ask(f'COMMIT g orders {newest}') != 'OK':
                        return
                    commits['acked'] = newest
                    done.append(newest)
            except (OSError, EOFError):
                pass
            finally:
                c.close()

        done = []
        self.assertTrue(Client(server.port).ask('SUB orders').startswith('SUBSCRIBED'))  # creates the topic
        threads, errors = self.publish_concurrently(server.port, 'orders', 6, 200, 4, on_ack)
        commit_thread = threading.Thread(target=committer)
        commit_thread.start()
        self.assertTrue(enough.wait(IO_TIMEOUT_S), f'only {len(acked)} acks')
        server.kill9()
        for t in threads:
            t.join(IO_TIMEOUT_S)
        with lock:
            publishers_done.set()  # the publishers are done: the committer stops waiting for acks
            lock.notify_all()
        for t in [commit_thread]:
            t.join(IO_TIMEOUT_S)
        self.assertEqual(errors, [])

        server = Server(BROKER, self.store, '--offsets-snapshot-every', '20', *self.args)
        c = Client(server.port)
        offset = int(c.ask('OFFSET g orders').split()[-1])
        if commits['acked'] is not None:
            self.assertIn(offset, {commits['acked'], commits['in_flight']}, 'the committed offset was lost')
        marker = int(Client(server.port).ask('PUB orders end-marker')[3:])  # the end of what to read
        self.assertEqual(c.ask('SUB orders 0').split()[0], 'SUBSCRIBED')
        present = {}
        while marker not in present:
            _, o, p = c.read_msg()
            present[o] = p
        lost = [o for o in acked if present.get(o) != acked[o]]
        self.assertEqual(lost, [], f'{len(lost)} of {len(acked)} acknowledged messages lost')
        c.close()
        code, out = server.terminate()  # and a clean restart keeps the offset too
        self.assertEqual(code, 0, out)
        server = Server(BROKER, self.store, *self.args)
        self.assertEqual(Client(server.port).ask('OFFSET g orders'), f'OFFSET g orders {offset}')

    def test_malformed_commands_get_an_error_and_keep_the_connection(self):
        server = Server(BROKER, self.store, '--line-bytes-max', '1000', *self.args)
        c = Client(server.port)
        self.assertTrue(c.ask('PUB t hello').startswith('OK '))
        for bad in ['', 'HELLO', 'PUB', 'PUB bad/topic x', 'SUB', 'SUB t abc', 'SUB t -5', 'SUB t 999999999',
                    'COMMIT', 'COMMIT g t', 'COMMIT g t x', 'COMMIT g nosuchtopic 0', 'COMMIT g t 999999999',
                    'COMMIT bad/group t 0', 'OFFSET', 'OFFSET g', 'OFFSET g bad/topic', 'PUB t ' + 'z' * 2000]:
            reply = c.ask(bad)
            self.assertTrue(reply.startswith('ERR '), f'{bad[:40]!r} -> {reply!r}')
        self.assertEqual(c.ask('PING'), 'PONG')
        self.assertEqual(c.ask('SUB t 0'), 'SUBSCRIBED t 0')
        self.assertEqual(c.read_msg(), ('t', 1, 'hello'))  # LSN 0 created the topic
        self.assertTrue(c.ask('SUB t').startswith('ERR already subscribed'))
        self.assertEqual(c.ask('QUIT'), 'BYE')
        self.assertEqual(c.reader.readline(), b'')
        server.terminate()

    def test_heartbeats_drop_a_silent_subscriber_and_keep_a_live_one(self):
        server = Server(BROKER, self.store, '--heartbeat-ms', '300', *self.args)
        silent, live = Client(server.port), Client(server.port)
        self.assertTrue(silent.ask('SUB t').startswith('SUBSCRIBED'))
        self.assertTrue(live.ask('SUB t').startswith('SUBSCRIBED'))
        # The live one pings while waiting (up to 50 ms a time) for the silent one to be dropped.
        silent.sock.settimeout(0.05)
        dropped = False
        for _ in range(1200):  # at most 60 s
            try:
                dropped = silent.sock.recv(1) == b''
            except (TimeoutError, socket.timeout):
                pass
            except ConnectionResetError:
                dropped = True
            if dropped:
                break
            self.assertEqual(live.ask('PING'), 'PONG')
        self.assertTrue(dropped, 'the silent subscriber was not dropped')
        pub = Client(server.port)
        offset = int(pub.ask('PUB t still-here')[3:])
        self.assertEqual(live.read_msg(), ('t', offset, 'still-here'))
        server.terminate()

    def test_load_generator_against_both_brokers(self):
        for binary in (BROKER, PLAIN):
            server = Server(binary, os.path.join(self.dir, os.path.basename(binary)), *(
                self.args if binary == BROKER else []))
            run = subprocess.run([LOAD, '--port', str(server.port), '--publishers', '4', '--messages', '25',
                                  '--seconds', '30', '--bytes', '1024'],
                                 capture_output=True, text=True, timeout=IO_TIMEOUT_S)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertRegex(run.stdout, r'messages=100 .*msgs_per_s=\d+ .*p99_us=\d+ .*errors=0')
            code, out = server.terminate()
            self.assertEqual(code, 0, out)
        refused = subprocess.run([LOAD, '--host', '10.1.2.3', '--port', '1'], capture_output=True, text=True,
                                 timeout=IO_TIMEOUT_S)
        self.assertEqual(refused.returncode, 2)
        self.assertIn('only runs against 127.0.0.0/8', refused.stderr)


if __name__ == '__main__':
    if len(sys.argv) < 4:
        sys.exit('usage: broker_test.py <broker> <plain_broker> <broker_load>')
    BROKER, PLAIN, LOAD = (os.path.abspath(p) for p in sys.argv[1:4])
    unittest.main(argv=[sys.argv[0], '-v'] + sys.argv[4:])
