"""Differential tests: set commands against redis-server (replies, errors, RESP3, random sequences)."""

from __future__ import annotations

import pytest
import redis
from events_support import check_events, check_keyspace_stats, check_propagation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import _split_array


def _check(diff, *cmd) -> None:
    """Compare replies; order-insensitive for arrays (hashtable sets iterate in arbitrary order)."""
    r, p = diff.both(*cmd)
    if r[:1] in (b"*", b"~") and not r.startswith(b"*-1"):
        if cmd[0].upper() in ("SSCAN",):
            r, p = r[r.index(b"\r\n*", 5) + 2 :], p[p.index(b"\r\n*", 5) + 2 :]
        assert r[:1] == p[:1] and sorted(_split_array(p)) == sorted(_split_array(r)), (cmd, r, p)
    else:
        assert p == r, (cmd, r, p)


def test_sadd_srem_members(diff):
    diff.lines("""
        SADD s 3 1 2
        SADD s 2 4
        SMEMBERS s
        SCARD s
        SISMEMBER s 1
        SISMEMBER s 9
        SISMEMBER nosuch 1
        SMISMEMBER s 1 9 2
        SMISMEMBER nosuch 1 2
        SREM s 1 9
        SREM s 9
        SMEMBERS s
        SREM s 2 3 4
        EXISTS s
        SREM nosuch a
        SCARD nosuch
        SMEMBERS nosuch
        SADD s -5 10 -9223372036854775808 9223372036854775807 0
        SMEMBERS s
        SADD
        SADD s
        SREM s
        SMISMEMBER s
        SISMEMBER s
    """)


def test_wrongtype(diff):
    diff.lines("""
        SET str x
        SADD str a
        SREM str a
        SCARD str
        SISMEMBER str a
        SMISMEMBER str a
        SMEMBERS str
        SRANDMEMBER str
        SRANDMEMBER str 2
        SPOP str
        SPOP str 2
        SPOP str abc
        SMOVE str s a
        SADD s a
        SMOVE s str a
        SMOVE nosuch str a
        SINTER s str
        SINTER nosuch str
        SINTER str nosuch
        SINTERSTORE d s str
        SINTERSTORE d nosuch str
        SINTERCARD 2 s str
        SINTERCARD 2 nosuch str
        SUNION s str
        SUNION nosuch str
        SUNIONSTORE d s str
        SDIFF s str
        SDIFF str s
        SDIFF nosuch str
        SDIFFSTORE d s str
        SSCAN str 0
        SSCAN str abc
    """)


def test_intset_order_and_encoding(diff):
    diff.lines("""
        SADD s 5 -1 100 3 0
        SMEMBERS s
        OBJECT ENCODING s
        SADD s a
        OBJECT ENCODING s
        SREM s a
        OBJECT ENCODING s
        SADD n 01 1
        OBJECT ENCODING n
        SADD m -0
        OBJECT ENCODING m
        SADD big 9223372036854775808
        OBJECT ENCODING big
        SADD neg -9223372036854775808
        OBJECT ENCODING neg
        CONFIG SET set-max-intset-entries 4
        SADD t 1 2 3 4
        OBJECT ENCODING t
        SADD t 5
        OBJECT ENCODING t
        SREM t 5 4
        OBJECT ENCODING t
        SADD u 1 2 3 4 5
        OBJECT ENCODING u
        CONFIG SET set-max-intset-entries 512
        SADD x a 1
        OBJECT ENCODING x
        SINTERSTORE y s s
        OBJECT ENCODING y
        SMEMBERS y
        SUNIONSTORE z s n
        OBJECT ENCODING z
        SMOVE s fresh 5
        OBJECT ENCODING fresh
        SADD w a
        SMOVE w fresh2 a
        OBJECT ENCODING fresh2
        SADD v 1
        SMOVE v fresh2 1
        OBJECT ENCODING fresh2
        SSCAN y 0
        SSCAN y 0 MATCH 1*
    """)
    _check(diff, "SSCAN", "s", "0")


def test_srandmember_deterministic(diff):
    diff.lines("""
        SADD s 3 1 2
        SRANDMEMBER s 3
        SRANDMEMBER s 10
        SRANDMEMBER s 0
        SRANDMEMBER nosuch
        SRANDMEMBER nosuch 5
        SRANDMEMBER nosuch -5
        SRANDMEMBER s abc
        SRANDMEMBER nosuch abc
        SRANDMEMBER s 1 2
        SRANDMEMBER s -9223372036854775808
        SADD one x
        SRANDMEMBER one
        SRANDMEMBER one -3
        SRANDMEMBER one 2
    """)


