"""Behaviour the official suite's spawn-mode units check (issue 17), compared with real redis-server.

Scripts and transactions on a stale replica, EXEC judged by what it queued, propagation targets
(PUBLISH reaches replicas only; ``redis.set_repl``), blocked clients served only after a busy
script, ``lua-enable-deprecated-api``.
"""

from __future__ import annotations

import socket
import time

import pytest

from support import RawClient, ServerProcess

STALE_LIB = """#!lua name=stalelib
redis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}
redis.register_function{function_name='f2', callback=function() return 'hello' end, flags={'allow-stale', 'no-writes'}}
redis.register_function{function_name='f3', callback=function() return redis.call('get', 'x') end,
                        flags={'allow-stale', 'no-writes'}}
redis.register_function{function_name='f5', callback=function() return redis.pcall('get', 'x') end,
                        flags={'allow-stale', 'no-writes'}}
"""


def test_scripts_on_a_stale_replica(diff):
    diff.check("FUNCTION", "LOAD", "REPLACE", STALE_LIB)
    diff.check("CONFIG", "SET", "replica-serve-stale-data", "no")
    diff.check("REPLICAOF", "127.0.0.1", "1")
    try:
        for f in ("f1", "f2", "f3", "f5"):
            diff.check("FCALL", f, 0)
        diff.check("EVAL", "return 1", 0)
        diff.check("EVAL", "#!lua flags=no-writes\nreturn 1", 0)
        diff.check("EVAL", "#!lua flags=no-writes,allow-stale\nreturn redis.call('ping')", 0)
        diff.check("MULTI")
        diff.check("PING")  # refused while queueing: MASTERDOWN, and the transaction is flagged
        diff.check("EXEC")
    finally:
        diff.check("REPLICAOF", "NO", "ONE")
        diff.check("CONFIG", "SET", "replica-serve-stale-data", "yes")
        diff.check("FUNCTION", "DELETE", "stalelib")


def test_exec_is_judged_by_its_queued_commands(diff, redis_proc):
    other_r, other_p = RawClient(redis_proc.port), RawClient(diff.pyredis.port)

    def other(*args):
        r, p = other_r.call(*args), other_p.call(*args)
        assert r == p, (args, r, p)

    try:
        diff.check("SET", "xx", "1")
        diff.check("MULTI")
        diff.check("INCR", "xx")
        other("CONFIG", "SET", "min-replicas-to-write", "2")
        diff.check("EXEC")  # EXECABORT ... NOREPLICAS
        diff.check("GET", "xx")
        diff.check("MULTI")
        diff.check("GET", "xx")
        diff.check("EXEC")  # reads only: not refused
        other("CONFIG", "SET", "min-replicas-to-write", "0")
        diff.check("CONFIG", "SET", "replica-serve-stale-data", "no")
        diff.check("MULTI")
        diff.check("GET", "xx")
        other("REPLICAOF", "localhost", "1")
        diff.check("EXEC")  # EXECABORT ... MASTERDOWN
    finally:
        other("CONFIG", "SET", "min-replicas-to-write", "0")
        other("REPLICAOF", "NO", "ONE")
        other("CONFIG", "SET", "replica-serve-stale-data", "yes")
        other_r.close()
        other_p.close()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_busy_script_pushes_are_served_after_the_script(redis_proc, pyredis_proc, kind):
    port = (redis_proc if kind == "redis" else pyredis_proc).port
    a, blocker, other = RawClient(port), RawClient(port), RawClient(port)
    try:
        for c in (a, blocker, other):
            c.call("SELECT", 9)
        a.call("DEL", "bx")
        a.call("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1")
        a.call("CONFIG", "SET", "busy-reply-threshold", "10")
        blocker.send("BLPOP", "bx", 0)
        time.sleep(0.1)
        a.send("EVAL", "redis.call('lpush', KEYS[1], 'y') "
               "while not string.find(redis.call('client', 'list'), 'abortscript') do end "
               "redis.call('lpush', KEYS[1], 'z') return 1", 1, "bx")
        deadline = time.time() + 5
        while not other.call("PING").startswith(b"-BUSY") and time.time() < deadline:
            time.sleep(0.02)
        assert other.call("HELLO", "2", "SETNAME", "abortscript").startswith(b"*")  # allowed while busy
        assert a.read_reply() == b":1\r\n"
        assert blocker.read_reply() == b"*2\r\n$2\r\nbx\r\n$1\r\nz\r\n"
    finally:
        a.call("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0")
        a.call("CONFIG", "SET", "busy-reply-threshold", "5000")
        for c in (a, blocker, other):
            c.close()


class _Stream:
    def __init__(self, sock: socket.socket, pending: bytes) -> None:
        self.sock, self.pending = sock, pending

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def close(self) -> None:
        self.sock.close()


