"""The replica's diskless load parses the master's RDB while it arrives (rdbLoadRio over the connection):
against a real redis-server master streaming ``$EOF:<mark>`` with writes going on, the replica is
loading (with its loaded bytes growing) while the master is still sending; the bytes after the mark are
the command stream; a link lost mid-load discards the partial dataset with Redis's log lines and the
sync is retried."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time

import pytest
import redis
from repl_support import assert_same_data, start, wait_for, wait_synced

from support import RawClient, child_pids, free_port


def _writer(m, stop: threading.Event, counts: list[int]) -> None:
    c = redis.Redis(port=m.port, socket_timeout=20)
    i = 0
    while not stop.is_set():
        c.set(f"w:{i}", i)
        c.rpush("w:list", i)
        i += 1
        time.sleep(0.002)
    counts.append(i)


@pytest.mark.parametrize("master_kind", ["redis", "pyredis"])
@pytest.mark.parametrize("mode", ["on-empty-db", "swapdb"])
def test_streamed_load_with_writes_during_the_sync(master_kind, mode):
    m = start(master_kind, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--save", "",
              "--rdbcompression", "no")
    s = start("pyredis", "--repl-diskless-load", mode, "--loading-process-events-interval-bytes", "1024")
    stop = threading.Event()
    counts: list[int] = []
    try:
        m.r.execute_command("DEBUG", "POPULATE", 300, "key", 2000)
        m.r.config_set("rdb-key-save-delay", 5000)  # 5 ms per key: a transfer of ~1.5 s
        t = threading.Thread(target=_writer, args=(m, stop, counts))
        t.start()
        raw = RawClient(s.port, timeout=30)
        assert raw.call("REPLICAOF", "127.0.0.1", m.port) == b"+OK\r\n"
        seen: list[dict[str, str]] = []
        deadline = time.time() + 60
        while time.time() < deadline:
            info = raw.call("INFO", "persistence").decode()
            fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
            if fields["loading"] == "1":
                if m.info("persistence")["rdb_bgsave_in_progress"] == 1:
                    seen.append(fields)  # loading while the master's child is still producing the RDB
            elif seen:
                break
        raw.close()
        assert seen, "never saw the replica loading during the transfer"
        assert any(int(f["loading_loaded_bytes"]) > 0 for f in seen), [{k: v for k, v in f.items() if "load" in k} for f in seen[-3:]]
        assert all(f["loading_total_bytes"] == "0" for f in seen)  # the EOF form: size unknown
        assert all(int(f["loading_rdb_used_mem"]) > 0 for f in seen if int(f["loading_loaded_bytes"]) > 200)
        wait_for(lambda: s.info()["master_link_status"] == "up", 30, "sync finished")
        stop.set()
        t.join()
        wait_synced(m, s)
        assert_same_data(m, s)
        assert s.r.dbsize() == m.r.dbsize() >= 300 + counts[0]
        log = s.log()
        assert "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser" in log
        assert "MASTER <-> REPLICA sync: Finished with success" in log
        if mode == "swapdb":
            assert "Swapping active DB with loaded DB" in log
        else:
            assert log.index("Flushing old data") < log.index("Loading DB in memory")
    finally:
        stop.set()
        m.stop()
        s.stop()


@pytest.mark.parametrize("mode", ["on-empty-db", "swapdb"])
def test_link_lost_mid_load_discards_and_retries(mode):
    m = start("redis", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--save", "",
              "--rdbcompression", "no")
    s = start("pyredis", "--repl-diskless-load", mode, "--loading-process-events-interval-bytes", "1024")
    try:
        m.r.execute_command("DEBUG", "POPULATE", 200, "key", 10_000)
        m.r.config_set("rdb-key-save-delay", 10_000)  # 10 ms per key
        s.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: s.info("persistence")["loading"] == 1
                 and s.info("persistence")["loading_loaded_bytes"] > 20_000, 20, "loading well under way")
        assert m.r.execute_command("CLIENT", "KILL", "TYPE", "replica") == 1
        wait_for(lambda: "Internal error in RDB reading offset" in s.log(), 10, "the short read")
        log = s.log()
        assert "Short read or OOM loading DB. Unrecoverable error, aborting now." in log
        assert "Failed trying to load the MASTER synchronization DB from socket: Connection reset by peer" in log
        if mode == "swapdb":
            assert "MASTER <-> REPLICA sync: Discarding temporary DB in background" in log
        m.r.config_set("rdb-key-save-delay", 0)
        wait_for(lambda: s.info()["master_link_status"] == "up", 30, "the retried sync")
        assert s.info("persistence")["loading"] == 0
        assert s.r.dbsize() == 200
        assert_same_data(m, s)
    finally:
        m.stop()
        s.stop()


# -- a scripted master: what comes after the EOF mark is the command stream ------------------------------

def _rdb_of(node) -> bytes:
    path = os.path.join(node.proc.cwd, "snap.rdb")
    subprocess.run(["redis-cli", "-p", str(node.port), "--rdb", path], check=True, capture_output=True, timeout=30)
    with open(path, "rb") as fh:
        return fh.read()


def _commands(buf: bytes) -> tuple[list[list[bytes]], bytes]:
    """Complete multibulk commands at the start of *buf*, and the rest."""
    out = []
    while buf.startswith(b"*"):
        eol = buf.find(b"\r\n")
        if eol < 0:
            break
        n, p, argv = int(buf[1:eol]), eol + 2, []
        for _ in range(n):
            e = buf.find(b"\r\n", p)
            if e < 0:
                return out, buf
            ln = int(buf[p + 1:e])
            if len(buf) < e + 2 + ln + 2:
                return out, buf
            argv.append(buf[e + 2:e + 2 + ln])
            p = e + 2 + ln + 2
        out.append(argv)
        buf = buf[p:]
    return out, buf


def _fake_master(payload: bytes) -> int:
    """A master serving one full sync: it answers the handshake, then sends *payload* in small pieces."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    port = free_port()
    lsock.bind(("127.0.0.1", port))
    lsock.listen(4)

    def serve() -> None:
        conn, _ = lsock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        done = False
        while not done:
            data = conn.recv(4096)
            if not data:
                return
            cmds, buf = _commands(buf + data)
            for argv in cmds:
                name = argv[0].upper()
                if name == b"PSYNC":
                    for i in range(0, len(payload), 777):
                        conn.sendall(payload[i:i + 777])
                    done = True
                else:
                    conn.sendall(b"+PONG\r\n" if name == b"PING" else b"+OK\r\n")
        time.sleep(5)  # the link stays up while the test looks at the replica
        conn.close()
        lsock.close()

    threading.Thread(target=serve, daemon=True).start()
    return port


