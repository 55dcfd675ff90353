"""RDB files: pyredis and redis-server read each other's dumps; old encodings; SAVE/BGSAVE behaviour."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time

import pytest
from persistence_support import Proc, fill_mixed, snapshot

from pyredis.persistence import listpack as lp
from pyredis.persistence.crc64 import crc64
from pyredis.persistence.lzf import compress

ASSETS = "/tmp/harness-cache/src/redis-deb/tests/assets"


def _check_rdb(path: str) -> str:
    out = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "RDB looks OK" in out.stdout
    return out.stdout


def _wait(cond, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


# -- cross-server round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("opts", [[], ["--rdbcompression", "no"], ["--rdbchecksum", "no"],
                                  ["--list-max-listpack-size", "5", "--list-compress-depth", "1"],
                                  ["--hash-max-listpack-entries", "0", "--zset-max-listpack-entries", "0",
                                   "--set-max-intset-entries", "0"]])
def test_pyredis_dump_loads_in_redis(tmp_path, opts):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", "", *opts])
    r = p.client()
    fill_mixed(r, 60, dbs=(0, 7, 15), big=True)
    r.set("compressible", "abc" * 1000)
    r.set("int", 123456789)
    r.set("empty", "")
    r.set("expired-soon", "x", px=1)
    want = snapshot(r)
    assert r.save()
    p.stop()
    report = _check_rdb(os.path.join(d, "dump.rdb"))
    assert "Checksum OK" in report if "--rdbchecksum" not in opts else "Checksum OK" not in report
    rr = Proc("redis", d, ["--save", ""])
    got = snapshot(rr.client())
    want.pop((0, b"expired-soon"), None)
    got.pop((0, b"expired-soon"), None)
    assert got == want
    rr.stop()


def test_redis_dump_loads_in_pyredis(tmp_path):
    d = str(tmp_path)
    rr = Proc("redis", d, ["--save", "", "--list-compress-depth", "1"])
    r = rr.client()
    fill_mixed(r, 300, dbs=(0, 3), big=True)
    for i in range(20):
        r.pfadd(f"hll{i}", *[f"e{j}" for j in range(i * 50)])
    r.xadd("stream-deleted", {"a": "1"}, id="1-1")
    r.xadd("stream-deleted", {"a": "2"}, id="1-2")
    r.xadd("stream-deleted", {"b": "3"}, id="1-3")
    r.xdel("stream-deleted", "1-2")
    r.xadd("stream-empty", {"a": "1"}, id="5-5")
    r.xdel("stream-empty", "5-5")
    r.set("bin", bytes(range(256)) * 10)
    want = snapshot(r)
    r.save()
    rr.stop()
    p = Proc("pyredis", d, ["--save", ""])
    c = p.client()
    assert snapshot(c) == want
    assert f"Done loading RDB, keys loaded: {len(want)}, keys expired: 0." in p.log()
    # and pyredis writes it back in a form redis-server reads identically
    c.save()
    p.stop()
    _check_rdb(os.path.join(d, "dump.rdb"))
    rr = Proc("redis", d, ["--save", ""])
    assert snapshot(rr.client()) == want
    rr.stop()


# -- hand-made files in the older encodings -----------------------------------------------------------------
def _s(b: bytes) -> bytes:
    n = len(b)
    if n < 64:
        return bytes([n]) + b
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF]) + b
    return b"\x80" + n.to_bytes(4, "big") + b


def _len(n: int) -> bytes:
    return _s(b"x" * n)[: -n] if n else b"\x00"


def _ziplist(items: list) -> bytes:
    entries = []
    prevlen = 0
    for it in items:
        if isinstance(it, int):
            if 0 <= it <= 12:
                enc = bytes([0xF1 + it])
            elif -128 <= it <= 127:
                enc = b"\xfe" + struct.pack("<b", it)
            elif -32768 <= it <= 32767:
                enc = b"\xc0" + struct.pack("<h", it)
            elif -(1 << 23) <= it < (1 << 23):
                enc = b"\xf0" + it.to_bytes(3, "little", signed=True)
            elif -(1 << 31) <= it < (1 << 31):
                enc = b"\xd0" + struct.pack("<i", it)
            else:
                enc = b"\xe0" + struct.pack("<q", it)
        else:
            n = len(it)
            if n < 64:
                enc = bytes([n]) + it
            elif n < 16384:
                enc = bytes([0x40 | (n >> 8), n & 0xFF]) + it
            else:
                enc = b"\x80" + n.to_bytes(4, "big") + it
        prev = bytes([prevlen]) if prevlen < 254 else b"\xfe" + struct.pack("<I", prevlen)
        e = prev + enc
        entries.append(e)
        prevlen = len(e)
    body = b"".join(entries)
    tail = 10 + len(body) - (len(entries[-1]) if entries else 0)
    return struct.pack("<IIH", 10 + len(body) + 1, tail, len(items)) + body + b"\xff"


def _zipmap(pairs: list[tuple[bytes, bytes]]) -> bytes:
    def ln(x: bytes) -> bytes:
        return bytes([len(x)]) if len(x) < 254 else b"\xfe" + struct.pack("<I", len(x))

    out = bytes([len(pairs) if len(pairs) < 254 else 254])
    for k, v in pairs:
        out += ln(k) + k + ln(v) + b"\x02" + v + b"\x00\x00"
    return out + b"\xff"


def _intset(vals: list[int], width: int) -> bytes:
    code = {2: "h", 4: "i", 8: "q"}[width]
    vals = sorted(vals)
    return struct.pack("<II", width, len(vals)) + struct.pack("<%d%s" % (len(vals), code), *vals)


def _stream_v1() -> bytes:
    """A type-15 stream: one node (master 10-1), two entries, one deleted, a group with a PEL."""
    e = lp.lp_entry
    items = [e(2), e(1), e(2), e(b"f1"), e(b"f2"), e(0),
             e(2), e(0), e(0), e(b"v1"), e(b"v2"), e(5),  # 10-1 same fields
             e(1 | 2), e(0), e(1), e(b"x"), e(b"y"), e(5),  # 10-2 deleted
             e(0), e(5), e(0), e(1), e(b"other"), e(b"z"), e(6)]  # 15-1 own fields
    body = b"".join(items)
    blob = struct.pack("<IH", len(body) + 7, len(items)) + body + b"\xff"
    key = (10).to_bytes(8, "big") + (1).to_bytes(8, "big")
    out = _len(1) + _s(key) + _s(blob)
    out += _len(2) + _len(15) + _len(1)  # length, last id
    out += _len(1) + _s(b"grp") + _len(10) + _len(1)  # one group, last delivered 10-1
    out += _len(1) + key + struct.pack("<q", 1700000000000) + _len(3)  # PEL: 10-1
    out += _len(1) + _s(b"alice") + struct.pack("<q", 1700000000123) + _len(1) + key
    return out


def _old_file(version: int = 9) -> bytes:
    lz = b"lzf-compressed " * 20
    keys = [
        (1, b"linkedlist", _len(3) + _s(b"a") + _s(b"\xc0\x05"[:0] + b"b") + b"\xc1\x39\x30"),
        (2, b"plainset", _len(3) + _s(b"a") + _s(b"b") + b"\xc0\x07"),
        (3, b"zset-strscores", _len(4) + _s(b"a") + b"\x031.5" + _s(b"b") + b"\xfe" + _s(b"c") + b"\xff"
         + _s(b"d") + b"\x02-3"),
        (4, b"plainhash", _len(2) + _s(b"f") + _s(b"v") + _s(b"n") + b"\xc2" + struct.pack("<i", -70000)),
        (5, b"zset-binscores", _len(2) + _s(b"x") + struct.pack("<d", 0.25) + _s(b"y") + struct.pack("<d", -1e300)),
        (9, b"zipmap", _s(_zipmap([(b"a", b"1"), (b"bb", b"value"), (b"c" * 300, b"long")]))),
        (10, b"ziplist-list", _s(_ziplist([b"a", 7, -100, 1000, 100000, 3000000000, b"x" * 100, b"y" * 300]))),
        (11, b"intset16", _s(_intset([1, -5, 300], 2))),
        (11, b"intset32", _s(_intset([1, 70000], 4))),
        (11, b"intset64", _s(_intset([1, 1 << 40, -(1 << 50)], 8))),
        (12, b"ziplist-zset", _s(_ziplist([b"m1", 1, b"m2", b"2.5", b"m3", b"inf"]))),
        (13, b"ziplist-hash", _s(_ziplist([b"f1", b"v1", b"f2", 42]))),
        (13, b"ziplist-hash-big", _s(_ziplist([x for i in range(600) for x in (b"f%d" % i, i)]))),
        (14, b"quicklist", _len(2) + _s(_ziplist([b"a", b"b", 3])) + _s(_ziplist([b"c", -4]))),
        (15, b"stream-v1", _stream_v1()),
        (0, b"intstr8", b"\xc0\xfb"),
        (0, b"intstr16", b"\xc1\x00\x80"),
        (0, b"intstr32", b"\xc2\x00\x00\x00\x80"),
        (0, b"lzfstr", b"\xc3" + _len(len(compress(lz) or b"")) + _len(len(lz)) + (compress(lz) or b"")),
    ]
    body = b"REDIS%04d" % version + b"\xfa" + _s(b"redis-ver") + _s(b"4.0.0") + b"\xfe\x00"
    body += b"\xfd" + struct.pack("<I", int(time.time()) + 100000)  # EXPIRETIME (seconds)
    for t, k, payload in keys:
        body += bytes([t]) + _s(k) + payload
    body += b"\xfe\x02\xfb\x01\x01\xfc" + struct.pack("<q", int(time.time() * 1000) + 500000)
    body += b"\x00" + _s(b"in-db2") + _s(b"v")
    body += b"\xfc" + struct.pack("<q", 1000) + b"\x00" + _s(b"long-expired") + _s(b"v")
    body += b"\xff"
    return body + struct.pack("<Q", crc64(0, body))


def test_old_encodings_load_like_redis(tmp_path):
    data = _old_file()
    for name in ("r", "p"):
        os.makedirs(tmp_path / name)
        with open(tmp_path / name / "dump.rdb", "wb") as fh:
            fh.write(data)
    rr = Proc("redis", str(tmp_path / "r"), ["--save", ""])
    want = snapshot(rr.client())
    enc_r = {k: rr.client(db).object("encoding", k) for db, k in want}
    rr.stop()
    assert len(want) == 20
    p = Proc("pyredis", str(tmp_path / "p"), ["--save", ""])
    assert snapshot(p.client()) == want
    assert {k: p.client(db).object("encoding", k) for db, k in want} == enc_r
    assert "keys expired: 1" in p.log()
    p.stop()


@pytest.mark.skipif(not os.path.isdir(ASSETS), reason="Redis test-suite assets not fetched")
@pytest.mark.parametrize("asset", ["encodings.rdb", "hash-zipmap.rdb", "hash-ziplist.rdb", "list-quicklist.rdb",
                                   "zset-ziplist.rdb", "scriptbackup.rdb", "corrupt_empty_keys.rdb"])
def test_redis_suite_assets(tmp_path, asset):
    for name in ("r", "p"):
        os.makedirs(tmp_path / name)
        shutil.copy(os.path.join(ASSETS, asset), tmp_path / name / "dump.rdb")
    rr = Proc("redis", str(tmp_path / "r"), ["--save", ""])
    want = snapshot(rr.client())
    rr.stop()
    p = Proc("pyredis", str(tmp_path / "p"), ["--save", ""])
    assert snapshot(p.client()) == want
    if asset == "corrupt_empty_keys.rdb":
        assert "empty keys skipped: 9" in p.log()
        assert "skipping empty key: list_quicklist_empty_ziplist" in p.log()
    p.stop()


# -- refusing bad files -------------------------------------------------------------------------------------
def _good_dump(d: str) -> bytes:
    p = Proc("pyredis", d, ["--save", ""])
    fill_mixed(p.client(), 30)
    p.client().save()
    p.stop()
    with open(os.path.join(d, "dump.rdb"), "rb") as fh:
        return fh.read()


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[:-3], "Unexpected EOF"),
    (lambda b: b[: len(b) // 2], "Short read or OOM loading DB. Unrecoverable error, aborting now."),
    (lambda b: b[:-1] + bytes([b[-1] ^ 0xFF]), "Wrong RDB checksum"),
    (lambda b: b"RADIS" + b[5:], "Wrong signature trying to load DB from file"),
    (lambda b: b"REDIS0011" + b[9:], "Can't handle RDB format version 11"),
    (lambda b: b[:40] + b"\x63" + b[41:], ""),
])
def test_corrupt_dump_refuses_start(tmp_path, damage, message):
    d = str(tmp_path)
    data = damage(_good_dump(d))
    with open(os.path.join(d, "dump.rdb"), "wb") as fh:
        fh.write(data)
    p = Proc("pyredis", d, ["--save", ""], wait=False)
    assert p.wait_exit() == 1
    assert message in p.log()
    assert "Ready to accept connections" not in p.log()


def test_checksum_not_verified_when_disabled(tmp_path):
    d = str(tmp_path)
    data = _good_dump(d)
    with open(os.path.join(d, "dump.rdb"), "wb") as fh:
        fh.write(data[:-1] + bytes([data[-1] ^ 1]))
    p = Proc("pyredis", d, ["--save", "", "--rdbchecksum", "no"])
    assert p.client().dbsize() > 0
    p.stop()


# -- commands -------------------------------------------------------------------------------------------------
def test_save_commands_replies(diff):
    diff.lines("""
        SAVE x
        BGSAVE a b
        BGSAVE foo
        LASTSAVE x
        BGREWRITEAOF x
        DEBUG RELOAD BADOPT
    """)


def test_save_bgsave_lastsave(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", ""])
    r = p.client()
    r.set("a", "1")
    before = r.lastsave()
    assert r.info("persistence")["rdb_changes_since_last_save"] == 1
    time.sleep(1.1)
    assert r.save()
    assert r.lastsave() > before
    info = r.info("persistence")
    assert info["rdb_changes_since_last_save"] == 0 and info["rdb_saves"] == 1
    fill_mixed(r, 800)
    assert p.command(b"BGSAVE") == b"+Background saving started\r\n"
    assert p.command(b"BGSAVE") in (b"-ERR Background save already in progress\r\n",
                                    b"+Background saving started\r\n")
    _wait(lambda: r.info("persistence")["rdb_bgsave_in_progress"] == 0)
    info = r.info("persistence")
    assert info["rdb_last_bgsave_status"] == "ok"
    assert "Background saving terminated with success" in p.log()
    want = snapshot(r)
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert snapshot(r) == want
    assert not [f for f in os.listdir(d) if f.startswith("temp-")]
    p.stop()
    _check_rdb(os.path.join(d, "dump.rdb"))


def test_bgsave_without_fork(tmp_path):
    d = str(tmp_path)
    os.environ["PYREDIS_NO_FORK"] = "1"
    try:
        p = Proc("pyredis", d, ["--save", ""])
    finally:
        del os.environ["PYREDIS_NO_FORK"]
    r = p.client()
    fill_mixed(r, 500)
    want = snapshot(r)
    assert p.command(b"BGSAVE") == b"+Background saving started\r\n"
    r.set("written-during-bgsave", "x")
    _wait(lambda: r.info("persistence")["rdb_bgsave_in_progress"] == 0)
    assert r.info("persistence")["rdb_last_bgsave_status"] == "ok"
    p.stop()
    _check_rdb(os.path.join(d, "dump.rdb"))
    rr = Proc("redis", d, ["--save", ""])
    assert snapshot(rr.client()) == want
    rr.stop()


def test_save_points_and_shutdown_save(tmp_path):
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", "1 2"])
    r = p.client()
    r.set("a", "1")
    r.set("b", "2")
    _wait(lambda: os.path.exists(os.path.join(d, "dump.rdb")), timeout=10)
    assert "2 changes in 1 seconds. Saving..." in p.log()
    _wait(lambda: r.info("persistence")["rdb_bgsave_in_progress"] == 0)
    r.set("c", "3")
    p.command(b"SHUTDOWN")
    p.wait_exit()
    assert "Saving the final RDB snapshot before exiting." in p.log()
    p = Proc("pyredis", d, ["--save", ""])
    assert p.client().mget("a", "b", "c") == [b"1", b"2", b"3"]
    p.stop()


def test_dir_and_dbfilename(tmp_path):
    d = str(tmp_path)
    os.makedirs(tmp_path / "other")
    p = Proc("pyredis", d, ["--save", "", "--dbfilename", "my.rdb", "--enable-protected-configs", "yes"])
    r = p.client()
    r.set("k", "v")
    r.save()
    assert os.path.exists(os.path.join(d, "my.rdb"))
    r.config_set("dbfilename", "second.rdb")
    r.config_set("dir", str(tmp_path / "other"))
    r.save()
    assert os.path.exists(tmp_path / "other" / "second.rdb")
    p.stop()


def test_stop_writes_on_bgsave_error(tmp_path):
    """A failing BGSAVE refuses writes with MISCONF (same reply as redis-server) until a save works."""
    replies = {}
    for kind in ("redis", "pyredis"):
        d = str(tmp_path / kind)
        os.makedirs(d + "/sub")
        p = Proc(kind, d, ["--save", "3600 1", "--enable-protected-configs", "yes"])
        r = p.client()
        r.config_set("dir", d + "/sub")
        os.rmdir(d + "/sub")
        r.set("k", "v")
        r.bgsave()
        _wait(lambda r=r: r.info("persistence")["rdb_bgsave_in_progress"] == 0)
        out = [p.command(b"SET", b"x", b"1"), p.command(b"PING"), p.command(b"GET", b"k"),
               p.command(b"EVAL", b"return redis.call('set','x',1)", b"1", b"x"),
               p.command(b"EVAL", b"#!lua\nreturn redis.call('set','x',1)", b"1", b"x"),
               p.command(b"EVAL", b"#!lua flags=no-writes\nreturn redis.call('get','k')", b"1", b"k"),
               p.command(b"EVAL", b"return redis.call('get','k')", b"1", b"k"),
               p.command(b"CONFIG", b"SET", b"stop-writes-on-bgsave-error", b"no"), p.command(b"SET", b"x", b"1"),
               p.command(b"CONFIG", b"SET", b"stop-writes-on-bgsave-error", b"yes"), p.command(b"SET", b"x", b"1")]
        os.makedirs(d + "/sub")
        r.config_set("dir", d + "/sub")  # redis-server chdir()s there again
        r.bgsave()
        _wait(lambda r=r: r.info("persistence")["rdb_bgsave_in_progress"] == 0)
        out.append(p.command(b"SET", b"x", b"2"))
        out.append(r.info("persistence")["rdb_last_bgsave_status"].encode())
        replies[kind] = out
        p.stop()
    assert replies["pyredis"] == replies["redis"]
    assert replies["redis"][0].startswith(b"-MISCONF")


def test_loading_replies_while_loading_at_startup(tmp_path):
    """Clients get -LOADING (commands flagged loading still run) while a big dump loads."""
    d = str(tmp_path)
    p = Proc("pyredis", d, ["--save", ""])
    r = p.client()
    r.execute_command("DEBUG", "POPULATE", "3000", "key", "100")
    r.save()
    p.stop()
    p = Proc("pyredis", d, ["--save", "", "--key-load-delay", "1000",
                            "--loading-process-events-interval-bytes", "1024"], wait=False)
    deadline = time.time() + 30
    reply = b""
    while time.time() < deadline:
        reply = p.command(b"PING")
        if reply:
            break
        time.sleep(0.05)
    assert reply == b"-LOADING Redis is loading the dataset in memory\r\n"
    info = p.command(b"INFO", b"persistence")
    assert b"loading:1" in info and b"loading_total_bytes:" in info
    p.wait_ready()
    assert p.client().dbsize() == 3000
    assert "Done loading RDB, keys loaded: 3000" in p.log()
    p.stop()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_config_set_while_loading(tmp_path, kind):
    """CONFIG SET runs while the dataset loads, except for DENY_LOADING_CONFIG parameters (dir,
    appendonly, repl-diskless-load), which get -LOADING (the first invalid parameter decides)."""
    d = str(tmp_path)
    p = Proc(kind, d, ["--save", ""])
    p.client().execute_command("DEBUG", "POPULATE", "2000", "key", "100")
    p.client().save()
    p.stop()
    p = Proc(kind, d, ["--save", "", "--key-load-delay", "2000", "--enable-protected-configs", "yes",
                       "--loading-process-events-interval-bytes", "1024"], wait=False)
    deadline = time.time() + 30
    while time.time() < deadline and not p.command(b"PING").startswith(b"-LOADING"):
        time.sleep(0.05)
    try:
        assert p.command(b"CONFIG", b"SET", b"loglevel", b"debug") == b"+OK\r\n"
        assert b"debug" in p.command(b"CONFIG", b"GET", b"loglevel")
        loading = b"-LOADING Redis is loading the dataset in memory\r\n"
        assert p.command(b"CONFIG", b"SET", b"dir", b"asdf") == loading
        assert p.command(b"CONFIG", b"SET", b"maxclients", b"100", b"appendonly", b"yes") == loading
        assert p.command(b"CONFIG", b"SET", b"nosuch", b"1", b"appendonly", b"yes").startswith(b"-ERR Unknown")
        assert b"loading:1" in p.command(b"INFO", b"persistence")
    finally:
        p.proc.kill()
        p.proc.wait()
