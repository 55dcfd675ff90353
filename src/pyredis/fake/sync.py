"""redis-py ``Redis``/``StrictRedis`` whose connections run commands in the pyredis engine, in the
caller's thread: the bytes redis-py packs go through pyredis's request parser and executor, and
redis-py's own parser reads the reply bytes pyredis's encoder produced.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from typing import Any

import redis
from redis._parsers.hiredis import _HiredisParser
from redis.client import PubSub
from redis.connection import Connection, ConnectionPool, HiredisRespSerializer

from pyredis.fake.engine import EngineClient, FakeServer

__all__ = ["FakeConnection", "FakeRedis", "FakeSocket", "FakeStrictRedis"]


class FakeSocket:
    """A socket look-alike: ``sendall`` runs commands, ``recv``/``recv_into`` return replies."""

    def __init__(self, fserver: FakeServer, timeout: float | None) -> None:
        self.fserver = fserver
        with fserver.lock:
            self.client = EngineClient(fserver)
        self.timeout = timeout
        self._rest = b""
        self.conn: Any = None  # the redis-py connection: with hiredis, replies go straight to its reader

    # -- socket API used by redis-py -------------------------------------------------------------
    def settimeout(self, t: float | None) -> None:
        self.timeout = t

    def gettimeout(self) -> float | None:
        return self.timeout

    def setblocking(self, flag: bool) -> None:
        self.timeout = None if flag else 0.0

    def setsockopt(self, *args: Any) -> None:
        pass

    def fileno(self) -> int:
        return -1

    def getpeername(self) -> tuple[str, int]:
        return ("127.0.0.1", 6379)

    def sendall(self, data: Any) -> None:
        fs = self.fserver
        c = self.client
        if c.closed:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        with fs.lock:
            c.feed(bytes(data))
            fs.after()
            self._feed_replies()

    def send_argv(self, argv: list[bytes]) -> None:
        """Run one command given as its arguments (what the parser would make of the packed bytes)."""
        fs = self.fserver
        c = self.client
        if c.closed:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        with fs.lock:
            if c.pending or c.blocked is not None:
                c.pending.append(argv)
            elif not c.close_asap:
                fs.server.execute(c, argv)
            fs.after()
            self._feed_replies()

    def send_batch(self, batch: Any) -> None:
        """Run commands given as argument lists, in one go."""
        fs = self.fserver
        c = self.client
        if c.closed:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        with fs.lock:
            run = c.run
            for argv in batch:
                run(argv)
            fs.after()
            self._feed_replies()

    def _feed_replies(self) -> None:
        """Hand the replies straight to redis-py's hiredis reader when nothing is buffered before them."""
        c = self.client
        if c.out and not self._rest:
            conn = self.conn
            if conn is not None:
                parser = conn._parser
                if parser.__class__ is _HiredisParser and parser._reader is not None:
                    parser._reader.feed(c.take_output())

    def _read(self, limit: int) -> bytes:
        rest = self._rest
        if not rest:
            rest = self._wait()
        if len(rest) > limit:
            self._rest = rest[limit:]
            return rest[:limit]
        self._rest = b""
        return rest

    def _wait(self) -> bytes:
        """Output of the client, waiting (engine lock released) up to the socket timeout."""
        fs = self.fserver
        c = self.client
        timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        with fs.lock:
            while True:
                if c.out:
                    return c.take_output()
                fs.after()
                if c.out:
                    return c.take_output()
                if c.close_asap or c.closed:
                    self._close_engine()
                    return b""
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    if timeout == 0:
                        raise BlockingIOError(errno.EWOULDBLOCK, "Resource temporarily unavailable")
                    raise TimeoutError("timed out")
                wake = fs.loop.next_deadline()
                wait = None if deadline is None else deadline - now
                if wake is not None:
                    wait = max(0.0, wake - now) if wait is None else max(0.0, min(wait, wake - now))
                fs.waiters += 1
                try:
                    fs.cond.wait(wait)
                finally:
                    fs.waiters -= 1

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        return self._read(bufsize)

    def recv_into(self, buf: Any, nbytes: int = 0, flags: int = 0) -> int:
        limit = nbytes or len(buf)
        data = self._read(limit)
        n = len(data)
        buf[:n] = data
        return n

    def _close_engine(self) -> None:
        with self.fserver.lock:
            self.client.disconnect()

    def shutdown(self, how: int) -> None:
        pass

    def close(self) -> None:
        self._close_engine()

    def has_data(self) -> bool:
        return bool(self._rest) or bool(self.client.out)


