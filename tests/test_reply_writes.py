"""Replies are written after the loop iteration's reads (as Redis writes them in beforeSleep):
nothing a client sent before closing its side, or before another client starts a busy script, is lost."""

from __future__ import annotations

import socket
import threading

import pytest

from support import RawClient, ServerProcess


def _enc(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


# fast-path commands (SET/GET/INCR/RPUSH/LPOP), one the fast path hands on (SET with EX), an error
PIPELINE = b"".join([
    _enc(b"SET", b"a", b"1"), _enc(b"GET", b"a"), _enc(b"INCR", b"n"), _enc(b"RPUSH", b"l", b"x", b"y"),
    _enc(b"LPOP", b"l"), _enc(b"SET", b"b", b"2", b"EX", b"100"), _enc(b"INCR", b"a"), _enc(b"GET", b"b"),
    _enc(b"NOSUCH"), _enc(b"PING"),
])


def _half_closed_exchange(port: int, payload: bytes) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out
    finally:
        s.close()


_WANT = b"".join(b":%d\r\n" % k for k in range(1, 21)) + b"$2\r\n20\r\n"


def _incr_client(i: int, s: socket.socket, start: threading.Barrier, outs: list[bytes]) -> None:
    payload = b"".join(_enc(b"INCR", b"c%d" % i) for _ in range(20)) + _enc(b"GET", b"c%d" % i)
    start.wait()
    s.sendall(payload)
    while len(outs[i]) < len(_WANT):
        outs[i] += s.recv(65536)


@pytest.fixture(scope="module")
def servers():
    procs = [ServerProcess(kind) for kind in ("redis", "pyredis")]
    yield procs
    for p in procs:
        p.stop()


@pytest.mark.parametrize("copies", [1, 50])
def test_replies_reach_a_half_closed_client(servers, copies):
    """The client sends a pipeline and shuts its side at once: every reply arrives before the EOF."""
    got = []
    for p in servers:
        RawClient(p.port).call("FLUSHALL")
        got.append(_half_closed_exchange(p.port, PIPELINE * copies))
    assert got[1] == got[0]
    assert got[1].count(b"\r\n") > 10 * copies


def test_many_clients_in_one_iteration_get_their_own_replies(servers):
    """Fifty clients send at the same moment (one poll returns them all); each gets exactly its replies."""
    for p in servers:
        RawClient(p.port).call("FLUSHALL")
    expected = []
    for p in servers:
        socks = [socket.create_connection(("127.0.0.1", p.port), timeout=10) for _ in range(50)]
        start = threading.Barrier(len(socks))
        outs: list[bytes] = [b""] * len(socks)

        threads = [threading.Thread(target=_incr_client, args=(i, s, start, outs)) for i, s in enumerate(socks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        for s in socks:
            s.close()
        expected.append(outs)
    assert expected[1] == expected[0]
    assert expected[1] == [_WANT] * 50


def test_reply_read_before_a_busy_script_is_written_during_it(servers):
    """A client whose request may be read in the same iteration as another client's endless script
    gets its reply while the script runs (Redis writes pending replies while processing events)."""
    results = []
    for p in servers:
        RawClient(p.port).call("CONFIG", "SET", "busy-reply-threshold", "100")
        a = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        b = RawClient(p.port, timeout=10)
        c = RawClient(p.port, timeout=10)
        try:
            a.sendall(_enc(b"PING", b"x"))
            b.send("EVAL", "while true do end", "0")
            got = b""
            while got.count(b"\r\n") < 2:
                got += a.recv(65536)
            while not c.call("PING").startswith(b"-BUSY"):
                pass
            results.append((got, c.call("SCRIPT", "KILL"), b.read_reply()[:24]))
        finally:
            a.close()
            b.close()
            c.close()
    assert results[1] == results[0] == (b"$1\r\nx\r\n", b"+OK\r\n", b"-ERR Script killed by us")
