"""Client-side caching (CLIENT TRACKING): option errors, TRACKINGINFO, and invalidation streams compared
with redis-server (RESP3 pushes, RESP2 redirection, BCAST, NOLOOP, OPTIN/OPTOUT, flush, broken redirect)."""

from __future__ import annotations

import re
import socket
import time

import redis

from support import encode_command


def test_options_and_errors(diff):
    diff.lines("""
        CLIENT TRACKING
        CLIENT TRACKING maybe
        CLIENT TRACKING on foo
        CLIENT TRACKING on REDIRECT
        CLIENT TRACKING on REDIRECT abc
        CLIENT TRACKING on REDIRECT 99999
        CLIENT TRACKING on PREFIX a
        CLIENT TRACKING on OPTIN OPTOUT
        CLIENT TRACKING on BCAST OPTIN
        CLIENT TRACKING on BCAST PREFIX a PREFIX ab
        CLIENT TRACKING on BCAST PREFIX FOOBAR PREFIX FOO
        CLIENT TRACKINGINFO
        CLIENT GETREDIR
        CLIENT CACHING yes
        CLIENT TRACKING on OPTIN
        CLIENT CACHING no
        CLIENT CACHING maybe
        CLIENT CACHING yes
        CLIENT TRACKINGINFO
        CLIENT TRACKING on OPTOUT
        CLIENT TRACKING on BCAST
        CLIENT TRACKING off
        CLIENT TRACKING on BCAST PREFIX a NOLOOP
        CLIENT TRACKINGINFO
        CLIENT TRACKING on
        CLIENT TRACKING on BCAST PREFIX b
        CLIENT TRACKING on BCAST PREFIX bc
        CLIENT TRACKINGINFO
        CLIENT TRACKING off
        CLIENT TRACKINGINFO
        CLIENT TRACKING on OPTOUT
        CLIENT CACHING no
        CLIENT TRACKINGINFO
        CLIENT TRACKING off
        CLIENT TRACKING on BCAST
        CLIENT TRACKINGINFO
        CLIENT TRACKING off
        CLIENT GETREDIR
    """)


def _enc(*a) -> bytes:
    return encode_command(a)


def _rd(s: socket.socket) -> bytes:
    time.sleep(0.03)
    s.settimeout(0.06)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    return out


