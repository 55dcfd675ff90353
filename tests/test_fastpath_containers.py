"""The container fast handlers (native in the accelerator) agree with the full path on long random
streams: lists long enough to pack their middle and pop through it, sorted-set score updates and
conversions, hash and set encodings under small limits. Same streams through the full path, the
pure-Python fast path and the accelerator; replies, keyspace (values with their encodings), statistics
and propagation compared (``test_fastpath.assert_same``)."""

from __future__ import annotations

import random

import pytest
from test_fastpath import assert_same, enc

SCORES = [b"0", b"1", b"-1", b"7", b"-0", b"3.5", b"+2", b"1e3", b"inf", b"-inf", b"nan", b"x", b"", b"007",
          b"9007199254740993", b"-9007199254740992", b"9223372036854775807", b" 1", b"0x10", b"0.1", b"-1e-7",
          b"123456789.123456789", b"1.7976931348623157e308", b"5e-324"]


def _chunked(cmds: list[list[bytes]], rng: random.Random) -> list[bytes]:
    """Encoded commands cut into batches of 1-40 requests; one batch in eight ends inside a request.

    A read that starts inside a request goes to the Python parser and fast path, one that starts
    at a request boundary to the accelerator's loop: most batches must start at one, or the
    native handlers would hardly be reached."""
    reqs = [enc(*a) for a in cmds]
    out, i = [], 0
    carry = b""
    while i < len(reqs):
        j = min(len(reqs), i + rng.randint(1, 40))
        chunk = carry + b"".join(reqs[i:j])
        carry = b""
        if j < len(reqs) and rng.random() < 0.125:
            cut = rng.randrange(1, len(reqs[j]))
            chunk += reqs[j][:cut]
            carry = reqs[j][cut:]
            j += 1
        out.append(chunk)
        i = j
    if carry:
        out.append(carry)
    return out


def _encodings(keys: list[bytes]) -> list[list[bytes]]:
    return [[b"OBJECT", b"ENCODING", k] for k in keys]


@pytest.mark.parametrize("seed", range(3))
def test_long_lists(seed):
    rng = random.Random(seed)
    cmds: list[list[bytes]] = []
    for _ in range(2500):
        k = rng.choice([b"l1", b"l2"])
        r = rng.random()
        if r < 0.45:
            cmds.append([rng.choice([b"LPUSH", b"RPUSH", b"lpush"]), k, b"e%d" % rng.randrange(10_000)])
        elif r < 0.8:
            cmds.append([rng.choice([b"LPOP", b"RPOP"]), k])
        elif r < 0.9:
            a, z = rng.randrange(-700, 700), rng.randrange(-700, 700)
            cmds.append([b"LRANGE", k, b"%d" % a, b"%d" % z])
        elif r < 0.93:
            cmds.append([b"LPUSH", k, b"a", b"b"])
        elif r < 0.95:
            cmds.append([b"LLEN", k])
        else:
            cmds.append([b"SET", b"s", b"v"])
            cmds.append([b"LPUSH", b"s", b"x"])  # wrong type
    cmds += [[b"LRANGE", b"l1", b"0", b"-1"], [b"LRANGE", b"l2", b"0", b"-1"]]
    assert_same(_chunked(cmds, rng))