def test_spop_deterministic(diff):
    diff.lines("""
        SADD s 3 1 2
        SPOP s 0
        SPOP s -1
        SPOP s abc
        SPOP s 1 2
        SPOP s 3
        EXISTS s
        SPOP nosuch
        SPOP nosuch 3
        SPOP nosuch 0
        SPOP nosuch -1
        SADD one x
        SPOP one
        EXISTS one
        SADD two 5 6
        SPOP two 100
        EXISTS two
    """)


def test_random_members_are_members(diff, pyr):
    members = {f"m{i}".encode() for i in range(100)} | {str(i).encode() for i in range(30)}
    pyr.call("SADD", "s", *members)
    pyr.call("SADD", "i", *range(50))
    cl = redis.Redis(port=pyr.sock.getpeername()[1])
    try:
        assert cl.srandmember("s") in members
        few = cl.srandmember("s", 20)
        assert len(few) == 20 and len(set(few)) == 20 and set(few) <= members
        many = cl.srandmember("s", -300)
        assert len(many) == 300 and set(many) <= members
        assert len(set(cl.srandmember("i", -500))) > 30
        popped = cl.spop("s", 30)
        assert len(popped) == 30 and len(set(popped)) == 30 and set(popped) <= members
        assert cl.scard("s") == 100 and not (set(popped) & set(cl.smembers("s")))
        one = cl.spop("s")
        assert one in members and not cl.sismember("s", one)
        rest = cl.spop("s", 1000)
        assert len(rest) == 99 and not cl.exists("s")
    finally:
        cl.close()


def test_smove(diff):
    diff.lines("""
        SADD a 1 2 x
        SADD b 3
        SMOVE a b 1
        SMOVE a b 1
        SMOVE a b 3
        SMOVE a a 2
        SMOVE a a 9
        SMOVE nosuch a 2
        SMOVE a c x
        SMEMBERS c
        SADD b 2
        SMOVE a b 2
        EXISTS a
        SMEMBERS b
        SMOVE a
    """)


def test_algebra(diff):
    diff.lines("""
        SADD a 1 2 3 4
        SADD b 3 4 5
        SADD c 4 5 6 7
        SADD x a b c 4
        SINTER a b
        SINTER a b c
        SINTER a nosuch
        SINTER nosuch a
        SINTER a
        SUNION a b
        SUNION a b c
        SUNION nosuch a
        SUNION nosuch
        SDIFF a b
        SDIFF a b c
        SDIFF nosuch a
        SDIFF a nosuch
        SDIFF a a
        SINTERCARD 2 a b
        SINTERCARD 3 a b c
        SINTERCARD 1 a
        SINTERCARD 2 a nosuch
        SINTERCARD 2 a b LIMIT 1
        SINTERCARD 2 a b LIMIT 0
        SINTERCARD 2 a b LIMIT 10
        SINTERCARD 0 a
        SINTERCARD -1 a
        SINTERCARD abc a
        SINTERCARD 3 a b
        SINTERCARD 2 a b LIMIT -1
        SINTERCARD 2 a b LIMIT abc
        SINTERCARD 2 a b LIMIT
        SINTERCARD 2 a b FOO 1
        SINTERCARD 1 a b
        SINTERSTORE d a b
        SMEMBERS d
        SINTERSTORE d a nosuch
        EXISTS d
        SINTERSTORE d a nosuch
        SUNIONSTORE d a b
        SMEMBERS d
        SDIFFSTORE d a b
        SMEMBERS d
        SDIFFSTORE d a a
        EXISTS d
        SET d str
        SUNIONSTORE d a
        TYPE d
        SET d str
        EXPIRE d 100
        SINTERSTORE d a b
        TTL d
        SDIFFSTORE d nosuch
        EXISTS d
        SINTER
        SINTERSTORE d
        SUNIONSTORE d
        SDIFFSTORE d
        SINTERCARD 1
    """)
    for cmd in (("SINTER", "a", "x"), ("SUNION", "a", "x"), ("SDIFF", "x", "a"), ("SUNION", "x", "c")):
        _check(diff, *cmd)


