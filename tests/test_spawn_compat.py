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



# -- the Lua debugger (SCRIPT DEBUG) ----------------------------------------------------------------------------
LDB_SCRIPT = ("local a = {1,2,'x',{y=1}}\nlocal b = 'he\\nllo'\nredis.call('set',KEYS[1],'v')\n"
              "redis.debug('x', a, 3.5)\nredis.breakpoint()\nlocal c = 1\nreturn redis.call('get', KEYS[1])\n")
LDB_COMMANDS = [
    ("p",), ("s",), ("s",), ("p",), ("p", "a"), ("p", "KEYS"), ("p", "zz"), ("t",), ("e", "1+1"), ("e", "x = 1"),
    ("e", "error('boom')"), ("e", "{a=1,b={1,2}}"), ("e", "'x\\1\\255\\t'"), ("r", "set", "ldbk2", "b"),
    ("r", "nosuch"), ("r", "get"), ("r", "incr", "ldbk2"), ("r", "hgetall", "nokey"), ("l",), ("l", "2", "1"),
    ("w",), ("b", "4"), ("b",), ("b", "-4"), ("b", "-4"), ("b", "0"), ("b", "x"), ("b", "99"), ("m",), ("m", "10"),
    ("e", "string.rep('x', 100)"), ("m", "0"), ("hello\0world",), ("r",), ("h",), ("s",), ("c",), ("c",),
]


def _ldb_session(port: int, script: str, commands, raw: bytes | None = None) -> list[bytes]:
    c = RawClient(port)
    out = [c.call("SCRIPT", "DEBUG", "SYNC"), c.call("EVAL", script, 1, "ldbk")]
    for cmd in commands:
        out.append(c.call(*cmd))
    if raw is not None:
        c.send_raw(raw)
        out.append(c.read_reply())
    try:
        while True:  # the EVAL reply follows <endsession>, then the server closes the connection
            out.append(c.read_reply())
    except (ConnectionError, OSError):
        pass
    c.close()
    return out


def test_debugger_session(redis_proc, pyredis_proc):
    for port in (redis_proc.port, pyredis_proc.port):
        RawClient(port).call("DEL", "ldbk", "ldbk2")
    r = _ldb_session(redis_proc.port, LDB_SCRIPT, LDB_COMMANDS)
    p = _ldb_session(pyredis_proc.port, LDB_SCRIPT, LDB_COMMANDS)
    assert p == r
    assert p[-1] == b"$1\r\nv\r\n"


@pytest.mark.parametrize("commands,raw", [([("a",)], None), ([], b"*1\r\n$0\r\n\r\n"), ([("s",), ("s",)], None)])
def test_debugger_abort_and_errors(redis_proc, pyredis_proc, commands, raw):
    script = "local x = 1\nreturn redis.call('incr', KEYS[1])"
    for port in (redis_proc.port, pyredis_proc.port):
        RawClient(port).call("SET", "ldbk", "notanumber")
    r = _ldb_session(redis_proc.port, script, commands, raw)
    p = _ldb_session(pyredis_proc.port, script, commands, raw)
    assert p == r


def test_debugger_modes(diff):
    diff.check("SCRIPT", "DEBUG", "maybe")
    diff.check("SCRIPT", "DEBUG", "SYNC")
    diff.check("EVALSHA", "a" * 40, 0)
    diff.check("SCRIPT", "DEBUG", "NO")
    diff.check("EVAL", "return redis.breakpoint()", 0)
    diff.check("EVAL", "return redis.debug('x')", 0)


def test_debugger_forked_session_keeps_no_changes(redis_proc, pyredis_proc):
    outs = []
    for port in (redis_proc.port, pyredis_proc.port):
        c = RawClient(port)
        c.call("DEL", "yeskey")
        out = [c.call("SCRIPT", "DEBUG", "YES"), c.call("EVAL", "redis.call('set','yeskey','1')\nreturn 5", 0),
               c.call("s"), c.call("s"), c.read_reply()]
        c.close()
        o = RawClient(port)
        out.append(o.call("GET", "yeskey"))  # the forked child's writes are not kept
        o.close()
        outs.append(out)
    assert outs[1] == outs[0]
    assert outs[1][-2:] == [b":5\r\n", b"$-1\r\n"]


# -- INFO latencystats / errorstats, SLOWLOG redaction ------------------------------------------------------------
def test_latency_percentiles_config(diff):
    for v in ("0.0 50.0 100.0", "10.0 50.0 a", "10.0 50.0 101.0", "99.9 1e1", ""):
        diff.check("CONFIG", "SET", "latency-tracking-info-percentiles", v)
        diff.check("CONFIG", "GET", "latency-tracking-info-percentiles")
    diff.check("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")
    diff.check("CONFIG", "SET", "latency-tracking", "no")
    diff.check("CONFIG", "RESETSTAT")
    diff.check("SET", "a", "b")
    diff.check("INFO", "latencystats")  # tracking off: nothing
    diff.check("CONFIG", "SET", "latency-tracking", "yes")


