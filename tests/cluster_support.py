"""Helpers for cluster tests: nodes on ports whose bus port (+10000) is free, redis-cli --cluster, waiting."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import time
from collections.abc import Callable

from support import ServerProcess, port_bindable

# Disjoint per CI run, as support.PORT_RANGE is (the two suites run side by side).
CLUSTER_PORT_RANGE = (25000, 29999) if os.environ.get("PYREDIS_NO_EXTENSIONS") else (20000, 24999)


def cluster_port(taken: set[int]) -> int:
    """A free port P with P+10000 free too (the cluster bus)."""
    while True:
        p = random.randint(*CLUSTER_PORT_RANGE)
        if p not in taken and p + 10000 not in taken and port_bindable(p) and port_bindable(p + 10000):
            taken.update((p, p + 10000))
            return p


def start_node(kind: str, taken: set[int], timeout_ms: int = 2000, extra: tuple[str, ...] = ()) -> ServerProcess:
    for attempt in range(4):
        port = cluster_port(taken)
        try:
            return ServerProcess(kind, ["--cluster-enabled", "yes", "--cluster-node-timeout", str(timeout_ms),
                                        "--logfile", "node.log", *extra], port=port)
        except RuntimeError as e:
            # the bus port (P+10000, inside the kernel's ephemeral range) can be taken by an outgoing
            # connection between the check and the bind: the node exits "Failed listening on port"
            if attempt == 3 or "exited with 1" not in str(e):
                raise
    raise AssertionError("unreachable")


def redis_cli(*args: str, timeout: float = 120) -> str:
    exe = shutil.which("redis-cli")
    assert exe, "redis-cli is needed (scripts/test.sh installs redis-tools)"
    r = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)
    out = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)
    assert r.returncode == 0, out
    return out


def create_cluster(nodes: list[ServerProcess], replicas: int = 0) -> str:
    addrs = [f"127.0.0.1:{n.port}" for n in nodes]
    return redis_cli("--cluster", "create", *addrs, "--cluster-replicas", str(replicas), "--cluster-yes")


def wait_for(cond: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except (OSError, ConnectionError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def info_field(node: ServerProcess, field: str) -> str:
    text = node.client().call("CLUSTER", "INFO").decode()
    for line in text.split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return ""


def nodes_view(node: ServerProcess) -> set[tuple[str, ...]]:
    """CLUSTER NODES without the per-observer fields (myself, ping/pong times, link state)."""
    raw = node.client().call("CLUSTER", "NODES")
    body = raw.split(b"\r\n", 1)[1].decode()
    out = set()
    for line in body.strip().split("\n"):
        f = line.split(" ")
        flags = ",".join(x for x in f[2].split(",") if x != "myself")
        out.add((f[0], f[1], flags, f[3], f[6], *f[8:]))
    return out


def stop_all(nodes: list[ServerProcess]) -> None:
    for n in nodes:
        n.stop()
