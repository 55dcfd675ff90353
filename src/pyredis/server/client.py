"""Per-client state, independent of any socket (used by connections, scripts and AOF loading)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pyredis.protocol.encoder import _ENCODERS
from pyredis.server.clientmem import client_info_line

if TYPE_CHECKING:
    from pyredis.commands.registry import Command
    from pyredis.engine.database import Database
    from pyredis.server.app import Server

REPLY_ON, REPLY_OFF, REPLY_SKIP_NEXT, REPLY_SKIP = 0, 1, 2, 3
__all__ = ["Client", "client_info_line"]


class Client:
    """State of one client: selected db, protocol, auth, MULTI queue, subscriptions, reply buffer.

    Handlers receive a ``Client`` and never touch sockets: replies go to ``out`` (a list of
    encoded chunks) that the connection flushes in one write per batch.
    """

    fake = True  # not backed by a socket (script caller, AOF loader)
    acl_implicit_auth = False  # authenticated only because the default user needed no password
    cluster_asking = False  # ASKING was sent (one-shot)
    cluster_readonly = False  # READONLY: reads served by a replica of the slot's master
    # maxmemory-clients accounting (server/clientmem.py): last memory counted, its bucket and entry order
    mem_last = 0
    mem_bucket = -1
    mem_seq = 0
    obuf_soft_since: int | None = None  # when the output buffer went over its soft limit (unix seconds)
    rbs = rbp = 16384  # the emulated reply buffer: its size and peak use (socket-backed clients)

    def __init__(self, server: Server, cid: int = 0) -> None:
        self.server = server
        self.id = cid
        self.db: Database = server.keyspace.dbs[0]
        self.resp = 2
        self.name: bytes | None = None
        self.lib_name = b""
        self.lib_ver = b""
        self.user = b"default"
        self.authenticated = not server.requires_auth()
        # The user lacks some permission: commands go through the ACL checks (server/acl_checks.py).
        self.acl_restricted: bool = server.acl.restricted_default
        self.out: list[bytes] = []
        self.reply_mode = REPLY_ON
        # MULTI/EXEC
        self.multi: list[tuple[Command, list[bytes]]] | None = None
        self.exec_abort = False
        self.dirty_cas = False
        self.watched: list[tuple[Database, bytes]] = []
        self.in_exec = False
        # Pub/Sub
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.shard_channels: set[bytes] = set()
        # Blocking, monitor, tracking, scripting
        self.blocked: Any = None
        self.monitor = False
        self.tracking: Any = None
        self.in_script = False
        self.no_evict = False
        self.no_touch = False
        # Propagation override: handlers set a list of argv to replicate instead of their own.
        self.repl: list[list[bytes]] | None = None
        self.cmd: Command | None = None
        self.last_cmd: Command | None = None
        self.created = time.time()
        self.last_interaction = self.created
        self.addr = "?:0"
        self.laddr = "?:0"
        self.fd = -1
        self.close_asap = False
        self.flags_extra = ""

    # -- replies -----------------------------------------------------------------------------------
    def write(self, value: Any) -> None:
        """Append the encoding of a reply value, honouring CLIENT REPLY OFF/SKIP."""
        if self.reply_mode == REPLY_ON:
            _ENCODERS[type(value)](self.out, value, self.resp)

    def write_error(self, message: str) -> None:
        """Write an error reply (newlines replaced, as Redis does) and count it."""
        self.server.count_error(message)
        if self.reply_mode == REPLY_ON:
            msg = message.replace("\r", " ").replace("\n", " ")
            self.out.append(b"-%s\r\n" % msg.encode("utf-8", "surrogateescape"))

    def push(self, value: Any) -> None:
        """Send an out-of-band message (pub/sub, invalidation, monitor) and flush it soon."""
        _ENCODERS[type(value)](self.out, value, self.resp)
        self.schedule_flush()

    def schedule_flush(self) -> None:
        """Connections flush ``out`` at the end of the current loop iteration."""

    def reply_limit_reached(self, building: int) -> bool:
        """Whether a reply of *building* bytes, still being generated, puts the client over its output
        buffer hard limit; the client is then closed and the handler may stop early (Redis's
        ``CLIENT_CLOSE_ASAP`` checks in KEYS, HRANDFIELD...). Fake clients have no limit."""
        return False

    def pending_output(self) -> int:
        """Reply bytes not yet written (connections add what the socket has not taken)."""
        return sum(len(b) for b in self.out)

    # -- keyspace helpers --------------------------------------------------------------------------
    def changed(self, key: bytes, flag: int, event: bytes, db: Database | None = None) -> None:
        """Record a modification: invalidate WATCH/caches, emit the notification, count it dirty."""
        d = db if db is not None else self.db
        d.signal_modified(key)
        srv = self.server
        srv.dirty += 1
        if srv.keyspace.notify_flags & flag:
            srv.keyspace.notify(flag, event, key, d.id)

    def notify(self, flag: int, event: bytes, key: bytes, db: Database | None = None) -> None:
        """Emit a keyspace notification without marking the key modified."""
        ks = self.server.keyspace
        if ks.notify_flags & flag:
            ks.notify(flag, event, key, (db or self.db).id)

    # -- connection control --------------------------------------------------------------------------
    def close(self) -> None:
        """Close after pending replies are written."""
        self.close_asap = True

    def unblock(self) -> None:
        """Resume processing of commands that arrived while blocked (connections override)."""

    def await_reads(self, argv: list[bytes]) -> bool:
        """Whether *argv* waits until the other sockets ready now were read (only connections do)."""
        return False

    def flags_string(self) -> str:
        f = ""
        if self.multi is not None:
            f += "x"
        if self.blocked is not None:
            f += "b"
        if self.channels or self.patterns or self.shard_channels:
            f += "P"
        if self.monitor:
            f += "O"
        if self.tracking is not None:
            f += "t"
        if self.dirty_cas:
            f += "d"
        if self.close_asap:
            f += "A"
        if self.no_evict:
            f += "e"
        if self.no_touch:
            f += "T"
        f += self.flags_extra
        return f or "N"
