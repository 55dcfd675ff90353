"""Bitmap commands compared byte for byte with redis-server: replies, errors, events, GET bytes."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import keyspace_events


def _dirty(cli) -> int:
    info = cli.call("INFO", "persistence").decode()
    return int(info.split("rdb_changes_since_last_save:")[1].split("\r\n")[0])


def _stats(cli) -> tuple[str, str]:
    info = cli.call("INFO", "stats").decode()
    return info.split("keyspace_hits:")[1].split("\r\n")[0], info.split("keyspace_misses:")[1].split("\r\n")[0]


def check_counters(diff, *cmd) -> None:
    """Run a command on both servers; dirty and hit/miss deltas must agree too."""
    d0 = (_dirty(diff.r), _dirty(diff.p))
    s0 = (_stats(diff.r), _stats(diff.p))
    diff.check(*cmd)
    d1 = (_dirty(diff.r), _dirty(diff.p))
    s1 = (_stats(diff.r), _stats(diff.p))
    assert d1[0] - d0[0] == d1[1] - d0[1], ("dirty", cmd)
    for i in range(2):
        assert int(s1[0][i]) - int(s0[0][i]) == int(s1[1][i]) - int(s0[1][i]), ("hits/misses", cmd)


def test_setbit_getbit(diff):
    diff.lines("""
        SETBIT k 0 0
        GET k
        SETBIT k 0 1
        SETBIT k 0 1
        GET k
        SETBIT k 7 1
        SETBIT k 100 1
        GET k
        GETBIT k 0
        GETBIT k 1
        GETBIT k 100
        GETBIT k 100000
        GETBIT nokey 5
        SETBIT k 4294967295 0
        STRLEN k
        DEL k
        SETBIT k x 1
        SETBIT k -1 1
        SETBIT k 4294967296 1
        SETBIT k 0 2
        SETBIT k 0 -1
        SETBIT k 0 01
        SETBIT k 0 -0
        SETBIT k 0 " 1"
        SETBIT k 0 x
        GETBIT k x
        GETBIT k -1
        GETBIT k 4294967296
        LPUSH l a
        SETBIT l 0 1
        SETBIT l x 1
        SETBIT l 0 x
        GETBIT l 0
        GETBIT l x
        SETBIT
        SETBIT k 0
        SETBIT k 0 1 1
        GETBIT k
        GETBIT k 0 1
        SET s foobar
        SETBIT s 1 0
        SETBIT s 2 0
        GET s
        SET n 1234
        SETBIT n 0 1
        GET n
    """)


def test_setbit_keeps_ttl(diff):
    diff.check("SET", "k", "abc", "EX", "1000")
    diff.check("SETBIT", "k", "3", "1")
    diff.check("TTL", "k")


def test_dirty_and_stats(diff):
    for cmd in (
        ["SETBIT", "k", "0", "0"], ["SETBIT", "k", "0", "0"], ["SETBIT", "k", "0", "1"],
        ["SETBIT", "k", "0", "1"], ["SETBIT", "k", "90", "0"], ["GETBIT", "k", "1"],
        ["GETBIT", "nokey", "1"], ["BITCOUNT", "k"], ["BITCOUNT", "nokey"], ["BITPOS", "k", "1"],
        ["BITOP", "AND", "d", "k", "nokey"], ["BITOP", "AND", "d", "nokey"], ["BITOP", "AND", "d", "nokey"],
        ["BITFIELD", "f"], ["BITFIELD", "f", "GET", "u8", "0"], ["BITFIELD", "f", "SET", "i5", "0", "0"],
        ["BITFIELD", "f", "SET", "i5", "0", "0"], ["BITFIELD", "f", "SET", "i5", "0", "1"],
        ["BITFIELD", "f", "INCRBY", "i5", "0", "0"], ["BITFIELD", "f", "INCRBY", "i5", "0", "1"],
        ["BITFIELD", "f", "SET", "u8", "100", "0", "SET", "u8", "108", "0"],
        ["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "2000", "1000"],
        ["BITFIELD", "f", "GET", "u8", "0", "SET", "u8", "0", "7"],
        ["BITFIELD_RO", "f", "GET", "u8", "0"], ["BITFIELD_RO", "nokey", "GET", "u8", "0"],
    ):
        check_counters(diff, *cmd)
    diff.check("STRLEN", "f")
    diff.check("GET", "f")


def test_keyspace_events(diff):
    events = keyspace_events(diff, """
        SETBIT k 0 1
        SETBIT k 0 1
        SETBIT k 40 0
        SET a abc
        BITOP NOT d a
        BITOP AND d nokey
        BITOP AND d nokey
        BITFIELD f SET u8 0 1
        BITFIELD f SET u8 0 1
        BITFIELD f SET u8 0 2 INCRBY u8 0 1
        BITFIELD f OVERFLOW FAIL INCRBY u8 100 1000
    """)
    assert len(events) == 8


def test_bitcount(diff):
    diff.lines(r"""
        BITCOUNT nokey
        BITCOUNT nokey 0 1000 bit
        BITCOUNT nokey 0
        BITCOUNT nokey x y z w
        SET str xxxx
        BITCOUNT str 4 10
        BITCOUNT str 32 87 bit
        BITCOUNT str -6 -7
        BITCOUNT str -6 -15 bit
        SET s foobar
        BITCOUNT s
        BITCOUNT s 0 -1
        BITCOUNT s 1 -2
        BITCOUNT s -2 1
        BITCOUNT s 0 1000
        BITCOUNT s 0 -1 bit
        BITCOUNT s 10 14 bit
        BITCOUNT s 3 14 bit
        BITCOUNT s 3 29 bit
        BITCOUNT s 10 -34 bit
        BITCOUNT s 3 -34 bit
        BITCOUNT s 3 -19 bit
        BITCOUNT s -2 1 bit
        BITCOUNT s 0 1000 bit
        BITCOUNT s 5 5 bit
        BITCOUNT s 47 47 bit
        BITCOUNT s -1 -1 bit
        BITCOUNT s 0 1 BIT
        BITCOUNT s 0 1 Byte
        BITCOUNT s 0 9223372036854775807 bit
        BITCOUNT s -9223372036854775808 -1 bit
        BITCOUNT s -9223372036854775808 -1
        BITCOUNT s 0
        BITCOUNT s 0 1 foo
        BITCOUNT s x 1
        BITCOUNT s 0 x
        BITCOUNT s x 1 foo
        BITCOUNT s 0 1 bit extra
        BITCOUNT s 0 4294967296
        SET e ""
        BITCOUNT e
        BITCOUNT e 0 -1
        BITCOUNT e 0 -1 bit
        LPUSH l a
        BITCOUNT l
        BITCOUNT l 0
        BITCOUNT l x 1 foo
        BITCOUNT
    """)


def test_bitcount_vectors(diff):
    rnd = random.Random(3)
    for vec in [b"", b"\xaa", b"\x00\x00\xff", b"foobar", b"123", b"__PPxxxxxxxxxxxxxxxxRR__"]:
        diff.check("SET", "v", vec)
        diff.check("BITCOUNT", "v")
        diff.check("BITCOUNT", "v", 2, -3)
        diff.check("BITCOUNT", "v", 0, -1, "bit")
    for _ in range(30):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 300)))
        diff.check("SET", "v", data)
        n = max(len(data), 1)
        a, b = rnd.randrange(-n - 2, n + 2), rnd.randrange(-n - 2, n + 2)
        diff.check("BITCOUNT", "v", a, b)
        a, b = rnd.randrange(-8 * n - 5, 8 * n + 5), rnd.randrange(-8 * n - 5, 8 * n + 5)
        diff.check("BITCOUNT", "v", a, b, "BIT")


def test_bitpos(diff):
    diff.lines(r"""
        BITPOS nokey 0
        BITPOS nokey 1
        BITPOS nokey 0 0 -1 bit
        BITPOS nokey 1 0 -1
        BITPOS nokey 2
        BITPOS nokey 1 x
        BITPOS nokey 1 0 1 foo
        SET str "\xff\xf0\x00"
        BITPOS str 0
        BITPOS str 0 0 -1 bit
        BITPOS str 0 1
        BITPOS str 0 1 -1 bit
        SET str "\x00\x0f\xff"
        BITPOS str 1
        BITPOS str 1 1
        BITPOS str 1 1 -1 bit
        SET str "\x00\xff\x00"
        BITPOS str 0 0 -1
        BITPOS str 0 1 -1
        BITPOS str 0 2 -1
        BITPOS str 0 2 200
        BITPOS str 0 1 1
        BITPOS str 0 8 -1 bit
        BITPOS str 0 16 200 bit
        BITPOS str 0 8 8 bit
        BITPOS str 1 0 -1
        BITPOS str 1 2 -1
        BITPOS str 1 1 1
        BITPOS str 1 8 8 bit
        BITPOS str 1 9 15 bit
        BITPOS str 1 16 -1 bit
        SET ones "\xff\xff\xff"
        BITPOS ones 0
        BITPOS ones 0 0
        BITPOS ones 0 0 -1
        BITPOS ones 0 0 -1 bit
        BITPOS ones 0 1
        BITPOS ones 0 -1
        BITPOS ones 0 100
        BITPOS ones 0 -100
        BITPOS ones 0 2 1
        BITPOS ones 0 5 6
        BITPOS ones 1 2 1
        SET s foobar
        BITPOS s 1 -300 -200
        BITPOS s 1 -300 -200 bit
        BITPOS s 0 -300 -200
        BITPOS s 0 -3 -1 bit
        BITPOS s 1 -3 -1 bit
        BITPOS s 0 5
        BITPOS s 0 6
        BITPOS s 1 -2 -3
        BITPOS s 1 -2 -3 bit
        BITPOS s 1 0 1 BIT
        BITPOS s 1 0 1 bYtE
        BITPOS s 0 6 bit
        BITPOS s 1 0 1 foo
        BITPOS s 1 0 x foo
        BITPOS s 1 x 1 foo
        BITPOS s 1 0 1 bit 2
        BITPOS s 1 0 x bit
        BITPOS s x
        BITPOS s 01
        BITPOS s -1
        BITPOS s 2 0 1 foo
        SET e ""
        BITPOS e 0
        BITPOS e 1
        BITPOS e 0 0
        BITPOS e 0 0 -1 bit
        LPUSH l a
        BITPOS l 1
        BITPOS l 2
        BITPOS l 1 x
        BITPOS
        BITPOS s
    """)


def test_bitpos_long_strings(diff):
    diff.check("SET", "z", b"\x00" * 3 + b"\x00" * 24 + b"\xf0")
    diff.check("SET", "o", b"\xff" * 27 + b"\x0f")
    for key, bit in (("z", 1), ("o", 0)):
        for start in range(9):
            diff.check("BITPOS", key, bit, start)
            diff.check("BITPOS", key, bit, start * 8 + 1, -1, "bit")
        diff.check("BITPOS", key, bit, 0, 26)
        diff.check("BITPOS", key, bit, 0, 215, "bit")
        diff.check("BITPOS", key, bit, 216, 216, "bit")


def test_bitop(diff):
    diff.lines(r"""
        SET a "\x01\x02\xff\xff"
        SET b "\x01\x02\xff"
        BITOP AND r a b
        GET r
        BITOP OR r a b
        GET r
        BITOP XOR r a b
        GET r
        BITOP NOT r a
        GET r
        BITOP AND r a
        GET r
        BITOP AND r nokey a
        GET r
        BITOP OR r nokey a nokey2
        GET r
        BITOP XOR r a b a b a
        GET r
        BITOP not s a
        GET s
        BITOP NOT a a
        GET a
        SET e ""
        BITOP NOT r e
        EXISTS r
        BITOP OR r e a
        GET r
        BITOP AND r nokey
        EXISTS r
        BITOP AND r nokey nokey2
        BITOP NOT r a b
        BITOP foo r a
        BITOP foo r
        BITOP AND r
        BITOP
        LPUSH l x
        BITOP AND r a l
        BITOP AND l a
        TYPE l
        GET l
        BITOP foo r l
        BITOP NOT r l b
        SET i1 1
        SET i2 2
        BITOP XOR r i1 i2 i1
        GET r
        SET z "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        BITOP OR x z nokey
        GET x
    """)


def test_bitop_drops_ttl(diff):
    diff.check("SET", "a", "abc")
    diff.check("SET", "d", "x", "EX", "100")
    diff.check("BITOP", "OR", "d", "a")
    diff.check("TTL", "d")


@pytest.mark.parametrize("op", ["AND", "OR", "XOR", "NOT"])
def test_bitop_fuzz(diff, op):
    rnd = random.Random(op)
    for _ in range(15):
        n = 1 if op == "NOT" else rnd.randrange(1, 6)
        keys = []
        for j in range(n):
            data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 80)))
            diff.check("SET", f"v{j}", data)
            keys.append(f"v{j}")
        diff.check("BITOP", op, "dst", *keys)
        diff.check("GET", "dst")


def test_bitfield(diff):
    diff.lines(r"""
        BITFIELD bits SET i8 0 -100
        BITFIELD bits SET i8 0 101
        BITFIELD bits GET i8 0
        BITFIELD bits SET u8 0 255 INCRBY u8 0 100 GET u8 0
        BITFIELD bits
        BITFIELD bits SET u8 #0 65 SET u8 #1 66 SET u8 #2 67
        GET bits
        BITFIELD bits OVERFLOW WRAP INCRBY u8 #0 257 GET u8 #0
        BITFIELD bits OVERFLOW SAT INCRBY u8 #0 257 INCRBY u8 #0 -300
        BITFIELD bits OVERFLOW FAIL INCRBY u8 #0 257 INCRBY i8 #0 -129
        BITFIELD bits SET i8 0 128 SET u8 0 -1 SET u8 0 256
        BITFIELD bits OVERFLOW FAIL SET u8 0 -1 OVERFLOW SAT SET u8 0 -1 SET u8 0 300 SET i8 0 300 SET i8 0 -300
        BITFIELD bits GET i64 0 SET i64 0 -9223372036854775808 INCRBY i64 0 -1
        BITFIELD bits OVERFLOW SAT INCRBY i64 0 -9223372036854775808 INCRBY i64 0 9223372036854775807 INCRBY i64 0 1
        BITFIELD bits OVERFLOW FAIL INCRBY i64 0 -9223372036854775808 INCRBY i64 0 9223372036854775807
        BITFIELD bits SET u63 0 9223372036854775807 INCRBY u63 0 1 OVERFLOW SAT INCRBY u63 0 -1
        BITFIELD bits GET u1 0 GET i1 0 SET i1 0 1 GET i1 0 GET u1 0
        BITFIELD bits SET u3 5 7 GET u5 3 GET i13 1 SET i17 11 -5000 GET u17 11 GET i64 3
        GET bits
        BITFIELD bits GET u8 100000
        BITFIELD bits GET u8 4294967295
        BITFIELD bits GET u8 4294967296
        BITFIELD bits GET u8 #536870911
        BITFIELD bits GET u8 #536870912
        BITFIELD bits GET u8 #2305843009213693953
        BITFIELD bits GET u8 #-1
        BITFIELD bits GET u8 -1
        BITFIELD bits GET u8 ##1
        BITFIELD bits GET u8 #
        BITFIELD bits GET u8 +1
        BITFIELD bits GET u64 0
        BITFIELD bits GET i65 0
        BITFIELD bits GET i0 0
        BITFIELD bits GET u0 0
        BITFIELD bits GET x8 0
        BITFIELD bits GET U8 0
        BITFIELD bits GET i08 0
        BITFIELD bits GET i 0
        BITFIELD bits GET u8
        BITFIELD bits SET u8 0
        BITFIELD bits INCRBY u8 0
        BITFIELD bits SET u8 0 x
        BITFIELD bits SET i8 0 9223372036854775808
        BITFIELD bits INCRBY u8 0 x
        BITFIELD bits OVERFLOW foo GET u8 0
        BITFIELD bits OVERFLOW
        BITFIELD bits foo
        BITFIELD bits get u8 0 set u8 0 1 incrby u8 0 1 overflow sat
        BITFIELD nokey GET u8 0
        EXISTS nokey
        BITFIELD
        LPUSH l x
        BITFIELD l GET u8 0
        BITFIELD l SET u8 0 1
        BITFIELD l GET x 0
        BITFIELD l
        BITFIELD_RO bits
        BITFIELD_RO bits GET u8 0 GET i16 3
        BITFIELD_RO bits SET u8 0 1
        BITFIELD_RO bits GET u8 0 INCRBY u8 0 1
        BITFIELD_RO bits OVERFLOW SAT
        BITFIELD_RO bits OVERFLOW foo
        BITFIELD_RO bits foo
        BITFIELD_RO bits SET x8 0 1
        BITFIELD_RO bits SET u8 x 1
        BITFIELD_RO bits SET u8 0 x
        BITFIELD_RO bits SET u8 0
        BITFIELD_RO bits GET x8 0 SET u8 0 1
        BITFIELD_RO l GET u8 0
        BITFIELD_RO l GET u8 x
        BITFIELD_RO nokey GET u8 0
        BITFIELD_RO
        SET n 1
        BITFIELD n GET u1 0
        DEL mystring
        BITFIELD mystring SET i8 0 10 SET i8 64 10 INCRBY i8 10 99900
        GET mystring
    """)


def test_bitfield_grow_without_change(diff):
    diff.check("SET", "k", "a")
    diff.check("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "100", "1000")
    diff.check("STRLEN", "k")
    diff.check("BITFIELD", "new", "OVERFLOW", "FAIL", "SET", "u8", "16", "1000")
    diff.check("GET", "new")


@pytest.mark.parametrize("resp", [2, 3])
def test_resp3_null_in_bitfield(diff, resp):
    diff.both("HELLO", resp)  # client ids differ
    diff.check("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u8", "0", "1000", "GET", "u8", "0")
    diff.both("HELLO", 2)


def test_proto_max_bulk_len(diff):
    try:
        diff.check("CONFIG", "SET", "proto-max-bulk-len", "1000")
        diff.lines("""
            SETBIT k 7999 1
            SETBIT k 8000 1
            GETBIT k 8000
            BITFIELD k GET u8 7999
            BITFIELD k GET u8 8000
            BITFIELD k SET u8 #999 1
            BITFIELD k SET u8 #1000 1
            STRLEN k
        """)
    finally:
        diff.check("CONFIG", "SET", "proto-max-bulk-len", "536870912")


def test_large_bitmap_is_fast(diff):
    diff.check("SETBIT", "big", 8 * 4_000_000, 1)
    diff.check("BITCOUNT", "big")
    diff.check("BITCOUNT", "big", 5, -5)
    diff.check("BITCOUNT", "big", 3, 31_999_999, "bit")
    diff.check("BITPOS", "big", 1)
    diff.check("BITPOS", "big", 0, 0, -1)
    diff.check("BITPOS", "big", 1, 9, 32_000_009, "bit")
    diff.check("BITOP", "NOT", "inv", "big")
    diff.check("BITPOS", "inv", 0)
    diff.check("BITCOUNT", "inv")
    diff.check("BITOP", "XOR", "x", "big", "inv")
    diff.check("BITCOUNT", "x")


# -- random command sequences -----------------------------------------------------------------------
_offset = st.integers(0, 200)
_small = st.integers(-30, 30)
_type = st.tuples(st.sampled_from("iu"), st.integers(1, 64)).map(
    lambda t: f"{t[0]}{t[1] if t[0] == 'i' else min(t[1], 63)}"
)
_value = st.one_of(st.integers(-300, 300), st.integers(-(2**63), 2**63 - 1))
_bf_op = st.one_of(
    st.tuples(st.just("GET"), _type, _offset.map(str)).map(list),
    st.tuples(st.just("SET"), _type, _offset.map(str), _value.map(str)).map(list),
    st.tuples(st.just("INCRBY"), _type, _offset.map(str), _value.map(str)).map(list),
    st.tuples(st.just("OVERFLOW"), st.sampled_from(["WRAP", "SAT", "FAIL"])).map(list),
    st.tuples(st.just("GET"), _type, st.integers(0, 20).map(lambda i: f"#{i}")).map(list),
)
_unit = st.sampled_from([[], ["BYTE"], ["BIT"]])
_cmd = st.one_of(
    st.tuples(st.just("SETBIT"), _offset.map(str), st.sampled_from(["0", "1"])).map(list),
    st.tuples(st.just("GETBIT"), _offset.map(str)).map(list),
    st.just(["BITCOUNT"]),
    st.tuples(st.just("BITCOUNT"), _small.map(str), _small.map(str), _unit).map(lambda t: [*t[:3], *t[3]]),
    st.tuples(st.just("BITCOUNT"), st.integers(-250, 250).map(str), st.integers(-250, 250).map(str)).map(
        lambda t: [*t, "BIT"]
    ),
    st.tuples(st.just("BITPOS"), st.sampled_from(["0", "1"])).map(list),
    st.tuples(st.just("BITPOS"), st.sampled_from(["0", "1"]), _small.map(str)).map(list),
    st.tuples(st.just("BITPOS"), st.sampled_from(["0", "1"]), _small.map(str), _small.map(str)).map(list),
    st.tuples(
        st.just("BITPOS"), st.sampled_from(["0", "1"]), st.integers(-250, 250).map(str),
        st.integers(-250, 250).map(str), st.sampled_from(["BIT", "BYTE"]),
    ).map(list),
    st.lists(_bf_op, min_size=0, max_size=5).map(lambda ops: ["BITFIELD"] + [a for op in ops for a in op]),
    st.lists(_bf_op, min_size=0, max_size=3).map(lambda ops: ["BITFIELD_RO"] + [a for op in ops for a in op]),
    st.tuples(st.just("SETRANGE"), st.integers(0, 30).map(str), st.binary(min_size=0, max_size=6)).map(list),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cmds=st.lists(_cmd, min_size=1, max_size=25))
def test_random_bit_sequences(diff, cmds):
    diff.check("DEL", "k")
    for cmd in cmds:
        name, *rest = cmd
        diff.check(name, "k", *rest)
    diff.check("GET", "k")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=4),
    op=st.sampled_from(["AND", "OR", "XOR", "NOT"]),
)
def test_random_bitop(diff, values, op):
    keys = []
    for i, v in enumerate(values):
        diff.check("SET", f"s{i}", v)
        keys.append(f"s{i}")
    if op == "NOT":
        keys = keys[:1]
    diff.check("BITOP", op, "d", *keys)
    diff.check("GET", "d")
    diff.check("BITCOUNT", "d")
