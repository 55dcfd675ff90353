"""The gateway's ops (client frames): auth, (un)subscribe, publish, watch, command, query.

Each handler takes the session and the decoded frame and returns the reply object (or raises
:class:`~pyredis.gateway.frames.FrameError`). Permissions are the session user's ACL, checked with
the same rules as the equivalent Redis command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyredis.engine.glob import compile_glob
from pyredis.gateway import frames, resp3
from pyredis.gateway.frames import FrameError, reply, str_list
from pyredis.gateway.history import offset_str, parse_offset
from pyredis.gateway.perms import acl_store, allowed, lookup, require
from pyredis.gateway.watch import Watch
from pyredis.server.client import Client

if TYPE_CHECKING:
    from pyredis.gateway.session import GatewayClient
    from pyredis.server.acl import User

# Commands the gateway never runs: they need a connection of their own (subscribed mode, blocking,
# transactions, replication, protocol switches).
_REFUSED = {
    "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor",
    "multi", "exec", "discard", "watch", "unwatch", "sync", "psync", "replconf", "hello", "auth", "reset",
    "quit", "client|reply", "client|tracking", "client|pause", "wait", "debug", "shutdown", "failover",
}
# Read-only views the console needs, allowed by ``query`` besides commands flagged readonly.
_QUERY_EXTRA = {
    "info", "slowlog|get", "slowlog|len", "latency|latest", "latency|history", "latency|doctor",
    "client|list", "client|info", "dbsize", "ping", "select", "memory|usage", "memory|stats", "config|get",
    "command|count", "command|info", "command|docs", "acl|whoami", "pubsub|channels", "pubsub|numsub",
    "pubsub|numpat", "time", "lastsave", "role",
}


# -- ops -----------------------------------------------------------------------------------------
def op_ping(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
    return reply(obj.get("id"), pong=obj.get("data", "PONG"))


def op_auth(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
    token = obj.get("token")
    store = acl_store(c)
    if token is not None:
        name = c.gw.token_user(str(token))
        u = store.users.get(name) if name is not None else None
        if u is None or not u.enabled:
            raise FrameError("WRONGPASS", "invalid or expired token")
    else:
        name = frames.arg_bytes(obj.get("user", "default"), "user")
        password = frames.arg_bytes(obj.get("password", ""), "password")
        if not c.server.acl.authenticate(c, name, password, b"AUTH"):
            raise FrameError("WRONGPASS", "invalid username-password pair or user is disabled.")
        u = store.users[name]
    c.user = u.name
    c.authenticated = True
    c.acl_restricted = not u.unrestricted
    revalidate(c, u)
    return reply(obj.get("id"), user=u.name.decode("utf-8", "replace"),
                 commands=bool(c.server.config["gateway-commands"]))


def _since(obj: dict[str, Any]) -> int | None:
    if "since" not in obj or obj["since"] is None:
        return None
    s = parse_offset(obj["since"])
    if s is None:
        raise FrameError("ERR", "invalid 'since' offset (expected \"<ms>-<seq>\")")
    return s


def _replay(c: GatewayClient, pattern: bytes | None, channels: list[bytes], since: int) -> None:
    """History after *since* for *channels*: a gap frame when some was trimmed, then the entries."""
    gw = c.gw
    entries: list[tuple[int, bytes, bytes]] = []
    for ch in channels:
        gap, first, got = gw.history.since(ch, since)
        if gap:
            g: dict[str, Any] = {"type": "gap", "since": offset_str(since),
                                 "first": offset_str(first) if first is not None else None}
            frames.put_bytes(g, "channel", ch)
            c.after.append(frames.encode(g))
        entries.extend((eid, ch, data) for eid, data in got)
    entries.sort()
    for eid, ch, data in entries:
        c.after.append(frames.encode(gw.message_obj(pattern, ch, data, False, eid)))


def _subscribe(kind: str) -> Callable[[GatewayClient, dict[str, Any]], dict[str, Any]]:
    field = "patterns" if kind == "psubscribe" else "channels"

    def op(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
        names = str_list(obj, field)
        since = _since(obj) if kind != "ssubscribe" else None
        require(c, [kind.encode(), *names])
        ps = c.server.pubsub
        add = {"subscribe": ps.subscribe, "psubscribe": ps.psubscribe, "ssubscribe": ps.ssubscribe}[kind]
        for n in names:
            add(c, n)
        history = []
        if since is not None:
            for n in names:
                if kind == "psubscribe":
                    _replay(c, n, c.gw.history.channels_matching(compile_glob(n)), since)
                else:
                    if c.gw.history.kept(n):
                        history.append(n.decode("utf-8", "replace"))
                    _replay(c, None, [n], since)
        out = reply(obj.get("id"), **{field: [n.decode("utf-8", "replace") for n in names]},
                    count=len(c.channels) + len(c.patterns) + len(c.shard_channels))
        if since is not None and kind == "subscribe":
            out["history"] = history
        return out

    return op


def _unsubscribe(kind: str) -> Callable[[GatewayClient, dict[str, Any]], dict[str, Any]]:
    field = "patterns" if kind == "punsubscribe" else "channels"

    def op(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
        names = str_list(obj, field, required=False)
        ps = c.server.pubsub
        table, drop = {"unsubscribe": (c.channels, ps.unsubscribe), "punsubscribe": (c.patterns, ps.punsubscribe),
                       "sunsubscribe": (c.shard_channels, ps.sunsubscribe)}[kind]
        gone = [n for n in (names or list(table)) if drop(c, n)]
        return reply(obj.get("id"), **{field: [n.decode("utf-8", "replace") for n in gone]},
                     count=len(c.channels) + len(c.patterns) + len(c.shard_channels))

    return op


def run(c: GatewayClient, argv: list[bytes]) -> Any:
    """Execute one command as the session's user; the reply as JSON (FrameError for an error)."""
    cmd = lookup(argv)
    if cmd is not None and (cmd.fullname in _REFUSED or cmd.blocking
                            or (cmd.parent is not None and cmd.parent.name in _REFUSED)):
        raise FrameError("ERR", f"'{cmd.fullname}' cannot be run through the gateway")
    r = _runner(c)
    r.out.clear()
    c.server.execute(r, argv)
    c.cmd, c.name, c.db = r.cmd, r.name, r.db  # CLIENT LIST shows the session's command, name and db
    data = b"".join(r.out)
    r.out.clear()
    if r.blocked is not None:  # cannot happen for the commands allowed; never leave it waiting
        r.blocked = None
    try:
        return resp3.single(data)
    except resp3.ReplyError as e:
        raise FrameError(*frames.redis_error(e.message)) from None


