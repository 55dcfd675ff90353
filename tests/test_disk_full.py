"""Disk full and write errors, compared with redis-server started the same way.

A full disk is made with RLIMIT_FSIZE: the servers start with SIGXFSZ ignored (an ignored
disposition survives exec), so a write past the limit fails with EFBIG ("File too large") instead
of killing the process; ``prlimit(2)`` moves the soft limit of the running server (down to fill
the disk, back up when space returns). A limit a few bytes above a file's size makes the next
write short, which Redis reports as ENOSPC ("No space left on device") after cutting it off.

A last test mounts two small tmpfs (when it may: root) for a real ENOSPC on every file, the
AOF manifest included.

Covered: AOF write failures with ``appendfsync`` always / everysec / no (which replies clients
get, ``-MISCONF``, INFO persistence, the log lines, retries and recovery), a failed AOF rewrite,
failed SAVE / BGSAVE with ``stop-writes-on-bgsave-error``, and that a full disk never damages the
previous dump.rdb or the AOF files: they load afterwards with every acknowledged write.
"""

from __future__ import annotations

import glob
import os
import re
import resource
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import RawClient, ServerProcess, scratch_dir

pytestmark = pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs prlimit(2) (Linux)")

KINDS = ("redis", "pyredis")
AOF_ERR = b"-MISCONF Errors writing to the AOF file: %s\r\n"
RDB_ERR = (b"-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
           b"Commands that may modify the data set are disabled, because this instance is configured to report "
           b"errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the "
           b"Redis logs for details about the RDB error.")
EFBIG, ENOSPC = b"File too large", b"No space left on device"
BIG = os.urandom(60000).hex().encode()  # 120 KB: the log files stay far below the limits used
RANDOM = os.urandom(100000)  # does not compress: the RDB is at least this large
LIB = ("#!lua name=lib\nredis.register_function('w', function(k) return redis.call('set', k[1], '1') end)\n"
       "redis.register_function{function_name='r', callback=function(k) return redis.call('get', k[1]) end, "
       "flags={'no-writes'}}")


def _both(fn, *args) -> list:
    """``fn(kind, *args)`` for redis-server and pyredis at the same time; [redis's, pyredis's]."""
    with ThreadPoolExecutor(2) as ex:
        futures = {kind: ex.submit(fn, kind, *args) for kind in KINDS}
        out = []
        for kind, f in futures.items():
            try:
                out.append(f.result())
            except Exception as e:  # say which server's scenario failed
                raise AssertionError(f"{kind}: {e!r}") from e
        return out


def _ignore_sigxfsz() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _limit(srv: ServerProcess, size: int | None) -> None:
    """Set the server's file size limit (the soft one; None: unlimited)."""
    soft = resource.RLIM_INFINITY if size is None else size
    resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE, (soft, resource.RLIM_INFINITY))


def _start(kind: str, args: list[str], cwd: str | None = None) -> ServerProcess:
    cwd = cwd or scratch_dir(f"{kind}-")
    return ServerProcess(kind, [*args, "--logfile", os.path.join(cwd, "server.log")], cwd=cwd,
                         preexec_fn=_ignore_sigxfsz)


def _log(srv: ServerProcess) -> list[str]:
    """The server's log messages (without the pid, role and time stamp)."""
    with open(os.path.join(srv.cwd, "server.log"), errors="replace") as fh:
        return [m.group(1) for m in re.finditer(r"^\d+:[MCS] .{24} [.*#-] (.*)$", fh.read(), re.M)]


def _info(c: RawClient) -> dict[str, str]:
    raw = c.call("INFO", "persistence").decode()
    return dict(line.split(":", 1) for line in raw.split("\r\n")[1:] if ":" in line)


