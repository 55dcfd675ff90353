"""XREAD and XREADGROUP: parsing, serving from the stream or the group, blocking."""

from __future__ import annotations

from typing import Any

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command
from pyredis.commands.streams.common import (
    STREAM,
    _now,
    _s,
    _signed64,
    entries_raw,
    get_stream,
    parse_strict_id,
)
from pyredis.engine.stream import (
    MAX_ID,
    ConsumerGroup,
    PendingEntry,
    StreamValue,
    format_id,
)
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import NULL_ARRAY, MapReply

# -- XREAD / XREADGROUP ------------------------------------------------------------------------------
GT_NEW = -1  # the '>' ID of XREADGROUP


class ReadSpec:
    """A parsed XREAD/XREADGROUP: what a blocked client waits for."""

    __slots__ = ("keys", "ids", "group", "consumer", "noack", "count", "timeout", "xreadgroup")

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.ids: list[int] = []
        self.group: bytes | None = None
        self.consumer: bytes | None = None
        self.noack = False
        self.count = 0
        self.timeout: int | None = None
        self.xreadgroup = False


def _xread_keys(argv: list[bytes]) -> list[int]:
    for i in range(1, len(argv)):
        if argv[i].lower() == b"streams":
            n = (len(argv) - i - 1) // 2
            return list(range(i + 1, i + 1 + n))
    return []


def _parse_read(c, argv: list[bytes], xreadgroup: bool) -> ReadSpec:
    spec = ReadSpec()
    spec.xreadgroup = xreadgroup
    n = len(argv)
    i = 1
    streams_at = 0
    while i < n:
        more = n - 1 - i
        lo = argv[i].lower()
        if lo == b"block" and more:
            if c.in_script:
                raise CommandError("ERR %s command is not allowed with BLOCK option from scripts" % _s(argv[0]))
            i += 1
            t = parse_ll(argv[i])
            if t is None:
                raise CommandError("ERR timeout is not an integer or out of range")
            if t < 0:
                raise CommandError("ERR timeout is negative")
            spec.timeout = t
        elif lo == b"count" and more:
            i += 1
            cnt = get_int(argv[i])
            spec.count = cnt if cnt > 0 else 0
        elif lo == b"streams" and more:
            streams_at = i + 1
            if (n - streams_at) & 1:
                raise CommandError("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' "
                                   "must be specified.")
            break
        elif lo == b"group" and more >= 2:
            if not xreadgroup:
                raise CommandError("ERR The GROUP option is only supported by XREADGROUP. You called XREAD "
                                   "instead.")
            spec.group = argv[i + 1]
            spec.consumer = argv[i + 2]
            i += 2
        elif lo == b"noack":
            if not xreadgroup:
                raise CommandError("ERR The NOACK option is only supported by XREADGROUP. You called XREAD "
                                   "instead.")
            spec.noack = True
        else:
            raise syntax_error()
        i += 1
    if not streams_at:
        raise syntax_error()
    if xreadgroup and spec.group is None:
        raise CommandError("ERR Missing GROUP option for XREADGROUP")
    nkeys = (n - streams_at) // 2
    keys = argv[streams_at:streams_at + nkeys]
    spec.keys = keys
    ids = spec.ids
    for j, key in enumerate(keys):
        idarg = argv[streams_at + nkeys + j]
        s = get_stream(c, key)
        if xreadgroup:
            if s is None or spec.group not in s.groups:
                raise CommandError("NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP "
                                   "option" % (_s(key), _s(spec.group)))  # type: ignore[arg-type]
        if idarg == b"$":
            if xreadgroup:
                raise CommandError(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
                    "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
                    "would just return an empty result set.")
            ids.append(s.last_id if s is not None else 0)
        elif idarg == b">":
            if not xreadgroup:
                raise CommandError("ERR The > ID can be specified only when calling XREADGROUP using the "
                                   "GROUP <group> <consumer> option.")
            ids.append(GT_NEW)
        else:
            ids.append(parse_strict_id(idarg))
    return spec


def _last_live(s: StreamValue) -> int:
    e = s.last_entry()
    return e[0] if e is not None else 0


def _consumer_for_read(c, s: StreamValue, g: ConsumerGroup, spec: ReadSpec, key: bytes, repl: list | None):
    name = spec.consumer
    now = _now(c)
    cons = g.consumers.get(name)  # type: ignore[arg-type]
    if cons is None:
        cons = g.add_consumer(name, now)  # type: ignore[arg-type]
        c.notify(STREAM, b"xgroup-createconsumer", key)
        c.server.dirty += 1
        if spec.noack and repl is not None:
            repl.append([b"XGROUP", b"CREATECONSUMER", key, g.name, name])
    else:
        cons.seen_time = now
    return cons


def _xclaim_repl(key: bytes, g: ConsumerGroup, eid: int, p: PendingEntry) -> list[bytes]:
    return [b"XCLAIM", key, g.name, p.consumer.name if p.consumer else b"", b"0", format_id(eid),
            b"TIME", b"%d" % p.delivery_time, b"RETRYCOUNT", b"%d" % _signed64(p.delivery_count),
            b"FORCE", b"JUSTID", b"LASTID", format_id(g.last_id)]


def _setid_repl(key: bytes, g: ConsumerGroup) -> list[bytes]:
    return [b"XGROUP", b"SETID", key, g.name, format_id(g.last_id), b"ENTRIESREAD", b"%d" % g.entries_read]


