"""Client-side caching (tracking.c): the tracking table and invalidation messages (``server.tracking``).
The CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO commands are :mod:`pyredis.commands.tracking`.

Default mode remembers, per key name (all databases share the table, as in Redis), the ids of
the clients that read it; a modification sends one ``invalidate`` message per key and forgets
the key. BCAST mode collects modified keys per prefix and sends one message per prefix at the end
of the event-loop iteration. Messages go to the client itself as RESP3 pushes, or to the REDIRECT
client (RESP3 push, or RESP2 Pub/Sub message on ``__redis__:invalidate``). Invalidations for the
client whose command is running (``server.current_client``) are sent after that command's reply.
FLUSHDB/FLUSHALL send a null invalidation to every tracking client. Code deleting keys before a
command runs (maxmemory eviction) should set ``server.current_client = None`` meanwhile so that the
invalidation precedes the reply, as in Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyredis.server.app import Server

_INVALIDATE = b"$10\r\ninvalidate\r\n"
_CHANNEL = b"$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
_EVAL_FAMILY = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})


class Tracking:
    """Tracking options of one client (``c.tracking``; None when tracking is off)."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "prefixes", "broken",
                 "script_read")

    def __init__(self) -> None:
        self.redirect = 0
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching: bool | None = None  # CLIENT CACHING yes/no for the next command
        self.prefixes: list[bytes] = []
        self.broken = False
        self.script_read = False


def _keys_array(keys: list[bytes] | None) -> bytes:
    if keys is None:
        return b""
    return b"*%d\r\n%s" % (len(keys), b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys))


