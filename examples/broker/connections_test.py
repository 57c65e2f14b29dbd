#!/usr/bin/env python3
"""examples/broker/connections_test.py — the broker under many concurrent connections on 127.0.0.1.

Usage: connections_test.py <broker> [--connections N] [--messages M]

N connections at once (200 in the suite; README.md has the 1,000-connection run): a fifth are
publishers, the rest subscribers spread over a few topics, every one of them connected before
the first message goes out. Some publishers disconnect abruptly in the middle of a message (half
a line, then a reset), some right after a whole line without waiting for its answer; some
subscribers reset their connection after a few messages, a few of them in the middle of a line
of their own. Checked: every message a publisher saw acknowledged ("OK <offset>") reaches every
subscriber that stayed, once, in offset order, with its payload; no half-sent message is ever
delivered; the server's descriptor count returns to what it was before the connections (counted
after a warm-up connection, so what the store opens once on first use is not taken for a leak); SIGTERM
then stops it cleanly. The last line is "connections: PASSED ..." or "connections: FAILED ...".

Every wait is on a socket or the process, bounded by a timeout; nothing sleeps, except the
bounded polling of the server's descriptor count (an external process).
"""
import argparse
import asyncio
import os
import random
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

IO_TIMEOUT_S = 120  # a bound on every wait: reaching it fails the test
TOPICS = 4
FD_SETTLE_TIMEOUT_S = 30
PUBLISH_WINDOW = 5  # PUB lines a publisher sends before reading their answers
SKIP = 77  # meson's exit status for a skipped test


def raise_descriptor_limit(connections):
    """This process holds every client socket and the broker (its child) every server one: raise
    the soft limit within the hard limit, or give up when the hard limit is too low."""
    needed = connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            print(f'connections: SKIPPED: {connections} connections need {needed} descriptors, '
                  f'the hard limit is {hard} (ulimit -Hn)')
            sys.exit(SKIP)
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def descriptor_targets(pid):
    """What each of the server's descriptors refers to (sockets, pipes, files)."""
    targets = []
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            targets.append(os.readlink(f'/proc/{pid}/fd/{fd}'))
        except OSError:
            pass  # closed while listed
    return sorted(targets)


def server_descriptors(pid, store_dir):
    """(all descriptors, those not on the store's files). The store opens its next segment
    ahead of need, so its own count may grow by one while connections come and go: the leak
    check is on the others (sockets, pipes, the listener)."""
    targets = descriptor_targets(pid)
    return len(targets), sum(1 for t in targets if not t.startswith(store_dir + '/'))


def server_threads(pid):
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            if line.startswith('Threads:'):
                return int(line.split()[1])
    return -1


def reset_on_close(writer):
    """SO_LINGER 0: close() sends a reset at once, as a crashed or killed client would."""
    sock = writer.get_extra_info('socket')
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))


async def bounded(awaitable):
    return await asyncio.wait_for(awaitable, IO_TIMEOUT_S)


async def connect(port):
    return await bounded(asyncio.open_connection('127.0.0.1', port, limit=1 << 20))


async def ask(reader, writer, line):
    writer.write(line.encode() + b'\n')
    await bounded(writer.drain())
    answer = await bounded(reader.readline())
    if not answer:
        raise AssertionError(f'{line!r}: the broker closed the connection')
    return answer.decode().rstrip('\n')