def _serve_group_new(c, s: StreamValue, g: ConsumerGroup, spec: ReadSpec, key: bytes,
                     repl: list | None) -> Any:
    """Deliver entries after the group's last ID (``>``), updating the PEL and counters."""
    cons = _consumer_for_read(c, s, g, spec, key, repl)
    items = s.range(g.last_id + 1, MAX_ID, spec.count)
    if not items:
        return []
    now = _now(c)
    noack = spec.noack
    pel = g.pel
    cpel = cons.pel
    moved = False
    for eid, _fv in items:
        s.note_delivered(g, eid)
        moved = True
        if noack:
            continue
        p = pel.get(eid)
        if p is None:
            p = PendingEntry(cons, now, 1)
            pel[eid] = p
        else:
            old = p.consumer
            if old is not None and old is not cons:
                old.pel.pop(eid, None)
            p.consumer = cons
            p.delivery_time = now
            p.delivery_count = 1
        cpel[eid] = p
        if repl is not None:
            repl.append(_xclaim_repl(key, g, eid, p))
        moved = False
        c.server.dirty += 1
    if moved:
        if repl is not None:
            repl.append(_setid_repl(key, g))
        c.server.dirty += 1
    cons.active_time = now
    return entries_raw(items)


def _serve_group_history(c, s: StreamValue, g: ConsumerGroup, spec: ReadSpec, key: bytes, start: int,
                         repl: list | None) -> list:
    """Re-deliver this consumer's pending entries with ID > *start*."""
    cons = _consumer_for_read(c, s, g, spec, key, repl)
    cpel = cons.pel
    out: list = []
    if start >= MAX_ID:
        return out
    now = _now(c)
    count = spec.count
    for eid in cpel.irange(minimum=start + 1):
        fv = s.get(eid)
        if fv is None:
            out.append([format_id(eid), NULL_ARRAY])
        else:
            p = cpel[eid]
            p.delivery_time = now
            p.delivery_count += 1
            out.append([format_id(eid), fv])
        if count and len(out) >= count:
            break
    return out


def xread_serve(c, spec: ReadSpec, blocked: bool = False, only: bytes | None = None) -> Any:
    """Serve what is available now: the reply, or None when nothing is (the caller may block).

    *only* restricts serving to one key (a blocked client is served for the key that became
    ready, with the ID given for its first occurrence).  For a blocked XREADGROUP this raises the
    errors Redis sends when the stream or the group went away while the client waited.
    """
    xg = spec.xreadgroup
    out: list = []
    repl: list | None = [] if c.server.propagators else None  # what to propagate, when anyone listens
    for key, gt in zip(spec.keys, spec.ids, strict=True):
        if only is not None:
            if key != only:
                continue
            only = None
            stop = True
        else:
            stop = False
        if blocked:
            v = c.db.get(key)
            if xg:
                if v is None or type(v) is not StreamValue:
                    raise CommandError("UNBLOCKED the stream key no longer exists")
            elif v is not None and type(v) is not StreamValue:
                v = None
            s = v
        else:
            s = get_stream(c, key)
        if s is not None and gt != MAX_ID:
            items = None
            if xg:
                g = s.groups.get(spec.group)  # type: ignore[arg-type]
                if g is None:
                    if blocked:
                        raise CommandError("NOGROUP the consumer group this client was blocked on no longer exists")
                elif gt == GT_NEW:
                    if s.length and _last_live(s) > g.last_id:
                        items = _serve_group_new(c, s, g, spec, key, repl)
                else:
                    items = _serve_group_history(c, s, g, spec, key, gt, repl)
            elif s.length and gt < MAX_ID and _last_live(s) > gt:
                items = entries_raw(s.range(gt + 1, MAX_ID, spec.count))
            if items is not None:
                out.append((key, items))
        if stop:
            break
    if repl:
        c.repl = repl
    if not out:
        return None
    if c.resp == 3:
        flat: list = []
        for key, items in out:
            flat.append(key)
            flat.append(items)
        return MapReply(flat)
    return [[key, items] for key, items in out]


def _xread_generic(c, argv, xreadgroup: bool):
    spec = _parse_read(c, argv, xreadgroup)
    r = xread_serve(c, spec)
    if r is not None:
        return r
    if spec.timeout is None or c.multi is not None or c.in_exec or c.in_script:
        return NULL_ARRAY
    return _block(c, spec)


def _block(c, spec: ReadSpec):
    """Block the client until one of its keys can serve it or the timeout elapses."""
    try:
        from pyredis.commands import blocking
    except ImportError:  # pragma: no cover - the machinery is part of the server
        return NULL_ARRAY

    def serve(cl):
        return xread_serve(cl, spec, blocked=True, only=blocking.ready_key())

    # a blocked XREADGROUP must be told when its stream is deleted
    serve.serves_missing = spec.xreadgroup  # type: ignore[attr-defined]
    return blocking.block_for_keys(c, spec.keys, spec.timeout or 0, serve)


@command("xread", -4, "readonly blocking", 0, 0, 0, getkeys=_xread_keys)
def cmd_xread(c, argv):
    return _xread_generic(c, argv, False)


@command("xreadgroup", -7, "write blocking", 0, 0, 0, getkeys=_xread_keys)
def cmd_xreadgroup(c, argv):
    return _xread_generic(c, argv, True)

