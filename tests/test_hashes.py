"""Differential tests: hash commands against redis-server (replies, errors, RESP3, random sequences)."""

from __future__ import annotations

import pytest
from events_support import check_events, check_keyspace_stats, check_propagation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import _split_array


def test_hset_hget_family(diff):
    diff.lines("""
        HSET h a 1 b 2
        HSET h a 10 c 3
        HGET h a
        HGET h nosuch
        HGET nosuch a
        HMGET h a b nosuch c
        HMGET nosuch a b
        HSETNX h a 5
        HSETNX h d 4
        HGETALL h
        HKEYS h
        HVALS h
        HLEN h
        HLEN nosuch
        HSTRLEN h a
        HSTRLEN h nosuch
        HSTRLEN nosuch a
        HEXISTS h a
        HEXISTS h nosuch
        HEXISTS nosuch a
        HMSET h e 5 f 6
        HMSET h e
        HSET h e
        HSET h a 1 b
        HMSET h a 1 b
        HGETALL nosuch
        HKEYS nosuch
        HVALS nosuch
        HSETNX h
        HGET h
        HMGET h
    """)


def test_hdel(diff):
    diff.lines("""
        HSET h a 1 b 2 c 3
        HDEL h a
        HDEL h a
        HDEL h b c nosuch
        EXISTS h
        HDEL h a
        HDEL nosuch a
        HSET h2 a 1 b 2
        HDEL h2 a a b b
        EXISTS h2
        HDEL h2
    """)


def test_wrongtype(diff):
    diff.lines("""
        SET s x
        HSET s a 1
        HMSET s a 1
        HSETNX s a 1
        HGET s a
        HMGET s a
        HGETALL s
        HKEYS s
        HVALS s
        HDEL s a
        HLEN s
        HSTRLEN s a
        HEXISTS s a
        HINCRBY s a 1
        HINCRBY s a x
        HINCRBYFLOAT s a 1
        HINCRBYFLOAT s a x
        HRANDFIELD s
        HRANDFIELD s 2
        HRANDFIELD s 2 WITHVALUES
        HSCAN s 0
        HSCAN s x
    """)


def test_hincrby(diff):
    diff.lines("""
        HINCRBY h a 5
        HINCRBY h a -10
        HINCRBY h a abc
        HINCRBY h a 1.5
        HINCRBY h a 9223372036854775807
        HINCRBY h a 9223372036854775808
        HSET h b hello c 9223372036854775807 d -9223372036854775808 e " 1" f 01
        HINCRBY h b 1
        HINCRBY h c 1
        HINCRBY h c 0
        HINCRBY h d -1
        HINCRBY h e 1
        HINCRBY h f 1
        HINCRBY nosuch a abc
        EXISTS nosuch
        HGETALL h
    """)


def test_hincrbyfloat(diff):
    diff.lines("""
        HINCRBYFLOAT h a 1.5
        HINCRBYFLOAT h a 0.1
        HINCRBYFLOAT h a -1.6
        HINCRBYFLOAT h a 1e10
        HINCRBYFLOAT h a abc
        HINCRBYFLOAT h a inf
        HINCRBYFLOAT h a -inf
        HINCRBYFLOAT h a nan
        HINCRBYFLOAT h a 3.0e3
        HINCRBYFLOAT h a 10.5
        HSET h b hello c 1.7976931348623157e308 d " 1"
        HINCRBYFLOAT h b 1
        HINCRBYFLOAT h c 1.7976931348623157e308
        HINCRBYFLOAT h d 1
        HINCRBYFLOAT h e 5.0e-3
        HINCRBYFLOAT h f 0x10
        HINCRBYFLOAT nosuch a abc
        EXISTS nosuch
    """)
    _check(diff, ("HGETALL", "h"))


