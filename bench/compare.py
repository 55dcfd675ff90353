#!/usr/bin/env python3
"""Throughput of pyredis vs redis-server, side by side, with redis-benchmark.

Starts a real redis-server and pyredis on free ports, pins the servers to one CPU and
redis-benchmark to another (taskset, when available), runs each test group against both servers in
alternation for several rounds and prints the median requests/second and their ratio.

usage: python bench/compare.py [--rounds 3] [-n 100000] [--np 1000000] [--tests set,get,...]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"no server on {port}")


def pin(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def start(kind: str, port: int) -> subprocess.Popen:
    args = ["--port", str(port), "--save", "", "--appendonly", "no"]
    if kind == "redis":
        cmd = ["redis-server", *args]
    else:
        cmd = [sys.executable, "-m", "pyredis", *args]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    import tempfile

    p = subprocess.Popen(pin(1) + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                         cwd=tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    wait_ping(port)
    return p


def bench(port: int, tests: str, n: int, clients: int, pipeline: int) -> dict[str, float]:
    cmd = pin(0) + ["redis-benchmark", "-p", str(port), "-t", tests, "-n", str(n), "-c", str(clients),
                    "-P", str(pipeline), "--csv", "-r", "100000"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"redis-benchmark failed on port {port}: {proc.stderr.strip()[:200]}", file=sys.stderr)
    out = proc.stdout
    res = {}
    for row in csv.reader(io.StringIO(out)):
        if row and row[0] != "test":
            res[row[0]] = float(row[1])
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("--np", type=int, default=500000, help="requests for the pipelined group")
    ap.add_argument("--tests", default="set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100,mset")
    args = ap.parse_args()
    groups = [("c50", args.tests, args.n, 50, 1), ("P16", "set,get", args.np, 50, 16)]
    rp, pp = free_port(), free_port()
    procs = [start("redis", rp), start("pyredis", pp)]
    try:
        results: dict[tuple[str, str], dict[str, list[float]]] = {}
        for _ in range(args.rounds):
            for gname, tests, n, c, p in groups:
                for kind, port in (("redis", rp), ("pyredis", pp)):
                    for test, rps in bench(port, tests, n, c, p).items():
                        results.setdefault((gname, test), {}).setdefault(kind, []).append(rps)
        print(f"{'group':5} {'test':28} {'redis rps':>12} {'pyredis rps':>12} {'ratio':>6}")
        ratios = []
        for (gname, test), d in results.items():
            r = statistics.median(d.get("redis", [0]))
            p = statistics.median(d.get("pyredis", [0]))
            ratio = p / r if r else 0.0
            if gname == "c50":
                ratios.append(ratio)
            print(f"{gname:5} {test[:28]:28} {r:12.0f} {p:12.0f} {ratio:6.2f}")
        if ratios:
            geo = statistics.geometric_mean([x for x in ratios if x > 0])
            print(f"RATIO geomean={geo:.2f}")
    finally:
        for p in procs:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
