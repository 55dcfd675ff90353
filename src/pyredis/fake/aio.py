"""``redis.asyncio.Redis`` on an in-process pyredis: the connection's reader is an
``asyncio.StreamReader`` fed with the engine's reply bytes, its writer runs the commands.

This is the client side (it lives in the caller's event loop); the engine it drives has no
asyncio in it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import redis.asyncio as aredis
from redis.asyncio.connection import Connection, ConnectionPool

from pyredis.fake.engine import EngineClient, FakeServer
from pyredis.fake.sync import _default_driver_info

__all__ = ["FakeAsyncConnection", "FakeAsyncRedis"]


class _Writer:
    """StreamWriter look-alike: written bytes are parsed and executed at once."""

    def __init__(self, conn: FakeAsyncConnection, fserver: FakeServer) -> None:
        self.fserver = fserver
        self.reader: asyncio.StreamReader = conn._fake_reader
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()
        with fserver.lock:
            self.client = EngineClient(fserver, on_output=self._output_ready)
        self.closed = False
        fserver.timer_listeners.append(self._timer_added)

    # -- engine -> reader ------------------------------------------------------------------------
    def _deliver(self) -> None:
        fs = self.fserver
        with fs.lock:
            data = self.client.take_output()
            eof = self.client.close_asap or self.client.closed
        if data:
            self.reader.feed_data(data)
        if eof and not self.reader.at_eof():
            self.reader.feed_eof()
            self._close_engine()

    def _output_ready(self) -> None:
        if threading.get_ident() == self.thread:
            self.loop.call_soon(self._deliver)
        else:
            try:
                self.loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the loop is closed
                pass

    def _timer_added(self, when: float) -> None:
        def arm() -> None:
            self.loop.call_later(max(0.0, when - time.monotonic()) + 0.0005, self._run_timers)

        try:
            if threading.get_ident() == self.thread:
                arm()
            else:
                self.loop.call_soon_threadsafe(arm)
        except RuntimeError:
            self._unlisten()

    def _run_timers(self) -> None:
        if self.closed:
            return
        fs = self.fserver
        with fs.lock:
            fs.after()

    # -- StreamWriter API --------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self.writelines((data,))

    def writelines(self, chunks: Any) -> None:
        if self.closed:
            raise ConnectionResetError("Connection lost")
        fs = self.fserver
        c = self.client
        with fs.lock:
            for chunk in chunks:
                c.feed(bytes(chunk))
            fs.after()
            data = c.take_output()
            eof = c.close_asap
        if data:
            self.reader.feed_data(data)
        if eof:
            self.reader.feed_eof()
            self._close_engine()

    async def drain(self) -> None:
        return None

    def _unlisten(self) -> None:
        try:
            self.fserver.timer_listeners.remove(self._timer_added)
        except ValueError:
            pass

    def _close_engine(self) -> None:
        self._unlisten()
        with self.fserver.lock:
            self.client.disconnect()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._close_engine()

    def is_closing(self) -> bool:
        return self.closed

    @property
    def transport(self) -> _Writer:
        """``StreamWriter.transport``: this object is its own transport (redis-py >= 8.2 asks it
        ``is_closing()`` before every write)."""
        return self

    async def wait_closed(self) -> None:
        return None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class FakeAsyncConnection(Connection):
    """A ``redis.asyncio`` connection on a :class:`FakeServer`."""

    def __init__(self, *args: Any, server: FakeServer | None = None, **kwargs: Any) -> None:
        self.fake_server = server if server is not None else FakeServer()
        super().__init__(*args, **kwargs)

    async def _connect(self) -> None:
        if not self.fake_server.connected:
            raise ConnectionRefusedError(111, "Connection refused")
        self._fake_reader = asyncio.StreamReader()
        writer = _Writer(self, self.fake_server)
        self._reader = self._fake_reader
        self._writer = writer  # type: ignore[assignment]

    def _host_error(self) -> str:
        return "pyredis.fake"

    def get_resolved_ip(self) -> str | None:
        return None

    async def activate_maint_notifications_handling_if_enabled(self, *args: Any, **kwargs: Any) -> None:
        """No maintenance-notification handshake (it would resolve the host name)."""

    def repr_pieces(self) -> list[tuple[str, Any]]:
        return [("server", self.fake_server), ("db", self.db)]


_POOL_KWARGS = ("db", "username", "password", "socket_timeout", "encoding", "encoding_errors",
                "decode_responses", "retry_on_timeout", "max_connections", "health_check_interval",
                "client_name", "protocol", "lib_name", "lib_version", "driver_info", "credential_provider")


class FakeAsyncRedis(aredis.Redis):
    """``redis.asyncio.Redis`` on an in-process pyredis (a fresh server unless ``server=`` is given)."""

    def __init__(self, *args: Any, server: FakeServer | None = None, **kwargs: Any) -> None:
        for k in ("version", "server_type", "lua_modules", "connected"):
            kwargs.pop(k, None)
        if args:
            kwargs.update(zip(("host", "port", "db", "password", "socket_timeout"), args, strict=False))
        if server is None and "host" in kwargs:
            server = FakeServer.get_server(f"{kwargs.get('host')}:{kwargs.get('port', 6379)}")
        kwargs.pop("host", None)
        kwargs.pop("port", None)
        if kwargs.get("connection_pool") is None:
            if server is None:
                server = FakeServer()
            ck = {k: kwargs.pop(k) for k in _POOL_KWARGS if k in kwargs}
            _default_driver_info(ck)
            kwargs["connection_pool"] = ConnectionPool(connection_class=FakeAsyncConnection, server=server, **ck)
        super().__init__(**kwargs)

    @classmethod
    def from_url(cls, url: str, server: FakeServer | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        """``FakeAsyncRedis.from_url("redis://host:port/db")``: the same URL names the same server."""
        pool = ConnectionPool.from_url(url, **kwargs)
        ck = dict(pool.connection_kwargs)
        if server is None:
            key = ck.get("path") or f"{ck.get('host', 'localhost')}:{ck.get('port', 6379)}"
            server = FakeServer.get_server(key)
        for k in ("host", "port", "path", "connection_class"):
            ck.pop(k, None)
        _default_driver_info(ck)
        return cls(connection_pool=ConnectionPool(connection_class=FakeAsyncConnection, server=server, **ck))
