"""A client the event loop accepted just before a busy script started (its connection not yet set up) is
served during the script like any other: -BUSY, and SCRIPT KILL works from it (as in real redis-server)."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.support import RawClient, ServerProcess

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_client_accepted_as_busy_script_starts_gets_busy(kind: str) -> None:
    srv = ServerProcess(kind, ["--busy-reply-threshold", "50"])
    try:
        script_client, sleeper = srv.client(), srv.client()
        sleeper.send("DEBUG", "SLEEP", "0.5")  # the loop is blocked: the next two events come in one batch
        time.sleep(0.15)
        late = RawClient(srv.port, timeout=8)  # connected (kernel backlog), accepted once the sleep ends
        script_client.send("EVAL", "while true do end", 0)  # readable after the listener: runs first
        time.sleep(0.6)
        late.send("PING")
        assert late.read_reply().startswith(b"-BUSY")
        assert late.call("SCRIPT", "KILL") == b"+OK\r\n"
        assert script_client.read_reply().startswith(b"-ERR Script killed by user with SCRIPT KILL")
        assert late.call("PING") == b"+PONG\r\n"
        assert sleeper.read_reply() == b"+OK\r\n"
        for c in (script_client, sleeper, late):
            c.close()
    finally:
        srv.stop()