def _scenario(port: int) -> list[bytes]:
    """A tour of tracking modes; returns everything each client received, in order."""
    log: list[bytes] = []
    conn = lambda: socket.create_connection(("127.0.0.1", port))  # noqa: E731
    red = conn()
    red.sendall(_enc("CLIENT", "ID"))
    rid = _rd(red)[1:-2].decode()
    red.sendall(_enc("SUBSCRIBE", "__redis__:invalidate"))
    _rd(red)
    r, w = conn(), conn()
    w.sendall(_enc("FLUSHALL"))
    _rd(w)

    def step(s, *cmd):
        s.sendall(_enc(*cmd))
        log.append(_rd(s))

    step(r, "CLIENT", "TRACKING", "on", "REDIRECT", rid)
    step(r, "SET", "a", "1")
    step(r, "SET", "b", "1")
    step(r, "GET", "a")
    step(r, "INCR", "b")  # not fetched: no invalidation
    step(r, "INCR", "a")
    log.append(_rd(red))
    step(r, "MGET", "a", "b", "c")
    step(w, "MSET", "a", "2", "c", "3")
    log.append(_rd(red))
    step(r, "GET", "a")
    step(w, "FLUSHALL")
    log.append(_rd(red))
    step(r, "CLIENT", "TRACKING", "off")
    # NOLOOP in default mode
    step(r, "CLIENT", "TRACKING", "on", "REDIRECT", rid, "NOLOOP")
    step(r, "MGET", "o1", "loop", "o2")
    step(w, "SET", "o1", "1")
    log.append(_rd(red))
    step(r, "SET", "loop", "1")
    log.append(_rd(red))
    step(w, "SET", "o2", "1")
    log.append(_rd(red))
    step(r, "CLIENT", "TRACKING", "off")
    # OPTIN / OPTOUT
    step(r, "CLIENT", "TRACKING", "on", "OPTIN", "REDIRECT", rid)
    step(r, "GET", "k1")
    step(w, "SET", "k1", "2")
    log.append(_rd(red))
    step(r, "CLIENT", "CACHING", "yes")
    step(r, "GET", "k1")
    step(w, "SET", "k1", "3")
    log.append(_rd(red))
    step(r, "CLIENT", "TRACKING", "off")
    step(r, "CLIENT", "TRACKING", "on", "OPTOUT", "REDIRECT", rid)
    step(r, "CLIENT", "CACHING", "no")
    step(r, "GET", "k2")
    step(r, "GET", "k3")
    step(w, "MSET", "k2", "1", "k3", "1")
    log.append(_rd(red))
    step(r, "CLIENT", "TRACKING", "off")
    # RESP3 to self, MULTI, deferred after the reply
    r3 = conn()
    step(r3, "HELLO", "3")
    log[-1] = b"<hello>"
    step(r3, "CLIENT", "TRACKING", "on")
    step(r3, "GET", "k")
    step(w, "SET", "k", "1")
    log.append(_rd(r3))
    step(r3, "HSET", "myhash", "f", "1")
    step(r3, "HGET", "myhash", "f")
    step(r3, "HDEL", "myhash", "f")
    step(r3, "MSET", "x", "1", "y", "2")
    step(r3, "GET", "x")
    r3.sendall(_enc("MULTI") + _enc("INCR", "x") + _enc("GET", "y") + _enc("EXEC"))
    log.append(_rd(r3))
    step(r3, "GET", "x")
    r3.sendall(_enc("MULTI") + _enc("FLUSHDB") + _enc("EXEC"))
    log.append(_rd(r3))
    # BCAST
    b = conn()
    step(b, "HELLO", "3")
    log[-1] = b"<hello>"
    step(b, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a:", "PREFIX", "b:")
    step(w, "MSET", "a:1", "1", "b:1", "2", "a:2", "3", "c:1", "4")
    log.append(_rd(b))
    step(b, "SET", "a:5", "1")
    step(b, "CLIENT", "TRACKING", "off")
    step(b, "CLIENT", "TRACKING", "on", "BCAST", "NOLOOP")
    step(b, "SET", "mine", "1")
    step(w, "SET", "theirs", "1")
    log.append(_rd(b))
    # broken redirection
    step(r3, "CLIENT", "TRACKING", "on", "REDIRECT", rid)
    step(r3, "GET", "k")
    red.sendall(_enc("QUIT"))
    _rd(red)
    step(w, "SET", "k", "2")
    log.append(_rd(r3))
    step(r3, "CLIENT", "TRACKINGINFO")
    for s in (r, w, r3, b, red):
        s.close()
    return [re.sub(rb":\d+\r\n", b":<n>\r\n", x) if b"redir" in x or b"redirect" in x else x for x in log]


def test_invalidation_streams_match_redis(redis_proc, pyredis_proc):
    expected = _scenario(redis_proc.port)
    got = _scenario(pyredis_proc.port)
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert e == g, (i, e, g)


def test_tracking_info_fields(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port)
    c = redis.Redis(port=pyredis_proc.port, single_connection_client=True)
    c.execute_command("CLIENT", "TRACKING", "on")
    c.get("tk")
    info = r.info("stats")
    assert info["tracking_total_keys"] >= 1
    assert r.info("clients")["tracking_clients"] >= 1
    c.execute_command("CLIENT", "TRACKING", "off")
    c.close()
    r.close()


def test_redis_py_client_side_cache(pyredis_proc, monkeypatch):
    """redis-py's RESP3 cache (it refuses servers older than 7.4 by version, so that check is relaxed)."""
    try:
        from redis.cache import CacheConfig
        from redis.connection import CacheProxyConnection
    except ImportError:  # older redis-py
        return
    monkeypatch.setattr(CacheProxyConnection, "MIN_ALLOWED_VERSION", "7.0.0")
    cached = redis.Redis(port=pyredis_proc.port, protocol=3, cache_config=CacheConfig())
    writer = redis.Redis(port=pyredis_proc.port)
    writer.set("cached", "v1")
    assert cached.get("cached") == b"v1"
    assert cached.get("cached") == b"v1"  # served from the local cache
    writer.set("cached", "v2")
    deadline = time.time() + 5
    value = None
    while time.time() < deadline:
        value = cached.get("cached")  # the invalidation push evicts the cached entry
        if value == b"v2":
            break
        time.sleep(0.05)
    assert value == b"v2"
    cached.close()
    writer.close()


def _limit_in_multi(port: int) -> list[bytes]:
    """Issue #11715: a lowered tracking-table-max-keys applies before a command is queued in MULTI."""
    admin = socket.create_connection(("127.0.0.1", port))
    t = socket.create_connection(("127.0.0.1", port))
    out = []
    try:
        for args in (("FLUSHALL",), ("CONFIG", "SET", "tracking-table-max-keys", "2"), ("DEBUG", "PAUSE-CRON", "1")):
            admin.sendall(_enc(*args))
            _rd(admin)
        for args in (("HELLO", "3"), ("CLIENT", "TRACKING", "on"), ("MGET", "1{tag}", "2{tag}"), ("MULTI",)):
            t.sendall(_enc(*args))
            _rd(t)
        admin.sendall(_enc("CONFIG", "SET", "tracking-table-max-keys", "1"))
        _rd(admin)
        t.sendall(_enc("PING") + _enc("EXEC"))
        buf = b""
        t.settimeout(5)
        while b"+PONG\r\n" not in buf:  # the push, QUEUED, then EXEC's [PONG]
            d = t.recv(65536)
            if not d:
                break
            buf += d
        out.append(buf)
    finally:
        for args in (("DEBUG", "PAUSE-CRON", "0"), ("CONFIG", "SET", "tracking-table-max-keys", "1000000")):
            admin.sendall(_enc(*args))
            _rd(admin)
        admin.close()
        t.close()
    return out


def test_table_limit_applies_before_queueing_in_multi(redis_proc, pyredis_proc):
    # which tracked key is evicted is random in Redis (raxRandomWalk): compare with the key masked
    def masked(replies: list[bytes]) -> list[bytes]:
        return [re.sub(rb"\$6\r\n[12]\{tag\}\r\n", b"$6\r\nK{tag}\r\n", r) for r in replies]

    expected = _limit_in_multi(redis_proc.port)
    assert expected[0].startswith(b">2\r\n$10\r\ninvalidate\r\n")
    assert masked(_limit_in_multi(pyredis_proc.port)) == masked(expected)
