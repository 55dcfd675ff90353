"""Crash safety with real processes: kill -9 during writes, BGSAVE and AOF rewrite; SIGTERM saves."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest
from persistence_support import Proc, fill_mixed

from support import child_pids


def _write_until_killed(p: Proc, kill_after: float) -> list[tuple[int, float]]:
    """SET k<i> i one at a time until the server dies; returns (i, ack time) of acknowledged writes."""
    acked: list[tuple[int, float]] = []
    timer = threading.Timer(kill_after, p.kill9)
    timer.start()
    s = socket.create_connection(("127.0.0.1", p.port))
    f = s.makefile("rb")
    try:
        i = 0
        while True:
            k, v = b"k%d" % i, b"%d" % i
            s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
            line = f.readline()
            if line != b"+OK\r\n":
                break
            acked.append((i, time.time()))
            i += 1
    except OSError:
        pass
    finally:
        timer.join()
        s.close()
    return acked


def _present(p: Proc, n: int) -> set[int]:
    r = p.client()
    vals = []
    for start in range(0, n + 10, 1000):
        vals += r.mget([f"k{i}" for i in range(start, start + 1000)])
    return {i for i, v in enumerate(vals) if v is not None}


def test_kill9_with_appendfsync_always_keeps_every_acked_write(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
    acked = _write_until_killed(p, 1.5)
    assert len(acked) > 50
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    present = _present(p, len(acked))
    missing = [i for i, _ in acked if i not in present]
    assert missing == []
    assert len(present) <= len(acked) + 1  # at most the write in flight
    p.stop()


def test_kill9_with_appendfsync_everysec_loses_at_most_about_a_second(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""])
    acked = _write_until_killed(p, 2.5)
    killed_at = time.time()
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    present = _present(p, len(acked))
    lost = [t for i, t in acked if i not in present]
    assert all(t > killed_at - 2.0 for t in lost), f"lost writes acknowledged {killed_at - min(lost):.2f}s before"
    p.stop()


def test_kill9_during_bgsave_keeps_previous_dump(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", ""])
    r = p.client()
    fill_mixed(r, 1000, big=True, seed=3)
    r.set("generation", "1")
    assert r.save()
    with open(os.path.join(d, "dump.rdb"), "rb") as fh:
        first = fh.read()
    r.set("generation", "2")
    assert p.command(b"BGSAVE") == b"+Background saving started\r\n"
    kids = child_pids(p.proc.pid)
    p.kill9()
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except ProcessLookupError:
            pass
    with open(os.path.join(d, "dump.rdb"), "rb") as fh:
        assert fh.read() == first
    p = Proc("pyredis", d, ["--save", ""])
    assert p.client().get("generation") == b"1"
    p.stop()


def test_bgsave_child_killed(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", ""])
    r = p.client()
    fill_mixed(r, 1000, big=True, seed=4)
    assert r.save()
    assert p.command(b"BGSAVE") == b"+Background saving started\r\n"
    kids = child_pids(p.proc.pid)
    assert kids
    for k in kids:
        os.kill(k, signal.SIGKILL)
    deadline = time.time() + 10
    while r.info("persistence")["rdb_bgsave_in_progress"] and time.time() < deadline:
        time.sleep(0.05)
    assert r.info("persistence")["rdb_last_bgsave_status"] == "err"
    assert "Background saving terminated by signal 9" in p.log()
    assert not [f for f in os.listdir(d) if f.startswith("temp-")]
    p.stop()


def test_kill9_during_aof_rewrite_keeps_all_data(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    r = p.client()
    fill_mixed(r, 1000, big=True, seed=5)
    r.config_set("appendfsync", "always")
    assert p.command(b"BGREWRITEAOF").startswith(b"+Background append only file rewriting")
    r.set("after-rewrite-start", "yes")
    kids = child_pids(p.proc.pid)
    p.kill9()
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except ProcessLookupError:
            pass
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    c = p.client()
    assert c.get("after-rewrite-start") == b"yes"
    assert c.dbsize() == 1001
    p.stop()


@pytest.mark.parametrize("save,expect_dump", [("3600 1", True), ("", False)])
def test_sigterm_saves_when_save_points_configured(tmp_path, save, expect_dump):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", save])
    p.client().set("k", "v")
    p.proc.send_signal(signal.SIGTERM)
    assert p.wait_exit() == 0
    assert os.path.exists(os.path.join(d, "dump.rdb")) == expect_dump
    if expect_dump:
        log = p.log()
        assert "Received SIGTERM scheduling shutdown..." in log
        assert "Saving the final RDB snapshot before exiting." in log
        assert "DB saved on disk" in log
        p = Proc("pyredis", d, ["--save", ""])
        assert p.client().get("k") == b"v"
        p.stop()


@pytest.mark.parametrize("args,expect_dump", [([b"NOSAVE"], False), ([b"SAVE"], True), ([], False)])
def test_shutdown_command_save_flags(tmp_path, args, expect_dump):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", ""])
    p.client().set("k", "v")
    p.command(b"SHUTDOWN", *args)
    assert p.wait_exit() == 0
    assert os.path.exists(os.path.join(d, "dump.rdb")) == expect_dump


def test_shutdown_fails_when_save_fails(tmp_path):
    """SHUTDOWN refuses to exit (like redis-server) when the final save fails; FORCE exits anyway."""
    replies = {}
    for kind in ("redis", "pyredis"):
        d = str(tmp_path / kind)
        os.makedirs(d + "/sub")
        p = Proc(kind, d, ["--save", "3600 1", "--enable-protected-configs", "yes"])
        p.client().config_set("dir", d + "/sub")
        os.rmdir(d + "/sub")
        replies[kind] = [p.command(b"SHUTDOWN"), p.command(b"PING")]
        p.command(b"SHUTDOWN", b"FORCE")
        assert p.wait_exit() == 0
    assert replies["pyredis"] == replies["redis"]


def test_signal_save_failure_keeps_running_and_second_signal_exits(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", "3600 1"])
    r = p.client()
    for i in range(20):
        r.set(f"k{i}", i)
    os.makedirs(os.path.join(d, "dump.rdb"))  # the rename onto a directory fails
    p.proc.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    while "Error trying to save the DB, can't exit." not in p.log() and time.time() < deadline:
        time.sleep(0.05)
    assert p.command(b"PING") == b"+PONG\r\n"
    os.rmdir(os.path.join(d, "dump.rdb"))
    # a slow final save: a second SIGINT exits at once and removes the temp file
    r.config_set("rdb-key-save-delay", 100000)
    p.proc.send_signal(signal.SIGINT)
    temp = os.path.join(d, "temp-%d.rdb" % p.proc.pid)
    deadline = time.time() + 10
    while not os.path.exists(temp) and time.time() < deadline:
        time.sleep(0.01)
    assert os.path.exists(temp)
    p.proc.send_signal(signal.SIGINT)
    assert p.wait_exit() == 1
    assert not os.path.exists(temp)
    assert "You insist... exiting now." in p.log()