def _wait(pred, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while not pred():
        assert time.time() < deadline, "condition not reached"
        time.sleep(0.02)


def _fsync_settled(c: RawClient) -> None:
    """Wait until the everysec fsync of what was written so far has run.

    Redis schedules that fsync at the next second boundary, and postpones a later write (up to
    2 s, acknowledging it meanwhile) while the fsync runs: a write meant to fail now must not
    meet it. ``aof_pending_bio_fsync`` is 0 before the fsync is scheduled too, so first let the
    boundary pass (the cron wakes the loop every 100 ms)."""
    time.sleep(1.3)
    _wait(lambda: _info(c)["aof_pending_bio_fsync"] == "0")


def _wait_child(c: RawClient) -> dict[str, str]:
    def done() -> bool:
        i = _info(c)
        return i["rdb_bgsave_in_progress"] == "0" and i["aof_rewrite_in_progress"] == "0"

    _wait(done)
    return _info(c)


def _incr_file(srv: ServerProcess) -> str:
    files = sorted(glob.glob(os.path.join(srv.cwd, "appendonlydir", "*.incr.aof")),
                   key=lambda p: int(p.rsplit(".", 3)[-3]))
    return files[-1]


def _kill(srv: ServerProcess) -> None:
    srv.proc.kill()
    srv.proc.wait()


def _pick(info: dict[str, str], *names: str) -> dict[str, str]:
    return {n: info[n] for n in names}


def _keyset(c: RawClient) -> set[bytes]:
    raw = c.call("KEYS", "*")
    parts = raw.split(b"\r\n")
    return {parts[i] for i in range(2, len(parts) - 1, 2)}


# ==================================================================================================
# AOF write errors, appendfsync everysec / no
# ==================================================================================================
def _aof_scenario(kind: str, policy: str, extra: int, kill_while_failing: bool) -> tuple[list, set[bytes], list[str]]:
    srv = _start(kind, ["--appendonly", "yes", "--appendfsync", policy])
    out: list = []
    try:
        c = srv.client()
        out.append(c.call("SET", "big", BIG))
        if policy == "everysec":
            _fsync_settled(c)
        incr = _incr_file(srv)
        size = os.path.getsize(incr)
        _limit(srv, size + extra)
        # a pipelined batch: all of it is executed and acknowledged before the write fails
        c.send_raw(b"SET k1 v1\r\nINCR n\r\nRPUSH l a b\r\n")
        out += [c.read_reply() for _ in range(3)]
        assert out[-3:] == [b"+OK\r\n", b":1\r\n", b":2\r\n"]
        # nothing (a short write is cut off again). The retries run from the cron too, and a look
        # between a retry's short write and its ftruncate sees the partial bytes: look again.
        deadline = time.time() + 2
        while os.path.getsize(incr) != size and time.time() < deadline:
            time.sleep(0.01)
        out.append(os.path.getsize(incr) - size)
        # now writes (and PING) are refused, reads are served
        for cmd in (("SET", "k2", "v"), ("PING",), ("GET", "k1"), ("DEL", "k1"), ("LRANGE", "l", 0, -1),
                    ("MULTI",), ("SET", "k2", "v"), ("GET", "k1"), ("EXEC",),
                    ("EVAL", "return redis.call('set', 'k2', 'v')", 0), ("EVAL", "return redis.call('get', 'k1')", 0),
                    ("EVAL", "#!lua\nreturn redis.call('set', 'k2', 'v')", 0), ("DBSIZE",)):
            out.append(c.call(*cmd))
        out.append(_pick(_info(c), "aof_enabled", "aof_last_write_status", "aof_last_bgrewrite_status",
                         "aof_buffer_length", "aof_current_size", "aof_base_size"))
        # retries (every event loop turn and once a second) fail silently: one log line per 30 s
        for _ in range(5):
            out.append(c.call("GET", "k1"))
        if policy == "everysec" and not kill_while_failing:
            time.sleep(1.1)  # a retry from the once-a-second cron too
        out.append(c.call("SET", "k2", "v"))
        if kill_while_failing:
            _kill(srv)  # what was acknowledged but never written is lost, the files still load
        else:
            _limit(srv, None)  # space is back: the next retry writes the buffer and writes are accepted
            _wait(lambda: _info(c)["aof_last_write_status"] == "ok")
            # Redis postpones an everysec write (up to 2 s) while a background fsync runs, so k3 would
            # be acknowledged but not yet written when the kill comes (pyredis writes at once): wait.
            if policy == "everysec":
                _fsync_settled(c)
            out.append(_pick(_info(c), "aof_last_write_status", "aof_buffer_length", "aof_current_size"))
            out.append(c.call("SET", "k3", "v3"))
            _kill(srv)  # no final flush: the acknowledged writes are in the file already
        log = _log(srv)
        again = _start(kind, ["--appendonly", "yes"], cwd=srv.cwd)
        try:
            c2 = again.client()
            keys = _keyset(c2)
            out.append(c2.call("MGET", "k1", "n", "k3", "k2"))
            out.append(c2.call("STRLEN", "big"))
            log2 = _log(again)
        finally:
            again.stop()
        assert not [m for m in log2 if "short read" in m or "Truncating" in m], log2
        return out, keys, log
    finally:
        srv.stop()


@pytest.mark.parametrize("policy,extra,kill", [("everysec", 0, False), ("everysec", 10, True), ("no", 10, False),
                                               ("no", 0, True)])
def test_aof_write_error_everysec_no(policy, extra, kill):
    runs = dict(zip(KINDS, _both(_aof_scenario, policy, extra, kill), strict=True))
    (r_out, r_keys, _), (p_out, p_keys, _) = runs["redis"], runs["pyredis"]
    assert p_out == r_out
    assert p_keys == r_keys
    err = EFBIG if extra == 0 else ENOSPC
    assert r_out[5] == AOF_ERR % err and r_out[6] == AOF_ERR % err  # SET, PING
    assert r_out[4] == 0
    for kind, (_, keys, log) in runs.items():
        if kill:
            assert keys == {b"big"}, kind
        else:
            assert keys == {b"big", b"k1", b"n", b"l", b"k3"}, kind
        errors = [m for m in log if m.startswith(("Error writing to the AOF", "Short write while writing"))]
        if extra == 0:
            assert errors == ["Error writing to the AOF file: File too large"], (kind, errors)
        else:
            assert len(errors) == 1 and errors[0].startswith("Short write while writing to the AOF file: (nwritten=10,")
        assert ("AOF write error looks solved, Redis can write again." in log) is not kill, kind


# ==================================================================================================
# appendfsync always: no way to undo an acknowledged change, the server exits
# ==================================================================================================
def _always_scenario(kind: str, extra: int) -> tuple:
    srv = _start(kind, ["--appendonly", "yes", "--appendfsync", "always"])
    try:
        c = srv.client()
        assert c.call("SET", "big", BIG) == b"+OK\r\n"
        assert c.call("INCR", "n") == b":1\r\n"
        _limit(srv, os.path.getsize(_incr_file(srv)) + extra)
        c.send("SET", "lost", "v")
        with pytest.raises((ConnectionError, OSError)):
            c.read_reply()  # no reply: the server exits before it is sent
        srv.proc.wait(10)
        code = srv.proc.returncode
        log = _log(srv)
        assert "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..." in log
        again = _start(kind, ["--appendonly", "yes"], cwd=srv.cwd)
        try:
            c2 = again.client()
            assert not [m for m in _log(again) if "short read" in m], kind
            return code, _keyset(c2), c2.call("GET", "n"), c2.call("EXISTS", "lost")
        finally:
            again.stop()
    finally:
        srv.stop()


@pytest.mark.parametrize("extra", [0, 10])
def test_aof_write_error_always_exits(extra):
    r, p = _both(_always_scenario, extra)
    assert p == r
    assert r == (1, {b"big", b"n"}, b"$1\r\n1\r\n", b":0\r\n")


# ==================================================================================================
# AOF rewrite on a full disk
# ==================================================================================================
def _rewrite_scenario(kind: str) -> tuple[list, str]:
    srv = _start(kind, ["--appendonly", "yes"])
    out: list = []
    try:
        c = srv.client()
        sizes = ("aof_current_size", "aof_base_size")  # what is on disk, as Redis counts it
        out.append(_pick(_info(c), *sizes))  # the base created at start-up is not counted
        out.append(c.call("SET", "rnd", RANDOM))
        out.append(_pick(_info(c), *sizes))
        _limit(srv, 50000)  # the new base cannot be written; the new (empty) incr file can
        out.append(c.call("BGREWRITEAOF"))
        info = _wait_child(c)
        out.append(_pick(info, "aof_last_bgrewrite_status", "aof_rewrites", "aof_rewrites_consecutive_failures",
                         "aof_last_write_status", *sizes))
        out.append(c.call("SET", "after", "1"))  # goes to the new incr file, which has room
        out.append(sorted(os.listdir(os.path.join(srv.cwd, "appendonlydir"))))
        out.append([f for f in os.listdir(srv.cwd) if f.startswith("temp-")])
        with open(os.path.join(srv.cwd, "appendonlydir", "appendonly.aof.manifest")) as fh:
            out.append(fh.read())
        _limit(srv, None)
        out.append(c.call("BGREWRITEAOF"))
        info = _wait_child(c)
        out.append(_pick(info, "aof_last_bgrewrite_status", "aof_rewrites", "aof_rewrites_consecutive_failures",
                         *sizes))  # the new base and its incr file
        assert int(info["aof_last_cow_size"]) >= 0
        with open(os.path.join(srv.cwd, "appendonlydir", "appendonly.aof.manifest")) as fh:
            out.append(fh.read())
        out.append(c.call("SET", "last", "1"))
        _kill(srv)
        log = _log(srv)
        again = _start(kind, ["--appendonly", "yes"], cwd=srv.cwd)
        try:
            c2 = again.client()
            out.append(_pick(_info(c2), *sizes))  # all the files; the base alone
            out.append(sorted(_keyset(c2)))
            out.append(c2.call("GET", "rnd") == b"$%d\r\n%s\r\n" % (len(RANDOM), RANDOM))
        finally:
            again.stop()
        return out, "\n".join(log)
    finally:
        srv.stop()


def test_aof_rewrite_fails_on_full_disk():
    (r_out, r_log), (p_out, p_log) = _both(_rewrite_scenario)
    assert p_out == r_out
    assert r_out[4]["aof_last_bgrewrite_status"] == "err" and r_out[-2] == [b"after", b"last", b"rnd"]
    assert r_out[0] == {"aof_current_size": "0", "aof_base_size": "0"}
    for log in (r_log, p_log):
        assert "Write error writing append only file on disk: File too large" in log
        assert "Background AOF rewrite terminated with error" in log
        assert "Background AOF rewrite finished successfully" in log


# ==================================================================================================
# RDB: SAVE / BGSAVE on a full disk, stop-writes-on-bgsave-error
# ==================================================================================================
def _rdb_scenario(kind: str) -> tuple[list, list[str]]:
    srv = _start(kind, ["--save", "3600 1000000"])
    out: list = []
    try:
        c = srv.client()

        def call(label: str, *cmd) -> None:
            out.append((label, c.call(*cmd)))

        def stats(label: str, info: dict[str, str]) -> None:
            out.append((label, _pick(info, "rdb_last_bgsave_status", "rdb_saves", "rdb_changes_since_last_save")))

        call("set a", "SET", "a", "1")
        call("function load", "FUNCTION", "LOAD", LIB)
        call("save", "SAVE")
        dump = os.path.join(srv.cwd, "dump.rdb")
        with open(dump, "rb") as fh:
            before = fh.read()
        call("set rnd", "SET", "rnd", RANDOM)
        _limit(srv, 50000)
        call("save full", "SAVE")  # fails; rdb_last_bgsave_status is not changed by SAVE
        stats("after save", _info(c))
        call("set b", "SET", "b", "1")
        call("bgsave full", "BGSAVE")
        stats("after bgsave", _wait_child(c))
        for label, cmd in (("set refused", ("SET", "b", "2")), ("ping", ("PING",)), ("get", ("GET", "a")),
                           ("multi", ("MULTI",)), ("queued set", ("SET", "q", "1")), ("exec", ("EXEC",)),
                           ("eval get", ("EVAL", "return redis.call('get', 'a')", 0)), ("save again", ("SAVE",)),
                           ("flagged script", ("EVAL", "#!lua\nreturn redis.call('set', 'x', 1)", 0)),
                           ("no-writes script", ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'a')", 0)),
                           ("fcall", ("FCALL", "w", 1, "a")), ("fcall no-writes", ("FCALL", "r", 1, "a")),
                           ("fcall_ro", ("FCALL_RO", "r", 1, "a")), ("function delete", ("FUNCTION", "DELETE", "lib")),
                           ("publish", ("PUBLISH", "ch", "m")), ("expire", ("EXPIRE", "a", 100)),
                           ("multi 2", ("MULTI",)), ("queued read", ("FCALL", "r", 1, "a")), ("exec 2", ("EXEC",))):
            call(label, *cmd)
        out.append(("eval set", c.call("EVAL", "return redis.call('set', 'z', '1')", 0).split(b" script: ")[0]))
        call("config no", "CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
        call("set allowed", "SET", "c", "1")  # allowed: the error is only reported
        call("config yes", "CONFIG", "SET", "stop-writes-on-bgsave-error", "yes")
        call("set refused again", "SET", "c", "2")
        with open(dump, "rb") as fh:
            out.append(("dump intact", fh.read() == before))
        out.append(("rdb files", sorted(f for f in os.listdir(srv.cwd) if f.endswith(".rdb"))))  # no temp file
        # a crash now: the previous snapshot loads
        copy = scratch_dir(f"{kind}-copy-")
        shutil.copy(dump, copy)
        old = ServerProcess(kind, ["--save", ""], cwd=copy)
        try:
            out.append(("old dump keys", sorted(_keyset(old.client()))))
        finally:
            old.stop()
        _limit(srv, None)
        call("set after space", "SET", "d", "1")  # still refused: only a successful save clears the error
        call("bgsave", "BGSAVE")
        stats("after good bgsave", _wait_child(c))
        call("set ok", "SET", "d", "1")
        call("save ok", "SAVE")
        _kill(srv)
        log = _log(srv)
        again = ServerProcess(kind, ["--save", ""], cwd=srv.cwd)
        try:
            out.append(("reloaded keys", sorted(_keyset(again.client()))))
        finally:
            again.stop()
        return out, log
    finally:
        srv.stop()


def test_rdb_save_errors_and_misconf():
    (r_out, r_log), (p_out, p_log) = _both(_rdb_scenario)
    assert p_out == r_out
    r = dict(r_out)
    assert r["save full"] == b"-ERR\r\n" and r["after save"]["rdb_last_bgsave_status"] == "ok"
    assert r["after bgsave"]["rdb_last_bgsave_status"] == "err"
    assert r["set refused"] == r["ping"] == r["set refused again"] == r["set after space"] == RDB_ERR + b"\r\n"
    assert r["flagged script"] == RDB_ERR + b"\r\n"  # a script declaring flags is judged as a write command
    assert r["fcall"] == r["function delete"] == RDB_ERR + b"\r\n" and r["fcall_ro"] == b"$1\r\n1\r\n"
    assert r["exec 2"] == b"*1\r\n$1\r\n1\r\n"
    assert r["exec"] == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    assert r["set allowed"] == r["set ok"] == b"+OK\r\n"
    assert r["dump intact"] is True and r["old dump keys"] == [b"a"] and r["rdb files"] == ["dump.rdb"]
    assert r["reloaded keys"] == [b"a", b"b", b"c", b"d", b"rnd"]
    for log in (r_log, p_log):
        assert log.count("Write error saving DB on disk(rdbSaveRio): File too large") == 3  # SAVE, child, SAVE
        assert "Background saving error" in log and "Background saving terminated with success" in log


def test_save_with_room_for_all_but_the_checksum():
    """Only the last bytes of the file do not fit: the save fails and the previous dump.rdb stays."""
    results = {}
    for kind in KINDS:
        srv = _start(kind, ["--save", ""])
        try:
            c = srv.client()
            c.call("SET", "rnd", RANDOM)
            assert c.call("SAVE") == b"+OK\r\n"
            dump = os.path.join(srv.cwd, "dump.rdb")
            size = os.path.getsize(dump)
            with open(dump, "rb") as fh:
                before = fh.read()
            c.call("SET", "rnd", RANDOM[::-1])  # the same size
            _limit(srv, size - 3)
            reply = c.call("SAVE")
            with open(dump, "rb") as fh:
                intact = fh.read() == before
            _limit(srv, size)
            results[kind] = (reply, intact, sorted(os.listdir(srv.cwd)), c.call("SAVE"), os.path.getsize(dump) == size)
        finally:
            srv.stop()
    assert results["pyredis"] == results["redis"]
    assert results["redis"][:2] == (b"-ERR\r\n", True)


def test_shutdown_when_the_final_save_fails():
    """SHUTDOWN and SIGTERM refuse to exit without the final snapshot; SHUTDOWN FORCE exits anyway."""
    results = {}
    for kind in KINDS:
        srv = _start(kind, ["--save", "3600 1000000"])
        try:
            c = srv.client()
            c.call("SET", "rnd", RANDOM)
            _limit(srv, 50000)
            steps: list = [c.call("SHUTDOWN"), c.call("SHUTDOWN", "SAVE")]
            srv.proc.send_signal(signal.SIGTERM)
            _wait(lambda s=srv: _log(s).count("Error trying to save the DB, can't exit.") == 3)
            steps += [srv.alive(), c.call("DBSIZE")]
            c.send("SHUTDOWN", "FORCE")
            with pytest.raises((ConnectionError, OSError)):
                c.read_reply()
            srv.proc.wait(10)
            log = _log(srv)
            steps += [srv.proc.returncode, sorted(os.listdir(srv.cwd)),
                      log.count("Errors trying to shut down the server. Check the logs for more information."),
                      log.count("Write error saving DB on disk(rdbSaveRio): File too large"),
                      log[-2:]]
            results[kind] = steps
        finally:
            srv.stop()
    assert results["pyredis"] == results["redis"]
    assert results["redis"][:4] == [b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"] * 2 + [True, b":1\r\n"]
    assert results["redis"][-1] == ["Error trying to save the DB. Exit anyway.", "Redis is now ready to exit, bye bye..."]


def _toggle_scenario(kind: str) -> list:
    srv = _start(kind, ["--appendonly", "yes"])
    out: list = []
    try:
        c = srv.client()
        out.append(c.call("SET", "big", BIG))
        _fsync_settled(c)
        _limit(srv, os.path.getsize(_incr_file(srv)))
        out += [c.call("SET", "a", "1"), c.call("SET", "b", "1")]
        out.append(c.call("CONFIG", "SET", "appendonly", "no"))  # the AOF error no longer blocks writes
        out.append(_pick(_info(c), "aof_enabled", "aof_last_write_status"))
        out.append(c.call("SET", "b", "1"))
        _limit(srv, None)
        out.append(c.call("CONFIG", "SET", "appendonly", "yes"))  # a new AOF from the dataset; the error is reset
        out.append(_pick(_wait_child(c), "aof_enabled", "aof_last_write_status", "aof_last_bgrewrite_status"))
        out.append(c.call("SET", "c", "1"))
        out.append(sorted(os.listdir(os.path.join(srv.cwd, "appendonlydir"))))
        _kill(srv)
        log = _log(srv)
        out.append([re.sub(r"\d+", "N", m) for m in log[log.index("Ready to accept connections") + 1:]
                    if not m.startswith("Fork CoW")])
        again = _start(kind, ["--appendonly", "yes"], cwd=srv.cwd)
        try:
            out.append(sorted(_keyset(again.client())))
        finally:
            again.stop()
        return out
    finally:
        srv.stop()


def test_aof_off_and_on_clears_the_write_error():
    r_out, p_out = _both(_toggle_scenario)
    assert p_out == r_out
    assert r_out[2] == AOF_ERR % EFBIG and "AOF reopen, just ignore the last error." in r_out[-2]
    assert r_out[-1] == [b"a", b"b", b"big", b"c"]


# ==================================================================================================
# A replica that cannot persist
# ==================================================================================================
def _replica_scenario(master: ServerProcess, kind: str) -> list:
    mc = master.client()
    srv = _start(kind, ["--save", "3600 1000000", "--replicaof", "127.0.0.1", str(master.port)])
    out: list = []
    try:
        c = srv.client()
        _wait(lambda: b"master_link_status:up" in c.call("INFO", "replication"))
        _limit(srv, 50000)  # the log file stays below it, the RDB does not fit
        out.append(c.call("BGSAVE"))
        out.append(_pick(_wait_child(c), "rdb_last_bgsave_status"))
        # clients get MISCONF before READONLY; reads are served
        out += [c.call("SET", "x", "1"), c.call("PING"), c.call("GET", "rnd") == b"$%d\r\n%s\r\n" % (len(RANDOM), RANDOM)]
        out.append(c.call("CONFIG", "SET", "replica-ignore-disk-write-errors", "yes"))
        mc.call("SET", "applied", "1")
        _wait(lambda: c.call("GET", "applied") == b"$1\r\n1\r\n")
        out.append(_log(srv).count("Replica is applying a command even though it is unable to write to disk."))
        out.append(c.call("CONFIG", "SET", "replica-ignore-disk-write-errors", "no"))
        mc.call("SET", "fatal", "1")  # the replica cannot refuse its master's stream: it panics
        srv.proc.wait(20)
        out.append(srv.proc.returncode)
        out.append([m for m in _log(srv) if m.startswith("Guru Meditation")])
        return out
    finally:
        srv.stop()
        mc.call("DEL", "applied", "fatal")


def test_replica_with_disk_errors():
    master = ServerProcess("redis", ["--repl-diskless-sync-delay", "0"])
    try:
        master.client().call("SET", "rnd", RANDOM)
        r_out, p_out = (_replica_scenario(master, k) for k in KINDS)
    finally:
        master.stop()
    assert p_out == r_out
    assert r_out[2] == r_out[3] == RDB_ERR + b"\r\n" and r_out[6] == 1
    assert r_out[-1] == ["Guru Meditation: Replica was unable to write command to disk. #server.c:3890"]


# ==================================================================================================
# A real full disk: a small tmpfs (ENOSPC for every file, the manifest included)
# ==================================================================================================
def _mount_tmpfs(path: str, size: str) -> bool:
    import subprocess

    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], capture_output=True)
    return r.returncode == 0


def _fill(directory: str) -> str:
    """Take every free block of the file system with a filler file; returns its path."""
    path = os.path.join(directory, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        chunk = b"\0" * 4096
        while True:
            try:
                os.write(fd, chunk)
            except OSError:
                break
        while True:  # the last partial block
            try:
                if not os.write(fd, b"\0"):
                    break
            except OSError:
                break
    finally:
        os.close(fd)
    return path


def _tmpfs_scenario(kind: str, data: str) -> list:
    srv = _start(kind, ["--dir", data, "--appendonly", "yes"])
    out: list = []
    try:
        c = srv.client()
        aofdir = os.path.join(data, "appendonlydir")

        def listing() -> list[str]:
            return sorted(os.listdir(aofdir))

        out.append(c.call("SET", "big", BIG))
        _fsync_settled(c)
        filler = _fill(data)
        out.append(c.call("SET", "k1", b"v" * 6000))  # more than the slack of the file's last block
        out.append(c.call("SET", "k2", "v"))
        out.append(c.call("BGREWRITEAOF"))  # the manifest cannot be written: no rewrite starts
        out.append(_pick(_info(c), "aof_last_write_status", "aof_last_bgrewrite_status", "aof_rewrites",
                         "aof_rewrite_in_progress"))
        out.append(listing())
        with open(os.path.join(aofdir, "appendonly.aof.manifest")) as fh:
            out.append(fh.read())
        os.unlink(filler)  # space is back
        _wait(lambda: _info(c)["aof_last_write_status"] == "ok")
        out.append(c.call("SET", "k3", "v3"))
        out.append(c.call("BGREWRITEAOF"))
        out.append(_pick(_wait_child(c), "aof_last_write_status", "aof_last_bgrewrite_status", "aof_rewrites"))
        out.append(listing())
        with open(os.path.join(aofdir, "appendonly.aof.manifest")) as fh:
            out.append(fh.read())
        out.append(c.call("SET", "k4", "v4"))
        _kill(srv)
        log = _log(srv)
        out.append([re.sub(r"\d{3,}", "N", m) for m in log[log.index("Ready to accept connections") + 1:]
                    if not m.startswith(("Fork CoW", "Background append only file rewriting started by pid"))])
        again = _start(kind, ["--dir", data, "--appendonly", "yes"], cwd=srv.cwd)
        try:
            c2 = again.client()
            out.append(sorted(_keyset(c2)))
            out.append(c2.call("STRLEN", "k1"))
        finally:
            again.stop()
        return out
    finally:
        srv.stop()


def test_full_tmpfs():
    import subprocess

    data = {k: scratch_dir(f"{k}-tmpfs-") for k in KINDS}
    try:
        if not all(_mount_tmpfs(d, "1m") for d in data.values()):
            pytest.skip("mounting a tmpfs needs root")
        r_out, p_out = _both(lambda kind: _tmpfs_scenario(kind, data[kind]))
    finally:
        for d in data.values():
            subprocess.run(["umount", d], capture_output=True)
    assert p_out == r_out
    assert r_out[1] == b"+OK\r\n" and r_out[2] == AOF_ERR % ENOSPC
    assert r_out[3].startswith(b"-ERR Can't execute an AOF background rewriting")
    assert "Error trying to write the temporary AOF manifest file temp-appendonly.aof.manifest: No space left on " \
           "device" in r_out[-3]
    assert r_out[-2] == [b"big", b"k1", b"k3", b"k4"] and r_out[-1] == b":6000\r\n"


def test_start_on_full_tmpfs():
    """With no room for the first AOF base file the server does not start (and leaves no partial file)."""
    import shutil as sh
    import subprocess
    import sys

    from support import ROOT, free_port

    results = {}
    mounts = []
    try:
        for kind in KINDS:
            data, logdir = scratch_dir(f"{kind}-tmpfs-"), scratch_dir(f"{kind}-log-")
            if not _mount_tmpfs(data, "16k"):
                pytest.skip("mounting a tmpfs needs root")
            mounts.append(data)
            _fill(data)
            exe = [sh.which("redis-server") or "redis-server"] if kind == "redis" else [sys.executable, "-m", "pyredis"]
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
            logfile = os.path.join(logdir, "server.log")
            p = subprocess.run([*exe, "--port", str(free_port()), "--dir", data, "--appendonly", "yes", "--logfile",
                                logfile], env=env, capture_output=True, timeout=60)
            with open(logfile) as fh:
                log = [m.group(1) for m in re.finditer(r"^\d+:[MCS] .{24} [.*#-] (.*)$", fh.read(), re.M)]
            log = [m for m in log[log.index("Server initialized") + 1:] if "overcommit" not in m]
            results[kind] = (p.returncode, log, sorted(os.listdir(data)),
                             sorted(os.listdir(os.path.join(data, "appendonlydir"))))
    finally:
        for d in mounts:
            subprocess.run(["umount", d], capture_output=True)
    assert results["pyredis"] == results["redis"]
    assert results["redis"] == (1, ["Write error writing append only file on disk: No space left on device"],
                                ["appendonlydir", "filler"], [])
