"""maxmemory: OOM refusals (byte-identical to redis-server), eviction policies, evicted events,
INFO evicted_keys and the used_memory estimate. Uses private servers (CONFIG SET maxmemory)."""

from __future__ import annotations

import random
import time

import pytest
import redis

from support import RawClient, ServerProcess

OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
POLICIES = ["allkeys-random", "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "volatile-random",
            "volatile-ttl"]


@pytest.fixture(scope="module")
def servers():
    r = ServerProcess("redis")
    p = ServerProcess("pyredis")
    yield r, p
    r.stop()
    p.stop()


@pytest.fixture
def both(servers):
    """Raw clients to (redis-server, pyredis), flushed, maxmemory reset afterwards."""
    clients = [s.client() for s in servers]
    for c in clients:
        c.call("CONFIG", "SET", "maxmemory", "0")
        c.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
        c.call("FLUSHALL")
    yield clients
    for c in clients:
        c.call("CONFIG", "SET", "maxmemory", "0")
        c.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
        c.call("CONFIG", "SET", "notify-keyspace-events", "")
        c.close()


@pytest.fixture
def py(servers):
    """redis-py client to pyredis, flushed, stats reset, maxmemory reset afterwards."""
    c = redis.Redis(port=servers[1].port)
    c.config_set("maxmemory", 0)
    c.config_set("maxmemory-policy", "noeviction")
    c.flushall()
    c.config_resetstat()
    yield c
    c.config_set("maxmemory", 0)
    c.config_set("maxmemory-policy", "noeviction")
    c.config_set("maxmemory-samples", 5)
    c.config_set("notify-keyspace-events", "")
    c.close()


def same(clients: list[RawClient], *args: object) -> bytes:
    r, p = (c.call(*args) for c in clients)
    assert p == r, (args, r, p)
    return r


def used(c: redis.Redis) -> int:
    return c.info("memory")["used_memory"]


def settled_base(c: redis.Redis) -> int:
    """used_memory once only this client is connected (a previous test's clients, closed on its
    side, still hold their buffers in the estimate until the server has seen them go)."""
    deadline = time.time() + 10
    while c.info("clients")["connected_clients"] > 1 and time.time() < deadline:
        time.sleep(0.02)
    return used(c)


# -- OOM refusals -----------------------------------------------------------------------------------
def test_oom_error_text_noeviction(both):
    same(both, "SET", "x", "value")
    same(both, "CONFIG", "SET", "maxmemory", "1")
    assert same(both, "SET", "y", "1") == OOM
    assert same(both, "LPUSH", "l", "a") == OOM
    assert same(both, "APPEND", "x", "a") == OOM
    same(both, "GET", "x")
    same(both, "DEL", "nosuch")  # DEL is not denyoom
    same(both, "PING")
    same(both, "EVAL", "redis.call('set','x',1)", "0")
    same(both, "EVAL", "return redis.call('get','x')", "0")
    same(both, "EVAL", "#!lua\nreturn redis.call('get','x')", "0")
    same(both, "EVAL", "#!lua flags=allow-oom\nreturn redis.call('set','z','1')", "0")
    same(both, "FUNCTION", "LOAD", "#!lua name=t\nredis.register_function('f', function() return 1 end)")
    same(both, "INFO", "nosuchsection")
    same(both, "CONFIG", "SET", "maxmemory", "0")
    same(both, "SET", "y", "1")


def test_oom_inside_multi(both):
    same(both, "SET", "x", "value")
    same(both, "CONFIG", "SET", "maxmemory", "1")
    same(both, "MULTI")
    assert same(both, "SET", "a", "1") == OOM
    assert same(both, "GET", "x") == OOM  # anything queued is refused
    same(both, "DISCARD")
    same(both, "MULTI")
    same(both, "PING")
    same(both, "EXEC")  # nothing refused: EXECABORT for the earlier error? no, a new transaction
    same(both, "CONFIG", "SET", "maxmemory", "0")


