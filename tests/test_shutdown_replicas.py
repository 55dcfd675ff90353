"""SHUTDOWN / SIGTERM with lagging replicas (redis-server 7.0's shutdown-timeout): the master pauses
writes and waits for its replicas' ACKs, SHUTDOWN ABORT cancels, a signal only schedules it."""

from __future__ import annotations

import os
import signal
import socket
import time

from repl_support import link, start, wait_for, wait_synced


def _send(port: int, *args: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args))
    return s


def test_shutdown_waits_for_lagging_replica_then_abort_and_sigterm():
    m = start("pyredis", "--shutdown-timeout", "60", "--hz", "50")
    s = start("redis")
    pid = s.info("server")["process_id"]
    try:
        link(s, m)
        m.r.set("k", 1)
        wait_synced(m, s)
        os.kill(pid, signal.SIGSTOP)
        stopped = True
        try:
            m.r.incr("k")
            blocked = _send(m.port, "SHUTDOWN")
            wait_for(lambda: m.info("server").get("shutdown_in_milliseconds", 0) > 0, 5, "shutdown in progress")
            assert m.info("clients")["blocked_clients"] == 1
            assert m.info("clients")["connected_clients"] == 2  # the replica is not counted
            assert m.r.execute_command("SHUTDOWN", "ABORT") is True
            assert blocked.recv(100) == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
            assert "shutdown_in_milliseconds" not in m.info("server")
            m.r.set("after-abort", 1)  # writes resumed
            # SIGTERM: scheduled, then waits for the replica; it exits once the replica caught up.
            os.kill(m.proc.proc.pid, signal.SIGTERM)
            wait_for(lambda: m.info("server").get("shutdown_in_milliseconds", 0) > 0, 5, "waiting for replicas")
            time.sleep(0.2)
            assert m.proc.proc.poll() is None
        finally:
            if stopped:
                os.kill(pid, signal.SIGCONT)
        m.proc.proc.wait(20)
        log = m.log()
        assert "Waiting for replicas before shutting down." in log
        assert "Shutdown manually aborted." in log
        assert "1 of 1 replicas are in sync when shutting down." in log
        assert "Lagging replica" not in log
        assert s.r.get("after-abort") == b"1" and s.r.get("k") == b"2"
    finally:
        m.stop()
        s.stop()


def test_signal_is_only_scheduled_until_the_cron_runs():
    m = start("pyredis")
    try:
        m.r.execute_command("DEBUG", "PAUSE-CRON", 1)
        os.kill(m.proc.proc.pid, signal.SIGTERM)
        wait_for(lambda: "Received SIGTERM scheduling shutdown..." in m.log(), 5, "signal logged")
        assert m.r.execute_command("SHUTDOWN", "ABORT") is True
        m.r.execute_command("DEBUG", "PAUSE-CRON", 0)
        time.sleep(0.3)
        assert m.r.ping()
        assert m.log().count("Received SIGTERM scheduling shutdown...") == 1
        assert "Shutdown manually aborted." in m.log()
        try:
            m.r.execute_command("SHUTDOWN", "ABORT")
            raise AssertionError("no error")
        except Exception as e:  # noqa: BLE001
            assert "No shutdown in progress" in str(e)
    finally:
        m.stop()


def test_restarted_master_feeds_deletions_of_keys_expired_while_down():
    """A master restarted from its RDB drops the keys that expired meanwhile and puts their DELs in
    the backlog after the old history: its replica resyncs partially and deletes them too."""
    from repl_support import FAST, Node

    from support import ServerProcess

    m = start("pyredis")
    s = start("redis")
    try:
        link(s, m)
        m.r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
        for i in range(20):
            m.db(i % 3).set(f"gone{i}", "v", px=50)
        m.r.set("kept", "v")
        wait_synced(m, s)
        offset = m.info()["master_repl_offset"]
        cwd, port = m.proc.cwd, m.port
        try:
            m.r.execute_command("SHUTDOWN", "SAVE")
        except Exception:  # noqa: BLE001 - the connection closes
            pass
        m.proc.proc.wait(10)
        time.sleep(0.1)
        m2 = Node.__new__(Node)
        m2.kind, m2.port = "pyredis", port
        m2.proc = ServerProcess("pyredis", [*FAST, "--logfile", "server.log"], cwd=cwd, port=port)
        m2.r = m2.db(0)
        m = m2
        assert m.info("persistence")["rdb_last_load_keys_expired"] == 20
        wait_for(lambda: s.info()["master_link_status"] == "up", 20, "replica back")
        wait_for(lambda: s.info()["master_repl_offset"] == m.info()["master_repl_offset"], 20, "offsets")
        assert m.info()["master_repl_offset"] > offset
        assert m.info("stats")["sync_partial_ok"] == 1 and m.info("stats")["sync_full"] == 0
        assert s.r.dbsize() == 1 and s.db(1).dbsize() == 0 and s.db(2).dbsize() == 0
    finally:
        m.stop()
        s.stop()


def test_debug_replicate_feeds_the_stream_only():
    """DEBUG REPLICATE puts a command in the replication stream without running it on the master;
    a replica that cannot run it logs the CRITICAL line redis-server prints."""
    m = start("pyredis")
    s = start("redis")
    try:
        link(s, m)
        m.r.execute_command("DEBUG", "REPLICATE", "SET", "only-replica", "1")
        m.r.execute_command("DEBUG", "REPLICATE", "fake-command-1")
        m.r.set("foo", "bar")
        assert m.r.execute_command("WAIT", 1, 2000) == 1
        assert m.r.get("only-replica") is None and s.r.get("only-replica") == b"1"
        wait_for(lambda: "== CRITICAL ==" in s.log(), 5, "replica's error line")
        assert sum("fake-command-1" in line for line in s.log().splitlines()) == 1
    finally:
        m.stop()
        s.stop()
