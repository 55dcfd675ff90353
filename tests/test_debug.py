"""DEBUG subcommands compared with redis-server 7.0 where the output is deterministic."""

from __future__ import annotations

import re

import pytest


def _mask_object(raw: bytes) -> bytes:
    """DEBUG OBJECT without the address, LRU clock and idle time (they differ between processes)."""
    return re.sub(rb"Value at:0x[0-9a-f]+|lru:\d+ lru_seconds_idle:\d+", b"", raw)


def test_help_is_redis_text(diff):
    diff.check("DEBUG", "HELP")
    diff.check("DEBUG", "help")


@pytest.mark.parametrize("argv", [
    ["DEBUG", "nosuch"], ["DEBUG", "HELP", "x"], ["DEBUG", "DIGEST", "x"], ["DEBUG", "LOG"], ["DEBUG", "ERROR"],
    ["DEBUG", "SLEEP"], ["DEBUG", "OBJECT"], ["DEBUG", "PROTOCOL"], ["DEBUG", "POPULATE"],
    ["DEBUG", "POPULATE", "1", "a", "1", "x"], ["DEBUG", "REPLYBUFFER", "x"], ["DEBUG", "REPLYBUFFER", "foo", "1"],
    ["DEBUG", "CHANGE-REPL-ID", "x"], ["DEBUG", "QUICKLIST", "k", "1", "2"], ["DEBUG", "jmap"],
    ["DEBUG", "stringmatch-len"], ["DEBUG", "dict-resizing", "1"], ["DEBUG", "x" * 300],
    ["DEBUG", "SET-ACTIVE-EXPIRE"], ["DEBUG", "PAUSE-CRON"], ["DEBUG", "STRUCTSIZE", "x"],
])
def test_wrong_subcommands_and_arity(diff, argv):
    diff.check(*argv)


def test_error_and_leak_and_log(diff):
    diff.check("DEBUG", "ERROR", "MYERR something bad")
    diff.check("DEBUG", "ERROR", "no code\r\nwith newlines\n")
    diff.check("DEBUG", "ERROR", "")
    diff.check("DEBUG", "LEAK", "some string")
    diff.check("DEBUG", "LOG", "hello from the test")


def test_debug_error_is_not_an_error_stat(diff):
    diff.check("CONFIG", "RESETSTAT")
    diff.check("DEBUG", "ERROR", "FOO bar")
    diff.check("INFO", "errorstats")


@pytest.mark.parametrize("kind", ["string", "integer", "double", "bignum", "null", "array", "set", "map",
                                  "attrib", "push", "true", "false", "verbatim", "nosuch", "STRING"])
@pytest.mark.parametrize("resp", ["2", "3"])
def test_protocol_types(diff, kind, resp):
    diff.hello(resp)
    diff.check("DEBUG", "PROTOCOL", kind)
    diff.check("PING")  # nothing extra is left unread on either side


