"""The server core: composition, events, and the gate after start-up loading (embedded servers)."""

from __future__ import annotations

import asyncio

from pyredis.server import listener
from pyredis.server.app import Server
from pyredis.server.client import Client
from pyredis.server.config import Config


def _server(tmp_path, *extra: tuple[str, str]) -> Server:
    cfg = Config()
    cfg.set("dir", str(tmp_path))
    cfg.set("port", "0")
    cfg.set("save", "")
    for name, value in extra:
        cfg.set(name, value)
    return Server(cfg)


def _run(srv: Server, argv: list[bytes]) -> bytes:
    c = Client(srv)
    c.authenticated = True
    srv.execute(c, argv)
    return b"".join(c.out)


def test_gate_is_released_after_startup_loading(tmp_path):
    """Loading the dump at start-up holds the gate (clients get -LOADING) and releases it when done,
    so commands take the fast path again afterwards."""
    first = _server(tmp_path)
    assert _run(first, [b"SET", b"k", b"v"]) == b"+OK\r\n"
    for i in range(300):  # enough bytes for the loader to yield to the event loop on the way
        _run(first, [b"SET", b"key:%d" % i, b"x" * 100])
    assert first.persistence.save()

    srv = _server(tmp_path, ("loading-process-events-interval-bytes", "1024"))
    seen_during: list[bool] = []

    async def main() -> None:
        await listener.start(srv)
        try:
            for hook in srv.events.ready:
                pending = hook(srv)
                if pending is not None:
                    task = asyncio.ensure_future(pending)
                    await asyncio.sleep(0)  # the loader has started: the gate holds
                    seen_during.append(srv.gate and "loading" in srv.gate_reasons)
                    await task
        finally:
            await listener.stop(srv)

    asyncio.run(main())
    assert seen_during == [True]
    assert srv.gate is False
    assert srv.gate_reasons == set()
    assert srv.events.checks == []
    assert _run(srv, [b"GET", b"k"]) == b"$1\r\nv\r\n"


def test_composed_subsystems_are_typed_attributes(tmp_path):
    srv = _server(tmp_path)
    for name in ("keyspace", "pubsub", "blocking", "tracking", "monitor", "acl", "scripting", "persistence",
                 "eviction", "stats", "events", "replication"):
        assert getattr(srv, name) is not None, name
    assert not hasattr(srv, "extensions")
    assert srv.cluster is None and srv.gateway is None
    from pyredis.modules.manager import ModuleManager

    assert isinstance(srv.modules, ModuleManager)  # always there: MODULE LOAD works at run time


def test_flush_and_reset_events_reach_listeners(tmp_path):
    srv = _server(tmp_path)
    flushed: list[int] = []
    swapped: list[tuple[int, int]] = []
    reset: list[int] = []
    srv.events.db_flushed.append(flushed.append)
    srv.events.dbs_swapped.append(lambda a, b: swapped.append((a, b)))
    srv.events.client_reset.append(lambda c: reset.append(c.id))
    c = Client(srv, 7)
    c.authenticated = True
    for argv in ([b"FLUSHDB"], [b"FLUSHALL"], [b"SWAPDB", b"0", b"1"], [b"RESET"]):
        srv.execute(c, argv)
    assert flushed == [0, -1]
    assert swapped == [(0, 1)]
    assert reset == [7]


def test_resetstat_clears_owned_counters(tmp_path):
    srv = _server(tmp_path)
    srv.stats.lazyfreed_objects = 5
    srv.stats.evicted_keys = 3
    assert _run(srv, [b"CONFIG", b"RESETSTAT"]) == b"+OK\r\n"
    info = _run(srv, [b"INFO", b"everything"])
    assert b"evicted_keys:0\r\n" in info and b"lazyfreed_objects:0\r\n" in info


_LAZY_PROBE = r"""
import sys
from pyredis.server.app import Server
from pyredis.server.client import Client
from pyredis.server.config import Config
from pyredis.server import acl_rules

cfg = Config()
cfg.set("port", "0")
cfg.set("save", "")
srv = Server(cfg)
c = Client(srv)
c.authenticated = True
for argv in ([b"SET", b"k", b"v"], [b"HSET", b"h", b"f", b"v"], [b"INFO"], [b"PING"]):
    srv.execute(c, argv)
lazy = ("json", "ctypes", "pyredis.modules", "pyredis.scripting.ldb", "pyredis.server.replication.replica",
        "pyredis.server.tls_native")
print(sorted(m for m in lazy if m in sys.modules), acl_rules._UNIVERSE is not None)
"""


def test_a_default_server_loads_rarely_used_parts_on_first_use(tmp_path):
    """Start-up memory (docs/ARCHITECTURE.md): composing a server and serving ordinary commands (INFO
    too) loads neither the modules package, the script debugger, the replica side, TLS's ctypes helpers
    nor json (the ACL command universe and the command metadata are built on first use)."""
    import os
    import subprocess
    import sys

    src = os.path.join(os.path.dirname(__file__), "..", "src")
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", _LAZY_PROBE], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), check=True).stdout
    assert out.split("\n")[-2] == "[] False"


def test_lazily_created_subsystems_work_on_first_use(tmp_path):
    srv = _server(tmp_path)
    assert _run(srv, [b"INFO", b"modules"]) == b"$11\r\n# Modules\r\n\r\n"
    assert _run(srv, [b"MODULE", b"LIST"]) == b"*0\r\n"
    assert b"get" in _run(srv, [b"ACL", b"CAT", b"string"]).split(b"\r\n")
    assert _run(srv, [b"ACL", b"SETUSER", b"u", b"on", b"nopass", b"+@all", b"-get", b"~*"]) == b"+OK\r\n"
    assert b"+@all -get" in _run(srv, [b"ACL", b"LIST"])
    assert _run(srv, [b"ROLE"]).startswith(b"*3\r\n$6\r\nmaster\r\n")
    assert srv.replication.replica.connected() is False
