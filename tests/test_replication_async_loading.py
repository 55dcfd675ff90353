"""repl-diskless-load swapdb with a matching replication id: async loading (redis-server 7.0) keeps
serving the old dataset while the new one arrives, refuses no_async_loading commands with -LOADING,
and swaps the new dataset in at the end."""

from __future__ import annotations

import pytest
from repl_support import link, start, wait_for, wait_synced

from support import RawClient


@pytest.mark.parametrize("master_kind", ["pyredis"])
def test_async_loading_serves_old_data_then_swaps(master_kind):
    m = start(master_kind, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
    s = start("pyredis", "--repl-diskless-load", "swapdb", "--replica-read-only", "no")
    try:
        link(s, m)
        for i in range(20):
            m.r.set(f"k{i}", i)
        wait_synced(m, s)
        s.r.set("replica-only", "old")
        m.r.config_set("repl-backlog-size", 16384)
        m.r.config_set("rdb-key-save-delay", 100_000)  # 0.1 s per key: a 2 s transfer
        p = m.r.pipeline(transaction=True)
        p.client_kill_filter(_type="replica")
        for i in range(10):
            p.set(f"fill{i}", "A" * 16384)  # the backlog no longer covers the replica
        p.execute()
        wait_for(lambda: s.info("persistence")["async_loading"] == 1, 10, "async_loading:1")
        assert s.info("persistence")["loading"] == 0
        assert s.r.get("replica-only") == b"old"  # the old dataset is served meanwhile
        assert s.r.dbsize() == 21
        raw = RawClient(s.port)  # (redis-py retries -LOADING replies)
        assert raw.call("REPLICAOF", "NO", "ONE") == b"-LOADING Redis is loading the dataset in memory\r\n"
        assert raw.call("CONFIG", "SET", "appendonly", "no").startswith(b"-LOADING")
        assert raw.call("GET", "replica-only") == b"$3\r\nold\r\n"
        raw.close()
        wait_for(lambda: s.info()["master_link_status"] == "up", 30, "sync finished")
        assert s.info("persistence")["async_loading"] == 0
        assert s.r.get("replica-only") is None and s.r.dbsize() == 30
        assert "MASTER <-> REPLICA sync: Swapping active DB with loaded DB" in s.log()
    finally:
        m.stop()
        s.stop()


def test_cached_master_kept_until_the_new_rdb_is_loaded():
    """A full sync with another master that dies before its RDB arrives leaves the cached master in
    place: going back to the first master is a partial resync (sub-replicas stay connected)."""
    m1 = start("redis")
    m2 = start("pyredis", "--repl-diskless-sync", "no")
    r = start("pyredis")
    try:
        m1.r.set("a", "b")
        link(r, m1)
        wait_synced(m1, r)
        for i in range(10):
            m2.r.set(f"k{i}", i)
        m2.r.config_set("rdb-key-save-delay", 1_000_000)
        r.r.execute_command("REPLICAOF", "127.0.0.1", m2.port)
        wait_for(lambda: m2.info("persistence")["rdb_bgsave_in_progress"] == 1
                 and "wait_bgsave" in str(m2.info().get("slave0")), 10, "full sync with m2")
        m2.stop()
        partial = m1.info("stats")["sync_partial_ok"]
        r.r.execute_command("REPLICAOF", "127.0.0.1", m1.port)
        wait_for(lambda: r.info()["master_link_status"] == "up", 20, "back with m1")
        stats = m1.info("stats")
        assert (stats["sync_partial_ok"], stats["sync_full"]) == (partial + 1, 1), r.log()[-3000:]
        assert r.info()["master_replid"] == m1.info()["master_replid"] and r.r.get("a") == b"b"
    finally:
        for n in (m1, m2, r):
            n.stop()


def _resync_setup(master_kind: str):
    m = start(master_kind, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--save", "",
              "--rdbcompression", "no")
    s = start("pyredis", "--repl-diskless-load", "swapdb", "--replica-read-only", "no", "--save", "",
              "--loading-process-events-interval-bytes", "1024")
    link(s, m)
    m.r.execute_command("DEBUG", "POPULATE", 100, "master", 10_000)
    wait_synced(m, s)
    s.r.execute_command("DEBUG", "POPULATE", 50, "slave", 10)
    s.r.set("mykey", "myvalue")
    s.r.function_load("#!lua name=test\nredis.register_function('test', function() return 'hello1' end)")
    # (propagated, it fails on the replica: its own library of that name stays)
    m.r.function_load("#!lua name=test\nredis.register_function('test', function() return 'hello2' end)")
    m.r.config_set("rdb-key-save-delay", 20_000)  # 20 ms per key: a 2 s transfer
    p = m.r.pipeline(transaction=True)  # the replica resyncs with the same replication id: async loading
    p.client_kill_filter(_type="replica")
    p.config_set("repl-backlog-size", 16384)
    for i in range(10):
        p.set(f"{i} string_{i}", "A" * 16384)
    p.execute()
    wait_for(lambda: s.info("persistence")["async_loading"] == 1, 10, "async_loading:1")
    return m, s


def _old_dataset_served(s) -> None:
    assert s.r.get("mykey") == b"myvalue"
    assert s.r.fcall("test", 0) == b"hello1"
    assert s.r.dbsize() == 51  # (DEBUG POPULATE is not propagated: the master's keys come with the RDB)


@pytest.mark.parametrize("master_kind", ["redis", "pyredis"])
def test_async_loading_swaps_keys_and_functions_at_the_end(master_kind):
    m, s = _resync_setup(master_kind)
    try:
        info = s.info("persistence")
        assert info["loading"] == 0 and "loading_loaded_bytes" not in info
        _old_dataset_served(s)
        assert s.info("persistence")["async_loading"] == 1  # still loading: what was seen was the old dataset
        m.r.config_set("rdb-key-save-delay", 0)
        wait_for(lambda: s.info()["master_link_status"] == "up", 30, "sync finished")
        assert s.info("persistence")["async_loading"] == 0
        assert s.r.get("mykey") is None
        assert s.r.fcall("test", 0) == b"hello2"
        assert s.r.dbsize() == m.r.dbsize() == 110
        log = s.log()
        tail = log[log.rindex("Loading DB in memory"):]
        order = ["Done loading RDB", "MASTER <-> REPLICA sync: Swapping active DB with loaded DB",
                 "MASTER <-> REPLICA sync: Discarding old DB in background", "MASTER <-> REPLICA sync: Finished with success"]
        assert [tail.index(x) for x in order] == sorted(tail.index(x) for x in order)
        assert "Flushing old data" not in tail
    finally:
        m.stop()
        s.stop()


def test_async_loading_aborted_keeps_the_old_dataset():
    m, s = _resync_setup("redis")
    try:
        m.r.config_set("repl-diskless-sync-delay", 5)  # the next sync waits: the replica is caught in between
        assert m.r.execute_command("CLIENT", "KILL", "TYPE", "replica") == 1
        wait_for(lambda: s.info("persistence")["async_loading"] == 0, 10, "the load given up")
        _old_dataset_served(s)
        log = s.log()
        tail = log[log.rindex("Loading DB in memory"):]
        assert "MASTER <-> REPLICA sync: Discarding temporary DB in background" in tail
        assert "Swapping active DB" not in tail
        m.r.config_set("rdb-key-save-delay", 0)
    finally:
        m.stop()
        s.stop()


def test_cluster_replica_restarted_from_its_rdb_resyncs_with_its_history():
    """A cluster replica (its role from nodes.conf) restarted from its RDB takes the replication id and offset
    saved there: it asks its master for a partial resync of that history and, sent a full one, loads it
    asynchronously (tests/cluster 17-diskless-load-swapdb)."""
    import redis

    from support import ServerProcess

    args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save", "", "--logfile", "server.log",
            "--repl-diskless-load", "swapdb"]
    m = ServerProcess("pyredis", args)
    s = ServerProcess("pyredis", args)
    again = None
    try:
        mc, sc = redis.Redis(port=m.port), redis.Redis(port=s.port)
        mc.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        sc.execute_command("CLUSTER", "MEET", "127.0.0.1", m.port)
        mid = mc.execute_command("CLUSTER", "MYID")
        mid = mid.decode() if isinstance(mid, bytes) else mid
        wait_for(lambda: mid in str(sc.execute_command("CLUSTER", "NODES")), 10, "the meet")
        wait_for(lambda: sc.execute_command("CLUSTER", "REPLICATE", mid), 10, "CLUSTER REPLICATE")
        wait_for(lambda: sc.info("replication")["master_link_status"] == "up", 20, "synced")
        for k, v in [("repl-backlog-size", 1024), ("repl-diskless-sync", "yes"), ("repl-diskless-sync-delay", 0),
                     ("rdbcompression", "no")]:
            mc.config_set(k, v)
        mc.set("06S", 1)
        wait_for(lambda: sc.info("replication")["slave_repl_offset"] == mc.info("replication")["master_repl_offset"],
                 10, "offsets")
        replid = mc.info("replication")["master_replid"]
        sc.execute_command("SAVE")
        offset = sc.info("replication")["slave_repl_offset"]
        s.proc.kill()
        s.proc.wait()
        p = mc.pipeline(transaction=False)
        for j in range(200):
            p.set(j, "A" * 1024)
        p.execute()  # past the backlog: a full resync
        mc.config_set("rdb-key-save-delay", 5000)  # a transfer of ~1 s
        again = ServerProcess("pyredis", args, cwd=s.cwd, port=s.port)
        sc = redis.Redis(port=again.port)
        wait_for(lambda: sc.info("persistence")["async_loading"] == 1, 20, "async_loading:1")
        with open(s.cwd + "/server.log", encoding="utf-8", errors="replace") as fh:
            log = fh.read()
        assert f"Trying a partial resynchronization (request {replid}:{offset + 1})." in log
        assert sc.info("persistence")["loading"] == 0
        mc.config_set("rdb-key-save-delay", 0)
        wait_for(lambda: sc.info("replication")["master_link_status"] == "up", 30, "synced again")
        assert sc.execute_command("READONLY") and sc.dbsize() == 201
    finally:
        for n in (m, s, again):
            if n is not None:
                n.stop()