def test_hrandfield_deterministic(diff):
    diff.lines("""
        HSET h a 1 b 2 c 3
        HRANDFIELD h 3
        HRANDFIELD h 10
        HRANDFIELD h 3 WITHVALUES
        HRANDFIELD h 10 WITHVALUES
        HRANDFIELD h 0
        HRANDFIELD h 0 WITHVALUES
        HRANDFIELD nosuch
        HRANDFIELD nosuch 5
        HRANDFIELD nosuch -5 WITHVALUES
        HRANDFIELD h abc
        HRANDFIELD nosuch abc
        HRANDFIELD h 1 WITHVALUE
        HRANDFIELD nosuch 1 WITHVALUE
        HRANDFIELD h 1 WITHVALUES x
        HRANDFIELD h -9223372036854775808
        HRANDFIELD h -9223372036854775807 WITHVALUES
        HRANDFIELD h -4611686018427387904 WITHVALUES
        HSET one f v
        HRANDFIELD one
        HRANDFIELD one -3
        HRANDFIELD one -2 WITHVALUES
        HRANDFIELD one 1 WITHVALUES
    """)


@pytest.mark.parametrize("resp", ["2", "3"])
def test_hrandfield_random_shapes(diff, pyr, resp):
    diff.hello(resp)
    diff.check("HSET", "h", *[x for i in range(50) for x in (f"f{i}", f"v{i}")])
    if resp == "3":
        pyr.call("HELLO", "3")
    fields = {f"f{i}".encode(): f"v{i}".encode() for i in range(50)}
    pyr.call("HSET", "h", *[x for i in range(50) for x in (f"f{i}", f"v{i}")])
    import redis

    cl = redis.Redis(port=pyr.sock.getpeername()[1], protocol=int(resp))
    try:
        one = cl.hrandfield("h")
        assert one in fields
        few = cl.hrandfield("h", 10)
        assert len(few) == 10 and len(set(few)) == 10 and set(few) <= set(fields)
        many = cl.hrandfield("h", -100)
        assert len(many) == 100 and set(many) <= set(fields)
        wv = cl.execute_command("HRANDFIELD", "h", -20, "WITHVALUES")
        if resp == "3":
            assert len(wv) == 20 and all(fields[f] == v for f, v in wv)
        else:
            assert len(wv) == 40 and all(fields[wv[i]] == wv[i + 1] for i in range(0, 40, 2))
        wv = cl.execute_command("HRANDFIELD", "h", 7, "WITHVALUES")
        pairs = wv if resp == "3" else [wv[i : i + 2] for i in range(0, len(wv), 2)]
        assert len(pairs) == 7 and len({p[0] for p in pairs}) == 7
    finally:
        cl.close()
    # raw shape: compare the framing of a reply with a single distinct choice on both servers
    diff.check("HSET", "s", "f", "v")
    diff.check("HRANDFIELD", "s", -3, "WITHVALUES")
    diff.check("HRANDFIELD", "s", 2, "WITHVALUES")


@pytest.mark.parametrize("resp", ["2", "3"])
def test_resp_shapes(diff, resp):
    diff.hello(resp)
    diff.lines("""
        HSET h a 1 b 2
        HGETALL h
        HGETALL nosuch
        HMGET h a x
        HKEYS h
        HVALS h
        HINCRBYFLOAT h c 1.5
        HSCAN h 0
        HGET h x
    """)


def test_encoding(diff):
    diff.lines("""
        HSET h a 1
        OBJECT ENCODING h
        CONFIG SET hash-max-listpack-entries 4
        HSET h b 2 c 3 d 4
        OBJECT ENCODING h
        HSET h e 5
        OBJECT ENCODING h
        HDEL h a b c d
        OBJECT ENCODING h
        CONFIG SET hash-max-listpack-entries 512
        CONFIG SET hash-max-listpack-value 8
        HSET h2 a 12345678
        OBJECT ENCODING h2
        HSET h2 b 123456789
        OBJECT ENCODING h2
        HSET h3 123456789 a
        OBJECT ENCODING h3
        HSETNX h4 a 123456789
        OBJECT ENCODING h4
        HSET h5 a 1
        HINCRBY h5 a 100000000
        OBJECT ENCODING h5
        HSET h6 a 1
        HINCRBYFLOAT h6 a 0.00001
        OBJECT ENCODING h6
        HSET h7 a 1
        HMSET h7 b 1 c 123456789
        OBJECT ENCODING h7
        HSET h8 a 1
        HSET h8 b 123456789
        HDEL h8 b
        OBJECT ENCODING h8
        CONFIG SET hash-max-listpack-value 64
        CONFIG SET hash-max-listpack-entries 0
        HSET h9 a 1
        OBJECT ENCODING h9
        CONFIG SET hash-max-listpack-entries 512
    """)


