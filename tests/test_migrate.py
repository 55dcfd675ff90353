"""MIGRATE between pyredis and redis-server, both directions."""

from __future__ import annotations

from support import RawClient


def test_migrate_to_redis_and_back(redis_proc, pyredis_proc):
    p = RawClient(pyredis_proc.port)
    r = RawClient(redis_proc.port)
    p.call("FLUSHALL")
    r.call("FLUSHALL")
    p.call("SET", "mk", "value")
    p.call("RPUSH", "ml", "a", "b", "c")
    p.call("PEXPIRE", "ml", "100000")
    assert p.call("MIGRATE", "127.0.0.1", redis_proc.port, "mk", "0", "5000") == b"+OK\r\n"
    assert r.call("GET", "mk") == b"$5\r\nvalue\r\n"
    assert p.call("EXISTS", "mk") == b":0\r\n"
    assert p.call("MIGRATE", "127.0.0.1", redis_proc.port, "", "0", "5000", "COPY", "KEYS", "ml", "nosuch") == (
        b"+OK\r\n")
    assert r.call("LRANGE", "ml", "0", "-1") == b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    assert int(r.call("PTTL", "ml")[1:]) > 90000
    assert p.call("EXISTS", "ml") == b":1\r\n"  # COPY keeps the source
    # Target refuses an existing key without REPLACE, like Redis.
    assert p.call("MIGRATE", "127.0.0.1", redis_proc.port, "ml", "0", "5000").startswith(
        b"-ERR Target instance replied with error: BUSYKEY")
    assert p.call("MIGRATE", "127.0.0.1", redis_proc.port, "ml", "0", "5000", "REPLACE") == b"+OK\r\n"
    assert p.call("MIGRATE", "127.0.0.1", redis_proc.port, "nosuch", "0", "5000") == b"+NOKEY\r\n"
    # And from redis-server into pyredis.
    r.call("SET", "back", "home")
    assert r.call("MIGRATE", "127.0.0.1", pyredis_proc.port, "back", "0", "5000") == b"+OK\r\n"
    assert p.call("GET", "back") == b"$4\r\nhome\r\n"
    p.close()
    r.close()


def test_migrate_errors(diff):
    diff.lines("""
        SET k v
        MIGRATE 127.0.0.1 1 k 0 100
        MIGRATE 127.0.0.1 1 k 0 100 KEYS a
        MIGRATE 127.0.0.1 1 k 0 100 BADOPT
        MIGRATE 127.0.0.1 1 nosuch 0 100
    """)


def test_restore_asking_is_restore(diff):
    diff.check("SET", "src", "value")
    payload = diff.p.call("DUMP", "src")
    assert payload == diff.r.call("DUMP", "src")
    data = payload.split(b"\r\n", 1)[1][:-2]
    diff.check("RESTORE-ASKING", "dst", "0", data)
    diff.check("GET", "dst")
    diff.check("RESTORE-ASKING", "dst", "0", data)
