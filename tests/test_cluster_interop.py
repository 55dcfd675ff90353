"""Clusters of real processes: pyredis alone and mixed with redis-server, on Redis's own cluster bus."""

from __future__ import annotations

import os
import threading
import time

import pytest
from cluster_support import create_cluster, info_field, nodes_view, redis_cli, start_node, stop_all, wait_for

redis = pytest.importorskip("redis")
from redis.cluster import RedisCluster  # noqa: E402

pytestmark = pytest.mark.timeout(240)
# PYREDIS_CLUSTER_FULL=1: the full sizes (1000 slots resharded each way); CI moves fewer slots.
FULL = os.environ.get("PYREDIS_CLUSTER_FULL") == "1"
RESHARD_SLOTS = "1000" if FULL else "200"
KEYS = 50000 if FULL else 3000  # written twice (SET, then a ClusterPipeline): 100k keys in the full run


@pytest.fixture(scope="module")
def pyredis_cluster():
    taken: set[int] = set()
    nodes = [start_node("pyredis", taken) for _ in range(3)]
    try:
        create_cluster(nodes)
        wait_for(lambda: all(info_field(n, "cluster_state") == "ok" for n in nodes), what="cluster_state:ok")
        yield nodes
    finally:
        stop_all(nodes)


@pytest.fixture(scope="module")
def mixed_cluster():
    """pyredis, redis-server, pyredis, redis-server masters."""
    taken: set[int] = set()
    nodes = [start_node(k, taken) for k in ("pyredis", "redis", "pyredis", "redis")]
    try:
        create_cluster(nodes)
        wait_for(lambda: all(info_field(n, "cluster_state") == "ok" for n in nodes), what="cluster_state:ok")
        yield nodes
    finally:
        stop_all(nodes)


