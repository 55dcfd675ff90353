"""XINFO STREAM / GROUPS / CONSUMERS / HELP."""

from __future__ import annotations

from typing import Any

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError
from pyredis.commands.registry import help_lines, subcommand
from pyredis.commands.streams.common import (
    NO_SUCH_KEY,
    _nogroup_xgroup,
    _now,
    _s,
    _signed64,
    entries_reply,
    get_stream,
)
from pyredis.engine.stream import (
    MAX_ID,
    ConsumerGroup,
    StreamValue,
    format_id,
)
from pyredis.protocol.types import MapReply


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
            count = get_int(argv[5])
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
