"""Replication test support: real redis-server / pyredis processes linked as master and replica."""

from __future__ import annotations

import threading
import time

import redis

from support import ServerProcess

FAST = ["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1"]
LIBRARY = """#!lua name=repltest
redis.register_function('bump', function(keys, args)
  redis.call('incr', keys[1])
  return redis.call('hset', keys[2], args[1], args[2])
end)"""


class Node:
    """A server process with a redis-py client per db."""

    def __init__(self, kind: str, *args: str) -> None:
        self.kind = kind
        self.proc = ServerProcess(kind, [*FAST, *args])
        self.port = self.proc.port
        self.r = self.db(0)

    def db(self, n: int) -> redis.Redis:
        return redis.Redis(port=self.port, db=n, socket_timeout=20)

    def info(self, section: str = "replication") -> dict:
        return self.r.info(section)

    def log(self) -> str:
        try:
            with open(self.proc.cwd + "/server.log", encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    def stop(self) -> None:
        self.proc.stop()


def start(kind: str, *args: str) -> Node:
    return Node(kind, "--logfile", "server.log", *args)


def wait_for(cond, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except (redis.ConnectionError, redis.ResponseError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def link(replica: Node, master: Node) -> None:
    replica.r.execute_command("REPLICAOF", "127.0.0.1", master.port)
    wait_for(lambda: replica.info().get("master_link_status") == "up", what="master_link_status:up")


def wait_synced(master: Node, replica: Node, timeout: float = 20.0) -> None:
    """WAIT for the replica's ACK of everything written, then for its offset to match."""
    wait_for(lambda: master.r.execute_command("WAIT", 1, 1000) >= 1, timeout, "WAIT 1")
    wait_for(lambda: replica.info()["master_repl_offset"] == master.info()["master_repl_offset"], timeout,
             "equal offsets")


def dataset(node: Node) -> dict:
    """{(db, key): (DUMP, has_ttl)} over every db holding keys."""
    out = {}
    for name in node.info("keyspace"):
        n = int(name[2:])
        c = node.db(n)
        for k in c.keys("*"):
            d = c.dump(k)
            if d is not None:
                out[(n, k)] = (d, c.pttl(k) > 0)
    return out


def assert_same_data(a: Node, b: Node, settle: float = 5.0) -> None:
    """Same keys, TTL presence and values on both nodes. The key sets get *settle* seconds to agree: a key
    whose TTL ran out between the two snapshots is gone on one side until its DEL arrives on the other."""
    deadline = time.time() + settle
    while True:
        da, db_ = dataset(a), dataset(b)
        if sorted(da) == sorted(db_) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert sorted(da) == sorted(db_), set(da) ^ set(db_)
    for key, (dump, ttl) in da.items():
        assert db_[key][1] == ttl, key
        if dump != db_[key][0]:  # encodings may legitimately differ: compare what RESTORE makes of them
            assert _value(a, key) == _value(b, key), key
    if a.kind == b.kind == "pyredis" or a.kind == b.kind == "redis":
        assert a.r.execute_command("DEBUG", "DIGEST") == b.r.execute_command("DEBUG", "DIGEST")


def _value(node: Node, key: tuple[int, bytes]):
    c = node.db(key[0])
    k = key[1]
    t = c.type(k)
    if t == b"string":
        return c.get(k)
    if t == b"list":
        return c.lrange(k, 0, -1)
    if t == b"set":
        return sorted(c.smembers(k))
    if t == b"zset":
        return c.zrange(k, 0, -1, withscores=True)
    if t == b"hash":
        return sorted(c.hgetall(k).items())
    if t == b"stream":  # entries-read is not replicated (redis-server replicas show it as unknown too)
        groups = [(g["name"], g["last-delivered-id"], g["pending"], g["consumers"]) for g in c.xinfo_groups(k)]
        return c.xrange(k), groups
    return t


def write_everything(m: Node, tag: str) -> None:
    """One round of writes of every kind the replication stream must carry."""
    r = m.r
    r.set(f"{tag}:str", "v", ex=1000)
    r.set(f"{tag}:short", "gone", px=30)  # expires on the master: replicated as DEL
    r.incrbyfloat(f"{tag}:float", 1.25)
    r.getset(f"{tag}:str2", "x")
    r.rpush(f"{tag}:list", *[f"e{i}" for i in range(10)])
    r.lmove(f"{tag}:list", f"{tag}:list2", "LEFT", "RIGHT")
    r.sadd(f"{tag}:set", *range(20))
    r.spop(f"{tag}:set")
    r.spop(f"{tag}:set", 3)
    r.zadd(f"{tag}:zset", {f"m{i}": i / 3 for i in range(15)})
    r.zpopmin(f"{tag}:zset")
    r.hset(f"{tag}:hash", mapping={f"f{i}": i for i in range(8)})
    r.hincrbyfloat(f"{tag}:hash", "f1", 0.5)
    r.expire(f"{tag}:hash", 500)
    r.pfadd(f"{tag}:hll", *range(30))
    r.xadd(f"{tag}:stream", {"a": 1})
    r.xadd(f"{tag}:stream", {"b": 2}, maxlen=10, approximate=False)
    try:
        r.xgroup_create(f"{tag}:stream", "g", id="0")
    except redis.ResponseError:
        pass
    got = r.xreadgroup("g", "c1", {f"{tag}:stream": ">"}, count=1)
    if got and got[0][1]:
        r.xack(f"{tag}:stream", "g", got[0][1][0][0])
    p = r.pipeline(transaction=True)
    p.incr(f"{tag}:tx")
    p.lpush(f"{tag}:txlist", "a")
    p.execute()
    r.eval("redis.call('set', KEYS[1], ARGV[1]); return redis.call('incr', KEYS[2])", 2, f"{tag}:ev1",
           f"{tag}:ev2", "x")
    r.fcall("bump", 2, f"{tag}:fcnt", f"{tag}:fhash", "k", "v")
    c3 = m.db(3)
    c3.set(f"{tag}:db3", "three")
    c3.delete(f"{tag}:nothing")
    # A blocking pop served by a push from another client (propagated as the pop itself).
    res: list = []
    t = threading.Thread(target=lambda: res.append(m.db(0).blpop(f"{tag}:bq", 5)))
    t.start()
    wait_for(lambda: any(c.get("cmd") == "blpop" for c in r.client_list()), 5, "blocked client")
    r.rpush(f"{tag}:bq", "item")
    t.join()
    assert res and res[0] is not None


def prepare_master(m: Node) -> None:
    m.r.function_load(LIBRARY, replace=True)
    for i in range(200):
        m.r.set(f"pre:{i}", i)
    write_everything(m, "pre")