def test_pyredis_cluster_check_and_redis_py(pyredis_cluster):
    nodes = pyredis_cluster
    out = redis_cli("--cluster", "check", f"127.0.0.1:{nodes[1].port}")
    assert "[OK] All nodes agree about slots configuration." in out
    assert "[OK] All 16384 slots covered." in out
    assert "[WARNING]" not in out and "[ERR]" not in out
    rc = RedisCluster(host="127.0.0.1", port=nodes[0].port)
    try:
        n = KEYS
        for i in range(n):
            rc.set(f"key:{i}", i)
        with rc.pipeline() as p:  # redis-py's ClusterPipeline splits by slot
            for i in range(n, 2 * n):
                p.set(f"key:{i}", i)
            p.execute()
        with rc.pipeline() as p:
            for i in range(2 * n):
                p.get(f"key:{i}")
            values = p.execute()
        assert values == [str(i).encode() for i in range(2 * n)]
        total = sum(redis.Redis(port=x.port).dbsize() for x in nodes)
        assert total == 2 * n
        assert all(redis.Redis(port=x.port).dbsize() > n // 2 for x in nodes)  # spread over the masters
    finally:
        rc.close()


def test_redirections_in_redis_wording(pyredis_cluster):
    nodes = pyredis_cluster
    c = nodes[0].client()
    slot = int(c.call("CLUSTER", "KEYSLOT", "foo").split(b":")[1])
    owner = [n for n in nodes if any(int(a) <= slot <= int(b) for a, b in _ranges(n))][0]
    other = [n for n in nodes if n is not owner][0]
    assert other.client().call("GET", "foo") == f"-MOVED {slot} 127.0.0.1:{owner.port}\r\n".encode()
    assert other.client().call("MSET", "a", "1", "b", "2") == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    assert other.client().call("SELECT", "1") == b"-ERR SELECT is not allowed in cluster mode\r\n"
    oc = owner.client()
    assert oc.call("MULTI") == b"+OK\r\n"
    assert oc.call("SET", "foo", "1") == b"+QUEUED\r\n"
    assert oc.call("EXEC") == b"*1\r\n+OK\r\n"
    oc2 = other.client()
    oc2.call("MULTI")
    assert oc2.call("SET", "foo", "1").startswith(b"-MOVED")
    assert oc2.call("EXEC") == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    lua = "return redis.call('get', KEYS[1])"
    assert other.client().call("EVAL", lua, "1", "foo").startswith(b"-MOVED")
    assert other.client().call("EVAL", "return redis.call('get', 'foo')", "0").startswith(
        b"-ERR Script attempted to access a non local key in a cluster node script: ")


def _ranges(node):
    for line in node.client().call("CLUSTER", "NODES").decode().split("\n"):
        if "myself" in line:
            for r in line.split()[8:]:
                if not r.startswith("["):
                    a, _, b = r.partition("-")
                    yield a, b or a


def test_mixed_cluster_agreement(mixed_cluster):
    nodes = mixed_cluster
    views = [nodes_view(n) for n in nodes]
    assert all(v == views[0] for v in views), views
    assert len(views[0]) == 4
    slots = {n.client().call("CLUSTER", "SLOTS") for n in nodes}
    assert len(slots) == 1  # byte-identical CLUSTER SLOTS from pyredis and redis-server
    shards = [sorted(map(repr, redis.Redis(port=n.port).execute_command("CLUSTER", "SHARDS"))) for n in nodes]
    assert shards[0] == shards[1] == shards[2] == shards[3]  # same shards (the order follows each node's table)
    out = redis_cli("--cluster", "check", f"127.0.0.1:{nodes[0].port}")
    assert "[OK] All nodes agree about slots configuration." in out and "[OK] All 16384 slots covered." in out
    for cmd in (("CLUSTER", "KEYSLOT", "{x}y"), ("CLUSTER", "COUNTKEYSINSLOT", "99999"),
                ("CLUSTER", "GETKEYSINSLOT", "1", "-1"), ("CLUSTER", "ADDSLOTS", "1"),
                ("CLUSTER", "SETSLOT", "1", "BOGUS"), ("CLUSTER", "FORGET", "x" * 40),
                ("CLUSTER", "FAILOVER"), ("CLUSTER", "MEET", "nohost", "1"), ("CLUSTER", "RESET", "x"),
                ("CLUSTER", "REPLICATE", "y" * 40), ("CLUSTER", "SET-CONFIG-EPOCH", "1"), ("SWAPDB", "0", "1"),
                ("ASKING",), ("READONLY",), ("READWRITE",)):
        assert nodes[0].client().call(*cmd) == nodes[1].client().call(*cmd), cmd


def test_mixed_pubsub_over_the_bus(mixed_cluster):
    nodes = mixed_cluster
    sub = redis.Redis(port=nodes[1].port).pubsub()  # a redis-server node
    sub.subscribe("news")
    wait_for(lambda: sub.get_message(timeout=0.1) is not None, what="subscribe confirmation")
    assert nodes[0].client().call("PUBLISH", "news", "hi") == b":0\r\n"  # published on a pyredis node
    got = []
    wait_for(lambda: got.append(sub.get_message(timeout=0.1)) or any(m and m["data"] == b"hi" for m in got),
             what="message over the cluster bus")
    sub.close()


def test_reshard_between_pyredis_and_redis_under_writes(mixed_cluster):
    nodes = mixed_cluster
    py, rd = nodes[0], nodes[1]
    pid = py.client().call("CLUSTER", "MYID").split(b"\r\n")[1].decode()
    rid = rd.client().call("CLUSTER", "MYID").split(b"\r\n")[1].decode()
    rc = RedisCluster(host="127.0.0.1", port=py.port)
    for i in range(2000):
        rc.set(f"pre:{i}", i)
    written: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        w = RedisCluster(host="127.0.0.1", port=rd.port)
        i = 0
        while not stop.is_set():
            try:
                w.set(f"w:{i}", i)
                written.append(i)
                i += 1
            except Exception as e:  # noqa: BLE001 - recorded and asserted below
                errors.append(repr(e))
                time.sleep(0.05)
        w.close()

    t = threading.Thread(target=writer)
    t.start()
    try:
        for src, dst in ((pid, rid), (rid, pid)):
            redis_cli("--cluster", "reshard", f"127.0.0.1:{py.port}", "--cluster-from", src, "--cluster-to", dst,
                      "--cluster-slots", RESHARD_SLOTS, "--cluster-yes", timeout=200)
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:3]
    assert len(written) > 100
    with rc.pipeline() as p:
        for i in written:
            p.get(f"w:{i}")
        for i in range(2000):
            p.get(f"pre:{i}")
        values = p.execute()
    assert values == [str(i).encode() for i in written] + [str(i).encode() for i in range(2000)]
    out = redis_cli("--cluster", "check", f"127.0.0.1:{rd.port}")
    assert "[OK] All nodes agree about slots configuration." in out and "[OK] All 16384 slots covered." in out
    rc.close()
