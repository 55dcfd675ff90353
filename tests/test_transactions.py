"""MULTI/EXEC/DISCARD/WATCH/UNWATCH: differential replies, WATCH invalidation rules, redis-py pipelines."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_basics_and_errors(diff):
    diff.lines("""
        RPUSH mylist a b c
        MULTI
        LRANGE mylist 0 -1
        PING
        EXEC
        MULTI
        DEL mylist
        DISCARD
        LRANGE mylist 0 -1
        MULTI
        MULTI
        SET a 1
        EXEC
        MULTI
        WATCH x
        EXEC
        EXEC
        DISCARD
        WATCH
        UNWATCH x
        MULTI x
        EXEC x
        DISCARD x
        UNWATCH
        MULTI
        EXEC
    """)


def test_execabort(diff):
    diff.lines("""
        MULTI
        SET foo1 bar1
        NONEXISTING-COMMAND
        SET foo2 bar2
        EXEC
        EXISTS foo1 foo2
        PING
        MULTI
        SET a
        GET a
        EXEC
        MULTI
        EXEC x
        MULTI
        SUBSCRIBE x y
        GET a
        EXEC
        MULTI
        MONITOR
        EXEC
    """)


def test_runtime_errors_do_not_stop_others(diff):
    diff.lines("""
        SET s str
        MULTI
        SET a 1
        INCR s
        LPUSH s x
        INCR a
        EXEC
        SADD myset a
        MULTI
        SPOP myset
        EXEC
        EXISTS myset
    """)


def test_resp3_exec(diff):
    for c in (diff.r, diff.p):
        c.call("HELLO", "3")
    diff.lines("""
        WATCH k
        SET k 1
        MULTI
        GET k
        EXEC
        MULTI
        HSET h f v
        HGETALL h
        INCRBYFLOAT f 1.5
        EXEC
    """)


def test_watch_rules(diff):
    diff.lines("""
        WATCH x y z
        WATCH k
        MULTI
        PING
        EXEC
        SET x 30
        WATCH x
        SET x 40
        MULTI
        PING
        EXEC
        MULTI
        PING
        EXEC
        WATCH x
        SET x 40
        UNWATCH
        MULTI
        PING
        EXEC
        WATCH x
        SET x 10
        MULTI
        DISCARD
        MULTI
        INCR x
        EXEC
        DEL x
        WATCH x
        FLUSHALL
        MULTI
        PING
        EXEC
        SET x 30
        WATCH x
        FLUSHDB
        MULTI
        PING
        EXEC
        SET x foo
        WATCH x
        EXPIRE x 10
        MULTI
        PING
        EXEC
        LPUSH foo bar
        WATCH foo
        SORT emptylist STORE foo
        MULTI
        PING
        EXEC
        SET r1 v
        WATCH r2
        RENAME r1 r2
        MULTI
        PING
        EXEC
    """)


def test_watch_remembers_db_and_swapdb(diff):
    diff.lines("""
        SELECT 5
        SET x 30
        WATCH x
        SELECT 1
        SET x 10
        SELECT 5
        MULTI
        PING
        EXEC
        FLUSHALL
        SELECT 0
        SET x 30
        WATCH x
        SWAPDB 0 1
        MULTI
        PING
        EXEC
        FLUSHALL
        SELECT 1
        SET x 30
        SELECT 0
        WATCH x
        SWAPDB 0 1
        MULTI
        PING
        EXEC
        FLUSHALL
        SELECT 9
    """)


def _stale(diff, *cmds):
    for c in (diff.r, diff.p):
        c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        diff.lines("\n".join(cmds))
    finally:
        for c in (diff.r, diff.p):
            c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_watch_stale_keys(diff):
    _stale(diff, "SET x foo PX 1")
    time.sleep(0.01)
    _stale(diff, "WATCH x", "MULTI", "PING", "EXEC")
    _stale(diff, "SET x foo PX 1")
    time.sleep(0.01)
    _stale(diff, "WATCH x", "EXISTS x", "MULTI", "PING", "EXEC")
    _stale(diff, "SET x foo PX 1")
    time.sleep(0.01)
    _stale(diff, "WATCH x", "FLUSHDB", "MULTI", "PING", "EXEC")
    _stale(diff, "SET x foo PX 1")
    time.sleep(0.01)
    _stale(diff, "WATCH x", "SET x new", "MULTI", "PING", "EXEC")


def test_watch_key_expiring_after_watch(diff):
    _stale(diff, "SET key 1 PX 50", "WATCH key")
    time.sleep(0.1)
    _stale(diff, "MULTI", "INCR key", "EXEC")


def test_swapdb_stale_cases(diff):
    _stale(diff, "FLUSHALL", "SELECT 1", "SET x foo PX 1")
    time.sleep(0.01)
    _stale(diff, "WATCH x", "SWAPDB 0 1", "MULTI", "PING", "EXEC")
    _stale(diff, "FLUSHALL", "SELECT 0", "SET x foo PX 1")
    time.sleep(0.01)
    _stale(diff, "SELECT 1", "WATCH x", "SWAPDB 0 1", "MULTI", "PING", "EXEC")
    _stale(diff, "FLUSHALL", "SELECT 1", "SET x foo PX 1", "SELECT 0", "SET x bar PX 1")
    time.sleep(0.01)
    _stale(diff, "SELECT 1", "WATCH x", "SWAPDB 0 1", "MULTI", "PING", "EXEC", "FLUSHALL", "SELECT 9")


def test_watch_broken_by_other_client(redis_proc, pyredis_proc):
    for proc in (redis_proc, pyredis_proc):
        a, b = proc.client(), proc.client()
        a.call("SET", "w", "1")
        a.call("WATCH", "w")
        b.call("APPEND", "w", "2")
        a.call("MULTI")
        a.call("SET", "w", "3")
        assert a.call("EXEC") == b"*-1\r\n"
        assert b"dirty" not in a.call("CLIENT", "INFO")
        a.close()
        b.close()


def test_client_list_flags_in_multi(pyr, pyredis_proc):
    pyr.call("MULTI")
    pyr.call("SET", "a", "1")
    other = pyredis_proc.client()
    listing = other.call("CLIENT", "LIST")
    assert b"flags=x" in listing and b"multi=1" in listing
    pyr.call("DISCARD")
    other.close()


# -- redis-py ------------------------------------------------------------------------------------
def test_redis_py_pipeline_and_transaction(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port)
    r.flushall()
    with r.pipeline(transaction=True) as p:
        p.set("a", 1).incr("a").lpush("l", "x").get("a")
        assert p.execute() == [True, 2, 1, b"2"]
    with r.pipeline(transaction=True) as p:
        p.set("s", "str").incr("s").get("s")
        res = p.execute(raise_on_error=False)
        assert res[0] is True and isinstance(res[1], redis.ResponseError) and res[2] == b"str"

    def incr_twice(pipe):
        v = int(pipe.get("counter") or 0)
        pipe.multi()
        pipe.set("counter", v + 2)

    for _ in range(5):
        r.transaction(incr_twice, "counter")
    assert r.get("counter") == b"10"
    r.close()


def test_redis_py_transaction_retry_loop(pyredis_proc):
    """Concurrent optimistic increments with WATCH: no lost update."""
    n_threads, per_thread = 4, 25

    def worker():
        c = redis.Redis(port=pyredis_proc.port)
        for _ in range(per_thread):
            def fn(pipe):
                v = int(pipe.get("cnt") or 0)
                pipe.multi()
                pipe.set("cnt", v + 1)
            c.transaction(fn, "cnt")
        c.close()

    r = redis.Redis(port=pyredis_proc.port)
    r.delete("cnt")
    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert int(r.get("cnt")) == n_threads * per_thread
    r.close()


def test_redis_py_watch_error(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port)
    r.set("wk", 1)
    with r.pipeline() as p:
        p.watch("wk")
        r.set("wk", 2)
        p.multi()
        p.set("wk", 3)
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("wk") == b"2"
    r.close()


# -- random sequences --------------------------------------------------------------------------
_CMDS = st.sampled_from([
    ("MULTI",), ("EXEC",), ("DISCARD",), ("WATCH", "k1"), ("WATCH", "k1", "k2"), ("UNWATCH",),
    ("SET", "k1", "v"), ("INCR", "k2"), ("DEL", "k1"), ("GET", "k1"), ("LPUSH", "k2", "x"),
    ("NOPE",), ("SET", "k1"), ("EXPIRE", "k1", "100"), ("FLUSHDB",), ("PING",),
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_CMDS, min_size=1, max_size=25))
def test_random_transaction_sequences(diff, cmds):
    for c in (diff.r, diff.p):
        c.call("RESET")
        c.call("SELECT", "9")
        c.call("FLUSHDB")
    for cmd in cmds:
        diff.check(*cmd)
