"""MONITOR: the line format (quoting, db, redaction, MULTI/EXEC order) compared with redis-server."""

from __future__ import annotations

import re
import time

import redis

from support import RawClient

_CMDS = [
    (b"SET", b'a"b\\c', b"x\ny\r\t\x07\x08\x01\xff \x7f"),
    (b"select", b"3"),
    (b"get", b"k"),
    (b"AUTH", b"x"),
    (b"AUTH", b"user", b"pass"),
    (b"HELLO", b"2", b"AUTH", b"u", b"p"),
    (b"CLIENT", b"LIST"),
    (b"CONFIG", b"GET", b"maxmemory"),
    (b"MULTI",),
    (b"GET", b"k"),
    (b"EXEC",),
    (b"MULTI",),
    (b"syntax", b"error"),
    (b"EXEC",),
    (b"nosuch",),
    (b"get",),
    (b"PING",),
    (b"CLIENT", b"SETNAME", b"x"),
    (b"DEBUG", b"SLEEP", b"0"),
    (b"SELECT", b"0"),
    (b"LPUSH", b"l", b""),
]


def _monitor_lines(port: int) -> list[bytes]:
    m = RawClient(port)
    assert m.call("MONITOR") == b"+OK\r\n"
    c = RawClient(port)
    for cmd in _CMDS:
        c.call(*cmd)
    c.call("SELECT", "9")
    c.call("ECHO", "end")
    lines = []
    deadline = time.time() + 5
    while time.time() < deadline:
        line = m.read_reply()
        lines.append(re.sub(rb"^\+\d+\.\d{6} \[(\d+) [^\]]+\]", rb"[\1 ADDR]", line))
        if b'"end"' in line:
            break
    m.close()
    c.close()
    return lines


def test_monitor_lines_match_redis(redis_proc, pyredis_proc):
    assert _monitor_lines(pyredis_proc.port) == _monitor_lines(redis_proc.port)


def test_monitor_line_shape(pyredis_proc):
    m = RawClient(pyredis_proc.port)
    m.call("MONITOR")
    c = RawClient(pyredis_proc.port)
    c.call("SET", "foo", "bar")
    line = m.read_reply()
    assert re.fullmatch(rb'\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "foo" "bar"\r\n', line), line
    m.close()
    c.close()


def test_monitor_inside_multi_is_refused(diff):
    diff.lines("""
        MULTI
        MONITOR
        EXEC
    """)


def test_redis_py_monitor(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port)
    with r.monitor() as m:
        other = redis.Redis(port=pyredis_proc.port)
        other.set("mk", "mv")
        other.lpush("ml", "a b")
        got = []
        while len(got) < 2:
            info = m.next_command()
            if info["command"].startswith(("HELLO", "CLIENT")):  # connection handshake
                continue
            got.append(info["command"])
            assert info["db"] == 0 and info["client_type"] == "tcp"
        assert got == ["SET mk mv", "LPUSH ml a b"]
        other.close()
    r.close()


def test_monitor_reset_and_disconnect(pyr, pyredis_proc):
    m = RawClient(pyredis_proc.port)
    m.call("MONITOR")
    assert m.call("RESET") == b"+RESET\r\n"
    pyr.call("SET", "x", "1")
    assert m.call("PING") == b"+PONG\r\n"  # no monitor line queued before the PONG
    m.call("MONITOR")
    m.close()
    assert pyr.call("SET", "x", "2") == b"+OK\r\n"
