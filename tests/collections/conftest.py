"""Fixtures for the pyredis.collections tests: every test runs against a real redis-server
and against an embedded pyredis (``backend`` is parametrized over both).

``COLLECTIONS_BACKENDS=redis`` (or ``pyredis``) restricts the run to one backend.  The
pyredis backend is skipped, with the list of missing commands, while the server does
not implement every command the collections use (``COLLECTIONS_PYREDIS_FORCE=1`` runs it
anyway).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

#: ``COLLECTIONS_PROTOCOL=2`` runs every test with RESP2 clients (redis-py 8 defaults to RESP3).
PROTOCOL = (
    {"protocol": int(os.environ["COLLECTIONS_PROTOCOL"])} if os.environ.get("COLLECTIONS_PROTOCOL") else {}
)
BACKENDS = [b for b in os.environ.get("COLLECTIONS_BACKENDS", "redis,pyredis").split(",") if b]

#: one representative call per command the collections send (run in db 15).
PROBE: list[tuple[Any, ...]] = [
    ("HSET", "p:h", "f", "1"),
    ("HGET", "p:h", "f"),
    ("HMGET", "p:h", "f"),
    ("HSETNX", "p:h", "g", "1"),
    ("HINCRBY", "p:h", "f", 1),
    ("HEXISTS", "p:h", "f"),
    ("HLEN", "p:h"),
    ("HGETALL", "p:h"),
    ("HSCAN", "p:h", 0),
    ("HRANDFIELD", "p:h"),
    ("HDEL", "p:h", "f"),
    ("SADD", "p:s", "a"),
    ("SREM", "p:s", "b"),
    ("SISMEMBER", "p:s", "a"),
    ("SMISMEMBER", "p:s", "a"),
    ("SCARD", "p:s"),
    ("SMEMBERS", "p:s"),
    ("SSCAN", "p:s", 0),
    ("SUNION", "p:s"),
    ("SINTER", "p:s"),
    ("SDIFF", "p:s"),
    ("SUNIONSTORE", "p:t", "p:s"),
    ("SINTERSTORE", "p:t", "p:s"),
    ("SDIFFSTORE", "p:t", "p:s"),
    ("SPOP", "p:s"),
    ("RPUSH", "p:l", "a", "b"),
    ("LPUSH", "p:l", "c"),
    ("LRANGE", "p:l", 0, -1),
    ("LINDEX", "p:l", 0),
    ("LSET", "p:l", 0, "d"),
    ("LINSERT", "p:l", "BEFORE", "d", "e"),
    ("LLEN", "p:l"),
    ("LREM", "p:l", 1, "e"),
    ("LPOS", "p:l", "a"),
    ("LTRIM", "p:l", 0, -1),
    ("LPOP", "p:l"),
    ("RPOP", "p:l"),
    ("SET", "p:k", "v", "NX", "PX", 1000),
    ("GET", "p:k"),
    ("INCR", "p:n"),
    ("PEXPIRE", "p:k", 1000),
    ("PTTL", "p:k"),
    ("EXISTS", "p:k"),
    ("DEL", "p:k"),
    ("BITFIELD", "p:b", "SET", "u1", 7, 1, "GET", "u1", 7),
    ("BITCOUNT", "p:b"),
    ("PFADD", "p:x", "a"),
    ("PFCOUNT", "p:x"),
    ("PFMERGE", "p:y", "p:x"),
    ("EVAL", "return redis.call('GET', KEYS[1])", 1, "p:k"),
    ("EVALSHA", "0" * 40, 0),
    ("CONFIG", "GET", "notify-keyspace-events"),
    ("WATCH", "p:k"),
    ("UNWATCH",),
    ("MULTI",),
    ("EXEC",),
    ("PUBLISH", "p:c", "x"),
    ("FLUSHDB",),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Backend:
    """A server under test: ``client()``/``async_client()`` make redis-py clients for it."""

    def __init__(self, name: str, host: str, port: int):
        self.name, self.host, self.port = name, host, port
        self.url = f"redis://{host}:{port}/0"

    def client(self, **kwargs: Any) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, **{**PROTOCOL, **kwargs})

    def async_client(self, **kwargs: Any) -> redis.asyncio.Redis:
        return redis.asyncio.Redis(host=self.host, port=self.port, **{**PROTOCOL, **kwargs})

    def __repr__(self) -> str:
        return f"<{self.name} {self.url}>"


def missing_commands(client: redis.Redis) -> list[str]:
    """Commands of PROBE the server answers with 'unknown command' (or similar)."""
    missing = []
    client = redis.Redis(connection_pool=client.connection_pool, single_connection_client=True)
    client.execute_command("SELECT", 15)
    try:
        for args in PROBE:
            try:
                client.execute_command(*args)
            except redis.ResponseError as exc:
                text = str(exc).lower()
                if "unknown command" in text or "unknown subcommand" in text or "not implemented" in text:
                    missing.append(" ".join(map(str, args[:2] if args[0] == "CONFIG" else args[:1])))
        pubsub = client.pubsub()
        try:
            pubsub.subscribe("p:c")
            if not pubsub.get_message(timeout=1.0):
                missing.append("SUBSCRIBE")
        except redis.RedisError:
            missing.append("SUBSCRIBE")
        finally:
            pubsub.close()
    finally:
        client.execute_command("FLUSHDB")
        client.execute_command("SELECT", 0)
        client.close()
    return missing


@pytest.fixture(scope="session")
def redis_server_backend() -> Iterator[Backend]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    backend = Backend("redis", "127.0.0.1", port)
    deadline = time.monotonic() + 10
    while True:
        try:
            backend.client().ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.02)
    yield backend
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def pyredis_backend() -> Iterator[Backend]:
    try:
        from pyredis.embedded import EmbeddedServer

        server = EmbeddedServer().start()
    except Exception as exc:  # the server package is still being built
        pytest.skip(f"embedded pyredis does not start: {exc!r}")
    try:
        backend = Backend("pyredis", server.host, server.port)
        client = backend.client()
        missing = missing_commands(client)
        client.close()
        if missing and os.environ.get("COLLECTIONS_PYREDIS_FORCE") != "1":
            pytest.skip(f"pyredis does not implement yet: {', '.join(missing)}")
        yield backend
    finally:
        server.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn (session-scoped, so tests are grouped by backend)."""
    return request.getfixturevalue("redis_server_backend" if request.param == "redis" else "pyredis_backend")