def test_small_integers_are_not_shared_under_lru_lfu_policies(both):
    """OBJECT REFCOUNT of 0..9999: shared (2147483647) without maxmemory or with a policy other than
    LRU/LFU; a value of its own (1) when maxmemory is set with an LRU or LFU policy."""
    same(both, "SET", "a", "1")
    same(both, "OBJECT", "REFCOUNT", "a")
    same(both, "CONFIG", "SET", "maxmemory", "1073741824")
    for policy in ("allkeys-random", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-ttl", "volatile-lfu"):
        same(both, "CONFIG", "SET", "maxmemory-policy", policy)
        for key, value in (("a", "1"), ("b", "9999"), ("c", "10000"), ("d", "-1")):
            same(both, "SET", key, value)
            same(both, "OBJECT", "REFCOUNT", key)
        same(both, "INCR", "b")  # 10000: never shared
        same(both, "OBJECT", "REFCOUNT", "b")


def test_exec_refused_when_queue_has_denyoom(servers, both):
    for s, c in zip(servers, both, strict=True):
        c.call("MULTI")
        c.call("SET", "x", "1")
        c.call("GET", "x")
        other = s.client()
        other.call("CONFIG", "SET", "maxmemory", "1")
        other.close()
    same(both, "EXEC")
    same(both, "MULTI")
    same(both, "EXEC")
    for s, c in zip(servers, both, strict=True):
        c.call("CONFIG", "SET", "maxmemory", "0")
        c.call("SET", "x", "value")
        c.call("MULTI")
        c.call("GET", "x")
        c.call("PING")
        other = s.client()
        other.call("CONFIG", "SET", "maxmemory", "1")
        other.close()
    same(both, "EXEC")  # read-only transaction runs


def test_volatile_policy_without_volatile_keys_fails(both):
    same(both, "SET", "x", "value")
    same(both, "CONFIG", "SET", "maxmemory-policy", "volatile-lru")
    same(both, "CONFIG", "SET", "maxmemory", "1")
    assert same(both, "SET", "y", "1") == OOM
    same(both, "EXISTS", "x")
    same(both, "INFO", "nosuchsection")


# -- eviction -----------------------------------------------------------------------------------------
def _fill_until_limit(c: redis.Redis, volatile: bool | None) -> int:
    """Add keys until used_memory is about at maxmemory (the redis test suite's recipe)."""
    limit = int(c.config_get("maxmemory")["maxmemory"])
    n = 0
    while True:
        key = "key:%d" % n
        if volatile is None:
            c.set(key, "x") if n % 2 == 0 else c.set(key, "x", ex=10000)
        elif volatile:
            c.set(key, "x", ex=10000)
        else:
            c.set(key, "x")
        n += 1
        if used(c) + 4096 > limit:
            return n


@pytest.mark.parametrize("policy", POLICIES)
def test_memory_limit_honoured(py, policy):
    limit = used(py) + 100 * 1024
    py.config_set("maxmemory", limit)
    py.config_set("maxmemory-policy", policy)
    n = _fill_until_limit(py, True)
    assert n > 10
    for j in range(n):
        py.set("more:%d" % j, "x", ex=10000)
    assert used(py) < limit + 4096
    assert py.info("stats")["evicted_keys"] > 0
    assert py.dbsize() < 2 * n


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
def test_volatile_policies_keep_persistent_keys(py, policy):
    limit = used(py) + 100 * 1024
    py.config_set("maxmemory", limit)
    py.config_set("maxmemory-policy", policy)
    n = _fill_until_limit(py, None)
    for j in range(n):
        py.set("foo:%d" % j, "x", ex=10000)
    assert used(py) < limit + 4096
    for j in range(0, n, 2):
        assert py.exists("key:%d" % j)


@pytest.mark.parametrize("policy", ["allkeys-random", "allkeys-lru", "volatile-lru", "volatile-random"])
def test_only_allkeys_evicts_persistent_keys(py, policy):
    limit = used(py) + 100 * 1024
    py.config_set("maxmemory", limit)
    py.config_set("maxmemory-policy", policy)
    n = _fill_until_limit(py, False)
    err = False
    for j in range(n):
        try:
            py.set("more:%d" % j, "x")
        except redis.exceptions.ResponseError as e:
            assert str(e) == "command not allowed when used memory > 'maxmemory'."
            err = True
    if policy.startswith("allkeys"):
        assert used(py) < limit + 4096 and not err
    else:
        assert err


def test_volatile_ttl_evicts_soonest_expiring(py):
    for i in range(200):
        py.set("p:%d" % i, "x" * 50, ex=1000 + i * 10)
    base = settled_base(py)
    # volatile-ttl is approximated from random samples: with the default 5 the first victim is one of
    # the 80 longest-lived keys about once in a hundred runs; 64 samples make that ~0.4**64.
    py.config_set("maxmemory-samples", 64)
    py.config_set("maxmemory-policy", "volatile-ttl")
    py.config_set("maxmemory", base - 50 * 150)  # about 50 keys too many
    py.set("trigger", "1")
    gone = [i for i in range(200) if not py.exists("p:%d" % i)]
    assert gone and max(gone) < 120  # the keys with the longest TTLs survive
    assert all(py.exists("p:%d" % i) for i in range(150, 200))


def test_allkeys_lru_keeps_recently_used(py):
    for i in range(300):
        py.set("k:%d" % i, "x" * 100)
    hot = ["k:%d" % i for i in range(0, 300, 10)]
    time.sleep(1.1)  # LRU clock resolution
    py.config_set("maxmemory-policy", "allkeys-lru")
    for k in hot:
        py.get(k)
    py.config_set("maxmemory", used(py) - 150 * 190)
    py.set("trigger", "1")
    assert 0 < py.dbsize() < 300
    survivors = sum(py.exists(k) for k in hot)
    assert survivors >= len(hot) * 0.8


def test_lowering_maxmemory_evicts_and_notifies(py, servers):
    py.config_set("notify-keyspace-events", "Ee")
    py.config_set("maxmemory-policy", "allkeys-lru")
    py.set("foo", "bar")
    ps = py.pubsub()
    ps.psubscribe("*")
    assert ps.get_message(timeout=2)["type"] == "psubscribe"
    py.config_set("maxmemory", 1)
    msg = ps.get_message(timeout=2)
    assert msg["channel"] == b"__keyevent@0__:evicted" and msg["data"] == b"foo"
    ps.close()
    assert py.info("stats")["evicted_keys"] == 1
    py.config_resetstat()
    assert py.info("stats")["evicted_keys"] == 0


def test_evicted_events_match_redis(both, servers):
    subs = [s.client() for s in servers]
    for c, sub in zip(both, subs, strict=True):
        c.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        c.call("SET", "k", "v")
        c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        sub.call("SUBSCRIBE", "__keyspace@0__:k", "__keyevent@0__:evicted", "__keyevent@0__:del")
        sub.read_reply()
        sub.read_reply()
        c.call("CONFIG", "SET", "maxmemory", "1")
        c.call("PING")
    got = [[sub.read_reply(), sub.read_reply()] for sub in subs]
    assert got[0] == got[1]
    same(both, "DBSIZE")
    for sub in subs:
        sub.close()


def test_eviction_invalidates_watch(py, servers):
    py.set("w", "1")
    raw = servers[1].client()
    raw.call("WATCH", "w")
    py.config_set("maxmemory-policy", "allkeys-random")
    py.config_set("maxmemory", 1)
    py.ping()
    py.config_set("maxmemory", 0)
    raw.call("MULTI")
    raw.call("PING")
    assert raw.call("EXEC") == b"*-1\r\n"
    raw.close()


def test_eviction_propagates_del_to_aof(tmp_path):
    p = ServerProcess("pyredis", ["--appendonly", "yes", "--appendfsync", "always"], cwd=str(tmp_path))
    try:
        c = redis.Redis(port=p.port)
        c.set("victim", "x" * 100)
        c.config_set("maxmemory-policy", "allkeys-random")
        c.config_set("maxmemory", 1)
        c.ping()
        assert c.dbsize() == 0
        c.config_set("maxmemory", 0)
        c.close()
    finally:
        p.stop()
    data = b"".join(f.read_bytes() for f in tmp_path.rglob("*.aof") if f.is_file())
    assert b"victim" in data and (b"$3\r\nDEL\r\n$6\r\nvictim" in data or b"DEL" in data.upper())


# -- LFU ------------------------------------------------------------------------------------------------
def test_lfu_counters_match_redis(both):
    same(both, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    same(both, "SET", "foo", "bar")
    same(both, "OBJECT", "FREQ", "foo")
    same(both, "GET", "foo")
    same(both, "OBJECT", "FREQ", "foo")
    same(both, "LPUSH", "l", "a")
    same(both, "OBJECT", "FREQ", "l")
    dump = both[0].call("DUMP", "foo")
    payload = dump.split(b"\r\n", 1)[1][:-2]
    same(both, "DEL", "foo")
    same(both, "RESTORE", "foo", "0", payload, "FREQ", "100")
    same(both, "OBJECT", "FREQ", "foo")
    same(both, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    same(both, "OBJECT", "FREQ", "foo")


def test_lfu_counter_grows_logarithmically(py):
    py.config_set("maxmemory-policy", "allkeys-lfu")
    py.set("hot", "1")
    for _ in range(200):
        py.get("hot")
    freq = py.object("freq", "hot")
    assert 8 <= freq <= 16  # log factor 10: about 10 after 100 hits, 18 after 1000
    py.flushall()
    py.set("hot", "1")
    py.get("hot")
    assert py.object("freq", "hot") == 6  # the clock survives FLUSHALL


def test_allkeys_lfu_keeps_frequent_keys(py):
    py.config_set("maxmemory-policy", "allkeys-lfu")
    for i in range(300):
        py.set("k:%d" % i, "x" * 100)
    hot = ["k:%d" % i for i in range(0, 300, 10)]
    for _ in range(20):
        for k in hot:
            py.get(k)
    py.config_set("maxmemory", used(py) - 150 * 190)
    py.set("trigger", "1")
    assert sum(py.exists(k) for k in hot) >= len(hot) * 0.8


# -- used_memory -------------------------------------------------------------------------------------
def test_used_memory_follows_dataset(py):
    base = settled_base(py)
    assert 500_000 < base < 2_000_000
    p = py.pipeline(transaction=False)
    for i in range(2000):
        p.set("s:%d" % i, "x" * 1000)
    p.execute()
    full = used(py)
    assert 1_800_000 < full - base < 2_600_000
    py.delete(*["s:%d" % i for i in range(1000)])
    half = used(py)
    assert abs((half - base) - (full - base) / 2) < (full - base) * 0.15
    py.flushall()
    assert used(py) == base


def test_used_memory_collections(py):
    base = settled_base(py)
    py.hset("h", mapping={"f%d" % i: "v" * 20 for i in range(1000)})
    py.rpush("l", *["e" * 20 for _ in range(1000)])
    py.sadd("s", *["m%d" % i for i in range(1000)])
    py.zadd("z", {"m%d" % i: i for i in range(1000)})
    py.xadd("st", {"a": "1"})
    grown = used(py) - base
    assert 60_000 < grown < 600_000
    py.delete("h", "l", "s", "z", "st")
    assert used(py) == base


def test_random_policy_sequences(py):
    """Random writes under a limit with every policy: the server stays within bounds and alive."""
    rnd = random.Random(7)
    base = used(py)
    for policy in POLICIES:
        py.flushall()
        py.config_set("maxmemory", base + 50 * 1024)
        py.config_set("maxmemory-policy", policy)
        for _ in range(600):
            op = rnd.random()
            k = "k%d" % rnd.randrange(400)
            try:
                if op < 0.4:
                    py.set(k, "x" * rnd.randrange(1, 300), ex=rnd.choice([None, 1000]))
                elif op < 0.6:
                    py.rpush("l" + k, *["e"] * rnd.randrange(1, 20))
                elif op < 0.8:
                    py.get(k)
                else:
                    py.delete(k)
            except redis.exceptions.ResponseError as e:
                assert policy.startswith("volatile") and "maxmemory" in str(e)
        assert used(py) < base + 50 * 1024 + 4096
    py.config_set("maxmemory", 0)


def test_used_memory_of_a_small_dataset_is_steady(py):
    """A database of a couple of thousand keys of very different sizes is measured whole: the estimate
    does not move between refreshes while nothing changes (the suite fills up to within 4 KB of maxmemory)."""
    pipe = py.pipeline(transaction=False)
    for i in range(1500):
        pipe.set(f"k{i}" * (1 + (i * 7919) % 40), "x")
    pipe.execute()
    seen = set()
    for _ in range(8):
        mem = py.info("memory")
        seen.add(mem["used_memory"] - mem["mem_clients_normal"])  # (the pipeline's query buffer shrinks)
        time.sleep(0.12)  # past the estimate's refresh interval
    assert len(seen) == 1, seen