def test_commands_behind_the_eof_mark_are_the_stream():
    src = start("redis", "--save", "")
    s = start("pyredis", "--repl-diskless-load", "on-empty-db")
    try:
        src.r.execute_command("DEBUG", "POPULATE", 500, "key", 300)
        src.r.rpush("biglist", *[f"item{i}" * 50 for i in range(2000)])
        rdb = _rdb_of(src)
        mark = b"a" * 40
        stream = b"*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$4\r\nmark\r\n*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n"
        payload = b"+FULLRESYNC %s 100\r\n\n\n$EOF:%s\r\n%s%s%s" % (b"b" * 40, mark, rdb, mark, stream)
        port = _fake_master(payload)
        s.r.execute_command("REPLICAOF", "127.0.0.1", port)
        wait_for(lambda: s.r.get("after") == b"mark", 15, "the command after the mark")
        assert s.r.get("ctr") == b"1"
        assert s.r.dbsize() == 503
        assert s.r.llen("biglist") == 2000 and s.r.lindex("biglist", 1999) == b"item1999" * 50
        info = s.info()
        assert info["master_link_status"] == "up"
        assert info["master_repl_offset"] == 100 + len(stream)
    finally:
        src.stop()
        s.stop()


def test_a_broken_eof_mark_fails_the_load():
    src = start("redis", "--save", "")
    s = start("pyredis", "--repl-diskless-load", "on-empty-db")
    try:
        src.r.execute_command("DEBUG", "POPULATE", 50, "key", 10)
        rdb = _rdb_of(src)
        payload = b"+FULLRESYNC %s 1\r\n$EOF:%s\r\n%s%s" % (b"b" * 40, b"a" * 40, rdb, b"z" * 40)
        port = _fake_master(payload)
        s.r.execute_command("REPLICAOF", "127.0.0.1", port)
        wait_for(lambda: "Replication stream EOF marker is broken" in s.log(), 15, "the broken mark")
        wait_for(lambda: s.info("persistence")["loading"] == 0, 5, "loading over")
        assert s.r.dbsize() == 0  # the loaded data is discarded
        assert "Finished with success" not in s.log()
    finally:
        src.stop()
        s.stop()


