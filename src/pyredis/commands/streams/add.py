"""XADD, XTRIM (trimming arguments), XDEL, XLEN, XRANGE and XREVRANGE."""

from __future__ import annotations

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, WrongType, syntax_error, wrong_args
from pyredis.commands.registry import command
from pyredis.commands.streams.common import (
    INVALID_ID,
    STREAM,
    _key_ready,
    _must_obey,
    _now,
    _ull,
    entries_raw,
    get_stream,
    get_stream_w,
    parse_end,
    parse_start,
    parse_strict_id,
)
from pyredis.engine.stream import (
    MAX64,
    MAX_ID,
    StreamValue,
    format_id,
)
from pyredis.protocol.types import NULL_ARRAY


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
                v = get_int(argv[i + 1])
                if v < 0:
                    raise CommandError("ERR The MAXLEN argument must be >= 0.")
                a.maxlen = v
            else:
                a.minid = parse_strict_id(argv[i + 1])
            i += 1
            strategy = True
            a.arg_idx = i
        elif lo == b"limit" and more:
            v = get_int(argv[i + 1])
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
            count = get_int(argv[i + 1])
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

