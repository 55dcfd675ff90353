"""In-process clients compared: fakeredis.FakeRedis, pyredis.fake.FakeRedis, and pyredis embedded
(its own thread, over a TCP socket), all through redis-py's API.

    python bench/inprocess_bench.py [--n 20000] [--repeat 5]

Each row is the best (lowest) of ``--repeat`` runs in microseconds per command (pipelines: per
queued command; pub/sub: one PUBLISH plus the subscriber's get_message). The last rows time creating
a fresh client + server (without and with a first command). Timings are wall-clock on a possibly
busy machine: read the ratios, and rerun under ``nice`` when others are working.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any


def _best(fn: Callable[[int], Any], n: int, repeat: int, per: int = 1) -> float:
    fn(0)
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        for i in range(n):
            fn(i)
        best = min(best, (time.process_time() - t0) / (n * per) * 1e6)
    return best


def workload(make: Callable[[], Any], n: int, repeat: int) -> dict[str, float]:
    """µs per command for each row, on clients made by *make* (two clients on one server)."""
    r, r2 = make()
    keys = [b"key:%d" % (i % 1000) for i in range(n)]
    fields = [b"f%d" % (i % 100) for i in range(n)]
    out: dict[str, float] = {}
    out["SET"] = _best(lambda i: r.set(keys[i], b"value"), n, repeat)
    out["GET"] = _best(lambda i: r.get(keys[i]), n, repeat)
    out["HSET"] = _best(lambda i: r.hset(b"hash", fields[i], b"v"), n, repeat)
    out["LPUSH"] = _best(lambda i: r.lpush(b"list", b"v"), n, repeat)
    out["ZADD"] = _best(lambda i: r.zadd(b"zset", {fields[i]: i}), n, repeat)

    def pipe(i: int) -> None:
        p = r.pipeline(transaction=False)
        for j in range(10):
            p.set(keys[j], b"v")
        p.execute()

    out["pipeline (10 SET)"] = _best(pipe, max(1, n // 10), repeat, per=10)

    def multi(i: int) -> None:
        p = r.pipeline(transaction=True)
        for _ in range(10):
            p.incr(b"counter")
        p.execute()

    out["MULTI/EXEC (10 INCR)"] = _best(multi, max(1, n // 10), repeat, per=10)
    ps = r2.pubsub(ignore_subscribe_messages=True)
    ps.subscribe(b"chan")
    ps.get_message(timeout=1.0)

    def pubsub(i: int) -> None:
        r.publish(b"chan", b"payload")
        m = None
        while m is None:
            m = ps.get_message(timeout=1.0)

    out["pub/sub round trip"] = _best(pubsub, max(1, n // 4), repeat)
    ps.close()
    return out


def creation(make: Callable[[], Any], n: int = 300) -> tuple[float, float]:
    """µs to create a fresh server + client, and to create one and run a first PING."""
    make()  # warm-up (imports)
    t0 = time.process_time()
    for _ in range(n):
        make()
    plain = (time.process_time() - t0) / n * 1e6
    t0 = time.process_time()
    for _ in range(n):
        make().ping()
    first = (time.process_time() - t0) / n * 1e6
    return plain, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import pyredis.fake

    columns: dict[str, dict[str, float]] = {}
    try:
        import fakeredis

        def make_fr() -> Any:
            s = fakeredis.FakeServer()
            return fakeredis.FakeRedis(server=s), fakeredis.FakeRedis(server=s)

        columns["fakeredis"] = workload(make_fr, args.n, args.repeat)
    except ImportError:
        fakeredis = None

    def make_pf() -> Any:
        s = pyredis.fake.FakeServer()
        return pyredis.fake.FakeRedis(server=s), pyredis.fake.FakeRedis(server=s)

    columns["pyredis.fake"] = workload(make_pf, args.n, args.repeat)

    from pyredis.embedded import EmbeddedServer

    with EmbeddedServer() as emb:
        columns["pyredis embedded (socket)"] = workload(lambda: (emb.client(), emb.client()), args.n // 4,
                                                         args.repeat)

    names = list(columns)
    rows = list(next(iter(columns.values())))
    head = "| workload (µs/command) | " + " | ".join(names) + " | fakeredis / pyredis.fake |"
    print(head)
    print("|" + "---|" * (len(names) + 2))
    for row in rows:
        cells = [f"{columns[c][row]:.1f}" for c in names]
        ratio = (f"{columns['fakeredis'][row] / columns['pyredis.fake'][row]:.1f}x"
                 if "fakeredis" in columns else "-")
        print(f"| {row} | " + " | ".join(cells) + f" | {ratio} |")

    print()
    print("| fresh server + client (µs) | create | create + first PING |")
    print("|---|---|---|")
    if fakeredis is not None:
        p, f = creation(lambda: fakeredis.FakeRedis(server=fakeredis.FakeServer()))
        print(f"| fakeredis | {p:.0f} | {f:.0f} |")
    p, f = creation(lambda: pyredis.fake.FakeRedis(server=pyredis.fake.FakeServer()))
    print(f"| pyredis.fake | {p:.0f} | {f:.0f} |")


if __name__ == "__main__":
    main()