@pytest.mark.parametrize("seed", range(3))
def test_sorted_sets(seed):
    rng = random.Random(100 + seed)
    cmds: list[list[bytes]] = [[b"CONFIG", b"SET", b"zset-max-listpack-entries", b"%d" % rng.choice([3, 8, 128])],
                               [b"CONFIG", b"SET", b"zset-max-listpack-value", b"%d" % rng.choice([2, 64])]]
    for _ in range(1500):
        k = rng.choice([b"z1", b"z2", b"str"])
        r = rng.random()
        if r < 0.7:
            score = rng.choice(SCORES) if rng.random() < 0.4 else b"%d" % rng.randrange(-5, 5)
            cmds.append([rng.choice([b"ZADD", b"zadd"]), k, score, b"m%d" % rng.randrange(12)])
        elif r < 0.75:
            cmds.append([b"ZADD", k, b"1", b"long-member-%d" % rng.randrange(3)])
        elif r < 0.8:
            cmds.append([b"ZADD", k, b"NX", b"1", b"m1"])
        elif r < 0.85:
            cmds.append([b"ZREM", k, b"m%d" % rng.randrange(12)])
        elif r < 0.9:
            cmds.append([b"ZSCORE", k, b"m%d" % rng.randrange(12)])
        elif r < 0.93:
            cmds.append([b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"])
        elif r < 0.95:
            a, z = (b"%d" % rng.randrange(-15, 15) for _ in range(2))
            cmds.append(rng.choice([[b"ZRANGE", k, a, z], [b"zrevrange", k, a, z], [b"ZRANK", k, b"m%d" % abs(int(a))],
                                    [b"ZRANGEBYSCORE", k, a, z], [b"ZCOUNT", k, a, z], [b"ZCARD", k]]))
        elif r < 0.97:
            cmds.append([b"SET", b"str", b"v"])
        else:
            cmds.append([b"CONFIG", b"SET", b"zset-max-listpack-entries", b"%d" % rng.choice([2, 128])])
    cmds += _encodings([b"z1", b"z2"])
    assert_same(_chunked(cmds, rng))


@pytest.mark.parametrize("resp", [b"2", b"3"])
def test_sorted_set_reads(resp):
    """ZSCORE, ZCARD and the rank reads on every score formatting class, members present and
    missing, missing keys, another type, keys with a TTL, in both protocols."""
    rng = random.Random(int(resp))
    cmds: list[list[bytes]] = [[b"HELLO", resp], [b"SET", b"str", b"v"], [b"ZADD", b"ttl", b"1", b"a"],
                               [b"EXPIRE", b"ttl", b"100"]]
    members = [b"m%d" % i for i in range(len(SCORES))]
    for m, sc in zip(members, SCORES, strict=True):
        cmds.append([b"ZADD", b"z", sc, m])
    for k in (b"z", b"nokey", b"str", b"ttl"):
        for m in members[:6] + [b"a", b"none"]:
            cmds.append([rng.choice([b"ZSCORE", b"zscore"]), k, m])
        cmds += [[b"ZCARD", k], [b"zcard", k], [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"],
                 [b"ZREVRANGE", k, b"1", b"-2", b"withscores"], [b"ZRANGE", k, b"-3", b"100"],
                 [b"ZRANGEBYSCORE", k, b"-inf", b"+inf", b"WITHSCORES", b"LIMIT", b"1", b"3"]]
    for m in members:
        cmds.append([b"ZSCORE", b"z", m])
    cmds += [[b"ZSCORE", b"z"], [b"ZCARD", b"z", b"x"], [b"ZSCORE", b"z", b"m1", b"m2"]]  # arity
    assert_same(_chunked(cmds, rng))


@pytest.mark.parametrize("seed", range(3))
def test_hashes_and_sets(seed):
    rng = random.Random(200 + seed)
    cmds: list[list[bytes]] = []
    for _ in range(1500):
        r = rng.random()
        if r < 0.35:
            v = rng.choice([b"v", b"x" * 70, b"%d" % rng.randrange(100)])
            cmds.append([b"HSET", rng.choice([b"h1", b"h2"]), b"f%d" % rng.randrange(20), v])
        elif r < 0.45:
            cmds.append([b"HGET", rng.choice([b"h1", b"h2"]), b"f%d" % rng.randrange(20)])
        elif r < 0.75:
            m = rng.choice([b"%d" % rng.randrange(50), b"m%d" % rng.randrange(50), b"-7", b"007"])
            cmds.append([b"SADD", rng.choice([b"s1", b"s2"]), m])
        elif r < 0.85:
            cmds.append([b"SISMEMBER", rng.choice([b"s1", b"s2"]), b"%d" % rng.randrange(50)])
        elif r < 0.9:
            cmds.append([b"CONFIG", b"SET", rng.choice([b"hash-max-listpack-entries", b"set-max-intset-entries"]),
                         b"%d" % rng.choice([4, 16, 512])])
        elif r < 0.95:
            cmds.append([b"CONFIG", b"SET", b"hash-max-listpack-value", b"%d" % rng.choice([8, 64])])
        else:
            cmds += _encodings([b"h1", b"h2", b"s1", b"s2"])
    cmds += _encodings([b"h1", b"h2", b"s1", b"s2"])
    assert_same(_chunked(cmds, rng))


def test_counters_and_replies():
    """INCR family around the 64-bit limits and reply formatting of every length class."""
    rng = random.Random(7)
    cmds: list[list[bytes]] = []
    for v in (b"9223372036854775806", b"-9223372036854775807", b"0", b"-1", b"99", b"999999999"):
        cmds += [[b"SET", b"n", v], [b"INCR", b"n"], [b"INCR", b"n"], [b"DECR", b"n"], [b"DECRBY", b"n", b"3"],
                 [b"INCRBY", b"n", b"-9223372036854775808"], [b"DECRBY", b"n", b"-9223372036854775808"],
                 [b"GET", b"n"]]
    for n in (0, 1, 9, 10, 99, 100, 999, 1000, 1023, 1024, 10_000, 100_000):
        cmds += [[b"SET", b"k", b"x" * n], [b"GET", b"k"], [b"MGET", b"k", b"k", b"nokey"], [b"PING", b"y" * n]]
    for _ in range(300):
        cmds.append([b"INCRBY", b"c", b"%d" % rng.randrange(-10**12, 10**12)])
    cmds.append([b"GET", b"c"])
    assert_same(_chunked(cmds, rng))
