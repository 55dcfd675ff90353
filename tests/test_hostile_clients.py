"""Slow and hostile clients (issue 16): thousands of idle connections, slowloris-style partial
requests and connections that vanish without a goodbye do not stop service for others, and each
costs bounded memory. Run against real redis-server too, for the same observable behaviour."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from support import ServerProcess


@pytest.fixture(scope="module", params=["redis", "pyredis"])
def server(request):
    p = ServerProcess(request.param)
    yield p
    p.stop()


def _pid(p: ServerProcess) -> int:
    c = p.client()
    raw = c.call("INFO", "server").decode()
    c.close()
    return int(raw.split("process_id:")[1].split("\r\n")[0])


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _connected(c) -> int:
    raw = c.call("INFO", "clients").decode()
    return int(raw.split("connected_clients:")[1].split("\r\n")[0])


def _wait_connected(c, n: int) -> None:
    deadline = time.time() + 20
    while _connected(c) != n and time.time() < deadline:
        time.sleep(0.05)
    assert _connected(c) == n


def test_idle_and_partial_connections_keep_service_and_bounded_memory(server):
    pid = _pid(server)
    c = server.client()
    c.call("SET", "k", "v")
    base = _rss(pid)
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(1500)]
    _wait_connected(c, 1501)
    assert c.call("GET", "k") == b"$1\r\nv\r\n"
    # slowloris: a third of them send a request a few bytes at a time and never finish it
    for step in (b"*3\r\n$3\r\nSET\r\n", b"$1\r\nk\r\n", b"$10\r\nabc"):
        for s in socks[:500]:
            s.sendall(step)
        assert c.call("PING") == b"+PONG\r\n"
    assert c.call("GET", "k") == b"$1\r\nv\r\n"  # the partial SETs never ran
    grown = _rss(pid) - base
    assert grown < 1500 * 64 * 1024, grown  # well under 64 KB per connection
    # half of them vanish without FIN (RST), the rest close normally: all are forgotten
    for s in socks[:750]:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    for s in socks[750:]:
        s.close()
    _wait_connected(c, 1)
    assert c.call("PING") == b"+PONG\r\n"
    c.close()


def test_idle_timeout_closes_silent_and_partial_clients(server):
    c = server.client()
    c.call("CONFIG", "SET", "timeout", "1")
    try:
        idle = socket.create_connection(("127.0.0.1", server.port))
        partial = socket.create_connection(("127.0.0.1", server.port))
        partial.sendall(b"*2\r\n$4\r\nECHO\r\n$5\r\nhel")
        for s in (idle, partial):
            s.settimeout(15)
            assert s.recv(100) == b""  # closed by the server
            s.close()
    finally:
        c.close()
        c = server.client()  # the first one may have timed out too
        c.call("CONFIG", "SET", "timeout", "0")
        c.close()
