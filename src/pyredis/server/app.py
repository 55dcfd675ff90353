"""The Server: its subsystems (composed in :meth:`Server.__init__`), clients, command execution, the cron.

A server is made of named, typed subsystems, all created in ``Server.__init__`` (see
docs/ARCHITECTURE.md). Events several subsystems care about are :class:`pyredis.server.events.Events`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from pyredis import REDIS_VERSION
from pyredis.commands import load_all
from pyredis.commands.errors import CommandError, WrongType
from pyredis.commands.registry import TABLE, Command
from pyredis.engine import notify
from pyredis.engine.database import Keyspace
from pyredis.engine.scan import ScanCache
from pyredis.engine.types import module_types_of_config
from pyredis.persistence.manager import Persistence
from pyredis.persistence.unverified import check_wrongtype
from pyredis.protocol.encoder import _ENCODERS
from pyredis.protocol.types import NOREPLY, QUEUED
from pyredis.scripting.engine import Scripting
from pyredis.server import protected
from pyredis.server.acl_checks import Acl
from pyredis.server.blocking import BlockingState
from pyredis.server.client import REPLY_ON, REPLY_SKIP, REPLY_SKIP_NEXT, Client
from pyredis.server.clientmem import ClientEviction, close_soft_limited
from pyredis.server.config import Config
from pyredis.server.debugstate import DebugState
from pyredis.server.events import Events
from pyredis.server.eviction import Evictor
from pyredis.server.migrate_cache import MigrateSockets
from pyredis.server.monitor import Monitors, redacted_positions
from pyredis.server.process import ProcessState
from pyredis.server.propagate import feed
from pyredis.server.pubsub import PubSub
from pyredis.server.replication import Replication
from pyredis.server.stats import Stats
from pyredis.server.tls import TLS
from pyredis.server.tracking import TrackingTable
from pyredis.server.watch import discard, watch_db_hook
from pyredis.server.watchdog import Watchdog

if TYPE_CHECKING:
    import asyncio

    from pyredis.gateway import Gateway
    from pyredis.modules.manager import ModuleManager
    from pyredis.server.cluster import ClusterService

log = logging.getLogger("pyredis")

# Commands allowed while a RESP2 client is in subscribed mode.
_PUBSUB_ALLOWED = {"subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe",
                   "ping", "quit", "reset"}
# Commands executed immediately (not queued) inside MULTI.
_MULTI_IMMEDIATE = {"exec", "discard", "multi", "watch", "quit", "reset"}


def unknown_command_message(argv: list[bytes]) -> str:
    args = b""  # Redis's "'%.*s' " of C strings: bytes, cut at a NUL
    for a in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'%s' " % a.split(b"\0", 1)[0][: 128 - len(args)]
    name = argv[0].split(b"\0", 1)[0][:128].decode("utf-8", "surrogateescape")
    return f"ERR unknown command '{name}', with args beginning with: {args.decode('utf-8', 'surrogateescape')}"


class Server:
    """A pyredis server instance (one per process, or several embedded)."""

    def __init__(self, config: Config | None = None) -> None:
        load_all()
        self.config = cfg = config or Config()
        self.keyspace = Keyspace(cfg["databases"])
        self.keyspace.notify = self._notify
        self.keyspace.notify_flags = cfg["notify-keyspace-events"]
        cfg.on_change("notify-keyspace-events", self._set_notify_flags)
        self.slowlog_threshold = self.slow_threshold = 0
        self._set_slowlog_threshold(cfg["slowlog-log-slower-than"])
        cfg.on_change("latency-monitor-threshold", self._update_slow_threshold)
        cfg.on_change("slowlog-log-slower-than", self._set_slowlog_threshold)
        self.clients: dict[int, Client] = {}
        # The names clients, scripts and the AOF loader look commands up by: the registry's table, or
        # a server.commandtable.CommandTable after rename-command lines.
        self.commands: Any = cfg.command_table if cfg.command_table is not None else TABLE
        self.next_client_id = 1
        self.dirty = 0
        self.start_time = time.time()
        self.run_id = os.urandom(20).hex()
        self.lastsave = int(time.time())
        self.port = cfg["port"]
        self.unixsocket: str | None = None
        # Set by the asyncio layer (server/listener.py) while the server listens.
        self.listeners: list[asyncio.Server] = []
        self.tls_listeners: list[asyncio.Server] = []  # the tls-port listeners
        self.tls_bound_port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.shutdown_event: asyncio.Event | None = None
        self.cron_handle: asyncio.TimerHandle | None = None
        self.cronloops = 0
        # statistics
        self.stat_connections = 0
        self.stat_rejected_conn = 0
        self.stat_net_in = 0
        self.stat_net_out = 0
        self.stat_errors = 0
        self.error_stats: dict[str, int] = {}
        self.ops_samples: deque[tuple[float, int]] = deque(maxlen=16)
        self.slowlog: deque[list[Any]] = deque()
        self.slowlog_id = 0
        self.latency_events: dict[str, list] = {}
        # Where written commands go (the AOF while open, replicas): fn(dbid, argv).
        self.propagators: list[Callable[[int, list[bytes]], None]] = []
        # Keys that may serve blocked clients (see server/blocking.py); on the Server for the hot path.
        self.ready_keys: list[Any] = []
        self.current_client: Client | None = None  # the client whose command runs (top level)
        self.before_reply: Callable[[], None] | None = None  # run before a connection writes replies
        self.paused_until = 0.0
        self.pause_all = False
        self.busy_script: Any = None
        self.blocked_io: Any = None  # the asyncio layer's accept-while-blocked helper (server/listener.py)
        self.gate = False  # some server-wide condition (pause, busy script) needs the slow path
        self.gate_reasons: set[str] = set()
        if self.commands is not TABLE:  # the fast handlers know the registry's names only
            self.hold_gate("rename-command")
        # Keyspace changes for the gateway's watchers, whatever notify-keyspace-events says.
        self.key_tap: Callable[[int, bytes, bytes, int], None] | None = None
        self._compose()

    def _compose(self) -> None:
        """Create the subsystems and wire their event listeners: the one place a server is assembled.

        Order matters where a subsystem uses another one while being created (ACL before anything that
        creates a Client; eviction before persistence). Listener order is the order of each list below.
        """
        self.events = ev = Events()
        self._after_command = ev.after_command  # the same list, one attribute load on the hot path
        self.stats = Stats()
        self.tls = TLS(self.config)  # tls-* contexts (the tls-port listener is in server/tls_listener.py)
        self.tls.register()
        self.debug = DebugState()  # switches set by DEBUG subcommands
        self.scan_cache = ScanCache()  # SCAN cursors over changing dicts
        self.pubsub = PubSub()
        self.acl = Acl(self)
        self.blocking = BlockingState(self)
        self.tracking = TrackingTable(self)
        self.monitor = Monitors(self)
        self.eviction = Evictor(self)
        self.client_eviction = ClientEviction(self)  # maxmemory-clients (server/clientmem.py)
        self.process = ProcessState(self)  # oom-score-adj, the process title
        self.scripting = Scripting(self)
        self.migrate_sockets = MigrateSockets()  # MIGRATE's cached connections
        ev.cron.append(self.migrate_sockets.cron)
        self.persistence = Persistence(self)
        self.persistence.install()
        self.replication = repl = Replication(self)  # master/replica links, backlog, PSYNC, WAIT, FAILOVER
        self.keyspace.watch_db_hook = watch_db_hook

        ev.client_disconnected += [self.blocking.on_disconnect, self.monitor.remove, self.pubsub.remove_client,
                                   self.tracking.on_disconnect, discard]
        ev.client_reset += [self.acl.on_reset, self.monitor.on_reset, self.pubsub.remove_client,
                            self.tracking.on_disconnect, discard]
        ev.db_flushed.append(self.tracking.on_flush)
        ev.paused.append(self.blocking.on_pause)
        ev.unpaused.append(self.blocking.end_pause)
        ev.pre_checks.append(self.eviction.check)
        ev.stats_reset.append(lambda srv: srv.stats.reset())
        ev.cron += [self.eviction.cron, self.persistence.cron, self.tracking.cron, self.client_eviction.cron,
                    close_soft_limited]
        ev.ready.append(self.persistence.on_ready)
        ev.shutdown.append(self.persistence.on_shutdown)
        ev.shutdown_signal.append(self.persistence.on_shutdown_signal)
        repl.install()  # the propagation feed, its client/cron/check/ready/shutdown listeners

        # -- subsystems added by this wave -----------------------------------------------------------------
        # Each is None until enabled (by configuration or at start-up) and then set to its instance here
        # or by its own enable function, wiring its listeners into ``self.events`` like the ones above.
        # Replace the placeholder type with the subsystem's class when it lands.
        self.cluster: ClusterService | None = None  # cluster-enabled yes: the bus, node table and routing
        if self.config["cluster-enabled"]:
            from pyredis.server.cluster import ClusterService

            self.cluster = ClusterService(self)
        self.gateway: Gateway | None = None  # the WebSocket gateway and web console, while gateway-port is set
        self.watchdog = Watchdog(self)  # watchdog-period: a stack in the log when the loop stalls
        # Python modules (MODULE LOAD / loadmodule, pyredis.modules): ``self.modules``, the manager, is
        # created (and the package imported) on first use, here when the configuration loads modules.
        self._modules: ModuleManager | None = None
        module_types_of_config[self.config] = set()  # the module types this server loaded: none yet
        if getattr(self.config, "module_directives", ()):
            self.modules.load_directives()

    @property
    def modules(self) -> ModuleManager:
        """The modules subsystem (``pyredis.modules.manager``), created on first use."""
        m = self._modules
        if m is None:
            from pyredis.modules.manager import ModuleManager

            m = self._modules = ModuleManager(self)
        return m

    @property
    def modules_if_used(self) -> ModuleManager | None:
        """The modules subsystem if something has used it, else None (nothing is imported)."""
        return self._modules

    # -- configuration hooks ---------------------------------------------------------------------
    def _set_notify_flags(self, flags: int) -> None:
        self.keyspace.notify_flags = flags | (notify.ALL if self.key_tap is not None else 0)

    def _set_slowlog_threshold(self, usec: int) -> None:
        self.slowlog_threshold = usec if usec >= 0 else 1 << 62
        self._update_slow_threshold()

    def _update_slow_threshold(self, *_: object) -> None:
        """One comparison on the hot path covers both the slow log and the latency monitor."""
        lat = self.config["latency-monitor-threshold"]
        self.slow_threshold = min(self.slowlog_threshold, lat * 1000 if lat > 0 else 1 << 62)

    def slow_command(self, c: Client, cmd: Command, argv: list[bytes], usec: int) -> None:
        if usec >= self.slowlog_threshold and not cmd.skip_slowlog:
            self.slowlog_add(c, argv, usec)
        lat = self.config["latency-monitor-threshold"]
        if lat > 0 and usec >= lat * 1000:
            self.latency_add("fast-command" if cmd.fast else "command", usec // 1000)

    def latency_add(self, event: str, ms: int) -> None:
        """Record a latency spike (LATENCY LATEST/HISTORY); one sample per second, 160 kept."""
        samples = self.latency_events.setdefault(event, [])
        now = int(time.time())
        if samples and samples[-1][0] == now:
            samples[-1] = (now, max(ms, samples[-1][1]))
        else:
            samples.append((now, ms))
            del samples[:-160]

    def hold_gate(self, reason: str, on: bool = True) -> None:
        """Route every command through :meth:`check_state` while any *reason* holds."""
        if on:
            self.gate_reasons.add(reason)
        else:
            self.gate_reasons.discard(reason)
        self.gate = bool(self.gate_reasons)

    def requires_auth(self) -> bool:
        """Whether new clients must authenticate (the default user needs a password or is off)."""
        return self.acl.requires_auth()

    def _notify(self, flag: int, event: bytes, key: bytes, dbid: int) -> None:
        if self.key_tap is not None:
            self.key_tap(flag, event, key, dbid)
        flags = self.config.values["notify-keyspace-events"]
        if not (flags & flag) or self.pubsub is None:
            return
        if flags & notify.KEYSPACE:
            self.pubsub.publish(b"__keyspace@%d__:%s" % (dbid, key), event)
        if flags & notify.KEYEVENT:
            self.pubsub.publish(b"__keyevent@%d__:%s" % (dbid, event), key)

    # -- clients ---------------------------------------------------------------------------------
    def new_client_id(self) -> int:
        cid = self.next_client_id
        self.next_client_id += 1
        return cid

    def count_error(self, message: str) -> None:
        self.stat_errors += 1
        code = message.split(" ", 1)[0]
        if len(self.error_stats) < 128 or code in self.error_stats:
            self.error_stats[code] = self.error_stats.get(code, 0) + 1

    # -- execution -------------------------------------------------------------------------------
    def execute(self, c: Client, argv: list[bytes]) -> None:
        """Run one command from client *c*: lookup, checks, MULTI queueing, then :meth:`call`."""
        self.current_client = c
        cmd = self.commands.get(argv[0])
        if cmd is None:
            cmd = self.commands.get(argv[0].lower())
            if cmd is None:
                self.reject(c, None, unknown_command_message(argv))
                return
        if cmd.subcommands is not None and len(argv) > 1:
            sub = cmd.subcommands.get(argv[1].lower())
            if sub is None:
                if cmd.handler is None:
                    self.reject(c, cmd, "ERR unknown subcommand '%s'. Try %s HELP." % (
                        argv[1][:128].decode("utf-8", "surrogateescape"), cmd.name.upper()))
                    return
            else:
                cmd = sub
                if sub.fullname == "client|list" and c.await_reads(argv):
                    return  # answered once this poll's other ready sockets were read (Connection.await_reads)
        ar = cmd.arity
        n = len(argv)
        if (ar > 0 and n != ar) or n < -ar or (cmd.handler is None and n < 2):
            self.reject(c, cmd, f"ERR wrong number of arguments for '{cmd.fullname}' command")
            return
        if cmd.protected:  # DEBUG, MODULE LOAD...: enable-debug-command / enable-module-command
            err = protected.refusal(self, c, cmd)
            if err is not None:
                self.reject(c, cmd, err)
                return
        if self.gate or c.multi is not None or not c.authenticated or c.acl_restricted or c.resp == 2 and (
            c.channels or c.patterns or c.shard_channels
        ):
            self.current_client = None  # pre-command work (eviction) is not done by the client
            if not self.check_state(c, cmd, argv):
                return
            self.current_client = c
        self.call(c, cmd, argv)

    def reject(self, c: Client, cmd: Command | None, message: str) -> None:
        """Reply an error for a command that was refused before running."""
        if cmd is not None:
            cmd.rejected += 1
            if cmd.name == "exec" and cmd.parent is None:  # a refused EXEC discards the transaction
                discard(c)
                c.write_error("EXECABORT Transaction discarded because of: "
                              + (message[4:] if message.startswith("ERR ") else message))
                return
        if c.multi is not None:
            c.exec_abort = True
        c.write_error(message)

    def check_state(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        """The slow-path checks: auth, subscribed mode, MULTI queueing. False if handled here."""
        name = cmd.parent.name if cmd.parent is not None else cmd.name
        if not c.authenticated and not cmd.no_auth:
            self.reject(c, cmd, "NOAUTH Authentication required.")
            return False
        if c.acl_restricted and not self.acl.check(c, cmd, argv):
            return False  # NOPERM (server/acl_checks.py)
        for check in self.events.pre_checks:  # before MULTI queueing (maxmemory OOM)
            if not check(c, cmd, argv):
                return False
        for check in self.events.checks:  # MISCONF, NOREPLICAS, READONLY, MASTERDOWN: also before queueing
            if not check(c, cmd, argv):
                return False
        if c.resp == 2 and (c.channels or c.patterns or c.shard_channels) and name not in _PUBSUB_ALLOWED:
            self.reject(c, cmd, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                        "RESET are allowed in this context" % cmd.fullname)
            return False
        busy = self.busy_script
        if busy is not None:  # a script ran past busy-reply-threshold: only allow_busy commands run
            err = busy.refuse(c, cmd, argv)
            if err is not None:
                self.reject(c, cmd, err)
                return False
        if c.multi is not None and name not in _MULTI_IMMEDIATE:
            if self.tracking.clients:  # processCommand's trackingLimitUsedSlots, before queueing too
                self.tracking.cron(self)
            if cmd.no_multi:
                self.reject(c, cmd, "ERR Command not allowed inside a transaction")
                return False
            c.multi.append((cmd, argv))
            c.write(QUEUED)
            return False
        return True

    def call(self, c: Client, cmd: Command, argv: list[bytes]) -> None:
        """Execute a checked command: run the handler, write its reply, account and propagate."""
        c.cmd = cmd
        dirty = self.dirty
        t0 = perf_counter_ns()
        try:
            r = cmd.handler(c, argv)  # type: ignore[misc]  # execute() refused commands without one
        except CommandError as e:
            if type(e) is WrongType:
                check_wrongtype(c, argv)  # a key restored without deep sanitization: fatal, as in Redis
            cmd.failed += 1
            c.write_error(e.message)
        except Exception as e:  # a bug must cost one error reply, never the connection or the server
            log.exception("Unexpected error in command %s", cmd.fullname)
            cmd.failed += 1
            c.write_error(f"ERR internal error in '{cmd.fullname}': {type(e).__name__}: {e}")
        else:
            if not c.reply_mode:
                if type(r) is bytes:  # the most common reply (GET): encode inline
                    c.out.append(b"$%d\r\n%s\r\n" % (len(r), r))
                elif r is not NOREPLY:
                    _ENCODERS[type(r)](c.out, r, c.resp)
        dt = (perf_counter_ns() - t0) // 1000
        cmd.calls += 1
        cmd.usec += dt
        if c.reply_mode >= REPLY_SKIP_NEXT:
            c.reply_mode = REPLY_SKIP if c.reply_mode == REPLY_SKIP_NEXT else REPLY_ON
        if dt >= self.slow_threshold and c.blocked is None:  # blocked ones are logged when served
            self.slow_command(c, cmd, argv, dt)
        if self.dirty > dirty or c.repl is not None:
            self.propagate(c, cmd, argv)
        hooks = self._after_command
        if hooks:
            for hook in hooks:
                hook(c, cmd, argv)
        if self.ready_keys and not (c.in_exec or c.in_script) and self.busy_script is None:
            # a command served while a script is busy leaves the script's pushes to be served after it
            self.blocking.serve_ready()

    @property
    def stat_commands(self) -> int:
        """Commands processed (INFO total_commands_processed), from the per-command counters."""
        from pyredis.commands.registry import all_commands

        return sum(cmd.calls for cmd in all_commands())

    def propagate(self, c: Client, cmd: Command, argv: list[bytes]) -> None:
        """Feed the AOF and replicas with what the command changed."""
        repl = c.repl
        c.repl = None
        if not self.propagators:
            return
        cmds = repl if repl is not None else [argv]
        if len(cmds) > 1 and not (c.in_exec or c.in_script) and cmds[0][0].upper() != b"MULTI":
            cmds = [[b"MULTI"], *cmds, [b"EXEC"]]  # one command, several effects: a transaction
        dbid = c.db.id
        props = self.propagators
        for a in cmds:
            feed(props, dbid, a)

    def slowlog_add(self, c: Client, argv: list[bytes], usec: int) -> None:
        args = []
        maxargs = 32
        red = redacted_positions(argv) if argv else ()
        if red:
            argv = [b"(redacted)" if i in red else a for i, a in enumerate(argv)]
        for i, a in enumerate(argv):
            if i == maxargs - 1 and len(argv) > maxargs:
                args.append(b"... (%d more arguments)" % (len(argv) - maxargs + 1))
                break
            args.append(a if len(a) <= 128 else a[:128] + b"... (%d more bytes)" % (len(a) - 128))
        self.slowlog.appendleft([self.slowlog_id, int(time.time()), usec, args, c.addr.encode(),
                                 c.name or b""])
        self.slowlog_id += 1
        maxlen = self.config.values["slowlog-max-len"]
        while len(self.slowlog) > maxlen:
            self.slowlog.pop()

    # -- periodic work (scheduled by server/listener.py) ----------------------------------------------
    def cron(self) -> None:
        """Periodic work (``hz`` times a second): active expiry, stats, client timeouts, hooks."""
        if self.debug.pause_cron:  # DEBUG PAUSE-CRON 1 (the listener keeps the timer going)
            return
        self.cronloops += 1
        now = time.time()
        self.ops_samples.append((now, self.stat_commands))
        ks = self.keyspace
        if ks.active_expire_enabled and ks.expire_enabled():
            effort = self.config["active-expire-effort"]
            budget = 20 * (1 + effort) * 10
            ms = ks.clock()
            t0 = time.monotonic()
            for db in ks.dbs:
                if db.expires:
                    db.active_expire(budget, ms)
            lat = self.config["latency-monitor-threshold"]
            spent = int((time.monotonic() - t0) * 1000)
            if lat > 0 and spent >= lat:
                self.latency_add("expire-cycle", spent)
        # clientsCron: every round for a few clients, about once a second for many.
        if len(self.clients) <= 50 or self.cronloops % min(max(self.config["hz"], 1), 500) == 0:
            for c in list(self.clients.values()):
                resize = getattr(c, "resize_query_buffer", None)
                if resize is not None:
                    resize(now)
        timeout = self.config["timeout"]
        if timeout:
            for c in list(self.clients.values()):
                if (now - c.last_interaction > timeout and c.blocked is None and not c.channels
                        and not c.patterns and not c.shard_channels and not c.monitor):
                    c.close()
                    c.schedule_flush()
        for hook in self.events.cron:
            try:
                hook(self)
            except Exception:  # a failing hook must not stop the cron
                log.exception("cron hook failed")

    def ops_per_sec(self) -> int:
        if len(self.ops_samples) < 2:
            return 0
        (t0, c0), (t1, c1) = self.ops_samples[0], self.ops_samples[-1]
        return int((c1 - c0) / (t1 - t0)) if t1 > t0 else 0

    def request_shutdown(self) -> None:
        """SHUTDOWN / a signal: the listener's serve loop stops the server."""
        if self.shutdown_event is not None:
            self.shutdown_event.set()

def version_banner() -> str:
    return f"Redis version={REDIS_VERSION}, bits=64, pyredis on Python {sys.version.split()[0]}"
