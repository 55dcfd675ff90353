"""Differential tests: generic key commands and expiry against redis-server."""

import time


def test_del_exists_type(diff):
    diff.lines("""
        MSET a 1 b 2
        HSET h f v
        EXISTS a b nosuch a
        TYPE a
        TYPE h
        TYPE nosuch
        DEL a nosuch b
        UNLINK h
        TOUCH a b
        DBSIZE
        DEL
    """)


def test_rename_copy_move(diff):
    diff.lines("""
        SET a 1
        EXPIRE a 100
        RENAME a b
        TTL b
        GET a
        RENAME nosuch x
        RENAME b b
        RENAMENX b b
        SET c 3
        RENAMENX b c
        RENAMENX b d
        RENAME d c
        GET c
        COPY c e
        COPY c e
        COPY c e REPLACE
        COPY c c
        COPY c e DB 1 REPLACE
        COPY c e DB 99
        COPY c e DB abc
        COPY c e BADOPT
        COPY nosuch e
        MOVE c 1
        MOVE c 1
        MOVE e 0
        MOVE e 99
        MOVE e abc
        SELECT 1
        GET c
        MGET c e
        SELECT 0
        SELECT 16
        SELECT -1
        SELECT abc
    """)


def test_swapdb(diff):
    diff.lines("""
        SET a 0
        SELECT 1
        SET a 1
        SWAPDB 0 1
        GET a
        SELECT 0
        GET a
        SWAPDB 0 100
        SWAPDB a 1
        SWAPDB 0 b
        SWAPDB 1 1
    """)


def test_expire_family(diff):
    diff.lines("""
        SET k v
        EXPIRE k 100
        TTL k
        EXPIRE k 50 GT
        EXPIRE k 200 GT
        EXPIRE k 300 LT
        EXPIRE k 10 LT
        EXPIRE k 10 NX
        EXPIRE k 10 XX
        PERSIST k
        PERSIST k
        TTL k
        EXPIRE k 10 XX
        EXPIRE k 10 GT
        EXPIRE k 10 LT
        EXPIRE k 10 NX XX
        EXPIRE k 10 GT LT
        EXPIRE k 10 FOO
        EXPIRE k abc
        EXPIRE k 9223372036854775807
        PEXPIRE k 9223372036854775807
        EXPIREAT k 99999999999
        EXPIRETIME k
        PEXPIRETIME k
        PEXPIREAT k 99999999999000
        PEXPIRETIME k
        EXPIRETIME nosuch
        TTL nosuch
        PTTL nosuch
        EXPIRE nosuch 10
        EXPIRE k -1
        EXISTS k
        SET k2 v
        PEXPIRE k2 0
        EXISTS k2
    """)


def test_expiry_is_lazy_and_active(pyr):
    pyr.call("SET", "lazy", "v", "PX", "30")
    pyr.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        time.sleep(0.1)
        assert pyr.call("DBSIZE") == b":1\r\n"  # not reclaimed yet: active expiry disabled
        assert pyr.call("GET", "lazy") == b"$-1\r\n"  # lazy expiry on access
        assert pyr.call("DBSIZE") == b":0\r\n"
    finally:
        pyr.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    for i in range(200):
        pyr.call("SET", f"k{i}", "v", "PX", "50")
    deadline = time.time() + 5
    while pyr.call("DBSIZE") != b":0\r\n" and time.time() < deadline:
        time.sleep(0.05)
    assert pyr.call("DBSIZE") == b":0\r\n"  # reclaimed without any access
    assert b"expired_keys:" in pyr.call("INFO", "stats")


def test_keys_and_patterns(diff):
    diff.check("MSET", "hello", "1", "hallo", "2", "hxllo", "3", "hllo", "4", "heeeello", "5", "h[a]llo", "6")
    for pat in ["h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h\\[a\\]llo", "*", "nomatch*", "h[b-a]llo"]:
        diff.check_sorted("KEYS", pat)


def test_scan_returns_every_key(pyr):
    for i in range(500):
        pyr.call("SET", f"key:{i}", "v")
    seen = set()
    cursor = b"0"
    rounds = 0
    while True:
        raw = pyr.call("SCAN", cursor, "COUNT", "37")
        parts = raw.split(b"\r\n")
        cursor = parts[2]
        seen.update(p for p in parts[4:] if p and not p.startswith((b"$", b"*")))
        rounds += 1
        if cursor == b"0":
            break
        if rounds == 3:  # modify the keyspace mid-iteration: other keys must still be returned
            for i in range(500, 600):
                pyr.call("SET", f"key:{i}", "v")
            pyr.call("DEL", "key:499")
    assert {f"key:{i}".encode() for i in range(499)} <= seen


def test_scan_errors_and_options(diff):
    diff.lines("""
        SET a 1
        HSET l f v
        SCAN 0 COUNT 0
        SCAN 0 COUNT abc
        SCAN abc
        SCAN 0 BADOPT
        SCAN 0 MATCH
        SCAN 0 TYPE hash COUNT 100
        SCAN 0 MATCH l* COUNT 100
    """)


def test_object_and_encodings(diff):
    diff.lines("""
        SET i 12345
        SET e short
        SET r aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        OBJECT ENCODING i
        OBJECT ENCODING e
        OBJECT ENCODING r
        OBJECT ENCODING nosuch
        OBJECT REFCOUNT i
        OBJECT REFCOUNT r
        OBJECT FREQ i
        OBJECT BADSUB i
        OBJECT HELP
        OBJECT
    """)


def test_flush(diff):
    diff.lines("""
        SET a 1
        SELECT 1
        SET b 2
        FLUSHDB
        DBSIZE
        SELECT 0
        DBSIZE
        FLUSHALL ASYNC
        FLUSHALL SYNC
        FLUSHALL BAD
        FLUSHDB SYNC ASYNC
        DBSIZE
    """)


def test_randomkey(diff):
    diff.check("RANDOMKEY")
    diff.check("SET", "only", "1")
    diff.check("RANDOMKEY")
