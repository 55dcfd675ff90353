"""Replication benchmark: full-sync time of a mixed dataset across implementations, and replication lag
under redis-benchmark SET load.

    python bench/replication_bench.py [--keys 1000000] [--bench-requests 200000]

Full sync: the master is loaded with ``--keys`` keys (strings, hashes, lists, sets, sorted sets in equal
parts, small values), then a fresh replica runs REPLICAOF; the time until ``master_link_status:up`` is
measured for redis->redis, pyredis->redis and redis->pyredis (and pyredis->pyredis), and printed with
the ratio against redis->redis. Lag: while redis-benchmark writes SETs to the master, INFO is sampled
every 50 ms; lag = master_repl_offset - the replica's ACKed offset (slave0 ``offset=``), in bytes.
Wall-clock figures on a shared machine are noisy: run it on a quiet machine, several times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

import redis  # noqa: E402

from support import ServerProcess  # noqa: E402

ARGS = ["--repl-diskless-sync-delay", "0"]


def load(port: int, n: int) -> None:
    r = redis.Redis(port=port)
    p = r.pipeline(transaction=False)
    for i in range(n):
        kind = i % 5
        if kind == 0:
            p.set(f"s:{i}", f"value-{i}")
        elif kind == 1:
            p.hset(f"h:{i}", mapping={"a": i, "b": "x" * 10})
        elif kind == 2:
            p.rpush(f"l:{i}", "a", "b", str(i))
        elif kind == 3:
            p.sadd(f"t:{i}", "a", "b", str(i))
        else:
            p.zadd(f"z:{i}", {"a": 1, "b": 2, str(i): i})
        if i % 5000 == 4999:
            p.execute()
    p.execute()


def full_sync(master_kind: str, replica_kind: str, keys: int) -> float:
    m = ServerProcess(master_kind, ARGS)
    s = ServerProcess(replica_kind, ARGS)
    try:
        load(m.port, keys)
        rs = redis.Redis(port=s.port, socket_timeout=600)
        t0 = time.perf_counter()
        rs.execute_command("REPLICAOF", "127.0.0.1", m.port)
        while True:
            try:
                if rs.info("replication").get("master_link_status") == "up":
                    break
            except (redis.BusyLoadingError, redis.TimeoutError):
                pass
            time.sleep(0.02)
        dt = time.perf_counter() - t0
        assert rs.dbsize() == keys, (rs.dbsize(), keys)
        return dt
    finally:
        m.stop()
        s.stop()


def lag(master_kind: str, replica_kind: str, requests: int) -> tuple[int, float, int]:
    m = ServerProcess(master_kind, ARGS)
    s = ServerProcess(replica_kind, ARGS)
    try:
        rm = redis.Redis(port=m.port)
        rs = redis.Redis(port=s.port)
        rs.execute_command("REPLICAOF", "127.0.0.1", m.port)
        while rs.info("replication").get("master_link_status") != "up":
            time.sleep(0.05)
        samples: list[int] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                info = rm.info("replication")
                acked = info.get("slave0", {}).get("offset", 0)
                samples.append(info["master_repl_offset"] - acked)
                time.sleep(0.05)

        t = threading.Thread(target=sample)
        t.start()
        subprocess.run([shutil.which("redis-benchmark") or "redis-benchmark", "-p", str(m.port), "-t", "set",
                        "-n", str(requests), "-c", "50", "-q"], check=True, stdout=subprocess.DEVNULL)
        done.set()
        t.join()
        t0 = time.perf_counter()
        while rm.info("replication")["master_repl_offset"] != rs.info("replication")["master_repl_offset"]:
            time.sleep(0.01)
        catch_up = time.perf_counter() - t0
        return max(samples or [0]), catch_up, int(sum(samples) / max(len(samples), 1))
    finally:
        m.stop()
        s.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--bench-requests", type=int, default=200_000)
    a = ap.parse_args()
    base = full_sync("redis", "redis", a.keys)
    print(f"full sync of {a.keys} mixed keys: redis->redis {base:.2f}s")
    for mk, rk in (("pyredis", "redis"), ("redis", "pyredis"), ("pyredis", "pyredis")):
        dt = full_sync(mk, rk, a.keys)
        print(f"full sync of {a.keys} mixed keys: {mk}->{rk} {dt:.2f}s  ratio {dt / base:.2f}x")
    for mk, rk in (("redis", "redis"), ("pyredis", "redis"), ("redis", "pyredis"), ("pyredis", "pyredis")):
        mx, catch, mean = lag(mk, rk, a.bench_requests)
        print(f"lag under redis-benchmark SET ({a.bench_requests} requests, 50 clients) {mk}->{rk}: "
              f"max {mx} bytes, mean {mean} bytes, caught up {catch * 1000:.0f} ms after the load")


if __name__ == "__main__":
    main()
