"""DEBUG DIGEST / DIGEST-VALUE compared byte for byte with redis-server 7.0 on the same datasets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyredis.engine.digest import format_score, value_digest
from pyredis.engine.list import ListValue

ZEROS = b"+" + b"0" * 40 + b"\r\n"


def same_digests(diff, *keys: bytes | str) -> None:
    """Both servers agree on DEBUG DIGEST (and DIGEST-VALUE of *keys*, db 9 first)."""
    diff.check("DEBUG", "DIGEST")
    if keys:
        diff.check("DEBUG", "DIGEST-VALUE", *keys)


def test_empty_dataset_is_forty_zeros(diff):
    diff.check("FLUSHALL")
    assert diff.check("DEBUG", "DIGEST") == ZEROS
    assert diff.check("DEBUG", "DIGEST-VALUE", "missing", "other") == b"*2\r\n" + ZEROS * 2
    assert diff.check("DEBUG", "DIGEST-VALUE") == b"*0\r\n"


def test_one_string_and_integer_encoded_strings(diff):
    diff.check("SET", "k", "v")
    same_digests(diff, "k")
    diff.lines("""
        SET int 12345
        SET neg -9223372036854775808
        SET big 9223372036854775808
        SET zpad 0012
        SET negzero -0
        SET empty ""
        SET long aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        APPEND int 6
        INCR counter
        INCRBYFLOAT f 1.5
        SETRANGE sr 5 x
        SETBIT bits 100 1
    """)
    same_digests(diff, "int", "neg", "big", "zpad", "negzero", "empty", "long", "counter", "f", "sr", "bits")


def test_binary_and_unicode(diff):
    diff.check("SET", b"\x00\xff\r\n", b"\x00\x01\x02\xfe")
    diff.check("SET", "ключ", "значение ✓")
    diff.check("RPUSH", "l\x00", b"\xff", "ü", "")
    diff.check("HSET", b"h\xfe", b"\x00", b"\r\n", "é", "")
    same_digests(diff, b"\x00\xff\r\n", "ключ", "l\x00", b"h\xfe")


def test_ttls_and_logically_expired_keys(diff):
    diff.lines("""
        SET a 1
        SET b 1 PX 100000
        SET c 1 EX 5000
        RPUSH l x
        PEXPIRE l 99999
    """)
    same_digests(diff, "a", "b", "c", "l")
    diff.check("PERSIST", "b")
    same_digests(diff, "b")
    # stored but logically expired keys still count (DEBUG does not look keys up)
    diff.check("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        diff.check("SET", "gone", "x", "PX", "1")
        import time

        time.sleep(0.02)
        diff.check("DEBUG", "DIGEST-VALUE", "gone")
        same_digests(diff)
    finally:
        diff.check("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_lists_every_encoding(diff):
    diff.check("RPUSH", "small", "a", "1", "-2", "3.5", "")
    diff.check("RPUSH", "big", *[str(i) for i in range(300)])
    diff.check("RPUSH", "fat", "x" * 70, "y")
    diff.check("LPUSH", "rev", "1", "2", "3")
    diff.check("RPUSH", "order", "3", "2", "1")
    same_digests(diff, "small", "big", "fat", "rev", "order")


def test_sets_intset_listpack_hashtable(diff):
    diff.check("SADD", "ints", "1", "2", "-5", "9223372036854775807", "-9223372036854775808")
    diff.check("SADD", "strs", "a", "b", "1")
    diff.check("SADD", "big", *[f"m{i}" for i in range(200)])
    diff.check("SADD", "bigint", *[str(i) for i in range(600)])
    same_digests(diff, "ints", "strs", "big", "bigint")


def test_hashes_listpack_and_hashtable(diff):
    diff.check("HSET", "h", "f", "v", "n", "123", "neg", "-1")
    diff.check("HSET", "big", *[x for i in range(200) for x in (f"f{i}", str(i))])
    diff.check("HSET", "long", "f", "v" * 100)
    same_digests(diff, "h", "big", "long")


def test_zsets_listpack_and_skiplist_scores(diff):
    scores = ["0", "-0", "1", "-1", "1.5", "1e300", "-1e300", "inf", "-inf", "+inf", "0.1", "3.141592653589793",
              "1e-300", "5e-324", "1.7976931348623157e308", "123456789012345678", "9007199254740993", "2.5e-5"]
    args = [x for i, s in enumerate(scores) for x in (s, f"m{i}")]
    diff.check("ZADD", "small", *args)
    diff.check("ZADD", "ints", "1", "100", "2", "-7", "3", "abc")
    diff.check("ZADD", "big", *[x for i in range(200) for x in (str(i / 7), f"e{i}")])
    diff.check("ZADD", "bigscores", *args)
    diff.check("ZADD", "bigscores", "1", "x" * 100)  # converts to a skiplist
    diff.check("ZINCRBY", "small", "0.1", "m10")
    same_digests(diff, "small", "ints", "big", "bigscores")


def test_streams_with_groups_and_pels(diff):
    diff.lines("""
        XADD s 1-1 f v
        XADD s 1-2 f v2 g w
        XADD s 2-0 a 1 b 2
        XADD s 3-5 field 12345
        XDEL s 1-2
        XGROUP CREATE s g1 0
        XGROUP CREATE s g2 $
        XREADGROUP GROUP g1 c1 COUNT 1 STREAMS s >
        XGROUP CREATECONSUMER s g2 idle
        XADD empty 5-5 x y
        XDEL empty 5-5
        XADD big MAXLEN 1000 18446744073709551615-0 k v
    """)
    for i in range(250):
        diff.check("XADD", "many", f"{i}-{i}", "field", str(i), "other", "x" * (i % 7))
    diff.check("XTRIM", "many", "MAXLEN", "100")
    diff.check("XSETID", "empty", "9-9")
    same_digests(diff, "s", "empty", "big", "many")


def test_hyperloglog_sparse_and_dense(diff):
    diff.check("PFADD", "hll", "a", "b", "c")
    diff.check("PFADD", "dense", *[f"e{i}" for i in range(3000)])
    diff.check("PFCOUNT", "hll")
    diff.check("PFMERGE", "merged", "hll", "dense")
    same_digests(diff, "hll", "dense", "merged")


def test_several_dbs_and_swapdb(diff):
    diff.check("SET", "k", "v")
    diff.check("SELECT", "0")
    diff.check("SET", "k", "v")
    diff.check("SELECT", "3")
    diff.check("SADD", "s", "x")
    same_digests(diff, "s")
    diff.check("SWAPDB", "0", "3")
    same_digests(diff)
    diff.check("MOVE", "s", "15")
    same_digests(diff)


def test_wrong_arity_matches_redis(diff):
    diff.check("DEBUG", "DIGEST", "extra")


_bytes = st.binary(min_size=0, max_size=12) | st.sampled_from([b"0", b"-1", b"123", b"9223372036854775807", b"x" * 70])
_score = st.floats(allow_nan=False, width=64) | st.integers(-(2**53), 2**53).map(float)


@st.composite
def _dataset(draw):
    cmds: list[list[bytes]] = []
    for i in range(draw(st.integers(1, 8))):
        key = b"k%d" % i
        kind = draw(st.sampled_from(["string", "list", "set", "intset", "hash", "zset", "stream"]))
        n = draw(st.integers(1, 140 if kind != "string" else 1))
        if kind == "string":
            cmds.append([b"SET", key, draw(_bytes)])
        elif kind == "list":
            cmds.append([b"RPUSH", key, *draw(st.lists(_bytes, min_size=n, max_size=n))])
        elif kind == "set":
            cmds.append([b"SADD", key, *draw(st.lists(_bytes, min_size=n, max_size=n))])
        elif kind == "intset":
            ints = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n))
            cmds.append([b"SADD", key, *[b"%d" % x for x in ints]])
        elif kind == "hash":
            cmds.append([b"HSET", key, *[x for _ in range(n) for x in (draw(_bytes), draw(_bytes))]])
        elif kind == "zset":
            cmds.append([b"ZADD", key, *[x for _ in range(n) for x in (repr(draw(_score)).encode(), draw(_bytes))]])
        else:
            for j in range(min(n, 40)):
                fv = draw(st.lists(_bytes, min_size=2, max_size=6).filter(lambda v: len(v) % 2 == 0))
                cmds.append([b"XADD", key, b"%d-%d" % (j // 3 + 1, j), *fv])
        if draw(st.booleans()):
            cmds.append([b"PEXPIRE", key, b"100000000"])
    return cmds


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(_dataset())
def test_random_datasets(diff, cmds):
    diff.check("FLUSHALL")
    for cmd in cmds:
        diff.check(*cmd)
    keys = sorted({cmd[1] for cmd in cmds})
    same_digests(diff, *keys)


@pytest.mark.parametrize("score,text", [(0.0, b"0"), (-0.0, b"-0"), (float("inf"), b"inf"),
                                        (float("-inf"), b"-inf"), (0.1, b"0.10000000000000001"),
                                        (1e300, b"1.0000000000000001e+300")])
def test_score_format(score, text):
    assert format_score(score) == text


def test_list_order_matters():
    assert value_digest(ListValue([b"1", b"2"])) != value_digest(ListValue([b"2", b"1"]))