def test_unblocked_with_error_counts_as_failed(redis_proc, pyredis_proc):
    for proc in (redis_proc, pyredis_proc):
        a, b = RawClient(proc.port), RawClient(proc.port)
        a.call("CONFIG", "RESETSTAT")
        bid = b.call("CLIENT", "ID")[1:-2]
        b.send("BLPOP", "nolist", 0)
        time.sleep(0.1)
        a.call("CLIENT", "UNBLOCK", bid, "ERROR")
        assert b.read_reply() == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
        info = a.call("INFO", "commandstats").decode()
        assert "cmdstat_blpop:calls=1," in info and ",rejected_calls=0,failed_calls=1" in info, info
        a.close()
        b.close()


def test_slowlog_redacts_sensitive_arguments(diff):
    diff.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    diff.check("SLOWLOG", "RESET")
    diff.check("ACL", "SETUSER", "slowlog test user", "+get", "+set")
    diff.check("CONFIG", "SET", "masterauth", "")
    diff.check("ACL", "SETUSER", "slowlog-test-user", "+get", "+set")
    diff.check("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    r, p = diff.both("SLOWLOG", "GET")
    args = [x for x in (r, p)]
    for raw in args:
        assert raw.count(b"(redacted)") == 7, raw
    diff.check("ACL", "DELUSER", "slowlog test user", "slowlog-test-user")


# -- MIGRATE's connection cache; the output limit of unauthenticated clients ---------------------------------------
def test_migrate_caches_its_connection(redis_proc, pyredis_proc):
    c = RawClient(pyredis_proc.port)
    try:
        c.call("SET", "mkey", "v1")
        c.call("SET", "mkey2", "v2")
        assert c.call("MIGRATE", "127.0.0.1", redis_proc.port, "mkey", 9, 1000) == b"+OK\r\n"
        assert b"migrate_cached_sockets:1\r\n" in c.call("INFO", "stats")
        assert c.call("MIGRATE", "127.0.0.1", redis_proc.port, "mkey2", 8, 1000) == b"+OK\r\n"  # same socket
        assert b"migrate_cached_sockets:1\r\n" in c.call("INFO", "stats")
        r = RawClient(redis_proc.port)
        assert r.call("SELECT", 9) == b"+OK\r\n" and r.call("GET", "mkey") == b"$2\r\nv1\r\n"
        assert r.call("SELECT", 8) == b"+OK\r\n" and r.call("GETDEL", "mkey2") == b"$2\r\nv2\r\n"
        r.call("SELECT", 9)
        r.call("DEL", "mkey")
        r.close()
    finally:
        c.close()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_unauthenticated_output_is_limited(redis_proc, pyredis_proc, kind):
    proc = redis_proc if kind == "redis" else pyredis_proc
    admin = proc.client()
    assert admin.call("CONFIG", "SET", "requirepass", "secret") == b"+OK\r\n"
    try:
        s = socket.create_connection(("127.0.0.1", proc.port), timeout=10)
        burst = b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n5\r\n" * 200
        closed = False
        try:
            for _ in range(20000):  # never read the NOAUTH replies: the server must drop us
                s.sendall(burst)
        except OSError:
            closed = True
        s.close()
        assert closed
    finally:
        admin.call("CONFIG", "SET", "requirepass", "")
        admin.close()


def test_writable_replica_expiry_and_paused_master_link(pyredis_proc):
    m = pyredis_proc.client()
    m.call("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    replica = ServerProcess("pyredis", ["--replicaof", "127.0.0.1", str(pyredis_proc.port),
                                        "--replica-read-only", "no"])
    try:
        c = replica.client()
        deadline = time.time() + 20
        while b"master_link_status:up" not in c.call("INFO", "replication") and time.time() < deadline:
            time.sleep(0.1)
        assert c.call("SET", "foo", "bar", "PX", "1") == b"+OK\r\n"
        deadline = time.time() + 5
        while b"expired_keys:1\r\n" not in c.call("INFO", "stats") and time.time() < deadline:
            time.sleep(0.02)
        assert b"expired_keys:1\r\n" in c.call("INFO", "stats")  # deleted by the cron, not by a read
        assert c.call("GET", "foo") == b"$-1\r\n"
        # CLIENT PAUSE WRITE on the replica holds the master's writes: read, not applied
        m.call("SET", "p1", "v")
        deadline = time.time() + 5
        while c.call("GET", "p1") != b"$1\r\nv\r\n" and time.time() < deadline:
            time.sleep(0.02)
        assert c.call("CLIENT", "PAUSE", "100000", "WRITE") == b"+OK\r\n"
        m.call("SET", "p2", "v")

        def offsets() -> tuple[int, int]:
            info = c.call("INFO", "replication").decode()
            get = lambda f: int(info.split(f + ":")[1].split("\r\n")[0])  # noqa: E731
            return get("slave_read_repl_offset"), get("slave_repl_offset")

        deadline = time.time() + 5
        while offsets()[0] == offsets()[1] and time.time() < deadline:
            time.sleep(0.02)
        read, applied = offsets()
        assert read > applied and c.call("GET", "p2") == b"$-1\r\n"
        assert c.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        deadline = time.time() + 5
        while c.call("GET", "p2") != b"$1\r\nv\r\n" and time.time() < deadline:
            time.sleep(0.02)
        assert offsets() == (read, read)
        c.close()
    finally:
        replica.stop()
        m.call("CONFIG", "SET", "repl-diskless-sync-delay", "5")
        m.close()