def test_listpack_order_preserved(diff):
    diff.lines("""
        HSET h z 1 y 2 x 3 w 4
        HSET h y 20
        HDEL h x
        HSET h x 30 a 5
        HGETALL h
        HKEYS h
        HVALS h
        HSCAN h 0
        HSCAN h 0 MATCH *
        HSCAN h 0 MATCH [xy]
        HSCAN h 0 COUNT 1
        HSCAN h 0 COUNT 1 MATCH a
    """)


def test_hscan_errors(diff):
    diff.lines("""
        HSET h a 1
        HSCAN h abc
        HSCAN h -1
        HSCAN h 18446744073709551616
        HSCAN h 18446744073709551615
        HSCAN h 0 COUNT 0
        HSCAN h 0 COUNT -1
        HSCAN h 0 COUNT abc
        HSCAN h 0 MATCH
        HSCAN h 0 FOO
        HSCAN h 0 NOVALUES
        HSCAN nosuch 0
        HSCAN nosuch 0 COUNT 0
        HSCAN nosuch abc
        HSCAN h
    """)


def test_hscan_hashtable(diff, pyr):
    """A hashtable-encoded hash is fully returned by an iteration, each field exactly once."""
    diff.check("CONFIG", "SET", "hash-max-listpack-entries", "16")
    try:
        args = [x for i in range(500) for x in (f"k{i}", f"v{i}")]
        pyr.call("HSET", "h", *args)
        import redis

        r = redis.Redis(port=pyr.sock.getpeername()[1])
        try:
            seen: dict[bytes, bytes] = {}
            cursor = 0
            calls = 0
            while True:
                cursor, page = r.hscan("h", cursor, count=20)
                calls += 1
                for k, v in page.items():
                    assert k not in seen
                    seen[k] = v
                if cursor == 0:
                    break
            assert calls > 5
            assert seen == {f"k{i}".encode(): f"v{i}".encode() for i in range(500)}
            cursor, page = r.hscan("h", 0, match="k1*", count=1000)
            assert set(page) == {f"k{i}".encode() for i in range(500) if str(i).startswith("1")}
        finally:
            r.close()
    finally:
        diff.check("CONFIG", "SET", "hash-max-listpack-entries", "512")


def test_large_values(diff):
    big = "v" * 100000
    diff.check("HSET", "h", "f", big, "\x00bin\xff", "")
    diff.check("HGET", "h", "f")
    diff.check("HSTRLEN", "h", "f")
    _check(diff, ("HGETALL", "h"))
    diff.check("OBJECT", "ENCODING", "h")


def test_expired_key_is_missing(diff):
    diff.lines("""
        HSET h a 1
        PEXPIRE h 1
        DEBUG SLEEP 0.01
        HLEN h
        HSET h b 2
        TTL h
        HGETALL h
    """)


def test_notifications(redis_proc, pyredis_proc):
    check_events(redis_proc, pyredis_proc, """
        HSET h a 1 b 2
        HSET h a 1
        HSETNX h a 1
        HSETNX h c 3
        HMSET h d 4
        HINCRBY h n 1
        HINCRBY h a x
        HINCRBYFLOAT h f 1.5
        HDEL h nosuch
        HDEL h a b c d
        HDEL h n f
        HDEL h n
        HGET h a
    """)


def test_propagation():
    check_propagation("""
        HSET h a 1
        HINCRBYFLOAT h a 1.5
        HSETNX h a 1
        HDEL h nosuch
        HINCRBY h a 1
    """, {0: [["HSET", "h", "a", "1"]], 1: [["HSET", "h", "a", "2.5"]], 2: [], 3: []})