def test_switches_accept_what_atoi_accepts(diff):
    for sub in ("SET-ACTIVE-EXPIRE", "PAUSE-CRON"):
        for arg in ("0", "1", "abc", "2x", "-1"):
            diff.check("DEBUG", sub, arg)
    diff.check("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    diff.check("DEBUG", "PAUSE-CRON", "0")


def test_sleep_parses_like_strtod(diff):
    for arg in ("0", "abc", "0.001", "-5", "1e-4x"):
        diff.check("DEBUG", "SLEEP", arg)


@pytest.mark.parametrize("arg", ["0", "1", "2", "100", "1k", "1kb", "1mb", "4gb", "3gb", "5gb", "-1", "abc",
                                 "1xb", "4294967296"])
def test_quicklist_packed_threshold(diff, arg):
    diff.check("DEBUG", "QUICKLIST-PACKED-THRESHOLD", arg)
    diff.check("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")


def test_replybuffer(diff):
    for args in (("PEAK-RESET-TIME", "never"), ("PEAK-RESET-TIME", "reset"), ("PEAK-RESET-TIME", "100"),
                 ("PEAK-RESET-TIME", "abc"), ("RESIZING", "0"), ("RESIZING", "1"), ("resizing", "x")):
        diff.check("DEBUG", "REPLYBUFFER", *args)
    diff.check("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset")


def test_cluster_and_allocator_subcommands_outside_cluster(diff):
    diff.check("DEBUG", "CLUSTERLINK", "KILL", "to", "abc")
    diff.check("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "1")
    diff.check("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "x")
    diff.check("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1")
    diff.check("DEBUG", "MALLCTL", "nosuch.key")
    diff.check("DEBUG", "MALLCTL-STR", "nosuch.key", "v")
    diff.check("DEBUG", "CLIENT-EVICTION")
    diff.check("DEBUG", "STRUCTSIZE")
    diff.check("DEBUG", "REPLICATE", "SET", "x", "y")


def test_stringmatch_test(pyr):
    # redis-server runs 10M cycles in C (seconds): only the reply is compared, with the known text
    assert pyr.call("DEBUG", "STRINGMATCH-TEST") == b"+Apparently Redis did not crash: test passed\r\n"


def test_change_repl_id_gives_a_new_replid(pyr):
    before = re.search(rb"master_replid:([0-9a-f]{40})", pyr.call("INFO", "replication")).group(1)
    assert pyr.call("DEBUG", "CHANGE-REPL-ID") == b"+OK\r\n"
    after = re.search(rb"master_replid:([0-9a-f]{40})", pyr.call("INFO", "replication")).group(1)
    assert before != after


def _changes(raw: bytes) -> int:
    return int(re.search(rb"rdb_changes_since_last_save:(\d+)", raw).group(1))


def test_populate(diff):
    r0, p0 = (_changes(x) for x in diff.both("INFO", "persistence"))
    diff.check("SET", "key:3", "keep")
    diff.check("DEBUG", "POPULATE", "10")
    diff.check("DEBUG", "POPULATE", "5", "p", "3")
    diff.check("DEBUG", "POPULATE", "5", "q", "12")
    diff.check("DEBUG", "POPULATE", "0")
    diff.check("DEBUG", "POPULATE", "-1")
    diff.check("DEBUG", "POPULATE", "x")
    diff.check("DEBUG", "POPULATE", "1", "p", "-1")
    for k in ("key:3", "key:9", "p:0", "p:4", "q:1"):
        diff.check("GET", k)
    diff.check("DBSIZE")
    diff.check("DEBUG", "DIGEST")
    # not a change that counts for SAVE points, as in Redis (only the SET does)
    r1, p1 = (_changes(x) for x in diff.both("INFO", "persistence"))
    assert p1 - p0 == r1 - r0 == 1


def test_object_and_sdslen(diff):
    diff.lines("""
        SET int 123
        SET bigint 123456
        SET emb hello
        SET raw aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        SET longkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx v
        RPUSH list a b c 1 2 3
        HSET hash f v
        SADD iset 1 2 3
        SADD sset a b
        ZADD zset 1 a 2 b
        XADD st 1-1 f v
    """)
    for key in ("int", "bigint", "emb", "raw", "list", "hash", "iset", "sset", "zset", "st"):
        r, p = diff.both("DEBUG", "OBJECT", key)
        assert _mask_object(p) == _mask_object(r), (key, r, p)
    for key in ("int", "bigint", "emb", "raw", "longkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "list", "nokey"):
        diff.check("DEBUG", "SDSLEN", key)
    diff.check("DEBUG", "OBJECT", "nokey")


def test_object_quicklist_fields(diff):
    # (pyredis derives the node layout from the current list-max-listpack-size: inspect before changing it)
    diff.check("RPUSH", "big", *[f"element-{i}" * 3 for i in range(2000)])
    diff.check("RPUSH", "short", *[f"e{i}" for i in range(2000)])
    for key in ("big", "short"):
        r, p = diff.both("DEBUG", "OBJECT", key)
        assert _mask_object(p) == _mask_object(r), (key, r, p)
    diff.check("CONFIG", "SET", "list-max-listpack-size", "5")
    try:
        diff.check("RPUSH", "small", *[str(i) for i in range(23)])
        r, p = diff.both("DEBUG", "OBJECT", "small")
        assert _mask_object(p) == _mask_object(r), (r, p)
    finally:
        diff.check("CONFIG", "SET", "list-max-listpack-size", "-2")
    diff.check("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "10")
    try:
        diff.check("RPUSH", "plain", "short", "a much longer element", "x", "another long one....")
        r, p = diff.both("DEBUG", "OBJECT", "plain")
        assert _mask_object(p) == _mask_object(r), (r, p)
    finally:
        diff.check("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")


def test_listpack_quicklist_htstats(diff):
    diff.lines("""
        HSET h f v
        ZADD z 1 a
        SADD s 1
        SADD bigs a
        RPUSH l a
        SET str x
        DEBUG LISTPACK h
        DEBUG LISTPACK z
        DEBUG LISTPACK s
        DEBUG LISTPACK l
        DEBUG LISTPACK nokey
        DEBUG QUICKLIST l
        DEBUG QUICKLIST l 1
        DEBUG QUICKLIST h
        DEBUG QUICKLIST nokey
        DEBUG HTSTATS-KEY h
        DEBUG HTSTATS-KEY str
        DEBUG HTSTATS-KEY nokey
        DEBUG HTSTATS 99
        DEBUG HTSTATS -1
        DEBUG HTSTATS x
        DEBUG HTSTATS 5
    """)
    r, p = diff.both("DEBUG", "HTSTATS-KEY", "bigs")
    assert b"table size: 4\n number of elements: 1\n" in p and r == p  # one element: one chain of 1


def test_htstats_table_sizes(diff):
    for n in (1, 4, 5, 100):
        diff.check("FLUSHALL")
        diff.check("DEBUG", "POPULATE", str(n))
        r, p = diff.both("DEBUG", "HTSTATS", "9")
        size = rb"table size: \d+\n number of elements: \d+"
        assert re.findall(size, p) == re.findall(size, r), (n, r, p)
        assert p.endswith(b"[Expires HT]\nHash table 0 stats (main hash table):\n"
                          b"No stats available for empty dictionaries\n\r\n")


# -- crashes and restarts (real processes) -----------------------------------------------------------
_CRASHES = [("SEGFAULT", -11, [b"crashed by signal: 11", b"------ STACK TRACE ------"]),
            ("ASSERT", -6, [b"=== ASSERTION FAILED ===", b"==> debug.c:530 '1 == 2' is not true"]),
            ("PANIC", -6, [b"Guru Meditation: DEBUG PANIC called at Unix time"])]


@pytest.mark.parametrize("kind,sub,rc,lines", [("redis", *_CRASHES[0])] + [("pyredis", *x) for x in _CRASHES])
def test_crash_subcommands_report_and_die_like_redis(tmp_path, kind, sub, rc, lines):
    from support import ServerProcess

    logfile = tmp_path / "server.log"
    p = ServerProcess(kind, ["--logfile", str(logfile), "--crash-memcheck-enabled", "no"]
                      if kind == "redis" else ["--logfile", str(logfile)])
    try:
        cl = p.client()
        cl.send("DEBUG", sub)
        assert p.proc.wait(timeout=20) == rc
        log = logfile.read_bytes()
        assert b"=== REDIS BUG REPORT START: Cut & paste starting from here ===" in log
        for line in lines:
            assert line in log, (line, log[-2000:])
    finally:
        p.stop()


def test_restart_keeps_the_pid_and_the_saved_data(tmp_path):
    from support import ServerProcess

    p = ServerProcess("pyredis", ["--save", "900 1", "--logfile", str(tmp_path / "log")])
    try:
        cl = p.client()
        pid = re.search(rb"process_id:(\d+)", cl.call("INFO", "server")).group(1)
        assert cl.call("DEBUG", "RESTART", "x") == b"-ERR value is not an integer or out of range\r\n"
        cl.call("SET", "k", "v")
        cl.send("DEBUG", "RESTART")
        import time

        from support import RawClient

        deadline = time.time() + 20
        while True:
            try:
                cl = RawClient(p.port)
                if cl.call("PING") == b"+PONG\r\n":
                    break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        assert cl.call("GET", "k") == b"$1\r\nv\r\n"
        assert re.search(rb"process_id:(\d+)", cl.call("INFO", "server")).group(1) == pid
        assert p.proc.poll() is None
    finally:
        p.stop()


def test_htstats_no_rehash_while_a_child_runs():
    """Redis grows no dict while a fork child runs (unless over 5 entries a bucket), then grows on the next
    write: DEBUG HTSTATS shows the table as held at the fork."""
    import time

    from support import ServerProcess

    size = re.compile(rb"table size: (\d+)\n number of elements: (\d+)")
    servers = [ServerProcess(kind) for kind in ("redis", "pyredis")]
    try:
        clients = [s.client() for s in servers]
        for cl in clients:
            cl.call("CONFIG", "SET", "rdb-key-save-delay", "500")  # about 2 s of child for 4096 keys
            cl.call("DEBUG", "POPULATE", "4096")
            cl.call("BGSAVE")
        for cl in clients:
            cl.call("MSET", "k1", "v1", "k2", "v2")
            assert size.findall(cl.call("DEBUG", "HTSTATS", "0")) == [(b"4096", b"4098")]
        for cl in clients:
            for _ in range(300):
                if b"rdb_bgsave_in_progress:0" in cl.call("INFO", "persistence"):
                    break
                time.sleep(0.05)
            cl.call("SET", "k3", "v3")
            assert b"table size: 8192" in cl.call("DEBUG", "HTSTATS", "0")
    finally:
        for s in servers:
            s.stop()