def _attach_stream(port: int) -> _Stream:
    """SYNC like the suite's attach_to_replication_stream: skip the RDB payload, return the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"SYNC\r\n")
    buf = b""
    while True:
        while b"\r\n" not in buf:
            buf += s.recv(65536)
        line, _, buf = buf.partition(b"\r\n")
        line = line.lstrip(b"\n")
        if line.startswith(b"$"):
            break
    if line.startswith(b"$EOF:"):
        mark = line[5:]
        while not buf.endswith(mark) and mark not in buf:
            buf += s.recv(65536)
        buf = buf[buf.index(mark) + len(mark):]
    else:
        n = int(line[1:])
        while len(buf) < n:
            buf += s.recv(65536)
        buf = buf[n:]
    return _Stream(s, buf)


def _stream_commands(s: _Stream, count: int) -> list[list[bytes]]:
    buf = s.pending
    out: list[list[bytes]] = []
    while len(out) < count:
        while True:
            try:
                cmd, buf = _parse(buf)
                break
            except IndexError:
                buf += s.recv(65536)
        if cmd[0].lower() != b"ping":
            out.append(cmd)
    return out


def _parse(buf: bytes) -> tuple[list[bytes], bytes]:
    if not buf.startswith(b"*"):
        raise IndexError
    i = buf.index(b"\r\n")
    n = int(buf[1:i])
    pos = i + 2
    args = []
    for _ in range(n):
        j = buf.index(b"\r\n", pos)
        ln = int(buf[pos + 1:j])
        if len(buf) < j + 2 + ln + 2:
            raise IndexError
        args.append(buf[j + 2:j + 2 + ln])
        pos = j + 2 + ln + 2
    return args, buf[pos:]


SET_REPL = ("redis.call('set','a','1'); redis.set_repl(redis.REPL_NONE); redis.call('set','b','2'); "
            "redis.set_repl(redis.REPL_AOF); redis.call('set','c','3'); redis.set_repl(redis.REPL_ALL); "
            "redis.call('set','d','4'); redis.call('publish', 'ch', 'm1'); redis.set_repl(redis.REPL_AOF); "
            "redis.call('publish', 'ch', 'm2')")


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_propagation_targets(kind):
    srv = ServerProcess(kind, ["--appendonly", "yes", "--repl-diskless-sync-delay", "0"])
    try:
        c = srv.client()
        s = _attach_stream(srv.port)
        try:
            c.call("MULTI")
            c.call("PUBLISH", "bla", "bla")
            c.call("EXEC")
            c.call("EVAL", SET_REPL, 0)
            c.call("SET", "end", "1")
            got = _stream_commands(s, 8)
        finally:
            s.close()
        assert [[cmd[0].lower(), *cmd[1:]] for cmd in got] == [
            [b"select", b"0"], [b"publish", b"bla", b"bla"], [b"multi"], [b"set", b"a", b"1"],
            [b"set", b"d", b"4"], [b"publish", b"ch", b"m1"], [b"exec"], [b"set", b"end", b"1"],
        ]
        assert c.call("DEBUG", "LOADAOF") == b"+OK\r\n"  # the AOF got a, c, d (and no PUBLISH)
        assert c.call("MGET", "a", "b", "c", "d") == b"*4\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n$1\r\n4\r\n"
        c.close()
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_lua_enable_deprecated_api(kind):
    srv = ServerProcess(kind, ["--lua-enable-deprecated-api", "yes"])
    try:
        c = srv.client()
        scripts = [
            "local f = function() return 1 end setfenv(f, {}) return 0",
            "local f = function() return 1 end getfenv(f) return 0",
            "getmetatable(newproxy(true)).__gc = function() return 1 end return 0",
            "return tostring(getfenv(0) == _G) .. tostring(getfenv(1) == _G) .. tostring(getfenv() == _G)",
        ]
        assert [c.call("EVAL", s, 0) for s in scripts] == [b":0\r\n", b":0\r\n", b":0\r\n",
                                                            b"$12\r\ntruetruetrue\r\n"]
        for target in ("redis.call", "pcall"):
            r = c.call("EVAL", f"setfenv({target}, {{}}) return 1", 0)
            assert r.startswith(b"-ERR user_script:1: 'setfenv' cannot change environment of given object"), r
        assert c.call("CONFIG", "GET", "lua-enable-deprecated-api") == (
            b"*2\r\n$25\r\nlua-enable-deprecated-api\r\n$3\r\nyes\r\n")
        assert c.call("CONFIG", "SET", "lua-enable-deprecated-api", "no") == (
            b"-ERR CONFIG SET failed (possibly related to argument 'lua-enable-deprecated-api') - "
            b"can't set immutable config\r\n")
        c.close()
    finally:
        srv.stop()


def test_deprecated_api_is_off_by_default(diff):
    for name in ("setfenv", "getfenv", "newproxy"):
        diff.check("EVAL", f"return type({name})", 0)
    diff.check("CONFIG", "GET", "lua-enable-deprecated-api")
    diff.check("CONFIG", "GET", "lua-enable-deprecated*")

