"""A replica applies the master's stream in the read that brings it (readQueryFromClient), so a client
that reads a key on the replica right after the master acknowledged the write sees it: the master writes
the stream before the reply, and the replica must not defer what it read behind a client's command
that arrived in the same poll."""

from __future__ import annotations

import signal
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


@pytest.mark.parametrize("master_kind", ["redis", "pyredis"])
def test_a_closed_link_is_down_for_a_command_read_in_the_same_poll(master_kind):
    """readQueryFromClient frees the master client on EOF at once: an INFO that the replica reads in the
    same poll as the master's FIN reports the link down (the TCL suite's "wait for up" right after a
    CLIENT KILL TYPE replica relies on it)."""
    m = start(master_kind)
    s = start("pyredis")
    try:
        s.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: s.info()["master_link_status"] == "up", 20, "link up")
        m.r.config_set("repl-diskless-sync-delay", 5)  # the next sync stays pending for a while
        rs = RawClient(s.port)
        s.proc.proc.send_signal(signal.SIGSTOP)
        try:
            assert m.r.execute_command("CLIENT", "KILL", "TYPE", "replica") == 1
            rs.send("INFO", "replication")  # queued behind the FIN: both ready in the replica's next poll
            time.sleep(0.2)
        finally:
            s.proc.proc.send_signal(signal.SIGCONT)
        assert b"master_link_status:down" in rs.read_reply()
        rs.close()
    finally:
        m.stop()
        s.stop()
