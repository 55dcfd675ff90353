"""A replica applies the master's stream in the read that brings it (readQueryFromClient), so a client
that reads a key on the replica right after the master acknowledged the write sees it: the master writes
the stream before the reply, and the replica must not defer what it read behind a client's command
that arrived in the same poll."""

from __future__ import annotations

import time

import pytest
from repl_support import start, wait_for

from support import RawClient


@pytest.mark.parametrize("master_kind", ["redis", "pyredis"])
def test_read_on_the_replica_right_after_the_masters_reply(master_kind):
    m = start(master_kind)
    s = start("pyredis")
    try:
        s.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        m.r.set("x", 0)
        wait_for(lambda: s.info()["master_link_status"] == "up" and s.r.get("x") == b"0", 20, "synced")
        # After a diskless sync a master starts the live stream only on the replica's first ACK that
        # follows the transfer's end (repl_start_cmd_stream_on_ack): wait until a write goes through.
        m.r.set("stream-started", 1)
        wait_for(lambda: s.r.get("stream-started") == b"1", 20, "stream started")
        rm, rs = RawClient(m.port), RawClient(s.port)
        stale = []
        for i in range(1, 151):
            assert rm.call("INCR", "x") == b":%d\r\n" % i
            got = rs.call("GET", "x")
            if got != b"$%d\r\n%d\r\n" % (len(str(i)), i):
                stale.append((i, got))
            time.sleep(0.01)  # each write alone in the master's loop iteration (its stream then its reply)
        rm.close()
        rs.close()
        assert stale == []
    finally:
        m.stop()
        s.stop()
