"""INFO replication's master_sync_* fields while a replica loads the master's RDB straight from the
socket (repl-diskless-load): Redis counts transferred bytes only on the disk path (readSyncBulkPayload),
so a diskless load shows master_sync_read_bytes 0 (and total/left 0 for the ``$EOF:`` form)."""

from __future__ import annotations

import time

import pytest
from repl_support import start, wait_for

from support import RawClient


def _sync_fields(port: int) -> list[dict[str, str]]:
    c = RawClient(port, timeout=30)
    seen: list[dict[str, str]] = []
    deadline = time.time() + 40
    while time.time() < deadline:
        info = c.call("INFO", "replication").decode()
        fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        if fields.get("master_sync_total_bytes", "-1") != "-1":  # the payload's header has arrived
            seen.append(fields)
            if len(seen) >= 5:
                break
        elif seen:
            break
        time.sleep(0.05)
    c.close()
    return seen


@pytest.mark.parametrize("replica_kind", ["redis", "pyredis"])
def test_diskless_load_reports_no_read_bytes(replica_kind):
    m = start("redis", "--repl-diskless-sync", "yes", "--save", "", "--rdbcompression", "no")
    s = start(replica_kind, "--repl-diskless-load", "on-empty-db",
              "--loading-process-events-interval-bytes", "1024")
    try:
        m.r.execute_command("DEBUG", "POPULATE", 200, "key", 500)
        m.r.config_set("rdb-key-save-delay", 10000)  # 10 ms per key: a transfer of ~2 s
        s.r.execute_command("REPLICAOF", "127.0.0.1", m.port)
        seen = _sync_fields(s.port)
        assert seen, "never saw the sync in progress"
        for f in seen:
            assert (f["master_sync_total_bytes"], f["master_sync_read_bytes"], f["master_sync_left_bytes"],
                    f["master_sync_perc"]) == ("0", "0", "0", "0.00"), f
        m.r.config_set("rdb-key-save-delay", 0)
        wait_for(lambda: s.info()["master_link_status"] == "up", 40, "sync finished")
        assert s.r.dbsize() == 200
    finally:
        m.stop()
        s.stop()
