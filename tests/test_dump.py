"""DUMP / RESTORE: differential replies, cross-server payloads, bad payloads, events, propagation."""

from __future__ import annotations

import struct

import pytest
from events_support import pyredis_events, redis_events

from pyredis.persistence.crc64 import crc64


def test_dump_restore_basics(diff):
    diff.lines("""
        SET foo bar
        DUMP nosuch
        DUMP
        DUMP a b
        RESTORE
        RESTORE k
        RESTORE k 0
        RESTORE foo 0 x
        RESTORE foo 0 x BADOPT
        RESTORE k 0 x BADOPT
        RESTORE k abc x
        RESTORE k -1 x
        RESTORE k 0 x
        RESTORE k 0 x REPLACE
        RESTORE k 0 x IDLETIME
        RESTORE k 0 x IDLETIME abc
        RESTORE k 0 x IDLETIME -1
        RESTORE k 0 x FREQ 256
        RESTORE k 0 x FREQ -1
        RESTORE k 0 x FREQ abc
        RESTORE k 0 x IDLETIME 10 FREQ 5
        RESTORE k 0 x FREQ 5 IDLETIME 10
        RESTORE k 0 x ABSTTL REPLACE
        RESTORE k 0 xxxxxxxxxxx
    """)


def _dump(diff, key: str) -> bytes:
    raw = diff.check("DUMP", key)
    assert raw.startswith(b"$")
    eol = raw.index(b"\r\n")
    return raw[eol + 2 : -2]


@pytest.mark.parametrize("setup", [
    ["SET", "k", "hello"],
    ["SET", "k", "12345"],
    ["SET", "k", "-9223372036854775808"],
    ["SET", "k", ""],
    ["SET", "k", "x" * 300],
    ["RPUSH", "k", "a", "1", "-2", "300", "70000", "9999999999", "y" * 100],
    ["HSET", "k", "f1", "v1", "f2", "2"],
    ["SADD", "k", "1", "2", "-7"],
    ["SADD", "k", "1", "99999999999"],
    ["XADD", "k", "1-1", "a", "1", "b", "2"],
])
def test_dump_payload_identical(diff, setup):
    """Values whose encoding is deterministic serialize byte for byte like redis-server."""
    diff.check(*setup)
    _dump(diff, "k")


def test_restore_roundtrip_types(diff):
    diff.lines("""
        SET s hello
        RPUSH l a b c 1 2 3
        HSET h a 1 b 2
        SADD si 1 2 3
        SADD ss a b c
        XADD x 5-1 f v
        XGROUP CREATE x g 0
    """)
    for key in ("s", "l", "h", "si", "ss", "x"):
        payload = diff.r.call("DUMP", key)
        payload = payload[payload.index(b"\r\n") + 2 : -2]
        # a DUMP from redis-server restores into pyredis (and into redis-server itself)
        diff.check("RESTORE", key + "2", "0", payload)
        diff.check("TYPE", key + "2")
        ppay = diff.p.call("DUMP", key)
        ppay = ppay[ppay.index(b"\r\n") + 2 : -2]
        # a DUMP from pyredis restores into redis-server
        diff.check("RESTORE", key + "3", "0", ppay)
        diff.check("RESTORE", key + "3", "0", ppay)  # BUSYKEY
        diff.check("RESTORE", key + "3", "0", ppay, "REPLACE")
    diff.check_sorted("SMEMBERS", "ss3")
    diff.check_sorted("SMEMBERS", "ss2")
    diff.check("LRANGE", "l3", "0", "-1")
    diff.check("HGETALL", "h3")
    diff.check("XINFO", "STREAM", "x3")
    diff.check("XINFO", "GROUPS", "x2")
    diff.check("OBJECT", "ENCODING", "si3")
    diff.check("OBJECT", "ENCODING", "ss3")


