"""Client memory accounting, client-output-buffer-limit and maxmemory-clients, against real redis-server.

Each check runs the same scenario on redis-server 7.0 and on pyredis and compares what a user sees:
which clients get cut or evicted, the CLIENT LIST memory fields, INFO counters, and that the
other clients keep being served meanwhile.
"""

from __future__ import annotations

import socket
import time

import pytest

from support import RawClient, ServerProcess


@pytest.fixture(scope="module")
def servers():
    procs = [ServerProcess("redis"), ServerProcess("pyredis")]
    yield procs
    for p in procs:
        p.stop()


def _fields(line: bytes) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in line.decode().split() if "=" in kv)


def client_list(c: RawClient) -> list[dict[str, str]]:
    raw = c.call("CLIENT", "LIST")
    body = raw.split(b"\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
    return [_fields(line) for line in body.split(b"\n") if line.strip()]


def named(c: RawClient, name: str) -> dict[str, str] | None:
    for f in client_list(c):
        if f.get("name") == name:
            return f
    return None


def wait_for(cond, timeout: float = 5.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def closed_by_server(s: socket.socket, timeout: float = 5.0) -> tuple[bool, bytes]:
    """Read until EOF: (True, bytes received) if the server closed the connection."""
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            data = s.recv(1 << 16)
            if not data:
                return True, got
            got += data
    except (ConnectionResetError, BrokenPipeError):
        return True, got
    except TimeoutError:
        return False, got


def _each(servers):
    for p in servers:
        c = p.client()
        try:
            yield p, c
        finally:
            c.call("CONFIG", "SET", "maxmemory-clients", "0")
            c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60")
            c.close()


def test_partial_big_argument_is_reported_like_redis(servers):
    """A bulk argument still arriving: qbuf holds just its bytes, completed arguments are argv-mem."""
    for p, c in _each(servers):
        s = socket.create_connection(("127.0.0.1", p.port))
        s.sendall(b"CLIENT SETNAME big\r\n")
        assert s.recv(100) == b"+OK\r\n"
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + b"v" * 5000)
        assert wait_for(lambda c=c: named(c, "big") and named(c, "big")["qbuf"] == "5000"), (p.kind, named(c, "big"))
        f = named(c, "big")
        assert f["argv-mem"] == "4", (p.kind, f)
        # the buffer is sized for the whole argument: tot-mem counts it
        assert int(f["qbuf"]) + int(f["qbuf-free"]) >= 100000, (p.kind, f)
        assert 100000 < int(f["tot-mem"]) < 140000, (p.kind, f)
        s.close()


def test_query_buffer_over_maxmemory_clients_is_evicted(servers):
    """The client filling its query buffer past maxmemory-clients is evicted; a no-evict one is not."""
    for p, c in _each(servers):
        c.call("CLIENT", "NO-EVICT", "on")
        assert c.call("CONFIG", "SET", "maxmemory-clients", "1mb") == b"+OK\r\n"
        before = int(_info(c, "evicted_clients"))
        keep = socket.create_connection(("127.0.0.1", p.port))
        keep.sendall(b"CLIENT SETNAME keep\r\nCLIENT NO-EVICT on\r\n")
        bad = socket.create_connection(("127.0.0.1", p.port))
        try:
            bad.sendall(b"CLIENT SETNAME bad\r\n*1\r\n$3000000\r\n" + b"v" * 1500000)
        except (ConnectionResetError, BrokenPipeError):
            pass  # evicted before the last bytes went out: the server closed with data unread
        closed, _ = closed_by_server(bad)
        assert closed, p.kind
        assert named(c, "bad") is None
        assert named(c, "keep") is not None
        assert int(_info(c, "evicted_clients")) == before + 1, p.kind
        keep.close()
        bad.close()
        c.call("CLIENT", "NO-EVICT", "off")


def test_eviction_goes_from_the_largest_clients_down(servers):
    """Lowering maxmemory-clients evicts the largest clients first and stops once below the limit."""
    for p, c in _each(servers):
        c.call("CLIENT", "SETNAME", "control")
        c.call("CLIENT", "NO-EVICT", "on")
        socks = []
        for name, size in (("small", 40000), ("small", 40000), ("large", 2000000), ("large", 2000000)):
            s = socket.create_connection(("127.0.0.1", p.port))
            s.sendall(b"CLIENT SETNAME %s\r\n" % name.encode())
            assert s.recv(100) == b"+OK\r\n"
            s.sendall(b"*2\r\n$%d\r\n" % size + b"v" * size)
            socks.append(s)
        assert wait_for(lambda c=c: sum(f.get("name") == "large" and int(f["qbuf"]) >= 2000000
                                    for f in client_list(c)) == 2)
        mem = {f["name"]: int(f["tot-mem"]) for f in client_list(c)}
        # room for the small ones and the control client, not for the large ones
        limit = 2 * mem["small"] + mem["control"] + 200000
        assert c.call("CONFIG", "SET", "maxmemory-clients", str(limit)) == b"+OK\r\n"
        names = [f.get("name") for f in client_list(c)]
        assert names.count("large") == 0 and names.count("small") == 2, (p.kind, names)
        for s in socks:
            s.close()
        c.call("CLIENT", "NO-EVICT", "off")


def test_subscriber_that_stops_reading_is_cut_without_stalling_others(servers):
    """A subscriber not reading is disconnected at the pubsub hard limit; publishers keep being served."""
    for p, c in _each(servers):
        c.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 262144 0 0")
        sub = socket.create_connection(("127.0.0.1", p.port))
        sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sub.sendall(b"SUBSCRIBE ch\r\n")
        time.sleep(0.1)
        other = p.client()
        payload = b"x" * 16384
        gone = False
        for _ in range(2000):  # at most 32 MB: the kernel buffers fill, then the limit is reached
            c.send("PUBLISH", "ch", payload)
            n = c.read_reply()
            assert other.call("PING") == b"+PONG\r\n"
            if n == b":0\r\n":
                gone = True
                break
        assert gone, p.kind
        assert not any("P" in f["flags"] for f in client_list(c)), p.kind
        other.close()
        sub.close()


def test_pipeline_over_the_normal_limit_gets_no_reply(servers):
    """Replies past the normal class's hard limit are never written: the client is just closed."""
    for p, c in _each(servers):
        c.call("SET", "bigkey", "x" * 10000)
        c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 100000 0 0")
        s = socket.create_connection(("127.0.0.1", p.port))
        s.sendall(b"GET bigkey\r\n" * 30)
        closed, got = closed_by_server(s)
        assert closed and got == b"", (p.kind, len(got))
        s.close()
        assert c.call("PING") == b"+PONG\r\n"


def test_random_count_reply_stopped_at_the_limit(servers):
    """HRANDFIELD / SRANDMEMBER / ZRANDMEMBER with a huge negative count stop at the output limit."""
    for p, c in _each(servers):
        c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1000000 0 0")
        c.call("HSET", "h", "a", "b")
        c.call("SADD", "s", "a")
        c.call("ZADD", "z", "1", "a")
        for cmd in ((b"HRANDFIELD", b"h", b"-999999999"), (b"SRANDMEMBER", b"s", b"-999999999"),
                    (b"ZRANDMEMBER", b"z", b"-999999999", b"WITHSCORES")):
            s = socket.create_connection(("127.0.0.1", p.port))
            s.sendall(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in cmd))
            t0 = time.time()
            closed, _ = closed_by_server(s, 20)
            assert closed, (p.kind, cmd)
            assert time.time() - t0 < 20
            s.close()
        assert c.call("PING") == b"+PONG\r\n"


def _info(c: RawClient, field: str) -> str:
    raw = c.call("INFO", "stats").decode()
    for line in raw.split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    raise KeyError(field)