def _runner(c: GatewayClient) -> Client:
    """The session's command context: a socket-less client with the session's user and db."""
    r = c.runner
    if r is None:
        r = c.runner = Client(c.server, c.id)
        r.resp = 3
        r.addr, r.laddr, r.flags_extra = c.addr, c.laddr, "G"
    r.user, r.authenticated, r.acl_restricted = c.user, c.authenticated, c.acl_restricted
    r.name, r.db = c.name, c.db
    return r


def _argv(obj: dict[str, Any]) -> list[bytes]:
    args = obj.get("args")
    if not isinstance(args, list) or not args:
        raise FrameError("ERR", "'args' must be a non-empty list of strings")
    return [frames.arg_bytes(a, "args") for a in args]


def op_command(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
    if not c.server.config["gateway-commands"]:
        raise FrameError("ERR", "the command op is disabled (gateway-commands no)")
    return reply(obj.get("id"), result=run(c, _argv(obj)))


def op_query(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
    argv = _argv(obj)
    cmd = lookup(argv)
    if cmd is not None and not (cmd.readonly or cmd.fullname in _QUERY_EXTRA):
        raise FrameError("ERR", f"'{cmd.fullname}' is not a read-only command (use the command op)")
    return reply(obj.get("id"), result=run(c, argv))


def op_publish(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
    ch = frames.arg_bytes(obj.get("channel"), "channel")
    data = frames.arg_bytes(obj.get("data", ""), "data")
    name = b"spublish" if obj["op"] == "spublish" else b"publish"
    return reply(obj.get("id"), receivers=run(c, [name, ch, data]))


def op_watch(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
    patterns = str_list(obj, "keys")
    with_ = obj.get("with") or []
    if not isinstance(with_, list) or any(w not in ("ttl", "value") for w in with_):
        raise FrameError("ERR", "'with' must be a list of \"ttl\" and \"value\"")
    db = obj.get("db")
    if db is not None and (not isinstance(db, int) or isinstance(db, bool)
                           or not 0 <= db < len(c.server.keyspace.dbs)):
        raise FrameError("ERR", "DB index is out of range")
    for p in patterns:
        require(c, [b"type", p])  # +@read on keys matching the pattern
    for p in patterns:
        c.gw.watch.add(c, Watch(p, db, "ttl" in with_, "value" in with_))
    return reply(obj.get("id"), keys=[w.pattern.decode("utf-8", "replace") for w in c.watches])


def op_unwatch(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
    patterns = str_list(obj, "keys", required=False)
    gone = c.gw.watch.remove(c, patterns or None)
    return reply(obj.get("id"), keys=[p.decode("utf-8", "replace") for p in gone])


OPS: dict[str, Callable[[GatewayClient, dict[str, Any]], dict[str, Any]]] = {
    "ping": op_ping, "auth": op_auth, "subscribe": _subscribe("subscribe"), "psubscribe": _subscribe("psubscribe"),
    "ssubscribe": _subscribe("ssubscribe"), "unsubscribe": _unsubscribe("unsubscribe"),
    "punsubscribe": _unsubscribe("punsubscribe"), "sunsubscribe": _unsubscribe("sunsubscribe"),
    "publish": op_publish, "spublish": op_publish, "watch": op_watch, "unwatch": op_unwatch,
    "command": op_command, "query": op_query,
}


def dispatch(c: GatewayClient, obj: dict[str, Any]) -> dict[str, Any]:
    op = obj["op"]
    if not c.authenticated and op not in ("auth", "ping"):
        raise FrameError("NOAUTH", "Authentication required.")
    return OPS[op](c, obj)


# -- revocation ------------------------------------------------------------------------------------
def revalidate(c: GatewayClient, user: User) -> None:
    """Drop the subscriptions and watches *user* may no longer have, telling the client."""
    c.acl_restricted = not user.unrestricted
    if not c.acl_restricted:
        return
    ps = c.server.pubsub
    lost: dict[str, list[str]] = {}
    for kind, table, drop, is_pattern in (("channels", c.channels, ps.unsubscribe, False),
                                          ("patterns", c.patterns, ps.punsubscribe, True),
                                          ("shard_channels", c.shard_channels, ps.sunsubscribe, False)):
        for n in list(table):
            if not user.channel_allowed(n, is_pattern):
                drop(c, n)
                lost.setdefault(kind, []).append(n.decode("utf-8", "replace"))
    gone = [w.pattern for w in c.watches if not allowed(c, [b"type", w.pattern])]
    if gone:
        c.gw.watch.remove(c, gone)
        lost["keys"] = [p.decode("utf-8", "replace") for p in gone]
    if lost:
        c.send_obj({"type": "revoked", **lost, "error": {
            "code": "NOPERM", "message": "the user's permissions changed (ACL SETUSER)"}})
