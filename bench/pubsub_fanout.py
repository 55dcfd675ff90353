"""Pub/Sub fan-out benchmark: messages per second delivered to 50 subscribers of one channel,
pyredis vs redis-server in one run.

    python bench/pubsub_fanout.py [--subscribers 50] [--messages 20000] [--batch 100]

One publisher pipelines PUBLISH in batches; a reader thread drains the 50 subscriber sockets and
counts bytes; the figure is deliveries (messages x subscribers) per second until the last byte.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from support import ServerProcess  # noqa: E402


def _cmd(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def run(port: int, n_subs: int, n_msgs: int, batch: int) -> float:
    channel = b"fanout"
    payload = b"x" * 16
    msg_len = len(b"*3\r\n$7\r\nmessage\r\n$6\r\nfanout\r\n$16\r\n" + payload + b"\r\n")
    subs = []
    for _ in range(n_subs):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(_cmd(b"SUBSCRIBE", channel))
        s.recv(100)
        s.setblocking(False)
        subs.append(s)
    pub = socket.create_connection(("127.0.0.1", port))
    want = n_msgs * msg_len
    done = threading.Event()

    def reader() -> None:
        sel = selectors.DefaultSelector()
        got = {}
        for s in subs:
            sel.register(s, selectors.EVENT_READ)
            got[s] = 0
        remaining = n_subs
        while remaining:
            for key, _ in sel.select(timeout=30):
                s = key.fileobj
                data = s.recv(1 << 20)
                got[s] += len(data)
                if got[s] >= want:
                    sel.unregister(s)
                    remaining -= 1
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    one = _cmd(b"PUBLISH", channel, payload)
    chunk = one * batch
    reply_len = len(b":%d\r\n" % n_subs) * batch
    t0 = time.perf_counter()
    sent = 0
    while sent < n_msgs:
        pub.sendall(chunk)
        need = reply_len
        while need > 0:
            need -= len(pub.recv(need))
        sent += batch
    if not done.wait(120):
        raise RuntimeError("subscribers did not receive every message")
    elapsed = time.perf_counter() - t0
    for s in subs:
        s.close()
    pub.close()
    return n_msgs * n_subs / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=100)
    a = ap.parse_args()
    results = {}
    for kind in ("redis", "pyredis"):
        srv = ServerProcess(kind)
        try:
            results[kind] = run(srv.port, a.subscribers, a.messages, a.batch)
        finally:
            srv.stop()
        print(f"{kind:8} {results[kind]:12,.0f} deliveries/s")
    print(f"ratio pyredis/redis: {results['pyredis'] / results['redis']:.2f}")


if __name__ == "__main__":
    main()