class _ArgvBatch(list):
    """Commands of a pipeline as argument lists (``FakeConnection.pack_commands``)."""


def command_argv(conn: Any, args: tuple) -> list[bytes] | None:
    """The argv redis-py's packer would send for *args* (name split on spaces), or None if unusual."""
    first = args[0]
    if type(first) is str:
        head = first.encode().split() if " " in first else [first.encode()]
    elif type(first) is bytes:
        head = first.split() if b" " in first else [first]
    else:
        return None
    argv = head
    if conn._command_packer.__class__ is HiredisRespSerializer:
        for a in args[1:]:
            t = type(a)
            if t is bytes:
                argv.append(a)
            elif t is str:
                argv.append(a.encode())
            elif t is int or t is float:
                argv.append(repr(a).encode())
            else:
                return None
    else:
        enc = conn.encoder
        for a in args[1:]:
            t = type(a)
            if t is bytes:
                argv.append(a)
            elif t is str or t is int or t is float:
                argv.append(enc.encode(a))
            else:
                return None
    return argv


_push_log = logging.getLogger("push_response")


def _log_push(response: Any) -> Any:
    """redis-py's default RESP3 pub/sub push handler, without formatting a disabled debug line."""
    if _push_log.isEnabledFor(logging.DEBUG):
        _push_log.debug("Push response: " + str(response))
    return response


class FakeConnection(Connection):
    """A redis-py ``Connection`` on a :class:`FakeServer` (no socket)."""

    def __init__(self, *args: Any, server: FakeServer | None = None, **kwargs: Any) -> None:
        self.fake_server = server if server is not None else FakeServer()
        super().__init__(*args, **kwargs)

    def _connect(self) -> FakeSocket:
        if not self.fake_server.connected:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        sock = FakeSocket(self.fake_server, self.socket_timeout)
        sock.conn = self
        return sock

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        sock = self._sock
        if sock is None or self.health_check_interval:
            super().send_command(*args, **kwargs)
            return
        argv = command_argv(self, args)
        try:
            if argv is None:  # unusual argument types: redis-py's packer (and its errors), then the parser
                for chunk in self._command_packer.pack(*args):
                    sock.sendall(chunk)
            else:
                sock.send_argv(argv)
        except OSError:
            self.disconnect()
            raise redis.ConnectionError("Error while writing to pyredis.fake: connection closed") from None

    def pack_commands(self, commands: Any) -> Any:
        """Pipelines: keep the commands as argument lists (run in one go by send_packed_command)."""
        if self._sock is None or self.health_check_interval:
            return super().pack_commands(commands)
        batch = _ArgvBatch()
        for args in commands:
            argv = command_argv(self, tuple(args))
            if argv is None:
                return super().pack_commands(commands)
            batch.append(argv)
        return batch

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if command.__class__ is _ArgvBatch:
            sock = self._sock
            if sock is None:  # disconnected since packing
                self.connect()
                sock = self._sock
            try:
                sock.send_batch(command)
            except OSError:
                self.disconnect()
                raise redis.ConnectionError("Error while writing to pyredis.fake: connection closed") from None
            return
        super().send_packed_command(command, check_health)

    def on_connect_check_health(self, check_health: bool = True) -> None:
        super().on_connect_check_health(check_health)
        parser = self._parser
        if getattr(parser, "pubsub_push_handler_func", None) == getattr(parser, "handle_pubsub_push_response", 0):
            parser.pubsub_push_handler_func = _log_push  # same debug line, formatted only when enabled

    def _host_error(self) -> str:
        return "pyredis.fake"

    def get_resolved_ip(self) -> str | None:
        return None

    def activate_maint_notifications_handling_if_enabled(self, *args: Any, **kwargs: Any) -> None:
        """No maintenance-notification handshake (it would resolve the host name)."""

    def can_read(self, timeout: float | None = 0) -> bool:
        if not self._sock:
            self.connect()
        parser = self._parser
        reader = getattr(parser, "_reader", None)
        if reader is not None and hasattr(reader, "has_data"):  # hiredis: no poll() on a fake fd
            if reader.has_data():
                return True
            sock = self._sock
            if sock._rest or sock.client.out:  # replies waiting: straight into the reader
                reader.feed(sock._read(1 << 30))
                return True
            return bool(parser.read_from_socket(timeout=timeout, raise_on_timeout=False))
        return parser.can_read(timeout)

    def repr_pieces(self) -> list[tuple[str, Any]]:
        return [("server", self.fake_server), ("db", self.db)]


