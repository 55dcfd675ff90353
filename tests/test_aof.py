"""AOF: multi-part layout readable by redis-server and the reverse, rewrite, truncation, errors."""

from __future__ import annotations

import os
import time

import pytest
from persistence_support import Proc, fill_mixed, snapshot, without_read_counters

ZSETS = os.path.exists(os.path.join(os.path.dirname(__file__), "..", "src", "pyredis", "engine", "zset.py"))


def _cmds(r) -> None:
    r.set("s", "v")
    r.set("n", 10)
    r.incr("n")
    r.expire("s", 1000)
    r.set("px", "v", px=500000)
    r.rpush("l", *[b"%d" % i for i in range(100)])
    r.lpop("l")
    r.hset("h", mapping={"a": "1", "b": "2"})
    r.sadd("set", "a", "b", "c")
    r.srem("set", "a")
    r.xadd("st", {"f": "v"}, id="1-1")
    r.xgroup_create("st", "g", id="0")
    r.xreadgroup("g", "alice", {"st": ">"})
    with r.pipeline(transaction=True) as p:
        p.set("t1", "1")
        p.set("t2", "2")
        p.execute()
    r2 = r.connection_pool.connection_kwargs
    del r2
    r.execute_command("SELECT", 4)
    r.set("db4", "x")
    r.execute_command("SELECT", 0)
    if ZSETS:
        r.zadd("z", {"a": 1, "b": 2.5})


def _aof_dir(d: str) -> str:
    return os.path.join(d, "appendonlydir")


