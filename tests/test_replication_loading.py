"""The replica's full-sync load processes events every loading-process-events-interval-bytes, as
redis-server does: clients get -LOADING (INFO answers loading:1) instead of waiting for the whole load,
from a disk-based and from a diskless load. And a diskless transfer killed by FLUSHALL restarts."""

from __future__ import annotations

import time

import pytest
from repl_support import start, wait_for

from support import RawClient


@pytest.mark.parametrize("load", ["disabled", "on-empty-db"])
def test_clients_get_loading_during_the_replicas_load(load):
    m = start("pyredis", "--repl-diskless-sync", "no")
    s = start("pyredis", "--repl-diskless-load", load, "--loading-process-events-interval-bytes", "1024")
    try:
        m.r.execute_command("DEBUG", "POPULATE", 150_000, "key")
        raw = RawClient(s.port, timeout=30)
        assert raw.call("REPLICAOF", "127.0.0.1", m.port) == b"+OK\r\n"
        replies: set[bytes] = set()
        infos: list[bytes] = []
        deadline = time.time() + 60
        while time.time() < deadline:
            reply = raw.call("PING")
            replies.add(reply)
            if reply.startswith(b"-LOADING"):
                infos.append(raw.call("INFO", "persistence"))
            elif b"master_link_status:up" in raw.call("INFO", "replication"):
                break  # loaded
        assert b"-LOADING Redis is loading the dataset in memory\r\n" in replies, replies
        assert any(b"loading:1\r\n" in i for i in infos)
        raw.close()
        wait_for(lambda: s.info()["master_link_status"] == "up", 30, "sync finished")
        assert s.r.dbsize() == 150_000 and s.r.get("key:7") == b"value:7"
        assert s.info("persistence")["loading"] == 0
    finally:
        m.stop()
        s.stop()


@pytest.mark.parametrize("master_kind", ["redis", "pyredis"])
def test_flushall_during_a_diskless_transfer_restarts_the_sync(master_kind):
    """FLUSHALL kills the diskless transfer's child: its replica is dropped ("SYNC failed") and syncs again
    with the emptied dataset at once, instead of waiting for the rest of an RDB that never comes."""
    m = start(master_kind, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
    s = start("pyredis")
    try:
        m.r.execute_command("DEBUG", "POPULATE", 100, "key", 1000)
        m.r.config_set("rdb-key-save-delay", 100_000)  # 0.1 s per key
        s.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        wait_for(lambda: "Loading DB in memory" in s.log() or s.info()["master_sync_in_progress"] == 1, 10,
                 "transfer started")
        m.r.flushall()
        m.r.config_set("rdb-key-save-delay", 0)
        m.r.set("after", "flush")
        wait_for(lambda: s.info()["master_link_status"] == "up", 10, "synced again")
        wait_for(lambda: s.r.dbsize() == 1, 10, "the flushed dataset")
        assert s.r.get("after") == b"flush"
        assert m.log().count("SYNC failed. BGSAVE child returned an error") == 1
        assert m.log().count("Background RDB transfer started by pid") == 2
    finally:
        m.stop()
        s.stop()
