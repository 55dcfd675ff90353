"""Every server-wide event, in one place: what it means, who emits it and who listens.

An event is a plain list of typed callbacks (``server.events.<name>``). Emitters loop over it;
listeners append to it while the server is composed (:meth:`pyredis.server.app.Server.__init__`)
or while a feature is switched on (MONITOR, client tracking, CLIENT PAUSE, start-up loading).
Mutate the lists in place (append/remove), never
rebind them: the server keeps a direct reference to some for its hot path. An empty list costs one truth test, so events that fire per command (``pre_checks``, ``checks``,
``after_command``) cost nothing while nobody listens; the first two only run on the slow path
behind :attr:`Server.gate` anyway.

Configuration changes are not an event here: :meth:`pyredis.server.config.Config.on_change`
registers a callback per parameter (typed by the parameter's value).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyredis.commands.registry import Command
    from pyredis.server.app import Server
    from pyredis.server.client import Client

ClientHook = Callable[["Client"], None]
ServerHook = Callable[["Server"], None]
# A before-command check: False when it refused the command (it wrote the error reply itself).
Check = Callable[["Client", "Command", list[bytes]], bool]
AfterCommand = Callable[["Client", "Command", list[bytes]], None]


class Events:
    """The server's events. Each attribute is a list of listeners, called in order."""

    __slots__ = ("client_connected", "client_disconnected", "client_reset", "db_flushed", "dbs_swapped",
                 "paused", "unpaused", "started", "ready", "shutdown", "shutdown_signal", "stats_reset",
                 "pre_checks", "checks", "after_command", "cron", "role_changed")

    def __init__(self) -> None:
        # A socket client was accepted (Connection.connection_made). Listeners: none yet (gateway, cluster).
        self.client_connected: list[ClientHook] = []
        # A client went away (Connection.connection_lost).
        # Listeners: blocking (unblock), monitor, pubsub, tracking, transactions (unwatch).
        self.client_disconnected: list[ClientHook] = []
        # RESET: the client returns to its connection-time state.
        # Listeners: acl, monitor, pubsub, tracking, transactions.
        self.client_reset: list[ClientHook] = []
        # FLUSHDB (the db id) / FLUSHALL (-1) emptied data. Listener: tracking (null invalidation).
        self.db_flushed: list[Callable[[int], None]] = []
        # SWAPDB a b. Listeners: none yet (cluster, replication may).
        self.dbs_swapped: list[Callable[[int, int], None]] = []
        # CLIENT PAUSE started or was extended / CLIENT UNPAUSE (or the pause ran out). Listener: blocking.
        self.paused: list[ServerHook] = []
        self.unpaused: list[ServerHook] = []
        # Listeners are bound (Server.start), before the cron's first run. Listeners: none yet.
        self.started: list[ServerHook] = []
        # CLI start-up after binding, before "Ready to accept connections"; a listener may return an
        # awaitable the CLI waits for (the dataset loading while clients get -LOADING). Listener: persistence.
        self.ready: list[Callable[[Server], Awaitable[None] | None]] = []
        # The server is about to stop (after SHUTDOWN or a signal). Listener: persistence (final save).
        self.shutdown: list[ServerHook] = []
        # SIGTERM/SIGINT arrived: a listener returning False keeps the server running (failed final save).
        # Listener: persistence.
        self.shutdown_signal: list[Callable[[Server, int], bool]] = []
        # CONFIG RESETSTAT. Listeners: none beyond the server's own counters (Stats.reset).
        self.stats_reset: list[ServerHook] = []
        # Slow-path checks before MULTI queueing (Server.check_state). Listeners: cluster (routing: -MOVED,
        # -ASK, ..., first), eviction (OOM).
        self.pre_checks: list[Check] = []
        # Slow-path checks after MULTI queueing, right before the command runs.
        # Listeners (while active): blocking (CLIENT PAUSE), persistence (LOADING, MISCONF).
        self.checks: list[Check] = []
        # After every executed command (also from scripts), while non-empty. Listeners (while active):
        # monitor (the MONITOR feed), tracking (remember read keys).
        self.after_command: list[AfterCommand] = []
        # Every cron tick (``hz`` a second). Listeners: eviction, persistence, tracking.
        self.cron: list[ServerHook] = []
        # REPLICAOF host port / NO ONE changed the server's role. Listener: process (oom-score-adj).
        self.role_changed: list[ServerHook] = []

    def emit_client(self, listeners: list[ClientHook], c: Client) -> None:
        """Call every *listeners* entry with *c* (a helper for the client events)."""
        for fn in listeners:
            fn(c)

    def emit_server(self, listeners: list[ServerHook], server: Server) -> None:
        """Call every *listeners* entry with *server*."""
        for fn in listeners:
            fn(server)
