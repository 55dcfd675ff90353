"""Keyspace watchers: ``watch`` patterns, changes coalesced per key per loop tick."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyredis.engine.glob import compile_glob
from pyredis.gateway import frames, resp3
from pyredis.gateway.perms import acl_user, allowed
from pyredis.server.client import Client

if TYPE_CHECKING:
    from pyredis.gateway import Gateway
    from pyredis.gateway.session import GatewayClient

MAX_ITEMS = 100  # elements of a collection sent as a watched key's value


class Watch:
    """One watched pattern of one session."""

    __slots__ = ("pattern", "match", "db", "ttl", "value")

    def __init__(self, pattern: bytes, db: int | None, ttl: bool, value: bool) -> None:
        self.pattern = pattern
        self.match = compile_glob(pattern)
        self.db = db
        self.ttl = ttl
        self.value = value


def value_command(tname: str, key: bytes) -> list[bytes] | None:
    """The read command giving a watched key's value (the user must be allowed to run it)."""
    n = str(MAX_ITEMS - 1).encode()
    return {
        "string": [b"get", key], "list": [b"lrange", key, b"0", n], "set": [b"srandmember", key, n],
        "zset": [b"zrange", key, b"0", n, b"withscores"], "hash": [b"hrandfield", key, n, b"withvalues"],
        "stream": [b"xrevrange", key, b"+", b"-", b"count", b"10"],
    }.get(tname)


class KeyWatch:
    """Every session's watches; the server's ``key_tap`` while any exists."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.clients: dict[GatewayClient, None] = {}
        self.pending: dict[tuple[int, bytes], list[bytes]] = {}
        self.scheduled = False
        self._reader: Client | None = None

    def _sync_tap(self) -> None:
        srv = self.gw.server
        want = self.changed if self.clients else None
        if (srv.key_tap is None) != (want is None):
            srv.key_tap = want
            srv._set_notify_flags(srv.config["notify-keyspace-events"])

    def add(self, c: GatewayClient, w: Watch) -> None:
        c.watches = [x for x in c.watches if x.pattern != w.pattern] + [w]
        self.clients[c] = None
        self._sync_tap()

    def remove(self, c: GatewayClient, patterns: list[bytes] | None) -> list[bytes]:
        gone = [w.pattern for w in c.watches if patterns is None or w.pattern in patterns]
        c.watches = [w for w in c.watches if w.pattern not in gone]
        if not c.watches:
            self.clients.pop(c, None)
            self._sync_tap()
        return gone

    def remove_client(self, c: GatewayClient) -> None:
        c.watches = []
        if self.clients.pop(c, None) is not None:
            self._sync_tap()

    # -- changes ---------------------------------------------------------------------------------
    def flushed(self, dbid: int) -> None:
        """``events.db_flushed`` (FLUSHDB: the db, FLUSHALL: -1): a ``flush`` frame to the watchers."""
        self._whole_db("flush", None if dbid < 0 else dbid)

    def swapped(self, a: int, b: int) -> None:
        """``events.dbs_swapped``: both dbs changed entirely."""
        self._whole_db("swapdb", a, b)
        self._whole_db("swapdb", b, a)

    def _whole_db(self, kind: str, dbid: int | None, other: int | None = None) -> None:
        obj: dict[str, Any] = {"type": kind, "db": dbid}
        if other is not None:
            obj["other"] = other
        payload = frames.encode(obj)
        for c in list(self.clients):
            if any(w.db is None or dbid is None or w.db == dbid for w in c.watches):
                c._enqueue_payload(payload)


    def changed(self, flag: int, event: bytes, key: bytes, dbid: int) -> None:
        k = (dbid, key)
        evs = self.pending.get(k)
        if evs is None:
            self.pending[k] = [event]
        else:
            evs.append(event)
        if not self.scheduled:
            self.scheduled = True
            self.gw.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        pending, self.pending = self.pending, {}
        if not self.clients:
            return
        for (dbid, key), events in pending.items():
            state: tuple[str, int] | None = None
            cache: dict[tuple[bool, bool], bytes] = {}
            for c in list(self.clients):
                for w in c.watches:
                    if (w.db is None or w.db == dbid) and w.match(key):
                        break
                else:
                    continue
                user = acl_user(c) if c.acl_restricted else None
                if c.acl_restricted and (user is None or not user.key_allowed(key, 1)):
                    continue
                if state is None:
                    state = self._state(dbid, key)
                want_value = w.value
                value_argv = value_command(state[0], key) if want_value else None
                if want_value and value_argv is not None and c.acl_restricted:
                    want_value = allowed(c, value_argv)
                variant = (w.ttl, want_value and value_argv is not None)
                payload = cache.get(variant)
                if payload is None:
                    obj: dict[str, Any] = {"type": "key", "db": dbid}
                    frames.put_bytes(obj, "key", key)
                    obj["event"] = events[-1].decode()
                    if len(events) > 1:
                        obj["events"] = [e.decode() for e in events]
                    obj["keytype"] = state[0]
                    if w.ttl:
                        obj["ttl"] = state[1]
                    if variant[1]:
                        obj["value"] = self._value(dbid, state[0], value_argv)  # type: ignore[arg-type]
                    payload = cache[variant] = frames.encode(obj)
                c._enqueue_payload(payload)

    def _state(self, dbid: int, key: bytes) -> tuple[str, int]:
        """(type name, PTTL) of *key*, without touching it (no LRU, stats or lazy expiry)."""
        ks = self.gw.server.keyspace
        db = ks.dbs[dbid]
        v = db.data.get(key)
        when = db.expires.get(key) if db.expires else None
        now = ks.clock()
        if v is None or (when is not None and when <= now):
            return "none", -2
        tname = "string" if type(v) is bytes else v.TYPE_NAME.decode()
        return tname, -1 if when is None else when - now

    def _value(self, dbid: int, tname: str, argv: list[bytes]) -> Any:
        srv = self.gw.server
        if tname == "string":
            v = srv.keyspace.dbs[dbid].data.get(argv[1])
            if type(v) is bytes:
                s, b64 = frames.text(v)
                return {"base64": s} if b64 else s
        r = self._reader
        if r is None:
            r = self._reader = Client(srv, 0)
            r.resp, r.authenticated, r.acl_restricted = 3, True, False
            r.no_touch = True
        r.db = srv.keyspace.dbs[dbid]
        r.out = []
        srv.execute(r, argv)
        data = b"".join(r.out)
        r.out = []
        try:
            v = resp3.single(data)
        except resp3.ReplyError as e:
            return {"error": e.message}
        if tname == "hash" and isinstance(v, list):
            return {resp3.key_str(p[0]): p[1] for p in v if isinstance(p, list) and len(p) == 2}
        return v