def test_algebra_hashtable(diff):
    a = [f"e{i}" for i in range(200)]
    b = [f"e{i}" for i in range(100, 300)]
    diff.check("SADD", "a", *a)
    diff.check("SADD", "b", *b)
    diff.check("SADD", "i", *range(150))
    for cmd in (("SINTER", "a", "b"), ("SUNION", "a", "b", "i"), ("SDIFF", "a", "b"), ("SDIFF", "b", "a", "i"),
                ("SMEMBERS", "a"), ("SINTER", "i", "i")):
        _check(diff, *cmd)
    diff.check("SINTERCARD", 2, "a", "b")
    diff.check("SINTERCARD", 2, "a", "b", "LIMIT", 7)
    diff.check("SUNIONSTORE", "u", "a", "b", "i")
    diff.check("OBJECT", "ENCODING", "u")
    diff.check("SCARD", "u")


@pytest.mark.parametrize("resp", ["2", "3"])
def test_resp_shapes(diff, resp):
    diff.hello(resp)
    diff.lines("""
        SADD s 1 2 3
        SMEMBERS s
        SMEMBERS nosuch
        SINTER s s
        SINTER s nosuch
        SUNION s nosuch
        SDIFF s nosuch
        SDIFF nosuch s
        SMISMEMBER s 1 5
        SRANDMEMBER s 5
        SRANDMEMBER nosuch
        SRANDMEMBER nosuch 3
        SPOP nosuch
        SPOP nosuch 2
        SPOP s 0
        SSCAN s 0
        SSCAN nosuch 0
        SPOP s 3
    """)


def test_sscan(diff, pyr):
    diff.lines("""
        SADD s 1 2 3
        SSCAN s abc
        SSCAN s -1
        SSCAN s 0 COUNT 0
        SSCAN s 0 COUNT abc
        SSCAN s 0 MATCH
        SSCAN s 0 FOO
        SSCAN nosuch 0 COUNT 0
        SSCAN nosuch abc
        SSCAN s
        SSCAN s 0 MATCH 2 COUNT 1
    """)
    pyr.call("SADD", "big", *[f"m{i}" for i in range(1000)])
    cl = redis.Redis(port=pyr.sock.getpeername()[1])
    try:
        seen: list[bytes] = []
        cursor, calls = 0, 0
        while True:
            cursor, page = cl.sscan("big", cursor, count=50)
            calls += 1
            seen.extend(page)
            if cursor == 0:
                break
        assert calls > 5 and sorted(seen) == sorted(f"m{i}".encode() for i in range(1000))
    finally:
        cl.close()


def test_expired_key_is_missing(diff):
    diff.lines("""
        SADD s a
        PEXPIRE s 1
        DEBUG SLEEP 0.01
        SCARD s
        SADD s b
        TTL s
        SMEMBERS s
    """)


def test_notifications(redis_proc, pyredis_proc):
    check_events(redis_proc, pyredis_proc, """
        SADD s a b c
        SADD s a
        SREM s zz
        SREM s a
        SPOP s 0
        SPOP s 1
        SPOP s
        SADD s 1 2 3 4
        SPOP s 10
        SADD a 1 2
        SMOVE a b 1
        SMOVE a b 2
        SMOVE a b 2
        SADD b 3
        SMOVE b b 3
        SADD x 9
        SADD y 9
        SMOVE x y 9
        SINTERSTORE d y b
        SINTERSTORE d y nosuch
        SUNIONSTORE d y b
        SDIFFSTORE d y y
        SDIFFSTORE d y y
        SINTERSTORE d nosuch
    """)


def test_propagation():
    check_propagation("""
        SADD s 1 2 3 4 5
        SPOP s
        SPOP s 2
        SPOP s 10
        SPOP s 2
        SREM nosuch a
        SINTERSTORE d nosuch
    """, {3: [["DEL", "s"]], 4: [], 5: [], 6: []})
    from events_support import pyredis_events

    _, props = pyredis_events([["SADD", "s", "1", "2", "3"], ["SPOP", "s"], ["SPOP", "s", "1"]])
    assert len(props[1]) == 1 and props[1][0][:2] == [b"SREM", b"s"]
    assert len(props[2]) == 1 and props[2][0][:2] == [b"SREM", b"s"]
    _, props = pyredis_events([["SADD", "s", "1", "2", "3", "4"], ["SPOP", "s", "3"]])
    assert props[1][0] == [b"MULTI"] and props[1][-1] == [b"EXEC"]  # several effects: a transaction
    assert [p[:2] for p in props[1][1:-1]] == [[b"SREM", b"s"]] * 3 and len({p[2] for p in props[1][1:-1]}) == 3