def test_restore_bad_payloads(diff):
    diff.check("SET", "foo", "bar")
    good = _dump(diff, "foo")
    body = good[:-10]
    # wrong checksum
    diff.check("RESTORE", "k", "0", good[:-1] + bytes([good[-1] ^ 1]))
    # newer RDB version
    bad = body + struct.pack("<H", 11)
    diff.check("RESTORE", "k", "0", bad + struct.pack("<Q", crc64(0, bad)))
    # valid checksum, broken body
    for broken in (b"\x00\x81\xff\xff", b"\x63abc", b"\x00\x05ab", b"\x0e\x01\x02ab", b"\x00\x03foo\x00"):
        bad = broken + struct.pack("<H", 10)
        diff.check("RESTORE", "k", "0", bad + struct.pack("<Q", crc64(0, bad)))
    # too short
    diff.check("RESTORE", "k", "0", "short")
    diff.check("EXISTS", "k")


def test_restore_ttl(diff):
    diff.check("SET", "foo", "bar")
    payload = _dump(diff, "foo")
    diff.check("RESTORE", "a", "5000", payload)
    ra, pa = diff.both("PTTL", "a")
    assert 4000 < int(pa[1:-2]) <= 5000 and 4000 < int(ra[1:-2]) <= 5000
    diff.check("RESTORE", "b", "2569591501", payload)
    diff.check("RESTORE", "c", "1", payload, "ABSTTL")  # already expired: OK, no key
    diff.check("EXISTS", "c")
    diff.check("RESTORE", "foo", "1", payload, "ABSTTL", "REPLACE")  # deletes the old key
    diff.check("EXISTS", "foo")
    diff.check("RESTORE", "d", "99999999999999", payload, "ABSTTL")
    diff.check("PEXPIRETIME", "d")


def _ascii_payload() -> str:
    """A DUMP payload of a short string made only of ASCII bytes (so it survives str argv)."""
    for i in range(100000):
        body = b"\x00\x04v%03d" % (i % 1000) if i < 1000 else b"\x00\x05v%04d" % i
        body += b"\x0a\x00"
        payload = body + struct.pack("<Q", crc64(0, body))
        if max(payload) < 128:
            return payload.decode()
    raise AssertionError("no ASCII payload found")


def test_restore_events(redis_proc, pyredis_proc):
    pl = _ascii_payload()
    cmds = [["SET", "foo", "bar"], ["RESTORE", "k", "0", pl], ["RESTORE", "k", "0", pl, "REPLACE"],
            ["RESTORE", "k", "1", pl, "ABSTTL", "REPLACE"], ["RESTORE", "k", "1", pl, "ABSTTL", "REPLACE"],
            ["RESTORE", "k", "0", pl, "IDLETIME", "5"]]
    expected = redis_events(redis_proc.port, cmds)
    got, props = pyredis_events(cmds)
    assert got == expected
    assert props[1] == [[b"RESTORE", b"k", b"0", pl.encode()]]
    assert props[3] == [[b"DEL", b"k"]]
    assert props[4] == []
    _, props = pyredis_events([["RESTORE", "k", "10000", pl]])
    argv = props[0][0]
    assert argv[0] == b"RESTORE" and argv[-1] == b"ABSTTL" and int(argv[2]) > 10**12


def test_payload_checksum_known_vector():
    assert crc64(0, b"123456789") == 0xE9C6D914C4B8D9CA


def test_lzf_payloads_identical(diff):
    """Compressed strings come out byte for byte as liblzf makes them (random compressible data)."""
    import random

    rnd = random.Random(5)
    for i in range(150):
        alphabet = rnd.choice([b"ab", b"abc ", b"0123456789", bytes(range(256)), b"xyz" * 3 + b"\x00"])
        n = rnd.choice([21, 22, 30, 64, 65, 100, 300, 1000, 5000, 20000])
        chunk = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40)))
        data = (chunk * (n // len(chunk) + 1))[:n]
        if rnd.random() < 0.5:
            data = bytes(b if rnd.random() < 0.9 else rnd.choice(alphabet) for b in data)
        diff.check("SET", f"s{i}", data)
        _dump(diff, f"s{i}")