class FakeConnectionPool(ConnectionPool):
    """A pool of :class:`FakeConnection`: the same bookkeeping, without the socket health probe."""

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self.pid != os.getpid() or self.cache is not None:
            return super().get_connection(*args, **kwargs)
        with self._lock:
            try:
                conn = self._available_connections.pop()
            except IndexError:
                conn = self.make_connection()
            self._in_use_connections.add(conn)
        try:
            sock = conn._sock
            if sock is None:
                conn.connect()
            elif sock.has_data() or sock.client.closed or sock.client.close_asap:  # unread replies or a closed client
                conn.disconnect()
                conn.connect()
        except BaseException:
            self.release(conn)
            raise
        return conn

    def release(self, connection: Any) -> None:
        if self.pid != os.getpid():
            return super().release(connection)
        with self._lock:
            try:
                self._in_use_connections.remove(connection)
            except KeyError:
                return
            self._available_connections.append(connection)


def _client_kwargs(server: FakeServer | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Turn ``FakeRedis(...)`` arguments into redis-py's, with a pool of fake connections."""
    kwargs.pop("version", None)
    kwargs.pop("server_type", None)
    kwargs.pop("lua_modules", None)
    kwargs.pop("connected", None)
    if kwargs.get("connection_pool") is None:
        if server is None:
            server = FakeServer()
        conn_kwargs = {k: kwargs.pop(k) for k in _POOL_KWARGS if k in kwargs}
        _default_driver_info(conn_kwargs)
        kwargs["connection_pool"] = FakeConnectionPool(connection_class=FakeConnection, server=server, **conn_kwargs)
    return kwargs


_POOL_KWARGS = ("db", "username", "password", "socket_timeout", "encoding", "encoding_errors",
                "decode_responses", "retry_on_timeout", "max_connections", "health_check_interval",
                "client_name", "protocol", "lib_name", "lib_version", "driver_info", "credential_provider")


_DRIVER_INFO: list[Any] = []


def _default_driver_info(kwargs: dict[str, Any]) -> None:
    """redis-py reads its version from package metadata per connection (slow): look it up once."""
    if any(k in kwargs for k in ("driver_info", "lib_name", "lib_version")):
        return
    try:
        from redis.driver_info import DriverInfo
        from redis.utils import get_lib_version
    except ImportError:  # older redis-py: lib_name/lib_version defaults are cheap
        return
    if not _DRIVER_INFO:
        _DRIVER_INFO.append(DriverInfo(lib_version=get_lib_version()))
    kwargs["driver_info"] = _DRIVER_INFO[0]


class FakePubSub(PubSub):
    """redis-py's ``PubSub``; reads skip the retry wrapper unless the connection fails."""

    def _execute(self, conn: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        if conn.should_reconnect() or conn.__class__ is not FakeConnection:
            return super()._execute(conn, command, *args, **kwargs)
        try:
            return command(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as e:
            retries = getattr(conn.retry, "_retries", 0)
            if not retries or not isinstance(e, conn.retry._supported_errors):
                raise
            self._reconnect(conn)  # then redis-py's retrying path, as a socket client would
            return super()._execute(conn, command, *args, **kwargs)


class _FakeMixin:
    def __init__(self, *args: Any, server: FakeServer | None = None, **kwargs: Any) -> None:
        if args:  # Redis(host, port, db, password, ...) positionally: only db/password matter here
            names = ("host", "port", "db", "password", "socket_timeout")
            kwargs.update(zip(names, args, strict=False))
        if server is None and "host" in kwargs:
            server = FakeServer.get_server(f"{kwargs.get('host')}:{kwargs.get('port', 6379)}")
        kwargs.pop("host", None)
        kwargs.pop("port", None)
        super().__init__(**_client_kwargs(server, kwargs))  # type: ignore[call-arg]

    @classmethod
    def from_url(cls, url: str, server: FakeServer | None = None, **kwargs: Any) -> Any:
        """``FakeRedis.from_url("redis://host:port/db")``: the same URL names the same server."""
        pool = ConnectionPool.from_url(url, **kwargs)
        ck = dict(pool.connection_kwargs)
        if server is None:
            key = ck.get("path") or f"{ck.get('host', 'localhost')}:{ck.get('port', 6379)}"
            server = FakeServer.get_server(key)
        for k in ("host", "port", "path", "connection_class"):
            ck.pop(k, None)
        _default_driver_info(ck)
        return cls(connection_pool=FakeConnectionPool(connection_class=FakeConnection, server=server, **ck))


    def pubsub(self, **kwargs: Any) -> FakePubSub:
        """A :class:`FakePubSub` on this client's pool (redis-py's ``Redis.pubsub``)."""
        return FakePubSub(self.connection_pool, event_dispatcher=self._event_dispatcher,  # type: ignore[attr-defined]
                          **kwargs)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Run a command on a pooled fake connection (redis-py's path minus socket bookkeeping)."""
        pool = self.connection_pool
        if self._single_connection_client or pool.__class__ is not FakeConnectionPool or args[0] in _SLOW_PATH:
            return super().execute_command(*args, **options)  # type: ignore[misc]
        if pool.pid != _PID[0]:
            _PID[0] = os.getpid()
            if pool.pid != _PID[0]:
                return super().execute_command(*args, **options)  # type: ignore[misc]
        with pool._lock:
            try:
                conn = pool._available_connections.pop()
            except IndexError:
                conn = pool.make_connection()
            pool._in_use_connections.add(conn)
        try:
            sock = conn._sock
            if sock is None:
                conn.connect()
                sock = conn._sock
            elif sock._rest or sock.client.out or sock.client.closed or sock.client.close_asap:
                conn.disconnect()
                conn.connect()
                sock = conn._sock
            argv = command_argv(conn, args) if not conn.health_check_interval else None
            if argv is None:
                conn.send_command(*args)
            else:
                try:
                    sock.send_argv(argv)
                except OSError:
                    conn.disconnect()
                    raise redis.ConnectionError("Error while writing to pyredis.fake: connection closed") from None
            return self.parse_response(conn, args[0], **options)  # type: ignore[attr-defined]
        except (redis.ConnectionError, redis.TimeoutError):
            conn.disconnect()
            raise
        finally:
            pool.release(conn)


_PID = [os.getpid()]
_SLOW_PATH = frozenset({"HIMPORT", "HIMPORT SET"})


class FakeRedis(_FakeMixin, redis.Redis):
    """``redis.Redis`` on an in-process pyredis (a fresh server unless ``server=`` is given)."""


class FakeStrictRedis(_FakeMixin, redis.StrictRedis):
    """``redis.StrictRedis`` on an in-process pyredis."""