@pytest.mark.parametrize("load", ["disabled", "on-empty-db"])
def test_aof_is_rewritten_with_the_synced_dataset(load):
    """The AOF goes off while the master's RDB loads and restarts with a rewrite of the new dataset
    (restartAOFAfterSYNC): restarted on its own, the replica has what it got from the master."""
    from support import ServerProcess

    m = start("redis", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--save", "")
    s = start("pyredis", "--appendonly", "yes", "--repl-diskless-load", load, "--save", "")
    try:
        m.r.execute_command("DEBUG", "POPULATE", 1000, "key", 10)
        s.r.set("own", "gone after the sync")
        rewrites = s.info("persistence")["aof_rewrites"]
        s.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: s.info()["master_link_status"] == "up", 20, "synced")
        wait_for(lambda: s.info("persistence")["aof_rewrites"] > rewrites
                 and s.info("persistence")["aof_rewrite_in_progress"] == 0, 20, "the AOF rewritten")
        assert s.info("persistence")["aof_enabled"] == 1
        m.r.set("after", "sync")
        wait_synced(m, s)
        assert "Background append only file rewriting started" in s.log()
        cwd = s.proc.cwd
        s.r.execute_command("REPLICAOF", "NO", "ONE")
        s.stop()
        again = ServerProcess("pyredis", ["--appendonly", "yes", "--save", ""], cwd=cwd)
        try:
            c = redis.Redis(port=again.port)
            assert c.dbsize() == 1001 and c.get("after") == b"sync" and c.get("own") is None
        finally:
            again.stop()
    finally:
        m.stop()
        s.stop()


