"""Keyspace notifications delivered over Pub/Sub, compared message by message with redis-server.

A subscriber on each server pattern-subscribes to ``__key*__:*``; the same commands run on both, and
the raw messages received must be identical (event names, keys, order, keyspace before keyevent).
"""

from __future__ import annotations

import shlex
import time

import pytest

from support import RawClient


def _messages(port: int, script: str, flags: str = "KEA", pattern: str = "__key*__:*") -> list[bytes]:
    sub = RawClient(port)
    ctl = RawClient(port)
    ctl.call("SELECT", "9")
    ctl.call("FLUSHALL")
    ctl.call("CONFIG", "SET", "notify-keyspace-events", flags)
    try:
        sub.call("PSUBSCRIBE", pattern)
        for line in script.strip().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("SLEEP "):
                time.sleep(float(line.split()[1]))
                continue
            ctl.call(*shlex.split(line))
        ctl.call("PUBLISH", "__keyspace@9__:END", "end")
        out = []
        while True:
            m = sub.read_reply()
            if b"__keyspace@9__:END" in m:
                break
            out.append(m)
        return out
    finally:
        ctl.call("CONFIG", "SET", "notify-keyspace-events", "")
        sub.close()
        ctl.close()


def _short(m: bytes | None) -> str:
    if m is None:
        return "-"
    parts = m.split(b"\r\n")
    return f"{parts[6].decode('latin1')} {parts[8].decode('latin1')}"


def _compare(redis_proc, pyredis_proc, script: str, flags: str = "KEA") -> None:
    expected = _messages(redis_proc.port, script, flags)
    got = _messages(pyredis_proc.port, script, flags)
    if got != expected:
        rows = []
        for i in range(max(len(got), len(expected))):
            e = expected[i] if i < len(expected) else None
            g = got[i] if i < len(got) else None
            rows.append(f"{'  ' if e == g else '!!'} redis: {_short(e):45} pyredis: {_short(g)}")
        raise AssertionError("event streams differ:\n" + "\n".join(rows))


@pytest.fixture
def compare(redis_proc, pyredis_proc):
    return lambda script, flags="KEA": _compare(redis_proc, pyredis_proc, script, flags)


def test_strings(compare):
    compare("""
        SET s v
        SET s v EX 100
        SET s v KEEPTTL
        SET s2 v NX
        SET s2 w XX GET
        SETNX s3 x
        SETEX s4 10 x
        PSETEX s5 10000 x
        MSET a 1 b 2
        MSETNX c 1 d 2
        APPEND s tail
        SETRANGE s 1 zz
        INCR n
        INCRBY n 5
        INCRBYFLOAT f 1.5
        GETSET s x
        GETDEL s
        GETEX a EX 100
        GETEX a PERSIST
        GETRANGE b 0 -1
    """)


def test_generic(compare):
    compare("""
        SET k v
        EXPIRE k 100
        PEXPIRE k 100000
        EXPIREAT k 99999999999
        PERSIST k
        RENAME k k2
        RENAMENX k2 k3
        SET k4 v
        RENAMENX k3 k4
        COPY k3 k5
        MOVE k5 3
        DEL k3 nosuch
        UNLINK k4
        SET e v
        EXPIRE e -1
        SET e2 v
        PEXPIREAT e2 1
        SET t v
        TOUCH t
        SORT nosuch STORE dst
        RPUSH srt 3 1 2
        SORT srt STORE dst
    """)


def test_lists(compare):
    compare("""
        LPUSH l a b
        RPUSH l c
        LPUSHX l d
        RPUSHX l e
        LPUSHX nosuch d
        LINSERT l BEFORE a x
        LSET l 0 y
        LREM l 1 y
        LTRIM l 0 2
        LPOP l
        RPOP l 2
        RPUSH l2 1 2 3
        LMOVE l2 l3 LEFT RIGHT
        RPOPLPUSH l2 l3
        LMPOP 1 l2 LEFT COUNT 5
        RPUSH l4 only
        LTRIM l4 1 0
        BLPOP l3 0
        BRPOP l3 0
        RPUSH l5 z
        BLMOVE l5 l6 LEFT LEFT 0
        BLMPOP 0 1 l6 RIGHT
    """)


def test_hashes(compare):
    compare("""
        HSET h f 1 g 2
        HSETNX h f 3
        HSETNX h z 3
        HMSET h a 1
        HINCRBY h f 5
        HINCRBYFLOAT h g 1.5
        HDEL h f nosuch
        HDEL h g z a
        HSET h2 only 1
        HDEL h2 only
    """)


def test_sets(compare):
    compare("""
        SADD s a b c
        SADD s a
        SREM s a x
        SREM s x
        SMOVE s s2 b
        SPOP s
        SADD s3 1 2 3 4
        SPOP s3 2
        SPOP s3 10
        SADD s4 a b
        SADD s5 b c
        SINTERSTORE d s4 s5
        SUNIONSTORE d s4 s5
        SDIFFSTORE d s4 s5
        SINTERSTORE d nosuch s5
    """)


def test_zsets(compare):
    compare("""
        ZADD z 1 a 2 b 3 c
        ZADD z XX 5 a
        ZADD z INCR 1 a
        ZINCRBY z 2 b
        ZREM z a nosuch
        ZREMRANGEBYSCORE z 0 2
        ZADD z 1 a 2 b 3 c 4 d
        ZREMRANGEBYRANK z 0 0
        ZREMRANGEBYLEX z - +
        ZADD z 1 a 2 b 3 c
        ZPOPMIN z
        ZPOPMAX z 5
        ZADD z2 1 a 2 b
        ZADD z3 1 b 2 c
        ZUNIONSTORE d 2 z2 z3
        ZINTERSTORE d 2 z2 z3
        ZDIFFSTORE d 2 z2 z3
        ZRANGESTORE d2 z2 0 -1
        ZMPOP 1 z2 MIN COUNT 10
        ZADD z4 1 x
        BZPOPMIN z4 0
        ZADD z5 1 x 2 y
        BZMPOP 0 1 z5 MAX COUNT 2
    """)


def test_expired_event_lazy(compare):
    compare("""
        DEBUG SET-ACTIVE-EXPIRE 0
        SET lazy v PX 20
        SLEEP 0.1
        GET lazy
        DEBUG SET-ACTIVE-EXPIRE 1
    """)


def test_expired_event_active(compare):
    compare("""
        SET active v PX 20
        SLEEP 0.3
    """)


def test_new_and_keymiss_events(compare):
    compare("""
        SET foo bar
        SET foo baz
        SET bar bar
        SADD s m
        ZADD z 1 m
        GET nosuch
        HGET nosuch f
    """, "KEAnm")


def test_decr_events(compare):
    compare("""
        SET n 10
        DECR n
        DECRBY n 2
    """)


def test_new_event_for_lists_and_hashes(compare):
    compare("""
        LPUSH l a
        RPUSH l2 b
        HSET h f v
    """, "KEAn")


def test_masked_flags(compare):
    compare("""
        SET foo bar
        LPUSH mylist a
        SADD s x
        EXPIRE foo 100
        DEL foo
    """, "Kl")
    compare("""
        SET foo bar
        EXPIRE foo 100
        DEL foo
    """, "Eg")


def test_multi_exec_events(compare):
    compare("""
        MULTI
        SET a 1
        INCR a
        LPUSH l x
        RPOP l
        EXEC
    """)
