"""Ownership transfer of pending entries: XCLAIM and XAUTOCLAIM."""

from __future__ import annotations

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command
from pyredis.commands.streams.common import (
    STREAM,
    _nogroup,
    _now,
    _s,
    _try_strict_id,
    get_stream,
    parse_start,
    parse_strict_id,
)
from pyredis.commands.streams.read import (
    _setid_repl,
    _xclaim_repl,
)
from pyredis.engine.stream import (
    MAX64,
    ConsumerGroup,
    PendingEntry,
    StreamValue,
    format_id,
)
from pyredis.protocol.numbers import LLONG_MAX, parse_ll


# -- XCLAIM / XAUTOCLAIM -----------------------------------------------------------------------------
def _claim_one(c, s: StreamValue, g: ConsumerGroup, cons, eid: int, p: PendingEntry, when: int) -> None:
    old = p.consumer
    if old is not cons:
        if old is not None:
            old.pel.pop(eid, None)
        cons.pel[eid] = p
        p.consumer = cons
    p.delivery_time = when


def _claim_consumer(c, g: ConsumerGroup, name: bytes, key: bytes):
    now = _now(c)
    cons = g.consumers.get(name)
    if cons is None:
        cons = g.add_consumer(name, now)
        c.notify(STREAM, b"xgroup-createconsumer", key)
        c.server.dirty += 1
    else:
        cons.seen_time = now
    cons.active_time = now
    return cons


def _drop_pending(g: ConsumerGroup, eid: int, p: PendingEntry) -> None:
    del g.pel[eid]
    if p.consumer is not None:
        p.consumer.pel.pop(eid, None)


@command("xclaim", -6, "write fast", 1, 1, 1)
def cmd_xclaim(c, argv):
    key, gname, cname = argv[1], argv[2], argv[3]
    s = get_stream(c, key)
    g = s.groups.get(gname) if s is not None else None
    if g is None:
        raise _nogroup(key, gname)
    minidle = get_int(argv[4], "ERR Invalid min-idle-time argument for XCLAIM")
    if minidle < 0:
        minidle = 0
    n = len(argv)
    ids: list[int] = []
    j = 5
    while j < n:
        v = _try_strict_id(argv[j])
        if v is None:
            break
        ids.append(v)
        j += 1
    now = _now(c)
    when: int | None = None
    retrycount = -1
    force = justid = False
    last_id = 0
    while j < n:
        more = n - 1 - j
        lo = argv[j].lower()
        if lo == b"force":
            force = True
        elif lo == b"justid":
            justid = True
        elif lo == b"idle" and more:
            j += 1
            when = now - get_int(argv[j], "ERR Invalid IDLE option argument for XCLAIM")
        elif lo == b"time" and more:
            j += 1
            when = get_int(argv[j], "ERR Invalid TIME option argument for XCLAIM")
        elif lo == b"retrycount" and more:
            j += 1
            retrycount = get_int(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        elif lo == b"lastid" and more:
            j += 1
            last_id = parse_strict_id(argv[j])
        else:
            raise CommandError("ERR Unrecognized XCLAIM option '%s'" % _s(argv[j]))
        j += 1
    repl: list = []
    prop = bool(c.server.propagators)
    setid = False
    if last_id > g.last_id:
        g.last_id = last_id
        setid = True
    if when is None or when < 0 or when > now:
        when = now
    pel = g.pel
    cons = None
    out: list = []
    for eid in ids:
        p = pel.get(eid)
        fv = s.get(eid)  # type: ignore[union-attr]
        if fv is None:
            if p is not None:
                if prop:
                    repl.append(_xclaim_repl(key, g, eid, p))
                _drop_pending(g, eid, p)
                setid = False
                c.server.dirty += 1
            continue
        if p is None:
            if not force:
                continue
            p = PendingEntry(None, now, 1)
            pel[eid] = p
        if p.consumer is not None and minidle and now - p.delivery_time < minidle:
            continue
        if cons is None:
            cons = _claim_consumer(c, g, cname, key)
        _claim_one(c, s, g, cons, eid, p, when)  # type: ignore[arg-type]
        if retrycount >= 0:
            p.delivery_count = retrycount
        elif not justid:
            p.delivery_count = (p.delivery_count + 1) & MAX64
        out.append(format_id(eid) if justid else [format_id(eid), fv])
        if prop:
            repl.append(_xclaim_repl(key, g, eid, p))
        setid = False
        c.server.dirty += 1
    if setid:
        if prop:
            repl.append(_setid_repl(key, g))
        c.server.dirty += 1
    if repl:
        c.repl = repl
    return out


_AUTOCLAIM_MAX_COUNT = LLONG_MAX // 16
_AUTOCLAIM_ALLOC_LIMIT = 5497558138880


@command("xautoclaim", -6, "write fast", 1, 1, 1)
def cmd_xautoclaim(c, argv):
    key, gname, cname = argv[1], argv[2], argv[3]
    minidle = get_int(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM")
    if minidle < 0:
        minidle = 0
    start = parse_start(argv[5])
    count = 100
    justid = False
    j, n = 6, len(argv)
    while j < n:
        lo = argv[j].lower()
        if lo == b"count" and n - 1 - j:
            v = parse_ll(argv[j + 1])
            if v is None or v < 1 or v > _AUTOCLAIM_MAX_COUNT:
                raise CommandError("ERR COUNT must be > 0")
            count = v
            j += 1
        elif lo == b"justid":
            justid = True
        else:
            raise syntax_error()
        j += 1
    s = get_stream(c, key)
    g = s.groups.get(gname) if s is not None else None
    if g is None:
        raise _nogroup(key, gname)
    if count > _AUTOCLAIM_ALLOC_LIMIT:
        raise CommandError("ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
    attempts = count * 10
    now = _now(c)
    pel = g.pel
    keys = pel.keys()
    cons = None
    claimed: list = []
    deleted: list[bytes] = []
    repl: list = []
    prop = bool(c.server.propagators)
    cur = start
    eof = False
    while attempts and count:
        i = pel.bisect_left(cur)
        if i >= len(keys):
            eof = True
            break
        attempts -= 1
        eid = keys[i]
        cur = eid + 1
        p = pel[eid]
        fv = s.get(eid)  # type: ignore[union-attr]
        if fv is None:
            if prop:
                repl.append(_xclaim_repl(key, g, eid, p))
            _drop_pending(g, eid, p)
            deleted.append(format_id(eid))
            count -= 1
            c.server.dirty += 1
            continue
        if minidle and now - p.delivery_time < minidle:
            continue
        if cons is None:
            cons = _claim_consumer(c, g, cname, key)
        _claim_one(c, s, g, cons, eid, p, now)  # type: ignore[arg-type]
        if not justid:
            p.delivery_count = (p.delivery_count + 1) & MAX64
        claimed.append(format_id(eid) if justid else [format_id(eid), fv])
        count -= 1
        if prop:
            repl.append(_xclaim_repl(key, g, eid, p))
        c.server.dirty += 1
    cursor = 0
    if not eof:
        i = pel.bisect_left(cur)
        if i < len(keys):
            cursor = keys[i]
    if repl:
        c.repl = repl
    return [format_id(cursor), claimed, deleted]

