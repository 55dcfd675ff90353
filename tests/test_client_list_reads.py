"""CLIENT LIST sees the query buffers of data that arrived before it (unit/client-eviction's races).

The suite's "client evicted due to percentage of maxmemory" writes half a big argument on one
connection and at once asks CLIENT LIST on another, expecting that client's tot-mem to count the
argument. "evict clients only until below limit" sums tot-mem after the arguments finished arriving
and expects the values measured while they arrived.
"""

from __future__ import annotations

import time

import pytest

from support import RawClient, ServerProcess


@pytest.fixture(scope="module")
def servers():
    procs = [ServerProcess("redis"), ServerProcess("pyredis")]
    yield {p.kind: p for p in procs}
    for p in procs:
        p.stop()


def _named(c: RawClient, name: str) -> dict[str, str]:
    raw = c.call("CLIENT", "LIST")
    for line in raw.split(b"\r\n", 1)[1].split(b"\n"):
        f = dict(kv.split("=", 1) for kv in line.decode().split() if "=" in kv)
        if f.get("name") == name:
            return f
    raise AssertionError(f"no client {name}: {raw!r}")


def _wait_qbuf(c: RawClient, name: str, qbuf: int) -> dict[str, str]:
    for _ in range(500):
        f = _named(c, name)
        if int(f["qbuf"]) == qbuf:
            return f
        time.sleep(0.01)
    raise AssertionError(f"qbuf of {name} never reached {qbuf}: {f}")


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_big_argument_tail_does_not_grow_tot_mem(servers, kind):
    """The buffer of a big argument is sized to it once its header is read: its last bytes change
    qbuf and qbuf-free, not tot-mem (pyredis used to add the header's size on the last read)."""
    srv = servers[kind]
    ctl, w = srv.client(), srv.client()
    try:
        assert w.call("CLIENT", "SETNAME", "big") == b"+OK\r\n"
        n = 1 << 20
        w.send_raw(b"*2\r\n$%d\r\n" % n + b"v" * (n - 5000))
        before = _wait_qbuf(ctl, "big", n - 5000)
        w.send_raw(b"v" * 5000)
        after = _wait_qbuf(ctl, "big", n)
        assert int(before["tot-mem"]) >= n
        assert after["tot-mem"] == before["tot-mem"]
        assert int(after["qbuf-free"]) == int(before["qbuf-free"]) - 5000
    finally:
        w.close()
        ctl.close()


def test_client_list_answers_after_reads_of_the_same_poll(servers):
    """Data written on one connection before CLIENT LIST is sent on another is read first.

    Redis holds this through its timing (replies are written just before it polls again); pyredis
    answers CLIENT LIST at the end of the loop iteration, once every ready socket was read. Before,
    about one round in three showed the writer with an empty query buffer.
    """
    srv = servers["pyredis"]
    ctl = srv.client()
    n = 220200
    try:
        for i in range(40):
            w = srv.client()
            assert w.call("CLIENT", "SETNAME", f"w{i}") == b"+OK\r\n"
            ctl.call("CLIENT", "LIST")
            w.send_raw(b"*1\r\n$%d\r\n" % n + b"v" * n)
            f = _named(ctl, f"w{i}")
            assert int(f["tot-mem"]) >= n, (i, f)
            w.close()
        assert ctl.call("PING") == b"+PONG\r\n"  # replies stay in order after the deferred ones
    finally:
        ctl.close()


def test_client_list_in_pipeline_keeps_reply_order(servers):
    srv = servers["pyredis"]
    c = srv.client()
    try:
        c.send_raw(b"PING\r\nCLIENT LIST\r\nECHO x\r\nCLIENT LIST\r\nPING\r\n")
        replies = [c.read_reply() for _ in range(5)]
        assert replies[0] == replies[4] == b"+PONG\r\n"
        assert replies[1].startswith(b"$") and b"cmd=client|list" in replies[1]
        assert replies[2] == b"$1\r\nx\r\n"
        assert replies[3].startswith(b"$")
        c.send_raw(b"MULTI\r\nCLIENT LIST\r\nEXEC\r\n")
        assert c.read_reply() == b"+OK\r\n"
        assert c.read_reply() == b"+QUEUED\r\n"
        assert c.read_reply().startswith(b"*1\r\n$")
    finally:
        c.close()