def test_stream_reader_loads_any_split_like_the_whole_image():
    """The sans-IO part: an RDB of every type fed in random pieces (down to single bytes) loads the same
    dataset as the whole image; a damaged checksum is still caught, a truncated image waits for more."""
    import random

    from pyredis.persistence.loading_stream import StreamReader
    from pyredis.persistence.rdb import RDBError, dump_payload, iter_load_rdb
    from pyredis.persistence.rdb_reader import NEED
    from pyredis.server.app import Server
    from pyredis.server.config import Config

    src = start("redis", "--save", "")
    try:
        r = src.r
        r.execute_command("DEBUG", "POPULATE", 300, "key", 50)
        r.rpush("list", *[f"e{i}" * 20 for i in range(3000)])
        r.sadd("set", *range(600))
        r.sadd("smallset", "a", "b")
        r.zadd("zset", {f"m{i}": i / 7 for i in range(500)})
        r.hset("hash", mapping={f"f{i}": "v" * (i % 90) for i in range(700)})
        r.set("ttl", "x", ex=1000)
        for i in range(50):
            r.xadd("stream", {"a": i})
        r.xgroup_create("stream", "g", id="0")
        r.xreadgroup("g", "c", {"stream": ">"}, count=3)
        r.function_load("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
        image = _rdb_of(src)
    finally:
        src.stop()

    def load(pieces: list[bytes], trailer: bytes = b"") -> tuple:
        srv = Server(Config())
        sr = StreamReader(srv.config)
        gen = iter_load_rdb(srv, b"", reader=sr, replace_functions=True, every=4096)
        it = iter(pieces)
        while True:
            try:
                step = next(gen)
            except StopIteration:
                break
            if step == NEED:  # as the driver does: until what is pending doubled (or the pieces ran out)
                want = 2 * sr.pending + 1
                for piece in it:
                    sr.feed(piece)
                    if sr.pending >= want:
                        break
        assert sr.rest() + b"".join(it) == trailer  # nothing consumed past the image
        db = srv.keyspace.dbs[0]
        return ({k: dump_payload(v, srv.config) for k, v in db.data.items()}, dict(db.expires),
                srv.scripting.function_codes())

    whole = load([image])
    assert len(whole[0]) == 307 and list(whole[1]) == [b"ttl"] and len(whole[2]) == 1
    rng = random.Random(7)
    for top in (5, 300, 20000):
        pieces, pos = [], 0
        while pos < len(image):
            n = rng.randint(1, top)
            pieces.append(image[pos:pos + n])
            pos += n
        ping = b"*1\r\n$4\r\nPING\r\n"
        assert load(pieces + [ping], ping) == whole
    bad = image[:-1] + bytes([image[-1] ^ 1])
    with pytest.raises(RDBError, match="Wrong RDB checksum"):
        load([bad[i:i + 1000] for i in range(0, len(bad), 1000)])
    srv = Server(Config())
    sr = StreamReader(srv.config)
    gen = iter_load_rdb(srv, b"", reader=sr)
    assert next(gen) == NEED
    sr.feed(image[:len(image) // 2])
    assert next(gen) == NEED  # half an image: it waits instead of failing
    gen.close()


@pytest.mark.parametrize("master_kind", ["redis", "pyredis"])
def test_only_the_stalled_replica_of_a_diskless_transfer_times_out(master_kind):
    """A replica that stops reading (SIGSTOP) stalls the pipe relay: after repl-timeout it is dropped
    ("Disconnecting timedout replica (full sync)"); the other replica, merely starved meanwhile, is not."""
    import signal

    m = start(master_kind, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "3",
              "--repl-diskless-sync-max-replicas", "2", "--rdbcompression", "no", "--save", "")
    stuck = start("redis")
    fast = start("pyredis")
    try:
        m.r.execute_command("DEBUG", "POPULATE", 3000, "key", 10_000)  # 30 MB: more than the socket buffers
        m.r.config_set("repl-timeout", 2)
        stuck.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: m.info()["connected_slaves"] == 1, 10, "the first replica waiting")
        os.kill(stuck.proc.proc.pid, signal.SIGSTOP)
        fast.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: "Disconnecting timedout replica (full sync)" in m.log(), 30, "the stalled replica dropped")
        wait_for(lambda: fast.info()["master_link_status"] == "up", 30, "the other replica synced")
        log = m.log()
        assert log.count("Disconnecting timedout replica (full sync)") == 1
        assert "Diskless rdb transfer, done reading from pipe, 1 replicas still up." in log
        wait_synced(m, fast)
        assert fast.r.dbsize() == 3000
    finally:
        os.kill(stuck.proc.proc.pid, signal.SIGCONT)
        m.stop()
        stuck.stop()
        fast.stop()


@pytest.mark.parametrize("master_kind", ["redis", "pyredis"])
def test_a_killed_diskless_child_is_collected_while_the_relay_is_stalled(master_kind):
    """The official suite's "diskless replication child being killed is collected": the replica loads
    slowly (key-load-delay), so the master's relay stalls and stops reading the child's pipe; the child
    is then killed (as the OOM killer would). The master still collects it (rdb_bgsave_in_progress:0)
    and fails that sync; the replica, loading at full speed again, syncs in full."""
    import signal

    m = start(master_kind, "--repl-diskless-sync", "yes", "--rdbcompression", "no", "--save", "")
    replica = start("redis", "--repl-diskless-load", "swapdb", "--key-load-delay", "100000",
                    "--loading-process-events-interval-bytes", "1024")
    try:
        m.r.execute_command("DEBUG", "POPULATE", 3000, "key", 10_000)  # 30 MB: more than the socket buffers
        replica.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: "Loading DB in memory" in replica.log(), 10, "the replica loading")
        time.sleep(0.5)  # the replica's socket is full and the relay has stopped reading the pipe
        child = child_pids(m.proc.proc.pid)
        assert len(child) == 1
        os.kill(child[0], signal.SIGKILL)
        wait_for(lambda: m.info("persistence")["rdb_bgsave_in_progress"] == 0, 5, "the child collected")
        assert "Background transfer terminated by signal 9" in m.log()
        replica.r.config_set("key-load-delay", 0)
        wait_for(lambda: replica.info()["master_link_status"] == "up", 30, "the replica synced again")
        assert m.info("stats")["sync_full"] == 2
        wait_synced(m, replica)
        assert replica.r.dbsize() == 3000
    finally:
        m.stop()
        replica.stop()
