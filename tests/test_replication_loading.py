"""The replica's full-sync load processes events every loading-process-events-interval-bytes, as
redis-server does: clients get -LOADING (INFO answers loading:1) instead of waiting for the whole load,
from a disk-based and from a diskless load."""

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