def test_keyspace_hits_misses(diff):
    check_keyspace_stats(diff, """
        HSET h a 1 b 2
        SET str x
    """, """
        HGET h a
        HGET nosuch a
        HMGET h a b
        HMGET nosuch a
        HGETALL h
        HGETALL nosuch
        HKEYS h
        HVALS nosuch
        HLEN h
        HLEN nosuch
        HEXISTS h a
        HSTRLEN nosuch a
        HSET h c 3
        HSETNX h a 1
        HDEL h a
        HDEL nosuch a
        HINCRBY h n 1
        HINCRBYFLOAT nosuch a 1
        HRANDFIELD h
        HRANDFIELD nosuch 2
        HSCAN h 0
        HSCAN nosuch 0
        HGET str a
    """)


# -- random sequences -------------------------------------------------------------------------------
_FIELDS = st.sampled_from(["a", "b", "c", "d", "10", ""])
_VALUES = st.sampled_from(["1", "-5", "x", "1.5", "", "9223372036854775807", "long" * 5])
_KEYS = st.sampled_from(["h1", "h2", "s"])

_HASH_CMDS = st.one_of(
    st.tuples(st.sampled_from(["HSET", "HMSET"]), _KEYS, _FIELDS, _VALUES),
    st.tuples(st.just("HSET"), _KEYS, _FIELDS, _VALUES, _FIELDS, _VALUES),
    st.tuples(st.just("HSETNX"), _KEYS, _FIELDS, _VALUES),
    st.tuples(st.sampled_from(["HGET", "HEXISTS", "HSTRLEN"]), _KEYS, _FIELDS),
    st.tuples(st.just("HMGET"), _KEYS, _FIELDS, _FIELDS),
    st.tuples(st.just("HDEL"), _KEYS, _FIELDS, _FIELDS),
    st.tuples(st.sampled_from(["HLEN", "HGETALL", "HKEYS", "HVALS", "EXISTS"]), _KEYS),
    st.tuples(st.just("HINCRBY"), _KEYS, _FIELDS, st.sampled_from(["1", "-3", "x", "9223372036854775807"])),
    st.tuples(st.just("HINCRBYFLOAT"), _KEYS, _FIELDS, st.sampled_from(["1", "-0.5", "x", "1e3"])),
    st.tuples(st.just("HSCAN"), _KEYS, st.just("0")),
    st.tuples(st.just("HRANDFIELD"), _KEYS, st.sampled_from(["10", "0"]), st.just("WITHVALUES")),
)


def _pairs(raw: bytes) -> list[bytes]:
    items = _split_array(raw)
    return sorted(b"".join(items[i : i + 2]) for i in range(0, len(items), 2))


def _check(diff, cmd) -> None:
    """Compare replies; orderless for hashtable-encoded hashes (Redis's order is then arbitrary)."""
    name = cmd[0]
    if name in ("HGETALL", "HKEYS", "HVALS", "HSCAN"):
        enc = diff.r.call("OBJECT", "ENCODING", cmd[1])
        if enc.endswith(b"hashtable\r\n"):
            r, p = diff.both(*cmd)
            if name == "HSCAN":
                r, p = r[r.index(b"\r\n*", 5) + 2 :], p[p.index(b"\r\n*", 5) + 2 :]
            if name in ("HGETALL", "HSCAN"):
                assert _pairs(p) == _pairs(r), (cmd, r, p)
            else:
                assert sorted(_split_array(p)) == sorted(_split_array(r)), (cmd, r, p)
            return
    if name == "HRANDFIELD":
        enc = diff.r.call("OBJECT", "ENCODING", cmd[1])
        if enc.endswith(b"hashtable\r\n"):
            r, p = diff.both(*cmd)
            assert _pairs(p) == _pairs(r), (cmd, r, p)
            return
    diff.check(*cmd)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_HASH_CMDS, min_size=1, max_size=25))
def test_random_sequences(diff, cmds):
    diff.check("FLUSHDB")
    diff.check("SET", "s", "str")
    diff.check("CONFIG", "SET", "hash-max-listpack-value", "16")
    try:
        for cmd in cmds:
            _check(diff, cmd)
        _check(diff, ("HGETALL", "h1"))
        diff.check("OBJECT", "ENCODING", "h1")
    finally:
        diff.check("CONFIG", "SET", "hash-max-listpack-value", "64")
