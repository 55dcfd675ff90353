#!/usr/bin/env python3
"""TLS throughput of pyredis vs redis-server: ``redis-benchmark --tls`` SET/GET, plain and -P 16.

Both servers get the same throwaway certificates (pyredis.tlscerts) and listen on a plain port (for
the readiness check) and a TLS port (benchmarked, with a client certificate). Servers are pinned to one
CPU and redis-benchmark to another when taskset is there; the groups run alternately for several
rounds. Printed per test: median requests/s of each, the ratio pyredis/redis, and each server's CPU
microseconds per request (utime+stime of its process from /proc over the run) with their ratio.

usage: nice -n 10 python bench/tls_bench.py [--rounds 3] [-n 50000] [--np 300000] [-c 50]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))

from compare import free_port, pin, wait_ping  # noqa: E402  (bench/ is sys.path[0])

from pyredis import tlscerts  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_us(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e6 / TICK


def start(kind: str, certs: tlscerts.CertFiles) -> tuple[subprocess.Popen, int]:
    port, tls_port = free_port(), free_port()
    args = ["--port", str(port), "--tls-port", str(tls_port), "--tls-cert-file", certs.server_cert,
            "--tls-key-file", certs.server_key, "--tls-ca-cert-file", certs.ca_cert, "--save", "",
            "--appendonly", "no"]
    cmd = ["redis-server", *args] if kind == "redis" else [sys.executable, "-m", "pyredis", *args]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    p = subprocess.Popen(pin(1) + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                         cwd=tempfile.mkdtemp(prefix=f"tlsbench-{kind}-"))
    wait_ping(port)
    return p, tls_port


def bench(port: int, certs: tlscerts.CertFiles, n: int, clients: int, pipeline: int) -> dict[str, float]:
    cmd = [*pin(0), "redis-benchmark", "-p", str(port), "--tls", "--cacert", certs.ca_cert, "--cert",
           certs.client_cert, "--key", certs.client_key, "-t", "set,get", "-n", str(n), "-c", str(clients),
           "-P", str(pipeline), "--csv"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
    return {row[0]: float(row[1]) for row in csv.reader(io.StringIO(out)) if row and row[0] in ("SET", "GET")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-n", type=int, default=50000, help="requests per test, non-pipelined")
    ap.add_argument("--np", type=int, default=300000, help="requests per test, -P 16")
    ap.add_argument("-c", type=int, default=50, help="clients")
    a = ap.parse_args()
    certs = tlscerts.generate(tempfile.mkdtemp(prefix="tlsbench-certs-"))
    procs = {k: start(k, certs) for k in ("redis", "pyredis")}
    rps: dict[tuple[str, str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    try:
        for _ in range(a.rounds):
            for group, n, pipe in (("np", a.n, 1), ("P16", a.np, 16)):
                for kind, (p, port) in procs.items():
                    before = cpu_us(p.pid)
                    res = bench(port, certs, n, a.c, pipe)
                    cpu.setdefault((group, kind), []).append((cpu_us(p.pid) - before) / (2 * n))
                    for test, v in res.items():
                        rps.setdefault((group, test, kind), []).append(v)
    finally:
        for p, _port in procs.values():
            p.terminate()
            p.wait(10)
    print(f"{'test':10} {'redis rps':>11} {'pyredis rps':>12} {'ratio':>6}   {'CPU us/req redis':>16} "
          f"{'pyredis':>8} {'ratio':>6}")
    for group in ("np", "P16"):
        cr = statistics.median(cpu[group, "redis"])
        cp = statistics.median(cpu[group, "pyredis"])
        for test in ("SET", "GET"):
            r = statistics.median(rps[group, test, "redis"])
            p = statistics.median(rps[group, test, "pyredis"])
            print(f"{test + ' ' + group:10} {r:11.0f} {p:12.0f} {p / r:6.2f}   {cr:16.2f} {cp:8.2f} {cp / cr:6.2f}")


if __name__ == "__main__":
    main()
