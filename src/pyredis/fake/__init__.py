"""In-process Redis for tests: fakeredis's API, pyredis's exact server.

    import pyredis.fake as fakeredis
    r = fakeredis.FakeRedis()

Clients run commands directly in a pyredis engine in the caller's thread (no socket, no server
thread); clients given the same :class:`FakeServer` share data.
"""

from __future__ import annotations

from pyredis.fake.engine import FakeServer
from pyredis.fake.sync import FakeConnection, FakeRedis, FakeStrictRedis

__all__ = ["FakeAsyncRedis", "FakeConnection", "FakeRedis", "FakeServer", "FakeStrictRedis"]


def __getattr__(name: str):  # the asyncio client is imported on first use
    if name in ("FakeAsyncRedis", "FakeAsyncConnection"):
        from pyredis.fake import aio

        return getattr(aio, name)
    raise AttributeError(name)