class TrackingTable:
    """Server-wide tracking state (``server.tracking``)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.table: dict[bytes, dict[int, None]] = {}
        self.prefixes: dict[bytes, dict[int, None]] = {}
        self.pending: dict[bytes, dict[bytes, set]] = {}  # prefix -> key -> modifier ids
        self.clients: dict[int, Any] = {}
        self.deferred: list[tuple[Any, list[bytes] | None]] = []
        self._flush_scheduled = False
        self._expired_seen = 0

    # -- enabling --------------------------------------------------------------------------------
    def _activate(self) -> None:
        srv = self.server
        srv.keyspace.tracking_hook = self.on_modified
        self._expired_seen = srv.keyspace.expired_keys
        if self.after_call not in srv.events.after_command:
            srv.events.after_command.append(self.after_call)

    def _deactivate(self) -> None:
        srv = self.server
        srv.keyspace.tracking_hook = None
        if self.after_call in srv.events.after_command:
            srv.events.after_command.remove(self.after_call)

    def enable(self, c, t: Tracking) -> None:
        if not self.clients:
            self._activate()
        self.clients[c.id] = c
        c.tracking = t
        for p in t.prefixes:
            self.prefixes.setdefault(p, {})[c.id] = None

    def add_prefixes(self, c, prefixes: list[bytes]) -> None:
        for p in prefixes:
            if p not in c.tracking.prefixes:
                c.tracking.prefixes.append(p)
            self.prefixes.setdefault(p, {})[c.id] = None

    def disable(self, c) -> None:
        t = c.tracking
        if t is None:
            return
        for p in t.prefixes:
            ids = self.prefixes.get(p)
            if ids is not None:
                ids.pop(c.id, None)
                if not ids:
                    del self.prefixes[p]
                    self.pending.pop(p, None)
        c.tracking = None
        self.clients.pop(c.id, None)
        if not self.clients:
            self._deactivate()

    # -- remembering -----------------------------------------------------------------------------
    def remember(self, c, keys: list[bytes]) -> None:
        table = self.table
        cid = c.id
        for k in keys:
            ids = table.get(k)
            if ids is None:
                table[k] = {cid: None}
            else:
                ids[cid] = None
        limit = self.server.config.values.get("tracking-table-max-keys", 1000000)
        if limit and len(table) > limit:
            self.evict(limit)

    def evict(self, limit: int) -> None:
        table = self.table
        while len(table) > limit:
            key = next(iter(table))
            ids = table.pop(key)
            for cid in ids:
                tc = self.clients.get(cid)
                if tc is not None and tc.tracking is not None and not tc.tracking.bcast:
                    self.send(tc, [key])

    def after_call(self, c, cmd, argv: list[bytes]) -> None:
        """Call hook: remember keys read by tracking clients, reset CLIENT CACHING."""
        if c.in_script:
            caller = self.server.current_client
            if cmd.readonly and caller is not None and caller.tracking is not None:
                caller.tracking.script_read = True
            return
        t = c.tracking
        if t is None:
            return
        name = cmd.parent.name if cmd.parent is not None else cmd.name
        if not t.bcast:
            if name in _EVAL_FAMILY:
                read = t.script_read
                t.script_read = False
            else:
                read = cmd.readonly
            if read and (not t.optin or t.caching is True) and (not t.optout or t.caching is not False):
                idx = cmd.key_indexes(argv)
                if idx:
                    self.remember(c, [argv[i] for i in idx])
        if name != "client" and c.multi is None and not c.in_exec:
            t.caching = None

    # -- invalidation --------------------------------------------------------------------------
    def on_modified(self, db, key: bytes) -> None:
        """``Keyspace.tracking_hook``: *key* was modified in *db*."""
        ks = self.server.keyspace
        by_expiry = ks.expired_keys != self._expired_seen
        self._expired_seen = ks.expired_keys
        cur = self.server.current_client
        modifier = None if by_expiry or cur is None else cur.id
        ids = self.table.pop(key, None)
        if ids:
            clients = self.clients
            for cid in ids:
                tc = clients.get(cid)
                if tc is None:
                    continue
                t = tc.tracking
                if t is None or t.bcast:
                    continue
                if t.noloop and modifier == cid:
                    continue
                self.send(tc, [key])
        if self.prefixes:
            for p in self.prefixes:
                if key.startswith(p):
                    self.pending.setdefault(p, {}).setdefault(key, set()).add(modifier)
                    self._schedule()

    def on_flush(self, dbid: int) -> None:
        """``events.db_flushed``: every tracking client gets a null invalidation."""
        self.table.clear()
        for tc in list(self.clients.values()):
            self.send(tc, None)

    def send(self, tc, keys: list[bytes] | None) -> None:
        """Deliver an invalidation for *keys* (None: everything) on behalf of tracking client *tc*."""
        t = tc.tracking
        srv = self.server
        if t is not None and t.redirect:
            target = srv.clients.get(t.redirect)
            if target is None or getattr(target, "closed", False):
                t.broken = True
                if tc.resp == 3:
                    tc.out.append(b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % t.redirect)
                    tc.schedule_flush()
                return
        else:
            target = tc
        if target is srv.current_client:
            self.deferred.append((target, keys))
            self._schedule()
            return
        self._emit(target, keys, t is not None and t.redirect != 0)

    def _emit(self, target, keys: list[bytes] | None, redirected: bool) -> None:
        if target.resp == 3:
            body = _keys_array(keys) if keys is not None else b"_\r\n"
            target.out.append(b">2\r\n" + _INVALIDATE + body)
        elif redirected and (target.channels or target.patterns or target.shard_channels):
            body = _keys_array(keys) if keys is not None else b"$-1\r\n"
            target.out.append(b"*3\r\n" + _CHANNEL + body)
        else:
            return
        target.schedule_flush()

    def _schedule(self) -> None:
        if not self._flush_scheduled:
            loop = self.server.loop
            if loop is None:
                return
            self._flush_scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """End of the loop iteration: deferred self-invalidations, then BCAST batches."""
        self._flush_scheduled = False
        deferred = self.deferred
        self.deferred = []
        for target, keys in deferred:
            if not getattr(target, "closed", False):
                self._emit(target, keys, target.tracking is None or target.tracking.redirect != 0)
        pending = self.pending
        self.pending = {}
        for p in sorted(pending):
            keys_mods = pending[p]
            for cid in list(self.prefixes.get(p, ())):
                tc = self.clients.get(cid)
                if tc is None or tc.tracking is None:
                    continue
                if tc.tracking.noloop:
                    keys = [k for k, mods in keys_mods.items() if mods != {cid}]
                else:
                    keys = list(keys_mods)
                if keys:
                    self._send_now(tc, keys)

    def _send_now(self, tc, keys: list[bytes]) -> None:
        cur = self.server.current_client
        self.server.current_client = None
        try:
            self.send(tc, keys)
        finally:
            self.server.current_client = cur

    def on_disconnect(self, c) -> None:
        """``events.client_disconnected`` / ``client_reset``: tracking ends."""
        if c.tracking is not None:
            self.disable(c)

    def cron(self, srv: Server) -> None:
        """``events.cron``: keep the table within ``tracking-table-max-keys``."""
        limit = srv.config.values.get("tracking-table-max-keys", 1000000)
        if limit and len(self.table) > limit:
            self.evict(limit)

    def total_items(self) -> int:
        return sum(len(v) for v in self.table.values())