def test_keyspace_hits_misses(diff):
    check_keyspace_stats(diff, """
        SADD s a b c
        SADD t c d
        SET str x
    """, """
        SCARD s
        SCARD nosuch
        SMEMBERS s
        SISMEMBER s a
        SMISMEMBER nosuch a
        SADD s z
        SREM s a
        SREM nosuch a
        SMOVE s t a
        SMOVE nosuch t a
        SRANDMEMBER s
        SRANDMEMBER nosuch 2
        SPOP s
        SPOP nosuch 2
        SINTER s t
        SINTER s nosuch t
        SINTERSTORE d s nosuch t
        SUNION s nosuch
        SUNIONSTORE d s t
        SDIFF s nosuch t
        SDIFFSTORE d nosuch s
        SINTERCARD 2 s t
        SINTERCARD 2 nosuch t
        SSCAN s 0
        SSCAN nosuch 0
        SCARD str
    """)


# -- random sequences -------------------------------------------------------------------------------
_MEMBERS = st.sampled_from(["1", "2", "3", "-7", "a", "b", "", "10"])
_KEYS = st.sampled_from(["s1", "s2", "s3", "str"])

_SET_CMDS = st.one_of(
    st.tuples(st.just("SADD"), _KEYS, _MEMBERS, _MEMBERS),
    st.tuples(st.just("SREM"), _KEYS, _MEMBERS, _MEMBERS),
    st.tuples(st.sampled_from(["SCARD", "SMEMBERS", "EXISTS"]), _KEYS),
    st.tuples(st.just("SISMEMBER"), _KEYS, _MEMBERS),
    st.tuples(st.just("SMISMEMBER"), _KEYS, _MEMBERS, _MEMBERS),
    st.tuples(st.just("SMOVE"), _KEYS, _KEYS, _MEMBERS),
    st.tuples(st.sampled_from(["SINTER", "SUNION", "SDIFF"]), _KEYS, _KEYS),
    st.tuples(st.sampled_from(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), _KEYS, _KEYS, _KEYS),
    st.tuples(st.just("SINTERCARD"), st.just("2"), _KEYS, _KEYS, st.just("LIMIT"), st.sampled_from(["0", "1"])),
    st.tuples(st.just("SRANDMEMBER"), _KEYS, st.sampled_from(["100", "0"])),
    st.tuples(st.just("SPOP"), _KEYS, st.sampled_from(["100", "0"])),
    st.tuples(st.just("SSCAN"), _KEYS, st.just("0")),
    st.tuples(st.just("OBJECT"), st.just("ENCODING"), _KEYS),
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_SET_CMDS, min_size=1, max_size=25))
def test_random_sequences(diff, cmds):
    diff.check("FLUSHDB")
    diff.check("SET", "str", "x")
    for cmd in cmds:
        _check(diff, *cmd)
    for k in ("s1", "s2", "s3"):
        _check(diff, "SMEMBERS", k)


_POOL_CMDS = st.lists(st.one_of(
    st.tuples(st.just("SADD"), st.sampled_from(["p", "q"]), st.integers(0, 40).map(str)),
    st.tuples(st.just("SADD"), st.sampled_from(["p", "q"]), st.integers(0, 40).map(str), st.just("x")),
    st.tuples(st.just("SREM"), st.sampled_from(["p", "q"]), st.integers(0, 40).map(str)),
    st.tuples(st.just("SPOP"), st.sampled_from(["p", "q"])),
    st.tuples(st.just("SPOP"), st.sampled_from(["p", "q"]), st.integers(0, 5).map(str)),
    st.tuples(st.just("SRANDMEMBER"), st.sampled_from(["p", "q"])),
    st.tuples(st.just("SRANDMEMBER"), st.sampled_from(["p", "q"]), st.sampled_from(["3", "-3"])),
    st.tuples(st.just("SMOVE"), st.sampled_from(["p", "q"]), st.sampled_from(["p", "q"]),
              st.integers(0, 40).map(str)),
), max_size=80)


@settings(max_examples=60, deadline=None)
@given(_POOL_CMDS)
def test_random_pick_pool_stays_exact(cmds):
    """The random-access member list kept for SPOP/SRANDMEMBER always mirrors the set."""
    from pyredis.engine.set import SetValue
    from pyredis.server.app import Server
    from pyredis.server.client import Client

    srv = Server()
    c = Client(srv, 1)
    srv.execute(c, [b"SADD", b"p", *[str(i).encode() for i in range(30)]])
    for cmd in cmds:
        srv.execute(c, [a.encode() for a in cmd])
        c.out.clear()
        for v in c.db.data.values():
            if isinstance(v, SetValue) and v.pool is not None:
                assert len(v.pool) == len(v) and set(v.pool) == v
