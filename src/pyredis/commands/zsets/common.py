"""Sorted set helpers: lookups, score/integer arguments, reply encoding, ZSTORE-style storing."""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from sortedcontainers import SortedList

from pyredis.commands.args import typed_lookups
from pyredis.commands.errors import NOT_FLOAT, NOT_INTEGER, CommandError
from pyredis.engine import notify
from pyredis.engine.zset import (
    ZSetValue,
    parse_score,
)
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import Raw

ZSET = notify.ZSET
GENERIC = notify.GENERIC
LONG_MAX = (1 << 63) - 1

ERR_RANGE_FLOAT = "ERR min or max is not a float"
ERR_RANGE_LEX = "ERR min or max not valid string range item"
ERR_POSITIVE = "ERR value is out of range, must be positive"
ERR_NAN = "ERR resulting score is not a number (NaN)"

_ready_fn: Any = None


def key_ready(c, key: bytes) -> None:
    """Tell the blocking machinery (if loaded) that *key* may serve blocked clients."""
    global _ready_fn
    if _ready_fn is None:
        try:
            from pyredis.commands.blocking import signal_key_ready  # type: ignore[attr-defined]
        except ImportError:
            signal_key_ready = False  # type: ignore[assignment]
        _ready_fn = signal_key_ready
    if _ready_fn:
        _ready_fn(c, key)


def _limits(c) -> tuple[int, int]:
    v = c.server.config.values
    return v["zset-max-listpack-entries"], v["zset-max-listpack-value"]


#: The sorted set at a key for a read (hit/miss stats) / a write; None if missing, WRONGTYPE otherwise.
get_zset_read, get_zset_write = typed_lookups(ZSetValue)


def _score_arg(b: bytes) -> float:
    v = parse_score(b)
    if v is None:
        raise CommandError(NOT_FLOAT)
    return v


def _int_arg(b: bytes) -> int:
    v = parse_ll(b)
    if v is None:
        raise CommandError(NOT_INTEGER)
    return v


def _removed(c, key: bytes, zs: ZSetValue, event: bytes, n: int) -> None:
    """Account for *n* removed members: event, dirty, and deletion of an emptied key."""
    c.changed(key, ZSET, event)
    c.server.dirty += n - 1
    if not zs.d:
        c.db.delete(key)
        c.notify(GENERIC, b"del", key)


def store_zset(c, dst: bytes, pairs: Iterable[tuple[bytes, float]], event: bytes) -> int:
    """Replace *dst* by a sorted set of ``(member, score)`` pairs (or delete it when empty)."""
    entries, value = _limits(c)
    zs = ZSetValue.from_pairs(pairs, entries, value)
    n = len(zs)
    db = c.db
    if n:
        db.set(dst, zs)
        c.changed(dst, ZSET, event)
        key_ready(c, dst)
    elif db.delete(dst):
        c.changed(dst, GENERIC, b"del")
    return n


_FMT_CACHE: dict[float, bytes] = {}


def fmt_score(s: float) -> bytes:
    """``%.17g`` of a score (cached: formatting doubles is the costly part of range replies)."""
    r = _FMT_CACHE.get(s)
    if r is None:
        r = b"%.17g" % s
        if s == 0.0:  # 0.0 and -0.0 are equal keys but format differently
            return r
        if len(_FMT_CACHE) >= 65536:
            _FMT_CACHE.clear()
        _FMT_CACHE[s] = r
    return r


_BULK_HDR = [b"$%d" % i for i in range(256)]


def _with_scores(c, items: list[tuple[float, bytes]]) -> Raw:
    """Reply for ``(score, member)`` items WITHSCORES: flat in RESP2, pairs in RESP3 (pre-encoded)."""
    fmt = fmt_score
    hdr = _BULK_HDR
    if c.resp == 2:
        parts = [b"*%d" % (2 * len(items))]
        ap = parts.append
        for s, m in items:
            f = fmt(s)
            n = len(m)
            ap(hdr[n] if n < 256 else b"$%d" % n)
            ap(m)
            ap(hdr[len(f)])
            ap(f)
    else:
        parts = [b"*%d" % len(items)]
        ap = parts.append
        for s, m in items:
            n = len(m)
            ap(b"*2")
            ap(hdr[n] if n < 256 else b"$%d" % n)
            ap(m)
            ap(b"," + fmt(s))
    parts.append(b"")
    return Raw(b"\r\n".join(parts))


_second = itemgetter(1)


def _members(items: list[tuple[float, bytes]]) -> Raw:
    """Reply listing the members of ``(score, member)`` items (pre-encoded)."""
    return member_array(list(map(_second, items)))


def rank_reply(c, zs: ZSetValue, start: int, stop: int, rev: bool, withscores: bool) -> Raw:
    """Reply listing the ranks ``[start, stop)`` of *zs* (highest first when *rev*), WITHSCORES as
    :func:`_with_scores`. The accelerator's ScoreList encodes it in one pass (``encode_range``, the
    same bytes: tests/test_scorelist.py compares them)."""
    sl = zs.sl
    if type(sl) is not SortedList:
        return Raw(sl.encode_range(start, stop, rev, c.resp if withscores else 0))
    items = zs.entries(start, stop, rev)
    return _with_scores(c, items) if withscores else _members(items)


def member_array(members: list[bytes]) -> Raw:
    """Reply listing *members* (pre-encoded)."""
    hdr = _BULK_HDR
    parts = [b"*%d" % len(members)]
    ap = parts.append
    for m in members:
        n = len(m)
        ap(hdr[n] if n < 256 else b"$%d" % n)
        ap(m)
    parts.append(b"")
    return Raw(b"\r\n".join(parts))


