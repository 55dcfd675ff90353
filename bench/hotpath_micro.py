"""Micro-benchmark of the request path without sockets: 16-command batches fed to
``Connection.data_received`` with a fake transport (user CPU per command, three modes).

    PYTHONPATH=src python bench/hotpath_micro.py [--batches N]

Modes: ``cython`` (the accelerator), ``python`` (pure-Python fast path), ``full`` (fast path off:
every command through Server.execute/call). Timing is process CPU time, so other load on the
machine matters less than for wall-clock figures.
"""

from __future__ import annotations

import argparse
import time

from pyredis import _speedups
from pyredis.server import fastpath
from pyredis.server.app import Server
from pyredis.server.connection import Connection


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default=None):
        return default

    def close(self) -> None:
        pass


def enc(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


TESTS = {
    "SET": enc(b"SET", b"key:000000000042", b"xxx"),
    "GET": enc(b"GET", b"key:000000000042"),
    "INCR": enc(b"INCR", b"counter:000000000042"),
    "LPUSH": enc(b"LPUSH", b"mylist", b"xxx"),
    "LRANGE_100": enc(b"LRANGE", b"mylist", b"0", b"99"),
    "RPOP": enc(b"RPOP", b"mylist"),
    "SADD": enc(b"SADD", b"myset", b"element:000000000042"),
    "HSET": enc(b"HSET", b"myhash", b"element:000000000042", b"xxx"),
    "ZADD": enc(b"ZADD", b"myzset", b"0", b"element:000000000042"),
    "MSET": enc(b"MSET", *[a for i in range(10) for a in (b"key:%d" % i, b"xxx")]),
}


def run(mode: str, batches: int) -> dict[str, float]:
    saved = _speedups.hotpath
    if mode != "cython":
        _speedups.hotpath = None
    fastpath.ENABLED = mode != "full"
    try:
        srv = Server()
        srv.config.values["protected-mode"] = False  # the fake transport has no loopback address
        conn = Connection(srv)
        conn.connection_made(_Transport())
        res = {}
        for name, one in TESTS.items():
            batch = one * 16
            conn.data_received(batch)
            t0 = time.process_time()
            for _ in range(batches):
                conn.data_received(batch)
            res[name] = (time.process_time() - t0) / (batches * 16) * 1e6
        return res
    finally:
        _speedups.hotpath = saved
        fastpath.ENABLED = True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=20000)
    ap.add_argument("--modes", default="", help="comma-separated subset of full,python,cython")
    ap.add_argument("--tests", default="", help="comma-separated subset of the tests (e.g. INCR,ZADD)")
    a = ap.parse_args()
    modes = ["full", "python"] + (["cython"] if _speedups.hotpath is not None else [])
    if a.modes:
        modes = [m for m in modes if m in a.modes.split(",")]
    if a.tests:
        for t in list(TESTS):
            if t not in a.tests.upper().split(","):
                del TESTS[t]
    results = {m: run(m, a.batches) for m in modes}
    print("µs CPU per command (16-command batches, no sockets)")
    print("test       " + "".join(f"{m:>9}" for m in modes))
    for t in TESTS:
        print(f"{t:<11}" + "".join(f"{results[m][t]:9.3f}" for m in modes))


if __name__ == "__main__":
    main()
