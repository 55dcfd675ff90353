"""Replicas and failover in clusters of real processes, pyredis and redis-server replicating each other."""

from __future__ import annotations

import time

import pytest
from cluster_support import create_cluster, info_field, redis_cli, start_node, stop_all, wait_for

redis = pytest.importorskip("redis")
from redis.cluster import RedisCluster  # noqa: E402

pytestmark = pytest.mark.timeout(240)
TIMEOUT_MS = 2000
FAST_SYNC = ("--repl-diskless-sync-delay", "0")


def _myid(node) -> str:
    return node.client().call("CLUSTER", "MYID").split(b"\r\n")[1].decode()


def _role(node) -> bytes:
    return redis.Redis(port=node.port).execute_command("ROLE")[0]


def _add_replica(new, entry, master) -> None:
    redis_cli("--cluster", "add-node", f"127.0.0.1:{new.port}", f"127.0.0.1:{entry.port}", "--cluster-slave",
              "--cluster-master-id", _myid(master))


def _key_of(master) -> str:
    """A key written earlier (k:<i>) whose slot *master* owns."""
    for i in range(500):
        if not master.client().call("GET", f"k:{i}").startswith(b"-MOVED"):
            return f"k:{i}"
    raise AssertionError("no key on this master")


def _sees_as_replica(node, node_id: str) -> bool:
    """Whether *node*'s CLUSTER NODES lists *node_id* as a replica."""
    for line in node.client().call("CLUSTER", "NODES").decode().splitlines():
        fields = line.split()
        if fields and fields[0] == node_id:
            return "slave" in fields[2].split(",")
    return False


def _linked(replica) -> bool:
    return b"master_link_status:up" in replica.client().call("INFO", "replication")


def test_pyredis_cluster_with_replicas_created_by_redis_cli():
    taken: set[int] = set()
    nodes = [start_node("pyredis", taken, TIMEOUT_MS, FAST_SYNC) for _ in range(6)]
    try:
        create_cluster(nodes, replicas=1)
        wait_for(lambda: all(info_field(n, "cluster_state") == "ok" for n in nodes), what="cluster_state:ok")
        replicas = [n for n in nodes if _role(n) == b"slave"]
        assert len(replicas) == 3
        wait_for(lambda: all(_linked(r) for r in replicas), what="replication links")
        wait_for(lambda: "[OK] All nodes agree" in redis_cli("--cluster", "check", f"127.0.0.1:{nodes[0].port}"),
                 what="agreement")
        out = redis_cli("--cluster", "check", f"127.0.0.1:{nodes[0].port}")
        assert "[OK] All 16384 slots covered." in out and "1 slaves" in out
        rc = RedisCluster(host="127.0.0.1", port=nodes[0].port)
        for i in range(300):
            rc.set(f"r:{i}", i)
        # manual failover of one shard: CLUSTER FAILOVER on a replica (MFSTART handshake)
        replica = replicas[0]
        old_master = [n for n in nodes if _myid(n) == redis.Redis(port=replica.port).execute_command(
            "CLUSTER", "NODES").decode().split("myself,slave ", 1)[1].split()[0]][0]
        # the master must know its replica before the MFSTART handshake (it ignores MFSTART otherwise), and
        # the other masters must know it is a replica, or they deny their vote ("it is a master node")
        rid = _myid(replica)
        wait_for(lambda: all(_sees_as_replica(n, rid) for n in nodes), what="every node's view of the replica")
        assert replica.client().call("CLUSTER", "FAILOVER") == b"+OK\r\n"
        wait_for(lambda: _role(replica) == b"master" and _role(old_master) == b"slave", what="manual failover")
        wait_for(lambda: all(info_field(n, "cluster_state") == "ok" for n in nodes), what="cluster_state:ok")
        rc.close()
        rc = RedisCluster(host="127.0.0.1", port=replica.port)
        assert [rc.get(f"r:{i}") for i in range(300)] == [str(i).encode() for i in range(300)]
        rc.close()
    finally:
        stop_all(nodes)


def test_failover_across_implementations():
    """A redis-server replica takes over a killed pyredis master, and a pyredis replica a redis-server one."""
    taken: set[int] = set()
    p1, r2, p3 = (start_node(k, taken, TIMEOUT_MS, FAST_SYNC) for k in ("pyredis", "redis", "pyredis"))
    r4, p5 = start_node("redis", taken, TIMEOUT_MS, FAST_SYNC), start_node("pyredis", taken, TIMEOUT_MS, FAST_SYNC)
    nodes = [p1, r2, p3, r4, p5]
    try:
        create_cluster([p1, r2, p3])
        _add_replica(r4, p1, p1)  # redis-server replica of a pyredis master
        _add_replica(p5, p1, r2)  # pyredis replica of a redis-server master
        wait_for(lambda: _linked(r4) and _linked(p5), what="replication links")
        wait_for(lambda: all(info_field(n, "cluster_state") == "ok" for n in nodes), what="cluster_state:ok")
        for cmd in (("REPLICAOF", "127.0.0.1", "1"), ("CLUSTER", "REPLICATE", _myid(r4)),
                    ("CLUSTER", "FAILOVER")):
            assert p1.client().call(*cmd) == r2.client().call(*cmd), cmd
        rc = RedisCluster(host="127.0.0.1", port=p3.port)
        for i in range(500):
            rc.set(f"k:{i}", i)
        for m in (p1, r2):
            assert redis.Redis(port=m.port).execute_command("WAIT", "1", "5000") == 1
        # every node, pyredis or redis-server, describes the same shards and (now non-empty) replicas
        wait_for(lambda: len({n.client().call("CLUSTER", "SLOTS") for n in nodes}) == 1
                 and p1.client().call("CLUSTER", "SLOTS").count(b"127.0.0.1") == 5, what="same CLUSTER SLOTS")
        for replica, master in ((r4, p1), (p5, r2)):  # READONLY replicas serve reads, redirect writes
            key = _key_of(master)
            c = replica.client()
            assert c.call("READONLY") == b"+OK\r\n"
            assert c.call("GET", key) == master.client().call("GET", key)
            assert c.call("SET", key, "x").startswith(b"-MOVED")
            assert c.call("EVAL", "#!lua\nreturn redis.call('del', KEYS[1])", "1", key).startswith(b"-MOVED")
            assert c.call("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", key) == (
                master.client().call("GET", key))
        for dead, heir in ((p1, r4), (r2, p5)):
            dead.proc.kill()
            dead.proc.wait()
            t0 = time.time()
            wait_for(lambda heir=heir: _role(heir) == b"master", timeout=10 * TIMEOUT_MS / 1000,
                     what="promotion")
            wait_for(lambda: info_field(p3, "cluster_state") == "ok", timeout=10 * TIMEOUT_MS / 1000,
                     what="cluster_state:ok")
            assert time.time() - t0 < 10 * TIMEOUT_MS / 1000
        rc.close()
        rc = RedisCluster(host="127.0.0.1", port=p3.port)
        assert [rc.get(f"k:{i}") for i in range(500)] == [str(i).encode() for i in range(500)]
        view = redis.Redis(port=p3.port).execute_command("CLUSTER", "NODES").decode()
        assert view.count("master,fail") == 2
        rc.close()
    finally:
        stop_all(nodes)
