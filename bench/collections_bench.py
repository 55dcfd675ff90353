"""Time RedisDict bulk operations against a naive per-item loop.

    python bench/collections_bench.py                 # a fresh redis-server (if installed)
    python bench/collections_bench.py --backend pyredis   # an embedded pyredis
    python bench/collections_bench.py --url redis://127.0.0.1:6379/0 --n 100000

Writes ``n`` items with ``RedisDict.update`` (one round trip) and with ``d[k] = v`` per
item (one round trip each), then reads them back with ``to_dict()`` (HGETALL), with
``items()`` iteration (HSCAN pages) and with ``d[k]`` per item, and prints the timings.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

import redis  # noqa: E402

from pyredis.collections import RedisDict  # noqa: E402


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server not found: use --backend pyredis or --url")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(500):
            with contextlib.suppress(redis.ConnectionError):
                client.ping()
                break
            time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait()


@contextlib.contextmanager
def pyredis_server() -> Iterator[str]:
    from pyredis.embedded import EmbeddedServer

    with EmbeddedServer() as server:
        yield server.url


def timed(label: str, n: int, fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t0
    print(f"  {label:<44} {seconds:8.3f} s  {n / seconds:>12,.0f} items/s")
    return seconds


def bench(url: str, n: int) -> None:
    client = redis.Redis.from_url(url)
    client.flushall()
    items = {f"key:{i}": {"id": i, "name": f"item {i}"} for i in range(n)}
    keys = list(items)
    bulk_d = RedisDict(redis=client, key="bench:bulk")
    naive_d = RedisDict(redis=client, key="bench:naive")

    def naive_update() -> None:
        for k, v in items.items():
            naive_d[k] = v

    def naive_read() -> dict[str, Any]:
        return {k: naive_d[k] for k in keys}

    print(f"{n:,} items, server {url}")
    bulk_w = timed("write: RedisDict.update() (1 round trip)", n, lambda: bulk_d.update(items))
    naive_w = timed("write: d[k] = v per item", n, naive_update)
    assert len(bulk_d) == len(naive_d) == n
    bulk_r = timed("read:  to_dict() (HGETALL, 1 round trip)", n, bulk_d.to_dict)
    scan_r = timed("read:  dict(d.items()) (HSCAN pages)", n, lambda: dict(bulk_d.items()))
    naive_r = timed("read:  d[k] per item", n, naive_read)
    assert bulk_d.to_dict() == items
    print(
        f"  speed-up: update {naive_w / bulk_w:.1f}x, to_dict {naive_r / bulk_r:.1f}x, items() {naive_r / scan_r:.1f}x"
    )
    client.flushall()
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of items (default 100000)")
    parser.add_argument("--url", help="an existing server (it is FLUSHALLed!)")
    parser.add_argument("--backend", choices=["redis", "pyredis"], default="redis")
    args = parser.parse_args()
    if args.url:
        bench(args.url, args.n)
        return
    with redis_server() if args.backend == "redis" else pyredis_server() as url:
        bench(url, args.n)


if __name__ == "__main__":
    main()