def test_pyredis_aof_loads_in_both(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    r = p.client()
    _cmds(r)
    fill_mixed(r, 200, dbs=(0, 3), zsets=ZSETS)
    want = snapshot(r)
    p.stop()
    files = sorted(os.listdir(_aof_dir(d)))
    assert files == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
    with open(os.path.join(_aof_dir(d), "appendonly.aof.manifest")) as fh:
        assert fh.read() == ("file appendonly.aof.1.base.rdb seq 1 type b\n"
                             "file appendonly.aof.1.incr.aof seq 1 type i\n")
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    got = snapshot(p.client())
    assert without_read_counters(got) == without_read_counters(want)
    assert "DB loaded from append only file" in p.log()
    p.stop()
    r = Proc("redis", d, ["--appendonly", "yes", "--save", ""])
    assert without_read_counters(snapshot(r.client())) == without_read_counters(got)
    r.stop()


def test_redis_aof_loads_in_pyredis(tmp_path):
    d = str(tmp_path)
    r = Proc("redis", d, ["--appendonly", "yes", "--save", ""])
    c = r.client()
    _cmds(c)
    fill_mixed(c, 200, dbs=(0, 2), zsets=ZSETS)
    c.bgrewriteaof()
    _wait(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0)
    c.set("after", "rewrite")
    c.delete("s")
    want = snapshot(c)
    r.stop()
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    assert snapshot(p.client()) == want
    p.stop()


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_rewrite_then_restart(tmp_path, preamble):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", "", "--aof-use-rdb-preamble", preamble])
    r = p.client()
    _cmds(r)
    fill_mixed(r, 150, dbs=(0, 1), zsets=ZSETS)
    assert r.bgrewriteaof() in (True, b"Background append only file rewriting started")
    _wait(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0 and
          r.info("persistence")["aof_rewrite_scheduled"] == 0)
    assert r.info("persistence")["aof_last_bgrewrite_status"] == "ok"
    r.set("after", "1")
    r.rpush("l", "more")
    want = snapshot(r)
    p.stop()
    ext = "rdb" if preamble == "yes" else "aof"
    assert sorted(os.listdir(_aof_dir(d))) == [f"appendonly.aof.2.base.{ext}", "appendonly.aof.2.incr.aof",
                                               "appendonly.aof.manifest"]
    norm = without_read_counters if preamble == "no" else (lambda s: s)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    got = snapshot(p.client())
    assert norm(got) == norm(want)
    p.stop()
    rr = Proc("redis", d, ["--appendonly", "yes", "--save", ""])
    assert norm(snapshot(rr.client())) == norm(got)
    rr.stop()


def test_enable_at_runtime_and_debug_loadaof(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", ""])
    r = p.client()
    r.set("before", "1")
    r.config_set("appendonly", "yes")
    _wait(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0 and
          r.info("persistence")["aof_rewrite_scheduled"] == 0)
    r.set("after", "2")
    r.expire("after", 1000)
    want = snapshot(r)
    assert r.execute_command("DEBUG", "LOADAOF") == b"OK"
    assert snapshot(r) == want
    assert r.info("persistence")["aof_enabled"] == 1
    r.config_set("appendonly", "no")
    r.set("ignored", "x")
    p.stop()
    rr = Proc("redis", d, ["--appendonly", "yes", "--save", ""])
    assert snapshot(rr.client()) == want
    rr.stop()


def _incr_path(d: str, n: int = 1) -> str:
    return os.path.join(_aof_dir(d), f"appendonly.aof.{n}.incr.aof")


def test_truncated_tail(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    r = p.client()
    r.set("a", "1")
    r.set("b", "2")
    p.stop()
    with open(_incr_path(d), "ab") as fh:
        fh.write(b"*3\r\n$3\r\nset\r\n$1\r\nc\r\n$2\r\n3")
    size_before = os.path.getsize(_incr_path(d))
    # aof-load-truncated no: refuses to start
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", "", "--aof-load-truncated", "no"], wait=False)
    assert p.wait_exit() == 1
    assert "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof" in p.log()
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    c = p.client()
    assert c.mget("a", "b", "c") == [b"1", b"2", None]
    log = p.log()
    assert "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!" in log
    assert "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled" in log
    c.set("d", "4")
    p.stop()
    assert os.path.getsize(_incr_path(d)) < size_before + 40
    r = Proc("redis", d, ["--appendonly", "yes", "--save", ""])
    assert r.client().mget("a", "b", "c", "d") == [b"1", b"2", None, b"4"]
    r.stop()


def test_incomplete_multi_reverted(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    p.client().set("a", "1")
    p.stop()
    with open(_incr_path(d), "ab") as fh:
        fh.write(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n")
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    assert p.client().mget("a", "b") == [b"1", None]
    assert "Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof" in p.log()
    p.stop()


@pytest.mark.parametrize("garbage,message", [
    (b"*3\r\n$3\r\nset\r\n$1\r\nx\r\n$1\r\n1\r\nXXXX\r\n*1\r\n$4\r\nPING\r\n", "Bad file format reading the append only file"),
    (b"*2\r\n$7\r\nnosuchc\r\n$1\r\nx\r\n", "Unknown command 'nosuchc' reading the append only file"),
])
def test_corrupt_aof_refuses_start(tmp_path, garbage, message):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    p.client().set("a", "1")
    p.stop()
    with open(_incr_path(d), "ab") as fh:
        fh.write(garbage)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""], wait=False)
    assert p.wait_exit() == 1
    assert message in p.log()


def test_manifest_errors(tmp_path):
    d = str(tmp_path)
    os.makedirs(_aof_dir(d))
    with open(os.path.join(_aof_dir(d), "appendonly.aof.manifest"), "w") as fh:
        fh.write("file appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""], wait=False)
    assert p.wait_exit() == 1
    assert "Found a non-monotonic sequence number" in p.log()
    with open(os.path.join(_aof_dir(d), "appendonly.aof.manifest"), "w") as fh:
        fh.write("file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""], wait=False)
    assert p.wait_exit() == 1
    assert "appendonly.aof.1.base.aof" in p.log()


def test_old_style_aof_upgraded(tmp_path):
    d = str(tmp_path)
    with open(os.path.join(d, "appendonly.aof"), "wb") as fh:
        fh.write(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$3\r\nold\r\n$5\r\nstyle\r\n")
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    r = p.client()
    assert r.get("old") == b"style"
    r.set("new", "1")
    p.stop()
    assert not os.path.exists(os.path.join(d, "appendonly.aof"))
    with open(os.path.join(_aof_dir(d), "appendonly.aof.manifest")) as fh:
        text = fh.read()
    assert text.startswith("file appendonly.aof seq 1 type b\n")
    rr = Proc("redis", d, ["--appendonly", "yes", "--save", ""])
    assert rr.client().mget("old", "new") == [b"style", b"1"]
    rr.stop()


@pytest.mark.parametrize("fsync", ["always", "everysec", "no"])
def test_fsync_policies(tmp_path, fsync):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", "", "--appendfsync", fsync,
                            "--aof-timestamp-enabled", "yes"])
    r = p.client()
    for i in range(200):
        r.set(f"k{i}", i)
    time.sleep(0.3)
    p.kill9()
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    assert p.client().dbsize() == 200
    p.stop()
    with open(_incr_path(d), "rb") as fh:
        assert fh.read().startswith(b"#TS:")


def test_auto_rewrite(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", "", "--auto-aof-rewrite-min-size", "10000",
                            "--auto-aof-rewrite-percentage", "100"])
    r = p.client()
    for i in range(400):
        r.set(f"key{i}", "x" * 50)
    _wait(lambda: r.info("persistence")["aof_rewrites"] >= 1 and
          r.info("persistence")["aof_rewrite_in_progress"] == 0)
    assert "Starting automatic rewriting of AOF on" in p.log()
    want = snapshot(r)
    p.stop()
    p = Proc("pyredis", d, ["--appendonly", "yes", "--save", ""])
    assert snapshot(p.client()) == want
    p.stop()


def test_aof_info_fields(tmp_path):
    """INFO persistence lists the same fields as redis-server, with the AOF on and off."""
    os.makedirs(tmp_path / "r")
    for args in (["--appendonly", "yes", "--save", ""], ["--save", "1 1"]):
        p = Proc("pyredis", str(tmp_path), args)
        r = Proc("redis", str(tmp_path / "r"), args)
        names = []
        for srv in (p, r):
            text = srv.command(b"INFO", b"persistence").split(b"\r\n", 1)[1].decode()
            names.append([ln.split(":")[0] for ln in text.splitlines() if ln and not ln.startswith("#")])
        assert names[0] == names[1]
        p.stop()
        r.stop()


def _wait(cond, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def _parse_aof(data: bytes) -> list[list[bytes]]:
    from pyredis.persistence.aof import iter_commands

    out = []
    for argv, _s, _e in iter_commands(data):
        out.append([b"<ms>" if a.isdigit() and len(a) >= 13 else a for a in argv])
    return out


def test_incr_file_contents_match_redis(tmp_path):
    """The same commands leave the same AOF commands (absolute times masked) as redis-server's."""
    script = [
        [b"SET", b"a", b"1"], [b"SET", b"b", b"2", b"EX", b"100"], [b"EXPIRE", b"a", b"100"],
        [b"INCR", b"n"], [b"RPUSH", b"l", b"x", b"y"], [b"LPOP", b"l"], [b"HSET", b"h", b"f", b"v"],
        [b"SELECT", b"3"], [b"SET", b"c", b"3"], [b"SELECT", b"0"], [b"MULTI"], [b"SET", b"m1", b"1"],
        [b"INCR", b"m2"], [b"EXEC"], [b"SET", b"gone", b"x", b"PX", b"1"], [b"DEBUG", b"SLEEP", b"0.01"],
        [b"GET", b"gone"], [b"PERSIST", b"a"], [b"DEL", b"nosuch"], [b"FLUSHDB"],
    ]
    contents = {}
    for kind in ("redis", "pyredis"):
        d = str(tmp_path / kind)
        os.makedirs(d)
        p = Proc(kind, d, ["--appendonly", "yes", "--save", ""])
        import socket as _socket

        s = _socket.create_connection(("127.0.0.1", p.port))
        f = s.makefile("rb")
        for argv in script:
            s.sendall(b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv))
            f.readline()
        s.close()
        p.stop()
        with open(_incr_path(d), "rb") as fh:
            contents[kind] = _parse_aof(fh.read())
    assert contents["pyredis"] == contents["redis"]


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_replies_follow_the_aof_write_and_turning_aof_off_kills_the_rewrite(kind, tmp_path):
    d = str(tmp_path)
    p = Proc(kind, d, ["--appendonly", "yes", "--save", "", "--appendfsync", "everysec"])
    try:
        r = p.client()
        adir = os.path.join(d, "appendonlydir")
        incr = [f for f in os.listdir(adir) if f.endswith(".incr.aof")][0]
        r.set("foo", "bar")  # written to the file before the reply, whatever the fsync policy
        size = os.path.getsize(os.path.join(adir, incr))
        assert size > 0
        r.getex("foo")  # GETEX without options propagates nothing
        assert os.path.getsize(os.path.join(adir, incr)) == size
        r.config_set("rdb-key-save-delay", 10000000)
        r.bgrewriteaof()
        r.config_set("appendonly", "no")
        deadline = time.time() + 10
        while "Killing running AOF rewrite child" not in p.log() and time.time() < deadline:
            time.sleep(0.05)
        assert "Killing running AOF rewrite child" in p.log()
        r.config_set("rdb-key-save-delay", 0)
    finally:
        p.stop()
