"""Cluster benchmark: redis-benchmark --cluster SET/GET -P 16 against 3 pyredis masters and 3 redis-server
masters, with the servers' CPU time per request; and the failover time (kill -9 of a master to
cluster_state:ok) in a 3+3 cluster of each implementation.

    python bench/cluster_bench.py [--requests 200000] [--node-timeout 3000]

CPU per request is read from /proc/<pid>/stat (utime+stime of the three masters) around each run, which
is less noisy than wall-clock throughput on a shared machine. Failover time is polled every 100 ms.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from cluster_support import create_cluster, info_field, start_node, stop_all, wait_for  # noqa: E402


def cpu_ticks(nodes) -> int:
    total = 0
    for n in nodes:
        with open(f"/proc/{n.proc.pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        total += int(f[11]) + int(f[12])
    return total


def bench(kind: str, requests: int, timeout_ms: int) -> dict[str, tuple[float, float]]:
    taken: set[int] = set()
    nodes = [start_node(kind, taken, timeout_ms) for _ in range(3)]
    out = {}
    try:
        create_cluster(nodes)
        wait_for(lambda: all(info_field(n, "cluster_state") == "ok" for n in nodes), what="cluster ok")
        for test in ("set", "get"):
            t0 = cpu_ticks(nodes)
            r = subprocess.run(["redis-benchmark", "--cluster", "-p", str(nodes[0].port), "-t", test, "-n",
                                str(requests), "-P", "16", "-q"], capture_output=True, text=True, timeout=300)
            ticks = cpu_ticks(nodes) - t0
            line = [x for x in r.stdout.replace("\r", "\n").split("\n") if "requests per second" in x][-1]
            rps = float(line.split(":")[1].split()[0])
            out[test] = (rps, ticks / os.sysconf("SC_CLK_TCK") * 1e6 / requests)
    finally:
        stop_all(nodes)
    return out


def failover_time(kind: str, timeout_ms: int) -> float:
    taken: set[int] = set()
    nodes = [start_node(kind, taken, timeout_ms, ("--repl-diskless-sync-delay", "0")) for _ in range(6)]
    try:
        create_cluster(nodes, replicas=1)
        wait_for(lambda: all(info_field(n, "cluster_state") == "ok" for n in nodes), what="cluster ok")
        master = nodes[0]
        myid = master.client().call("CLUSTER", "MYID").split(b"\r\n")[1]
        replica = [n for n in nodes[3:] if b"myself,slave " + myid in n.client().call("CLUSTER", "NODES")][0]
        wait_for(lambda: b"master_link_status:up" in replica.client().call("INFO", "replication"), what="sync")
        master.proc.kill()
        t0 = time.time()
        wait_for(lambda: b"role:master" in replica.client().call("INFO", "replication")
                 and info_field(nodes[1], "cluster_state") == "ok", timeout=60, what="failover")
        return time.time() - t0
    finally:
        stop_all(nodes)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--node-timeout", type=int, default=3000)
    a = ap.parse_args()
    res = {k: bench(k, a.requests, a.node_timeout) for k in ("redis", "pyredis")}
    for test in ("set", "get"):
        (rr, rc), (pr, pc) = res["redis"][test], res["pyredis"][test]
        print(f"{test.upper()}: redis {rr:,.0f} rps {rc:.2f} us/req | pyredis {pr:,.0f} rps {pc:.2f} us/req"
              f" | throughput ratio {pr / rr:.2f}, CPU ratio {pc / rc:.1f}x")
    for k in ("redis", "pyredis"):
        print(f"failover ({k}, node timeout {a.node_timeout} ms): {failover_time(k, a.node_timeout):.1f} s")


if __name__ == "__main__":
    main()
