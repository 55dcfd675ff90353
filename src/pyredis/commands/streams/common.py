"""Stream command helpers: ID parsing, stream lookups, entry replies, blocking hand-off."""

from __future__ import annotations

from pyredis.commands.args import typed_lookups
from pyredis.commands.errors import CommandError
from pyredis.engine import notify
from pyredis.engine.stream import (
    MAX64,
    MAX_ID,
    StreamValue,
    format_id,
)
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import Raw
from pyredis.server.blocking import signal_key_ready

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




def _signed64(v: int) -> int:
    v &= MAX64
    return v - (1 << 64) if v >> 63 else v


def _now(c) -> int:
    return c.server.keyspace.clock()


#: The stream at a key for a read (hit/miss stats) / a write; None if missing, WRONGTYPE otherwise.
get_stream, get_stream_w = typed_lookups(StreamValue)


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
def _key_ready(c, key: bytes) -> None:
    signal_key_ready(c, key)

