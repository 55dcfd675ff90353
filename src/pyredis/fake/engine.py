"""The engine side of the in-process client: a :class:`FakeServer` owning a pyredis ``Server``
(built lazily), a lock, a condition for waiters, a loop-free timer queue, and :class:`EngineClient`,
the ``Client`` subclass every in-process connection drives.

Nothing here imports asyncio or the server's connection layer: commands run in the caller's thread
under the server's lock; replies are RESP bytes produced by the real encoder.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from pyredis.protocol.parser import ProtocolError, RequestParser
from pyredis.server.client import Client

__all__ = ["EngineClient", "FakeServer", "TimerQueue"]


class _Handle:
    """What ``call_soon``/``call_later`` return: something with ``cancel()``."""

    __slots__ = ("when", "fn", "args", "cancelled")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: _Handle) -> bool:
        return self.when < other.when


class TimerQueue:
    """Stands in for the event loop the server schedules work on (``server.loop``).

    Callbacks run the next time a thread enters the server (or a waiter's deadline passes), always
    under the server's lock — the same ordering an event loop gives, without a thread of its own.
    """

    def __init__(self, on_timer: Callable[[float], None], threadsafe: Callable[..., None],
                 owner: Callable[[], bool]) -> None:
        self._soon: deque[_Handle] = deque()
        self._timers: list[_Handle] = []
        self._on_timer = on_timer  # told about every new timer (wakes waiters, async loops)
        self.call_soon_threadsafe = threadsafe  # from any thread: run soon, wake waiters
        self.owner_thread = owner  # whether this thread is inside the server now

    def time(self) -> float:
        return time.monotonic()

    def is_closed(self) -> bool:
        return False

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> _Handle:
        h = _Handle(0.0, fn, args)
        self._soon.append(h)
        return h

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> _Handle:
        return self.call_at(time.monotonic() + max(0.0, delay), fn, *args)

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any) -> _Handle:
        h = _Handle(when, fn, args)
        heapq.heappush(self._timers, h)
        self._on_timer(when)
        return h

    def next_deadline(self) -> float | None:
        timers = self._timers
        while timers and timers[0].cancelled:
            heapq.heappop(timers)
        if self._soon:
            return 0.0
        return timers[0].when if timers else None

    def run_ready(self) -> bool:
        """Run due timers and queued callbacks; True if anything ran."""
        ran = False
        timers = self._timers
        if timers:
            now = time.monotonic()
            while timers and (timers[0].cancelled or timers[0].when <= now):
                h = heapq.heappop(timers)
                if not h.cancelled:
                    self._soon.append(h)
        soon = self._soon
        for _ in range(100000):  # callbacks may queue more callbacks
            if not soon:
                break
            h = soon.popleft()
            if not h.cancelled:
                ran = True
                h.fn(*h.args)
        return ran


_server_ids = itertools.count(1)
_DIR: list[str] = []


def _shared_dir() -> str:
    """A private temporary directory for this process's fake servers (removed at exit)."""
    if not _DIR:
        path = tempfile.mkdtemp(prefix="pyredis-fake-")
        atexit.register(shutil.rmtree, path, True)
        _DIR.append(path)
    return _DIR[0]


class FakeServer:
    """One in-process pyredis server: clients created with ``server=`` the same instance share data.

    The pyredis ``Server`` is built on first use, so creating a ``FakeServer`` (and a client) is
    cheap. ``config`` holds redis.conf directives (``{"notify-keyspace-events": "KEA"}``).
    ``version`` and ``server_type`` are accepted for fakeredis compatibility; the server is always
    Redis 7.0-exact.
    """

    _named: dict[str, FakeServer] = {}
    _named_lock = threading.Lock()

    def __init__(self, *, version: Any = (7, 0), server_type: str = "redis",
                 config: dict[str, str] | None = None, **_: Any) -> None:
        self.version = version
        self.server_type = server_type
        self.config = dict(config or {})
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.connected = True
        self._server: Any = None
        self.loop = TimerQueue(self._timer_added, self._call_soon_threadsafe, self.lock._is_owned)
        self.dirty_clients: dict[EngineClient, None] = {}
        self.waiters = 0
        self.timer_listeners: list[Callable[[float], None]] = []

    @classmethod
    def get_server(cls, key: str, **kwargs: Any) -> FakeServer:
        """The server named *key* (``host:port`` of a URL), created on first use."""
        with cls._named_lock:
            srv = cls._named.get(key)
            if srv is None:
                srv = cls._named[key] = cls(**kwargs)
            return srv

    # -- the engine ------------------------------------------------------------------------------
    @property
    def server(self) -> Any:
        """The pyredis ``Server`` (built on first access)."""
        srv = self._server
        if srv is None:
            with self.lock:
                if self._server is None:
                    self._server = self._build()
                srv = self._server
        return srv

    def _build(self) -> Any:
        from pyredis.server.app import Server
        from pyredis.server.config import Config

        cfg = Config()
        n = next(_server_ids)
        cfg.set("dir", _shared_dir())  # one directory per process; file names per server
        cfg.set("dbfilename", f"dump-{n}.rdb")
        cfg.set("appenddirname", f"appendonlydir-{n}")
        cfg.set("save", "")
        cfg.set("appendonly", "no")
        for k, v in self.config.items():
            cfg.set(k, v)
        srv = Server(cfg)
        srv.loop = self.loop
        srv.port = 6379
        self._schedule_cron(srv)  # the cron runs on the timer queue (active expiry, client timeouts)
        return srv

    def _schedule_cron(self, srv: Any) -> None:
        hz = min(max(srv.config["hz"], 1), 500)  # Redis clamps hz to 1..500
        self.loop.call_later(1.0 / hz, self._tick, srv)

    def _tick(self, srv: Any) -> None:
        try:
            srv.cron()
        finally:
            self._schedule_cron(srv)

    def _call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.lock._is_owned():  # inside the server already: runs when the current operation ends
            self.loop.call_soon(fn, *args)
            return
        with self.lock:
            self.loop.call_soon(fn, *args)
            self.after()

    def _timer_added(self, when: float) -> None:
        if self.waiters:
            self.cond.notify_all()
        for fn in self.timer_listeners:
            fn(when)

    def after(self) -> None:
        """End of an operation (lock held): run due callbacks, wake whoever got output."""
        loop = self.loop
        if loop._soon or (loop._timers and loop._timers[0].when <= time.monotonic()):
            loop.run_ready()
        if self.dirty_clients:
            dirty = list(self.dirty_clients)
            self.dirty_clients.clear()
            for c in dirty:
                c.output_ready()
            if self.waiters:
                self.cond.notify_all()

    def flushall(self) -> None:
        """Empty every database (as FLUSHALL, without a client)."""
        with self.lock:
            for db in self.server.keyspace.dbs:
                db.data.clear()
                db.expires.clear()


class EngineClient(Client):
    """A client of a :class:`FakeServer`: RESP bytes in (:meth:`feed`), RESP bytes out (``out``)."""

    fake = False  # behaves as a connection: blocks, subscribes, shows in CLIENT LIST

    _ports = itertools.count(40000)

    def __init__(self, fserver: FakeServer, on_output: Callable[[], None] | None = None) -> None:
        srv = fserver.server
        super().__init__(srv, srv.new_client_id())
        self.fserver = fserver
        self.parser = RequestParser(srv.config.values["proto-max-bulk-len"])
        self.parser.auth_required = not self.authenticated
        self.pending: deque[list[bytes]] = deque()
        self.closed = False
        self.on_output = on_output
        port = next(self._ports)
        self.addr = f"127.0.0.1:{port}"
        self.laddr = "127.0.0.1:6379"
        srv.stat_connections += 1
        srv.clients[self.id] = self

    # -- input ---------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Run the commands in *data* (lock held by the caller)."""
        srv = self.server
        srv.stat_net_in += len(data)
        self.last_interaction = time.time()
        try:
            cmds = self.parser.feed(data)
            err = None
        except ProtocolError as e:
            cmds, err = e.commands, e.message
        if self.pending or self.blocked is not None:
            self.pending.extend(cmds)
        else:
            execute = srv.execute
            for i, argv in enumerate(cmds):
                if self.close_asap:
                    break
                execute(self, argv)
                if self.blocked is not None:
                    self.pending.extend(cmds[i + 1 :])
                    break
        if err is not None:
            self.write_error("ERR " + err)
            self.close_asap = True

    def run(self, argv: list[bytes]) -> None:
        """Run one command (lock held by the caller); queued while the client is blocked."""
        if self.pending or self.blocked is not None:
            self.pending.append(argv)
        elif not self.close_asap:
            self.server.execute(self, argv)

    def take_output(self) -> bytes:
        out = self.out
        if not out:
            return b""
        data = b"".join(out) if len(out) > 1 else out[0]
        out.clear()
        self.server.stat_net_out += len(data)
        return data

    # -- server callbacks ------------------------------------------------------------------------
    def schedule_flush(self) -> None:
        self.fserver.dirty_clients[self] = None

    def output_ready(self) -> None:
        if self.on_output is not None:
            self.on_output()

    def unblock(self) -> None:
        self.blocked = None
        if self.pending:
            self.fserver.loop.call_soon(self.resume)
        self.schedule_flush()

    def resume(self) -> None:
        execute = self.server.execute
        while self.pending and self.blocked is None and not self.close_asap and not self.closed:
            execute(self, self.pending.popleft())
        self.schedule_flush()

    def query_buffer_size(self) -> int:
        return self.parser.buffered

    def disconnect(self) -> None:
        """The client went away (lock held): unsubscribe, unblock, unwatch, forget."""
        if self.closed:
            return
        self.closed = True
        srv = self.server
        srv.clients.pop(self.id, None)
        disconnected(srv, self)
        self.out.clear()


def disconnected(server: Any, c: Client) -> None:
    """Run the server's client-disconnect hooks for *c*."""
    for hook in server.events.client_disconnected:
        hook(c)
