"""pytest plugin (entry point ``pyredis``): Redis fixtures backed by an embedded pyredis.

Fixtures:

- ``redis_server`` (session): an :class:`~pyredis.embedded.EmbeddedServer`, or the external
  server named by ``--redis-url URL`` or the ``PYREDIS_TEST_URL`` environment variable;
  either way it has ``.url``, ``.host``, ``.port``, ``.client()`` and ``.async_client()``.
- ``redis_client`` (function): a ``redis.Redis`` on it; the server is FLUSHALLed before
  and after each test.
- ``async_redis_client`` (function): the same with ``redis.asyncio`` (an async fixture when
  pytest-asyncio is installed).
- ``fake_redis_server`` / ``fake_redis`` / ``fake_async_redis`` (function): in-process clients
  (:mod:`pyredis.fake`, fakeredis's API) on a fresh server each test: no socket, no thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

URL_ENV = "PYREDIS_TEST_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pyredis", "pyredis Redis fixtures")
    group.addoption(
        "--redis-url",
        action="store",
        default=None,
        help=f"run the redis_* fixtures against this server instead of an embedded pyredis (or set {URL_ENV})",
    )
    group.addoption(
        "--redis-tls",
        action="store_true",
        default=False,
        help="serve the embedded pyredis over TLS (generated certificates; clients get them automatically)",
    )


class ExternalServer:
    """An already running server, given by URL (``redis://host:port/db`` or ``unix:///path``)."""

    def __init__(self, url: str):
        self.url = url
        parsed = urlparse(url)
        self.host = parsed.hostname
        self.port = parsed.port or (6379 if parsed.scheme in ("redis", "rediss") else None)

    def client(self, **kwargs: Any) -> Any:
        import redis

        return redis.Redis.from_url(self.url, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(self.url, **kwargs)

    def __repr__(self) -> str:
        return f"ExternalServer({self.url})"


def _flush(server: Any) -> None:
    client = server.client()
    try:
        client.flushall()
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The server the ``redis_*`` fixtures talk to (embedded unless a URL is given)."""
    url = request.config.getoption("redis_url", None) or os.environ.get(URL_ENV)
    if url:
        yield ExternalServer(url)
        return
    from pyredis.embedded import EmbeddedServer

    with EmbeddedServer(tls=bool(request.config.getoption("redis_tls", False))) as server:
        yield server


@pytest.fixture
def redis_client(redis_server: Any) -> Iterator[Any]:
    """A ``redis.Redis`` client on a freshly flushed server."""
    _flush(redis_server)
    client = redis_server.client()
    try:
        yield client
    finally:
        client.close()
        _flush(redis_server)


try:
    import pytest_asyncio
except ImportError:  # a plain fixture: the client connects lazily in the test's own loop
    pytest_asyncio = None

if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def async_redis_client(redis_server: Any) -> Any:
        """A ``redis.asyncio.Redis`` client on a freshly flushed server."""
        _flush(redis_server)
        client = redis_server.async_client()
        try:
            yield client
        finally:
            await client.aclose()
            _flush(redis_server)

else:

    @pytest.fixture
    def async_redis_client(redis_server: Any) -> Iterator[Any]:
        """A ``redis.asyncio.Redis`` client on a freshly flushed server."""
        _flush(redis_server)
        yield redis_server.async_client()
        _flush(redis_server)


# -- in-process fixtures (pyredis.fake: no socket, no server thread) ----------------------------------
@pytest.fixture
def fake_redis_server() -> Any:
    """A fresh :class:`pyredis.fake.FakeServer` (clients given ``server=`` it share its data)."""
    from pyredis.fake import FakeServer

    return FakeServer()


@pytest.fixture
def fake_redis(fake_redis_server: Any) -> Iterator[Any]:
    """A ``redis.Redis`` running commands in an in-process pyredis (:class:`pyredis.fake.FakeRedis`)."""
    from pyredis.fake import FakeRedis

    client = FakeRedis(server=fake_redis_server)
    try:
        yield client
    finally:
        client.close()


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def fake_async_redis(fake_redis_server: Any) -> Any:
        """A ``redis.asyncio.Redis`` on an in-process pyredis (:class:`pyredis.fake.FakeAsyncRedis`)."""
        from pyredis.fake import FakeAsyncRedis

        client = FakeAsyncRedis(server=fake_redis_server)
        try:
            yield client
        finally:
            await client.aclose()

else:

    @pytest.fixture
    def fake_async_redis(fake_redis_server: Any) -> Any:
        """A ``redis.asyncio.Redis`` on an in-process pyredis (:class:`pyredis.fake.FakeAsyncRedis`)."""
        from pyredis.fake import FakeAsyncRedis

        return FakeAsyncRedis(server=fake_redis_server)
