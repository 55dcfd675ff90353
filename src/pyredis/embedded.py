"""Run a pyredis server inside this Python process, on its own thread and event loop.

    with pyredis.embedded() as server:
        r = server.client()
        r.set("greeting", "hello")

or, without a ``with`` block::

    server = EmbeddedServer().start()
    ...
    server.stop()

Each instance is isolated (its own keyspace, port or unix socket, and a private
temporary ``dir``), needs no external binary, and frees its port when stopped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
import threading
import types
from collections.abc import Mapping
from typing import Any

__all__ = ["EmbeddedServer", "embedded", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class EmbeddedServer:
    """A pyredis server running on a background thread.

    ``port=0`` (the default) picks a free TCP port; ``unixsocket=PATH`` listens on a unix
    socket (with ``port=None`` it listens on the socket only).  ``config`` holds extra
    redis.conf directives, e.g. ``{"notify-keyspace-events": "KA"}``. With ``tls=True`` the TCP port
    speaks TLS only, with a throwaway CA, server and client certificate generated for this server
    (``tls_files``); :meth:`client` connects with them.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = 0,
        unixsocket: str | None = None,
        config: Mapping[str, str] | None = None,
        startup_timeout: float = 10.0,
        tls: bool = False,
    ) -> None:
        if port is None and unixsocket is None:
            raise ValueError("give a TCP port (0 for a free one) or a unixsocket path")
        self.host = host
        self.requested_port = port
        self.unixsocket = unixsocket
        self.extra_config = dict(config or {})
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.server: Any = None  # pyredis.server.app.Server, once started
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._dir: str | None = None
        self.tls = tls
        self.tls_files: Any = None  # pyredis.tlscerts.CertFiles when tls=True

    # -- lifecycle ---------------------------------------------------------------------------
    def _make_config(self, port: int | None) -> Any:
        from pyredis.server.config import Config

        cfg = Config()
        self._dir = tempfile.mkdtemp(prefix="pyredis-embedded-")
        cfg.set("dir", self._dir)
        cfg.set("save", "")
        cfg.set("appendonly", "no")
        cfg.set("bind", self.host)
        if self.tls:
            from pyredis import tlscerts

            self.tls_files = tlscerts.generate(os.path.join(self._dir, "tls"))
            for name, value in self.tls_files.server_config().items():
                cfg.set(name, value)
            cfg.set("port", "0")
            cfg.set("tls-port", str(port or 0))
        else:
            cfg.set("port", str(port or 0))
        if self.unixsocket:
            cfg.set("unixsocket", self.unixsocket)
        for name, value in self.extra_config.items():
            cfg.set(name, str(value))
        return cfg

    def start(self) -> EmbeddedServer:
        """Start serving; returns once the listeners are bound (raises if they can't be)."""
        if self.running:
            return self
        # port 0 means "no TCP" to the server (as to redis-server): pick a free port here,
        # and pick again if another process grabs it before the server binds it.
        tries = 5 if self.requested_port == 0 else 1
        for attempt in range(tries):
            try:
                return self._start_once(
                    free_port(self.host) if self.requested_port == 0 else self.requested_port
                )
            except OSError:
                if attempt == tries - 1:
                    raise
        raise AssertionError("unreachable")

    def _start_once(self, port: int | None) -> EmbeddedServer:
        from pyredis.server.app import Server

        cfg = self._make_config(port)
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(
            target=self._serve, args=(Server, cfg), daemon=True, name="pyredis-embedded"
        )
        self._thread.start()
        if not self._ready.wait(self.startup_timeout):
            raise TimeoutError(f"embedded pyredis did not start within {self.startup_timeout}s")
        if self._error is not None:
            self._thread.join()
            self._cleanup_dir()
            if isinstance(self._error, OSError):
                raise self._error
            raise RuntimeError(f"embedded pyredis failed to start: {self._error}") from self._error
        return self

    def _serve(self, server_cls: Any, cfg: Any) -> None:
        from pyredis.server import listener

        loop = asyncio.new_event_loop()  # plain asyncio: no uvloop, so it runs everywhere
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            server = server_cls(cfg)
            loop.run_until_complete(listener.start(server))
        except BaseException as exc:  # report to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self.server = server
        if self.requested_port is None:
            self.port = None
        else:
            self.port = cfg["tls-port"] if self.tls else server.port
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listeners and client connections, stop the thread, free the port."""
        from pyredis.server import listener

        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            self._cleanup_dir()
            return
        try:
            asyncio.run_coroutine_threadsafe(listener.stop(self.server), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._loop = self._thread = None
            self.server = None
            self._cleanup_dir()

    def _cleanup_dir(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.server is not None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connecting --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``redis://host:port/0``, or ``unix:///path`` for a socket-only server."""
        if self.port:
            return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/0"
        if self.unixsocket:
            return f"unix://{self.unixsocket}"
        raise RuntimeError("the embedded server is not running")

    def _connect_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if not self.running:
            raise RuntimeError("the embedded server is not running")
        if self.port and self.tls:
            f = self.tls_files
            return {"host": self.host, "port": self.port, "ssl": True, "ssl_ca_certs": f.ca_cert,
                    "ssl_certfile": f.client_cert, "ssl_keyfile": f.client_key, **kwargs}
        if self.port:
            return {"host": self.host, "port": self.port, **kwargs}
        return {"unix_socket_path": self.unixsocket, **kwargs}

    def client(self, **kwargs: Any) -> Any:
        """A ``redis.Redis`` client connected to this server (kwargs go to redis-py)."""
        import redis

        return redis.Redis(**self._connect_kwargs(kwargs))

    def async_client(self, **kwargs: Any) -> Any:
        """A ``redis.asyncio.Redis`` client connected to this server."""
        import redis.asyncio

        return redis.asyncio.Redis(**self._connect_kwargs(kwargs))

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"EmbeddedServer({where})"


def embedded(**kwargs: Any) -> EmbeddedServer:
    """An :class:`EmbeddedServer` that starts on ``with`` entry and stops on exit."""
    return EmbeddedServer(**kwargs)


class _CallableModule(types.ModuleType):
    """Lets ``pyredis.embedded(...)`` work even after the import system has bound the
    ``pyredis.embedded`` attribute to this module rather than to the function."""

    def __call__(self, **kwargs: Any) -> EmbeddedServer:
        return embedded(**kwargs)


sys.modules[__name__].__class__ = _CallableModule
