"""Stream commands (t_stream.c): XADD, XRANGE, XREAD, consumer groups, XPENDING, XCLAIM, XINFO...

Replies, errors, keyspace events and propagation follow redis-server 7.0.  XREAD/XREADGROUP
BLOCK go through :mod:`pyredis.commands.blocking`; :func:`xread_serve` is the function that
machinery calls to serve a blocked client once one of its keys is ready.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyredis.commands.errors import NOT_INTEGER, CommandError, WrongType, syntax_error, wrong_args
from pyredis.commands.registry import command, help_lines, subcommand
from pyredis.engine import notify
from pyredis.engine.stream import (
    MAX64,
    MAX_ID,
    ConsumerGroup,
    PendingEntry,
    StreamValue,
    format_id,
)
from pyredis.protocol.numbers import LLONG_MAX, parse_ll
from pyredis.protocol.types import NULL_ARRAY, OK, MapReply, Raw

STREAM = notify.STREAM

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
NO_SUCH_KEY = "ERR no such key"
_WS = b" \t\n\v\f\r"


# -- argument helpers --------------------------------------------------------------------------
def _ull(s: bytes) -> int | None:
    """An unsigned 64-bit ID part, accepted the way Redis's ``string2ull`` accepts it."""
    if s.isdigit():
        v = int(s)
        return v if v <= MAX64 else None
    t = s.lstrip(_WS)
    neg = False
    if t[:1] in (b"+", b"-"):
        neg = t[:1] == b"-"
        t = t[1:]
    if not t.isdigit():
        return None
    v = int(t)
    if v > MAX64:
        return None
    if neg:
        ll = parse_ll(s)
        if ll is not None and ll < 0:
            return None
        v = (-v) & MAX64
    return v


def parse_id(b: bytes, missing_seq: int = 0, strict: bool = False) -> int:
    """Parse ``ms[-seq]`` (``-``/``+`` too unless *strict*); raises the Redis error if invalid."""
    if len(b) > 127:
        raise CommandError(INVALID_ID)
    if not strict:
        if b == b"-":
            return 0
        if b == b"+":
            return MAX_ID
    dash = b.find(b"-")
    if dash < 0:
        ms = _ull(b)
        seq: int | None = missing_seq
    else:
        ms = _ull(b[:dash])
        seq = _ull(b[dash + 1:])
    if ms is None or seq is None:
        raise CommandError(INVALID_ID)
    return (ms << 64) | seq


def parse_strict_id(b: bytes) -> int:
    return parse_id(b, 0, True)


def _try_strict_id(b: bytes) -> int | None:
    try:
        return parse_id(b, 0, True)
    except CommandError:
        return None


def parse_start(b: bytes) -> int:
    """Start of an interval: ``-``, an ID or ``(ID`` (exclusive)."""
    if len(b) > 1 and b[0] == 40:
        v = parse_id(b[1:], 0, True)
        if v == MAX_ID:
            raise CommandError("ERR invalid start ID for the interval")
        return v + 1
    return parse_id(b, 0)


def parse_end(b: bytes) -> int:
    """End of an interval: ``+``, an ID (missing seq = max) or ``(ID`` (exclusive)."""
    if len(b) > 1 and b[0] == 40:
        v = parse_id(b[1:], MAX64, True)
        if v == 0:
            raise CommandError("ERR invalid end ID for the interval")
        return v - 1
    return parse_id(b, MAX64)


def _ll(b: bytes, msg: str = NOT_INTEGER) -> int:
    v = parse_ll(b)
    if v is None:
        raise CommandError(msg)
    return v


def _signed64(v: int) -> int:
    v &= MAX64
    return v - (1 << 64) if v >> 63 else v


def _now(c) -> int:
    return c.server.keyspace.clock()


def get_stream(c, key: bytes) -> StreamValue | None:
    """The stream at *key* for reading (hit/miss stats), None if missing; WRONGTYPE otherwise."""
    v = c.db.lookup_read(key)
    if v is None or type(v) is StreamValue:
        return v
    raise WrongType()