class Run:
    def __init__(self, port, store_dir, connections, messages):
        self.port = port
        self.store_dir = store_dir
        self.publishers = max(4, connections // 5)
        self.subscribers = connections - self.publishers
        self.messages = messages
        self.topics = [f'conn-topic-{k}' for k in range(TOPICS)]
        self.acked = {topic: {} for topic in self.topics}  # topic -> offset -> payload
        self.end_offset = {}  # topic -> offset of its end marker
        self.all_connected = asyncio.Event()
        self.publish = asyncio.Event()
        self.connected = 0
        self.failures = []
        self.delivered_checked = 0
        self.unacked_delivered = 0
        self.aborted_publishers = 0
        self.aborted_subscribers = 0

    def arrived(self):
        self.connected += 1
        if self.connected == self.publishers + self.subscribers:
            self.all_connected.set()

    async def publisher(self, index):
        topic = self.topics[index % TOPICS]
        reader, writer = await connect(self.port)
        self.arrived()
        await bounded(self.publish.wait())
        # Every fifth publisher ends abruptly halfway: half a line then a reset, or (every
        # tenth) a whole line sent without waiting for its answer, then a reset.
        abort_at = self.messages // 2 if index % 5 == 4 else None
        payloads = [f'p{index}-m{seq}-' + 'x' * (seq * 7 % 90) for seq in range(self.messages)]
        for first in range(0, abort_at if abort_at is not None else self.messages, PUBLISH_WINDOW):
            window = payloads[first:min(first + PUBLISH_WINDOW, abort_at or self.messages)]
            if not await self.publish_window(index, topic, reader, writer, window):
                writer.close()
                return
        if abort_at is not None:
            self.aborted_publishers += 1
            reset_on_close(writer)
            if index % 10 == 4:
                writer.write(f'PUB {topic} partial-{index}-never-finished'.encode())
            else:
                writer.write(f'PUB {topic} {payloads[abort_at]}\n'.encode())
            await bounded(writer.drain())
        writer.close()

    async def publish_window(self, index, topic, reader, writer, payloads):
        """Sends a few PUB lines at once (the broker makes them one batch), then reads their
        answers; records each acknowledged offset. False when an answer is not OK."""
        writer.write(b''.join(f'PUB {topic} {payload}\n'.encode() for payload in payloads))
        await bounded(writer.drain())
        for payload in payloads:
            answer = (await bounded(reader.readline())).decode().rstrip('\n')
            match = re.fullmatch(r'OK (\d+)', answer)
            if not match:
                self.failures.append(f'publisher {index}: PUB answered {answer!r}')
                return False
            self.acked[topic][int(match.group(1))] = payload
        return True

    async def subscriber(self, index):
        topic = self.topics[index % TOPICS]
        reader, writer = await connect(self.port)
        answer = await ask(reader, writer, f'SUB {topic} 0')
        if not answer.startswith(f'SUBSCRIBED {topic} '):
            self.failures.append(f'subscriber {index}: SUB answered {answer!r}')
            return None
        self.arrived()
        # Every fourth subscriber resets its connection after a few messages; every twelfth
        # sends half a line of its own first.
        abort_after = 1 + index % 40 if index % 4 == 3 else None
        received = {}
        last_offset = -1
        while True:
            line = await bounded(reader.readline())
            if not line:
                self.failures.append(f'subscriber {index} of {topic}: the broker closed the connection')
                return None
            verb, got_topic, offset, payload = (line.decode().rstrip('\n').split(' ', 3) + [''])[:4]
            if verb != 'MSG' or got_topic != topic:
                self.failures.append(f'subscriber {index} of {topic}: unexpected line {line!r}')
                return None
            offset = int(offset)
            if offset <= last_offset:
                self.failures.append(f'subscriber {index} of {topic}: offset {offset} after {last_offset}')
                return None
            last_offset = offset
            if payload == 'end':
                break
            received[offset] = payload
            if abort_after is not None and len(received) == abort_after:
                self.aborted_subscribers += 1
                reset_on_close(writer)
                if index % 12 == 11:
                    writer.write(b'PIN')
                    await bounded(writer.drain())
                writer.close()
                return None
        writer.close()
        return topic, index, received

    def check_subscriber(self, topic, index, received):
        acked = self.acked[topic]
        for offset, payload in acked.items():
            if received.get(offset) != payload:
                self.failures.append(f'subscriber {index} of {topic}: acknowledged offset {offset} '
                                     f'{"missing" if offset not in received else "has " + repr(received[offset])}')
                return
        for offset, payload in received.items():
            if payload.startswith('partial-'):
                self.failures.append(f'subscriber {index} of {topic}: half-sent message delivered at {offset}')
            if offset not in acked:
                self.unacked_delivered += 1
        self.delivered_checked += len(acked)

    async def end_markers(self):
        """After every publisher is done: one more message per topic. It is acknowledged after
        every acknowledged message of the topic, so its offset is past all of them."""
        reader, writer = await connect(self.port)
        for topic in self.topics:
            answer = await ask(reader, writer, f'PUB {topic} end')
            self.end_offset[topic] = int(answer.split()[1])
        writer.close()


async def create_topics(run):
    """A first message creates each topic; it is acknowledged like any other."""
    reader, writer = await connect(run.port)
    for topic in run.topics:
        answer = await ask(reader, writer, f'PUB {topic} created')
        if not re.fullmatch(r'OK \d+', answer):
            raise AssertionError(f'creating {topic}: {answer!r}')
        run.acked[topic][int(answer.split()[1])] = 'created'
    writer.close()


async def warm_up(run):
    """Creates the topics and reads one topic's first message on a connection of its own, then
    closes it: what the store opens once on first use and keeps for its lifetime (its read
    ring, a segment's descriptor) is then part of the baseline, and the leak check below sees
    only what connections leave behind."""
    await create_topics(run)
    reader, writer = await connect(run.port)
    answer = await ask(reader, writer, f'SUB {run.topics[0]} 0')
    if not answer.startswith(f'SUBSCRIBED {run.topics[0]} '):
        raise AssertionError(f'warm-up subscriber: SUB answered {answer!r}')
    line = await bounded(reader.readline())
    if not line.startswith(f'MSG {run.topics[0]} '.encode()):
        raise AssertionError(f'warm-up subscriber: unexpected line {line!r}')
    writer.close()


async def drive(run, pid):
    subscribers = [asyncio.create_task(run.subscriber(i)) for i in range(run.subscribers)]
    publishers = [asyncio.create_task(run.publisher(i)) for i in range(run.publishers)]
    all_connected = asyncio.create_task(run.all_connected.wait())
    done, _ = await asyncio.wait([all_connected, *subscribers, *publishers], timeout=IO_TIMEOUT_S,
                                 return_when=asyncio.FIRST_COMPLETED)
    if all_connected not in done:
        raise AssertionError(f'only {run.connected} of {run.publishers + run.subscribers} connections came up: '
                             f'{run.failures[:3]}')
    peak = (server_descriptors(pid, run.store_dir)[0], server_threads(pid))
    started = time.monotonic()
    run.publish.set()
    await bounded(asyncio.gather(*publishers))
    await run.end_markers()
    results = await bounded(asyncio.gather(*subscribers))
    seconds = time.monotonic() - started
    for result in results:
        if result is not None:
            run.check_subscriber(*result)
    return peak, seconds, sum(1 for r in results if r is not None)


def settle_descriptors(pid, store_dir, baseline):
    """Polls the server's descriptors (an external process) until those not on store files are
    back at the baseline or the deadline passes; returns the last (all, not on store files)."""
    deadline = time.monotonic() + FD_SETTLE_TIMEOUT_S
    counts = server_descriptors(pid, store_dir)
    while counts[1] > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
        counts = server_descriptors(pid, store_dir)
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('broker')
    parser.add_argument('--connections', type=int, default=200)
    parser.add_argument('--messages', type=int, default=20, help='per publisher')
    args = parser.parse_args()
    limits = raise_descriptor_limit(args.connections)
    directory = tempfile.mkdtemp(prefix='broker-connections-')
    # The heartbeat bounds how long a subscriber that stops reading can hold a sender; the
    # subscribers that stay only read, so it is longer than the run.
    store_dir = directory + '/store'
    # The server logs every dropped connection: hundreds of lines, kept in a file and shown
    # only when the test fails.
    server_log = open(directory + '/server.log', 'w+')
    proc = subprocess.Popen([args.broker, '--dir', store_dir, '--port', '0', '--bind', '127.0.0.1',
                             '--heartbeat-ms', str(IO_TIMEOUT_S * 1000)], stdout=subprocess.PIPE,
                            stderr=server_log, text=True)
    try:
        banner = proc.stdout.readline()
        match = re.search(r'listening on 127\.0\.0\.1:(\d+)', banner)
        if not match:
            raise AssertionError(f'the broker did not start: {banner!r}')
        run = Run(int(match.group(1)), store_dir, args.connections, args.messages)
        sockets_before = sum(1 for t in descriptor_targets(proc.pid) if t.startswith('socket:'))
        asyncio.run(warm_up(run))
        # The warm-up's connections are closed on the server's side (an external process:
        # polled, bounded) before the baseline is taken.
        deadline = time.monotonic() + FD_SETTLE_TIMEOUT_S
        while (sum(1 for t in descriptor_targets(proc.pid) if t.startswith('socket:')) > sockets_before and
               time.monotonic() < deadline):
            time.sleep(0.05)
        baseline, baseline_other = server_descriptors(proc.pid, store_dir)
        baseline_targets = descriptor_targets(proc.pid)
        baseline_threads = server_threads(proc.pid)
        (peak_fds, peak_threads), seconds, stayed = asyncio.run(drive(run, proc.pid))
        after, after_other = settle_descriptors(proc.pid, store_dir, baseline_other)
        after_threads = server_threads(proc.pid)
        if after_other != baseline_other:
            run.failures.append(f'the server holds {after_other} descriptors besides its store files after every '
                                f'connection closed, {baseline_other} before: {descriptor_targets(proc.pid)} '
                                f'against {baseline_targets}')
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=IO_TIMEOUT_S)
        if proc.returncode != 0 or 'stopped cleanly' not in out:
            run.failures.append(f'SIGTERM: exit status {proc.returncode}, output {out[-200:]!r}')
        acked = sum(len(offsets) for offsets in run.acked.values())
        print(f'connections: {run.publishers + run.subscribers} at once ({run.publishers} publishers, '
              f'{run.aborted_publishers} of them reset mid-message; {run.subscribers} subscribers, '
              f'{run.aborted_subscribers} of them reset), descriptor limit {limits[0]}')
        print(f'messages: {acked} acknowledged in {seconds:.1f} s; {stayed} subscribers stayed, '
              f'{run.delivered_checked} acknowledged deliveries checked, {run.unacked_delivered} deliveries '
              f'of messages whose publisher reset before the answer')
        print(f'server: descriptors {baseline} before ({baseline_other} not on store files), {peak_fds} with every '
              f'connection open, {after} after ({after_other} not on store files); threads {baseline_threads} '
              f'before, {peak_threads} with every connection open, {after_threads} after')
        for failure in run.failures[:20]:
            print(f'failure: {failure}')
        if run.failures:
            server_log.seek(0)
            print('server log (last lines):', *server_log.readlines()[-20:], sep='\n  ', end='')
        verdict = 'FAILED' if run.failures else 'PASSED'
        print(f'connections: {verdict}: {args.connections} connections, {acked} acknowledged messages each '
              f'delivered once and in order to all {stayed} staying subscribers of its topic, '
              f'server descriptors {baseline} -> {peak_fds} -> {after}')
        return 1 if run.failures else 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server_log.close()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
