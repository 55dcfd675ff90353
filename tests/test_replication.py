"""Replication with real processes in every direction (redis-server <-> pyredis), compared key by key."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time

import pytest
import redis
from repl_support import (
    assert_same_data,
    link,
    prepare_master,
    start,
    wait_for,
    wait_synced,
    write_everything,
)

from support import ServerProcess


@pytest.fixture
def nodes():
    started = []

    def make(kind, *args):
        n = start(kind, *args)
        started.append(n)
        return n

    yield make
    for n in started:
        n.stop()


def _writer(m, stop: threading.Event, errors: list) -> None:
    i = 0
    try:
        while not stop.is_set():
            write_everything(m, f"w{i % 7}")
            i += 1
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append(e)


@pytest.mark.parametrize("master_kind,replica_kind,diskless", [
    ("redis", "pyredis", "yes"), ("redis", "pyredis", "no"), ("pyredis", "redis", "no"), ("pyredis", "pyredis", "yes")])
def test_full_sync_and_stream(nodes, master_kind, replica_kind, diskless):
    """Full sync (disk or diskless) while a writer of every type runs, then the live stream; WAIT, compare."""
    m = nodes(master_kind, "--repl-diskless-sync", diskless)
    s = nodes(replica_kind)
    prepare_master(m)
    stop, errors = threading.Event(), []
    t = threading.Thread(target=_writer, args=(m, stop, errors))
    t.start()
    try:
        link(s, m)
        time.sleep(0.3)
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    write_everything(m, "after")
    time.sleep(0.1)  # the short TTL keys expire on the master; their DELs reach the replica
    wait_for(lambda: m.r.get("after:short") is None)
    wait_synced(m, s)
    assert_same_data(m, s)
    assert m.info("stats")["sync_full"] == 1
    assert s.r.execute_command("ROLE")[3] == b"connected"
    with pytest.raises(redis.ReadOnlyError, match="You can't write against a read only replica."):
        s.r.set("x", 1)


def test_chain_redis_pyredis_redis(nodes):
    """redis -> pyredis -> redis: the middle replica proxies its master's stream verbatim."""
    top = nodes("redis")
    mid = nodes("pyredis")
    low = nodes("redis")
    prepare_master(top)
    link(mid, top)
    link(low, mid)
    write_everything(top, "chain")
    wait_synced(top, mid)
    wait_for(lambda: low.info()["master_repl_offset"] == top.info()["master_repl_offset"])
    assert_same_data(top, low)
    assert low.info()["master_replid"] == top.info()["master_replid"]


def _partial_ok(node) -> int:
    return node.info("stats")["sync_partial_ok"]


@pytest.mark.parametrize("master_kind,replica_kind", [("redis", "pyredis"), ("pyredis", "redis")])
def test_link_drop_partial_resync(nodes, master_kind, replica_kind):
    """CLIENT KILL TYPE master on the replica, then a killed replica connection on the master: both
    resume with +CONTINUE from the backlog, and WAIT-acknowledged writes survive."""
    m = nodes(master_kind)
    s = nodes(replica_kind)
    prepare_master(m)
    link(s, m)
    wait_synced(m, s)
    s.r.client_kill_filter(_type="master")
    m.r.set("during-drop", 1)
    wait_for(lambda: _partial_ok(m) == 1, what="partial resync after CLIENT KILL TYPE master")
    m.r.client_kill_filter(_type="replica")
    write_everything(m, "drop")
    wait_for(lambda: _partial_ok(m) == 2, what="partial resync after CLIENT KILL TYPE replica")
    assert m.r.execute_command("WAIT", 1, 5000) == 1
    wait_synced(m, s)
    assert_same_data(m, s)
    assert m.info("stats")["sync_full"] == 1


@pytest.mark.parametrize("master_kind,replica_kind", [("pyredis", "redis"), ("redis", "pyredis")])
def test_backlog_too_small_full_resync(nodes, master_kind, replica_kind):
    m = nodes(master_kind, "--repl-backlog-size", "16384")
    s = nodes(replica_kind)
    link(s, m)
    m.r.set("k", "v")
    wait_synced(m, s)
    s.r.config_set("repl-timeout", 60)
    # Stop the replica's link by pausing the replica, overflow the backlog, resume.
    os.kill(s.proc.proc.pid, signal.SIGSTOP)
    try:
        m.r.client_kill_filter(_type="replica")
        for i in range(40):
            m.r.set(f"big{i}", "x" * 1000)
    finally:
        os.kill(s.proc.proc.pid, signal.SIGCONT)
    wait_for(lambda: m.info("stats")["sync_full"] == 2, what="a second full sync")
    # the replica's first PSYNC (its own history) and the one after the drop were both refused
    assert m.info("stats")["sync_partial_err"] == 2
    wait_synced(m, s)
    assert_same_data(m, s)


def test_sigstop_master_replica_times_out_and_resumes(nodes):
    m = nodes("pyredis")
    s = nodes("pyredis", "--repl-timeout", "1")
    link(s, m)
    m.r.set("a", 1)
    wait_synced(m, s)
    os.kill(m.proc.proc.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: s.info()["master_link_status"] == "down", 10, "link down")
    finally:
        os.kill(m.proc.proc.pid, signal.SIGCONT)
    wait_for(lambda: s.info()["master_link_status"] == "up", 15, "link up again")
    assert "MASTER timeout: no data nor PING received..." in s.log()
    m.r.set("b", 2)
    wait_synced(m, s)
    assert s.r.get("b") == b"2"
    assert _partial_ok(m) == 1