@pytest.fixture
def r(backend: Backend) -> Iterator[redis.Redis]:
    """A sync client on a flushed server."""
    client = backend.client()
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def r_decoded(backend: Backend, r: redis.Redis) -> Iterator[redis.Redis]:
    """A sync client with decode_responses=True (same flushed server)."""
    client = backend.client(decode_responses=True)
    yield client
    client.close()


try:
    import pytest_asyncio
except ImportError:  # the async tests need it; everything else runs without

    @pytest.fixture
    def ar() -> None:
        pytest.skip("pytest-asyncio is not installed")

else:

    @pytest_asyncio.fixture
    async def ar(backend: Backend) -> Any:
        """An async client on a flushed server."""
        client = backend.async_client()
        await client.flushall()
        yield client
        await client.aclose()


@pytest.fixture
def masters(backend: Backend, r: redis.Redis) -> Iterator[list[redis.Redis]]:
    """Three 'masters' for Redlock/NextId: databases 1-3 of the backend."""
    clients = [backend.client(db=db) for db in (1, 2, 3)]
    yield clients
    for c in clients:
        c.close()


@pytest.fixture
def dead_master() -> redis.Redis:
    """A client of a port nothing listens on."""
    return redis.Redis(port=_free_port(), socket_connect_timeout=0.2, retry=None)
