"""Consumer groups: XGROUP subcommands, XSETID, XACK and XPENDING."""

from __future__ import annotations

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command, help_lines, subcommand
from pyredis.commands.streams.common import (
    NO_SUCH_KEY,
    STREAM,
    _key_ready,
    _nogroup,
    _nogroup_xgroup,
    _now,
    _s,
    _signed64,
    get_stream,
    get_stream_w,
    parse_end,
    parse_id,
    parse_start,
    parse_strict_id,
)
from pyredis.commands.streams.read import (
    _last_live,
)
from pyredis.engine.stream import (
    ConsumerGroup,
    StreamValue,
    format_id,
)
from pyredis.protocol.types import NULL_ARRAY, OK

# -- XGROUP ----------------------------------------------------------------------------------------------
_KEY_MUST_EXIST = ("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
                   "to use the MKSTREAM option to create an empty stream automatically.")


def _subcmd_syntax(argv: list[bytes]) -> CommandError:
    return CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try XGROUP HELP."
                        % _s(argv[1]))


def _entries_read_arg(b: bytes) -> int:
    v = get_int(b)
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
            entries_added = get_int(argv[i + 1])
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
            minidle = get_int(argv[4])
            if n < 8:
                raise syntax_error()
            si = 5
        count = get_int(argv[si + 2])
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