@pytest.mark.parametrize("master_kind,replica_kind", [("pyredis", "redis"), ("redis", "pyredis")])
def test_failover(nodes, master_kind, replica_kind):
    """FAILOVER TO the replica: roles swap, every WAIT-acknowledged write is on the new master."""
    m = nodes(master_kind)
    s = nodes(replica_kind)
    link(s, m)
    for i in range(50):
        m.r.set(f"k{i}", i)
    assert m.r.execute_command("WAIT", 1, 5000) == 1
    assert m.r.execute_command("FAILOVER", "TO", "127.0.0.1", s.port, "TIMEOUT", 5000) == b"OK"
    wait_for(lambda: s.info()["role"] == "master" and m.info()["role"] == "slave", 15, "roles swapped")
    wait_for(lambda: m.info()["master_link_status"] == "up", 15)
    assert m.info()["master_failover_state"] == "no-failover"
    for i in range(50):
        assert s.r.get(f"k{i}") == str(i).encode()
    s.r.set("after", 1)
    assert s.r.execute_command("WAIT", 1, 5000) == 1
    assert m.r.get("after") == b"1"
    assert s.info("stats")["sync_partial_ok"] == 1  # the old master continued with PSYNC, no full sync


def test_min_replicas_and_masterdown(nodes):
    m = nodes("pyredis")
    s = nodes("pyredis", "--replica-serve-stale-data", "no")
    m.r.config_set("min-replicas-to-write", 1)
    with pytest.raises(redis.ResponseError, match="^NOREPLICAS Not enough good replicas to write.$"):
        m.r.set("a", 1)
    link(s, m)
    wait_for(lambda: m.r.set("a", 1))
    m.stop()
    wait_for(lambda: s.info()["master_link_status"] == "down")
    with pytest.raises(redis.ResponseError, match="Link with MASTER is down and replica-serve-stale-data is set"):
        s.r.get("a")
    assert s.r.execute_command("ROLE")[3] in (b"connect", b"connecting")


def _capture_stream(kind: str, commands: list[list]) -> list[bytes]:
    """What a server sends to a SYNC client for *commands* (timestamps masked)."""
    p = ServerProcess(kind, [])
    try:
        c = redis.Redis(port=p.port)
        c.sadd("s", "only")
        sk = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        sk.sendall(b"SYNC\r\n")
        f = sk.makefile("rb")
        line = b""
        while not line.strip():
            line = f.readline()
        f.read(int(line[1:]))
        for cmd in commands:
            try:
                c.execute_command(*cmd)
            except redis.ResponseError:
                pass
        c.execute_command("SET", "end-marker", "1")
        data = b""
        while b"end-marker" not in data:
            data += sk.recv(65536)
        data += sk.recv(65536) if not data.endswith(b"1\r\n") else b""
        sk.close()
    finally:
        p.stop()
    data = re.sub(rb"\$13\r\n1\d{12}\r\n", b"$13\r\n<ms>\r\n", data)
    return data.split(b"\r\n*")


STREAM_COMMANDS = [
    ["SET", "a", "1"], ["GETSET", "a", "2"], ["SET", "a", "3", "GET"], ["SET", "b", "v", "EX", "100"],
    ["GETEX", "b", "PERSIST"], ["GETDEL", "b"], ["INCRBYFLOAT", "f", "1.5"], ["EXPIRE", "f", "100"],
    ["SELECT", "5"], ["SET", "in5", "x"], ["FLUSHDB"], ["FLUSHDB"], ["RPUSH", "l", "a", "b", "c"],
    ["LMPOP", "1", "l", "LEFT", "COUNT", "10"], ["BLPOP", "nolist", "0.01"], ["RPUSH", "l", "x"],
    ["BLMOVE", "l", "l2", "LEFT", "RIGHT", "1"], ["SPOP", "s"], ["SADD", "t", "only"], ["SPOP", "t", "5"],
    ["EVAL", "redis.call('set', KEYS[1], '1'); redis.call('incr', KEYS[1])", "1", "e"],
    ["MULTI"], ["EXEC"], ["MULTI"], ["SET", "m1", "1"], ["EXEC"], ["MULTI"], ["SET", "m1", "1"],
    ["INCR", "m1"], ["EXEC"], ["XADD", "x", "1-1", "f", "v"], ["XGROUP", "CREATE", "x", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"], ["DEL", "nothing"], ["PFADD", "h", "a"],
]


def test_stream_bytes_match_redis():
    """The replication stream is byte for byte what redis-server sends for the same commands."""
    assert _capture_stream("pyredis", STREAM_COMMANDS) == _capture_stream("redis", STREAM_COMMANDS)


def test_redis_cli_rdb_and_functions_rdb(nodes, tmp_path):
    """redis-cli --rdb / --functions-rdb (REPLCONF rdb-only, rdb-filter-only) write files redis-check-rdb
    accepts, with the keys (or only the functions)."""
    import shutil
    import subprocess

    cli, check = shutil.which("redis-cli"), shutil.which("redis-check-rdb")
    if cli is None or check is None:
        pytest.skip("redis-cli / redis-check-rdb not installed")
    m = nodes("pyredis")
    prepare_master(m)
    full, funcs = str(tmp_path / "full.rdb"), str(tmp_path / "funcs.rdb")
    subprocess.run([cli, "-p", str(m.port), "--rdb", full], check=True, capture_output=True, timeout=60)
    subprocess.run([cli, "-p", str(m.port), "--functions-rdb", funcs], check=True, capture_output=True, timeout=60)
    out = subprocess.run([check, full], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout
    read = re.search(r"(\d+) keys read", out.stdout)
    assert read is not None and int(read.group(1)) >= 200, out.stdout
    out = subprocess.run([check, funcs], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "0 keys read" in out.stdout, out.stdout
    wait_for(lambda: m.info()["connected_slaves"] == 0, what="rdb-only clients gone")