def get_stream_w(c, key: bytes) -> StreamValue | None:
    v = c.db.get(key)
    if v is None or type(v) is StreamValue:
        return v
    raise WrongType()


def entries_reply(items: list[tuple[int, list[bytes]]]) -> list:
    return [[format_id(eid), fv] for eid, fv in items]


def entries_raw(items: list[tuple[int, list[bytes]]]) -> Raw:
    """The array of ``[id, [field, value, ...]]`` entries, pre-encoded (same in RESP2 and RESP3)."""
    parts = [b"*%d\r\n" % len(items)]
    add = parts.append
    for eid, fv in items:
        idb = b"%d-%d" % (eid >> 64, eid & MAX64)
        if len(fv) == 2:
            f, v = fv
            add(b"*2\r\n$%d\r\n%s\r\n*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (len(idb), idb, len(f), f, len(v), v))
            continue
        add(b"*2\r\n$%d\r\n%s\r\n*%d\r\n" % (len(idb), idb, len(fv)))
        for x in fv:
            add(b"$%d\r\n%s\r\n" % (len(x), x))
    return Raw(b"".join(parts))


def _nogroup(key: bytes, group: bytes) -> CommandError:
    return CommandError("NOGROUP No such key '%s' or consumer group '%s'" % (_s(key), _s(group)))


def _nogroup_xgroup(key: bytes, group: bytes) -> CommandError:
    return CommandError("NOGROUP No such consumer group '%s' for key name '%s'" % (_s(group), _s(key)))


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _must_obey(c) -> bool:
    """True for the AOF loader and the master link (their trimming args were already rewritten)."""
    return bool(getattr(c, "must_obey", False)) or c.server.keyspace.loading


# -- blocking integration ----------------------------------------------------------------------
_signal: Callable[[Any, bytes], None] | None = None


def setup(server) -> None:
    global _signal
    try:
        from pyredis.commands import blocking  # type: ignore[attr-defined]
    except ImportError:
        _signal = None
    else:
        _signal = getattr(blocking, "signal_key_ready", None)


def _key_ready(c, key: bytes) -> None:
    if _signal is not None:
        _signal(c, key)
    else:
        db = c.db
        if db.blocked and key in db.blocked:
            c.server.ready_keys.append((db, key))


# -- XADD / XTRIM --------------------------------------------------------------------------------
class TrimArgs:
    """Parsed MAXLEN/MINID/LIMIT (and for XADD: NOMKSTREAM and the ID)."""

    __slots__ = ("maxlen", "minid", "approx", "limit", "arg_idx", "nomkstream", "id", "auto", "seq_auto",
                 "id_idx")

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: int | None = None
        self.approx = False
        self.limit = 0
        self.arg_idx = 0
        self.nomkstream = False
        self.id = 0
        self.auto = True
        self.seq_auto = False
        self.id_idx = 0


def _parse_trim_args(c, argv: list[bytes], xadd: bool) -> TrimArgs:
    a = TrimArgs()
    n = len(argv)
    i = 2
    limit_given = False
    strategy = False
    while i < n:
        more = n - 1 - i
        opt = argv[i]
        if xadd and opt == b"*":
            break
        lo = opt.lower()
        if (lo == b"maxlen" or lo == b"minid") and more:
            if strategy:
                raise CommandError("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            if lo == b"maxlen":
                v = _ll(argv[i + 1])
                if v < 0:
                    raise CommandError("ERR The MAXLEN argument must be >= 0.")
                a.maxlen = v
            else:
                a.minid = parse_strict_id(argv[i + 1])
            i += 1
            strategy = True
            a.arg_idx = i
        elif lo == b"limit" and more:
            v = _ll(argv[i + 1])
            if v < 0:
                raise CommandError("ERR The LIMIT argument must be >= 0.")
            a.limit = v
            limit_given = True
            i += 1
        elif xadd and lo == b"nomkstream":
            a.nomkstream = True
        elif xadd:
            a.id, a.auto, a.seq_auto = _parse_add_id(opt)
            break
        else:
            raise syntax_error()
        i += 1
    a.id_idx = i
    if a.limit and not strategy:
        raise CommandError("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
    if not xadd and not strategy:
        raise CommandError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if _must_obey(c):
        a.limit = 0
    elif limit_given:
        if not a.approx:
            raise CommandError("ERR syntax error, LIMIT cannot be used without the special ~ option")
    elif a.approx:
        lim = 100 * c.server.config.values["stream-node-max-entries"]
        if lim <= 0:
            lim = 10000
        elif lim > 1000000:
            lim = 1000000
        a.limit = lim
    else:
        a.limit = 0
    return a


def _parse_add_id(b: bytes) -> tuple[int, bool, bool]:
    """(id, fully automatic, sequence automatic) of an XADD ID argument."""
    if b == b"*":
        return 0, True, False
    if b.endswith(b"-*") and len(b) <= 127:
        ms = _ull(b[:-2])
        if ms is None or b.find(b"-") != len(b) - 2:
            raise CommandError(INVALID_ID)
        return ms << 64, False, True
    return parse_strict_id(b), False, False


def _trim(s: StreamValue, a: TrimArgs) -> int:
    if a.maxlen is None and a.minid is None:
        return 0
    return s.trim(a.maxlen, a.minid, a.approx, a.limit)


def _rewrite_approx(c, argv: list[bytes], s: StreamValue, a: TrimArgs) -> list[bytes]:
    """Propagate approximate trimming as exact trimming to what was actually kept."""
    out = argv[:]
    out[a.arg_idx - 1] = b"="
    out[a.arg_idx] = b"%d" % s.length if a.maxlen is not None else format_id(s.first_id)
    return out


@command("xadd", -5, "write denyoom fast", 1, 1, 1)
def cmd_xadd(c, argv):
    if argv[2] == b"*":
        return _xadd_auto(c, argv)
    a = _parse_trim_args(c, argv, True)
    fpos = a.id_idx + 1
    nf = len(argv) - fpos
    if nf < 2 or nf & 1:
        raise wrong_args("xadd")
    if not a.auto and not a.seq_auto and a.id == 0:
        raise CommandError("ERR The ID specified in XADD must be greater than 0-0")
    key = argv[1]
    db = c.db
    s = db.get(key)
    if s is None:
        if a.nomkstream:
            return None
        s = StreamValue()
        created = True
    elif type(s) is not StreamValue:
        raise WrongType()
    else:
        created = False
    last = s.last_id
    if last == MAX_ID:
        raise CommandError("ERR The stream has exhausted the last possible ID, unable to add more items")
    if a.auto:
        now = _now(c)
        lms = last >> 64
        if now > lms:
            eid = now << 64
        else:
            eid = last + 1
    elif a.seq_auto:
        ms = a.id >> 64
        lms = last >> 64
        if ms > lms:
            eid = a.id
        elif ms == lms:
            if (last & MAX64) == MAX64:
                raise CommandError("ERR Elements are too large to be stored")
            eid = last + 1
        else:
            raise CommandError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
    else:
        eid = a.id
        if eid <= last:
            raise CommandError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
    if created:
        db.add(key, s)
    vals = c.server.config.values
    s.append(eid, argv[fpos:], vals["stream-node-max-bytes"], vals["stream-node-max-entries"])
    idb = format_id(eid)
    c.changed(key, STREAM, b"xadd")
    repl = None
    if a.maxlen is not None or a.minid is not None:
        if s.trim(a.maxlen, a.minid, a.approx, a.limit):
            c.notify(STREAM, b"xtrim", key)
        if a.approx:
            repl = _rewrite_approx(c, argv, s, a)
    if a.auto or a.seq_auto:
        if repl is None:
            repl = argv[:]
        repl[a.id_idx] = idb
    if repl is not None:
        c.repl = [repl]
    _key_ready(c, key)
    return idb


def _xadd_auto(c, argv):
    """The common ``XADD key * field value ...`` form."""
    n = len(argv)
    if not n & 1:
        raise wrong_args("xadd")
    key = argv[1]
    db = c.db
    s = db.data.get(key)
    if s is None or db.expires and db.get(key) is None:
        s = StreamValue()
        db.add(key, s)
    elif type(s) is not StreamValue:
        raise WrongType()
    last = s.last_id
    if last == MAX_ID:
        raise CommandError("ERR The stream has exhausted the last possible ID, unable to add more items")
    srv = c.server
    now = srv.keyspace.clock()
    eid = now << 64 if now > last >> 64 else last + 1
    vals = srv.config.values
    s.append(eid, argv[3:], vals["stream-node-max-bytes"], vals["stream-node-max-entries"])
    idb = b"%d-%d" % (eid >> 64, eid & MAX64)
    c.changed(key, STREAM, b"xadd")
    if srv.propagators:
        repl = argv[:]
        repl[2] = idb
        c.repl = [repl]
    if db.blocked:
        _key_ready(c, key)
    return idb


@command("xtrim", -4, "write", 1, 1, 1)
def cmd_xtrim(c, argv):
    key = argv[1]
    a = _parse_trim_args(c, argv, False)
    s = get_stream_w(c, key)
    if s is None:
        return 0
    removed = _trim(s, a)
    if removed:
        c.changed(key, STREAM, b"xtrim")
        c.server.dirty += removed - 1
        if a.approx:
            c.repl = [_rewrite_approx(c, argv, s, a)]
    return removed


@command("xdel", -3, "write fast", 1, 1, 1)
def cmd_xdel(c, argv):
    key = argv[1]
    s = get_stream_w(c, key)
    if s is None:
        return 0
    ids = [parse_strict_id(b) for b in argv[2:]]
    n = 0
    for eid in ids:
        if s.delete(eid):
            n += 1
    if n:
        c.changed(key, STREAM, b"xdel")
        c.server.dirty += n - 1
    return n


@command("xlen", 2, "readonly fast", 1, 1, 1)
def cmd_xlen(c, argv):
    s = get_stream(c, argv[1])
    return 0 if s is None else s.length


# -- XRANGE / XREVRANGE ------------------------------------------------------------------------------
def _range(c, argv, rev: bool):
    if rev:
        end = parse_end(argv[2])
        start = parse_start(argv[3])
    else:
        start = parse_start(argv[2])
        end = parse_end(argv[3])
    count = -1
    i, n = 4, len(argv)
    while i < n:
        if argv[i].lower() == b"count" and i + 1 < n:
            count = _ll(argv[i + 1])
            if count < 0:
                count = 0
            i += 2
        else:
            raise syntax_error()
    s = get_stream(c, argv[1])
    if s is None:
        return []
    if count == 0:
        return NULL_ARRAY
    if count < 0:
        count = 0
    items = s.rev_range(start, end, count) if rev else s.range(start, end, count)
    return entries_raw(items)


@command("xrange", -4, "readonly", 1, 1, 1)
def cmd_xrange(c, argv):
    return _range(c, argv, False)


@command("xrevrange", -4, "readonly", 1, 1, 1)
def cmd_xrevrange(c, argv):
    return _range(c, argv, True)


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
            cnt = _ll(argv[i])
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


# -- XGROUP ----------------------------------------------------------------------------------------------
_KEY_MUST_EXIST = ("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
                   "to use the MKSTREAM option to create an empty stream automatically.")


def _subcmd_syntax(argv: list[bytes]) -> CommandError:
    return CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try XGROUP HELP."
                        % _s(argv[1]))


def _entries_read_arg(b: bytes) -> int:
    v = _ll(b)
    if v < 0 and v != -1:
        raise CommandError("ERR value for ENTRIESREAD must be positive or -1")
    return v


def _xgroup_stream(c, key: bytes, allow_missing: bool = False) -> StreamValue | None:
    s = get_stream_w(c, key)
    if s is None and not allow_missing:
        raise CommandError(_KEY_MUST_EXIST)
    return s


def _group_changed(c, key: bytes, event: bytes) -> None:
    """Consumer-group metadata changed: event and dirty, but (like Redis) WATCH is not touched."""
    c.server.dirty += 1
    c.notify(STREAM, event, key)


@subcommand("xgroup", "create", -5, "write denyoom", 2, 2, 1)
def cmd_xgroup_create(c, argv):
    mkstream = False
    entries_read = -1
    n = len(argv)
    if n > 8:
        raise _subcmd_syntax(argv)
    i = 5
    while i < n:
        lo = argv[i].lower()
        if lo == b"mkstream":
            mkstream = True
            i += 1
        elif lo == b"entriesread" and i + 1 < n:
            entries_read = _entries_read_arg(argv[i + 1])
            i += 2
        else:
            raise _subcmd_syntax(argv)
    key, name = argv[2], argv[3]
    s = _xgroup_stream(c, key, mkstream)
    if argv[4] == b"$":
        gid = s.last_id if s is not None else 0
    else:
        gid = parse_strict_id(argv[4])
    if s is None:
        s = StreamValue()
        c.db.add(key, s)
        c.db.signal_modified(key)
    if name in s.groups:
        raise CommandError("BUSYGROUP Consumer Group name already exists")
    s.groups[name] = ConsumerGroup(name, gid, entries_read)
    _group_changed(c, key, b"xgroup-create")
    return OK


@subcommand("xgroup", "setid", -5, "write", 2, 2, 1)
def cmd_xgroup_setid(c, argv):
    n = len(argv)
    entries_read = -1
    if n == 7 and argv[5].lower() == b"entriesread":
        entries_read = _entries_read_arg(argv[6])
    elif n != 5:
        raise _subcmd_syntax(argv)
    key, name = argv[2], argv[3]
    s = _xgroup_stream(c, key)
    g = s.groups.get(name)  # type: ignore[union-attr]
    if g is None:
        raise _nogroup_xgroup(key, name)
    if argv[4] == b"$":
        gid = s.last_id  # type: ignore[union-attr]
    else:
        gid = parse_id(argv[4])
    g.last_id = gid
    g.entries_read = entries_read
    _group_changed(c, key, b"xgroup-setid")
    return OK


@subcommand("xgroup", "destroy", 4, "write", 2, 2, 1)
def cmd_xgroup_destroy(c, argv):
    key, name = argv[2], argv[3]
    s = _xgroup_stream(c, key)
    if s.groups.pop(name, None) is None:  # type: ignore[union-attr]
        return 0
    _group_changed(c, key, b"xgroup-destroy")
    _key_ready(c, key)  # blocked XREADGROUP clients get NOGROUP
    return 1


@subcommand("xgroup", "createconsumer", 5, "write denyoom", 2, 2, 1)
def cmd_xgroup_createconsumer(c, argv):
    key, name, cname = argv[2], argv[3], argv[4]
    s = _xgroup_stream(c, key)
    g = s.groups.get(name)  # type: ignore[union-attr]
    if g is None:
        raise _nogroup_xgroup(key, name)
    if cname in g.consumers:
        return 0
    g.add_consumer(cname, _now(c))
    _group_changed(c, key, b"xgroup-createconsumer")
    return 1


@subcommand("xgroup", "delconsumer", 5, "write", 2, 2, 1)
def cmd_xgroup_delconsumer(c, argv):
    key, name, cname = argv[2], argv[3], argv[4]
    s = _xgroup_stream(c, key)
    g = s.groups.get(name)  # type: ignore[union-attr]
    if g is None:
        raise _nogroup_xgroup(key, name)
    if cname not in g.consumers:
        return 0
    pending = g.delete_consumer(cname)
    _group_changed(c, key, b"xgroup-delconsumer")
    return pending


@subcommand("xgroup", "help", 2, "loading stale")
def cmd_xgroup_help(c, argv):
    return help_lines("xgroup")


# -- XSETID --------------------------------------------------------------------------------------------
@command("xsetid", -3, "write denyoom fast", 1, 1, 1)
def cmd_xsetid(c, argv):
    eid = parse_strict_id(argv[2])
    entries_added = -1
    max_del = 0
    i, n = 3, len(argv)
    while i < n:
        lo = argv[i].lower()
        more = n - 1 - i
        if lo == b"entriesadded" and more:
            entries_added = _ll(argv[i + 1])
            if entries_added < 0:
                raise CommandError("ERR entries_added must be positive")
        elif lo == b"maxdeletedid" and more:
            max_del = parse_strict_id(argv[i + 1])
            if eid < max_del:
                raise CommandError("ERR The ID specified in XSETID is smaller than the provided "
                                   "max_deleted_entry_id")
        else:
            raise syntax_error()
        i += 2
    key = argv[1]
    s = get_stream_w(c, key)
    if s is None:
        raise CommandError(NO_SUCH_KEY)
    if s.length:
        if eid < _last_live(s):
            raise CommandError("ERR The ID specified in XSETID is smaller than the target stream top item")
        if entries_added != -1 and s.length > entries_added:
            raise CommandError("ERR The entries_added specified in XSETID is smaller than the target stream "
                               "length")
    s.last_id = eid
    if entries_added != -1:
        s.entries_added = entries_added
    if max_del:
        s.max_deleted_id = max_del
    _group_changed(c, key, b"xsetid")
    return OK


# -- XACK / XPENDING ---------------------------------------------------------------------------------
@command("xack", -4, "write fast", 1, 1, 1)
def cmd_xack(c, argv):
    s = get_stream(c, argv[1])
    g = s.groups.get(argv[2]) if s is not None else None
    if g is None:
        return 0
    ids = [parse_strict_id(b) for b in argv[3:]]
    n = 0
    pel = g.pel
    for eid in ids:
        p = pel.pop(eid, None)
        if p is not None:
            if p.consumer is not None:
                p.consumer.pel.pop(eid, None)
            n += 1
    c.server.dirty += n
    return n


@command("xpending", -3, "readonly", 1, 1, 1)
def cmd_xpending(c, argv):
    n = len(argv)
    key, gname = argv[1], argv[2]
    if n != 3 and (n < 6 or n > 9):
        raise syntax_error()
    minidle = 0
    consumer_name = None
    start = end = count = 0
    if n >= 6:
        si = 3
        if argv[3].lower() == b"idle":
            minidle = _ll(argv[4])
            if n < 8:
                raise syntax_error()
            si = 5
        count = _ll(argv[si + 2])
        if count < 0:
            count = 0
        start = parse_start(argv[si])
        end = parse_end(argv[si + 1])
        if si + 3 < n:
            consumer_name = argv[si + 3]
    s = get_stream(c, key)
    g = s.groups.get(gname) if s is not None else None
    if g is None:
        raise _nogroup(key, gname)
    pel = g.pel
    if n == 3:
        if not pel:
            return [0, None, None, NULL_ARRAY]
        counts = []
        for name in sorted(g.consumers):
            k = len(g.consumers[name].pel)
            if k:
                counts.append([name, b"%d" % k])
        return [len(pel), format_id(pel.peekitem(0)[0]), format_id(pel.peekitem(-1)[0]), counts]
    if consumer_name is not None:
        cons = g.consumers.get(consumer_name)
        if cons is None:
            return []
        src = cons.pel
    else:
        src = pel
    out: list = []
    if not count or start > end:
        return out
    now = _now(c)
    for eid in src.irange(start, end):
        p = src[eid]
        idle = now - p.delivery_time
        if minidle and idle < minidle:
            continue
        out.append([format_id(eid), p.consumer.name if p.consumer else b"", idle, _signed64(p.delivery_count)])
        if len(out) >= count:
            break
    return out


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
    minidle = _ll(argv[4], "ERR Invalid min-idle-time argument for XCLAIM")
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
            when = now - _ll(argv[j], "ERR Invalid IDLE option argument for XCLAIM")
        elif lo == b"time" and more:
            j += 1
            when = _ll(argv[j], "ERR Invalid TIME option argument for XCLAIM")
        elif lo == b"retrycount" and more:
            j += 1
            retrycount = _ll(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
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
    minidle = _ll(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM")
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


# -- XINFO ---------------------------------------------------------------------------------------------
def _info_syntax(argv: list[bytes]) -> CommandError:
    return CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try XINFO HELP."
                        % _s(argv[1]))


def _entry(e: tuple[int, list[bytes]] | None):
    return None if e is None else [format_id(e[0]), e[1]]


def _group_lag_reply(s: StreamValue, g: ConsumerGroup) -> tuple[Any, Any]:
    er = g.entries_read if g.entries_read != -1 else None
    return er, s.group_lag(g)


@subcommand("xinfo", "stream", -3, "readonly", 2, 2, 1)
def cmd_xinfo_stream(c, argv):
    s = get_stream(c, argv[2])
    if s is None:
        raise CommandError(NO_SUCH_KEY)
    n = len(argv)
    full = False
    count = 10
    if n > 3:
        if n == 4 and argv[3].lower() == b"full":
            full = True
        elif n == 6 and argv[3].lower() == b"full" and argv[4].lower() == b"count":
            full = True
            count = _ll(argv[5])
            if count < 0:
                count = 0
        else:
            raise _info_syntax(argv)
    head = [
        b"length", s.length,
        b"radix-tree-keys", len(s.nodes),
        b"radix-tree-nodes", s.radix_tree_nodes(),
        b"last-generated-id", format_id(s.last_id),
        b"max-deleted-entry-id", format_id(s.max_deleted_id),
        b"entries-added", s.entries_added,
        b"recorded-first-entry-id", format_id(s.first_id),
    ]
    if not full:
        head += [b"groups", len(s.groups), b"first-entry", _entry(s.first_entry()),
                 b"last-entry", _entry(s.last_entry())]
        return MapReply(head)
    head += [b"entries", entries_reply(s.range(0, MAX_ID, count))]
    groups = []
    now = _now(c)
    del now
    for name in sorted(s.groups):
        g = s.groups[name]
        er, lag = _group_lag_reply(s, g)
        pending = []
        for eid, p in g.pel.items():
            if count and len(pending) >= count:
                break
            pending.append([format_id(eid), p.consumer.name if p.consumer else b"", p.delivery_time,
                            _signed64(p.delivery_count)])
        consumers = []
        for cname in sorted(g.consumers):
            cons = g.consumers[cname]
            cp = []
            for eid, p in cons.pel.items():
                if count and len(cp) >= count:
                    break
                cp.append([format_id(eid), p.delivery_time, _signed64(p.delivery_count)])
            consumers.append(MapReply([b"name", cname, b"seen-time", cons.seen_time, b"pel-count", len(cons.pel),
                                       b"pending", cp]))
        groups.append(MapReply([b"name", name, b"last-delivered-id", format_id(g.last_id), b"entries-read", er,
                                b"lag", lag, b"pel-count", len(g.pel), b"pending", pending,
                                b"consumers", consumers]))
    head += [b"groups", groups]
    return MapReply(head)


@subcommand("xinfo", "groups", 3, "readonly", 2, 2, 1)
def cmd_xinfo_groups(c, argv):
    s = get_stream(c, argv[2])
    if s is None:
        raise CommandError(NO_SUCH_KEY)
    out = []
    for name in sorted(s.groups):
        g = s.groups[name]
        er, lag = _group_lag_reply(s, g)
        out.append(MapReply([b"name", name, b"consumers", len(g.consumers), b"pending", len(g.pel),
                             b"last-delivered-id", format_id(g.last_id), b"entries-read", er, b"lag", lag]))
    return out


@subcommand("xinfo", "consumers", 4, "readonly", 2, 2, 1)
def cmd_xinfo_consumers(c, argv):
    key, gname = argv[2], argv[3]
    s = get_stream(c, key)
    if s is None:
        raise CommandError(NO_SUCH_KEY)
    g = s.groups.get(gname)
    if g is None:
        raise _nogroup_xgroup(key, gname)
    now = _now(c)
    out = []
    for name in sorted(g.consumers):
        cons = g.consumers[name]
        out.append(MapReply([b"name", name, b"pending", len(cons.pel), b"idle", now - cons.seen_time]))
    return out


@subcommand("xinfo", "help", 2, "loading stale")
def cmd_xinfo_help(c, argv):
    return help_lines("xinfo")
