#!/usr/bin/env python3
"""A writer and a tailing reader of one store, with the `segstore` module.

    python3 orders_tail.py /tmp/orders-store [ORDERS]

The writer thread appends orders in atomic batches (an order line and its payment), each batch
durable when append_batch returns. The reader follows the store with a durable-only tail: it sees
only records a crash cannot take back, and its waits release the GIL, so both threads run. At the
end the store's figures: append latency percentiles, syncs, and the space it takes. A small store:
1 MiB segments and no spare segment.
"""
import sys
import threading

import segstore

ORDERS_STREAM, PAYMENTS_STREAM = 1, 2


def main():
    path = sys.argv[1]
    orders = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    with segstore.open(path, segment_bytes=1 << 20, preallocate_next_segment=False) as store:
        start = store.next_lsn

        def writer():
            for i in range(orders):
                store.append_batch([(ORDERS_STREAM, b"order %d: 1 book" % i),
                                    (PAYMENTS_STREAM, b"payment for order %d" % i)])

        thread = threading.Thread(target=writer)
        thread.start()
        seen = 0
        # Orders only, durable only; the iteration would end after 10 s without a new order.
        for record in store.tail(from_lsn=start, stream=ORDERS_STREAM, durable_only=True, timeout=10.0):
            if not record.payload.startswith(b"order %d:" % seen):
                sys.exit(f"order {seen}: read {record.payload!r} at LSN {record.lsn}")
            seen += 1
            if seen == orders:
                break
        thread.join()
        stats = store.stats()
    latency = stats["append_latency_us"]
    print(f"{seen} orders followed; {stats['appends']} records appended with {stats['syncs']} syncs; "
          f"append latency p50 {latency['p50']} us, p99 {latency['p99']} us; "
          f"{stats['segment_count']} segment(s), {stats['disk_bytes']} bytes on disk")


if __name__ == "__main__":
    main()
