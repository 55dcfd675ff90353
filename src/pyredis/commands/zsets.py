"""Sorted set commands (t_zset.c): ZADD, ranges, pops, set operations, ZRANDMEMBER, ZSCAN.

Reusable by other families: :func:`get_zset_read`/:func:`get_zset_write`, :func:`zset_pop`
(the non-blocking pop behind ZPOPMIN/ZPOPMAX/ZMPOP, used by BZPOP*), :func:`parse_mpop_args`,
:func:`pop_reply_items`, :func:`store_zset`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from sortedcontainers import SortedList

from pyredis.commands.errors import NOT_FLOAT, NOT_INTEGER, CommandError, WrongType, syntax_error
from pyredis.commands.keys import parse_cursor, parse_scan_options, scan_page
from pyredis.commands.registry import command
from pyredis.engine import notify
from pyredis.engine.glob import compile_glob
from pyredis.engine.zset import (
    LexRange,
    ScoreRange,
    ZSetValue,
    format_listpack_score,
    parse_lex_range,
    parse_score,
    parse_score_range,
)
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import NULL_ARRAY, Double, Raw

ZSET = notify.ZSET
GENERIC = notify.GENERIC
LONG_MAX = (1 << 63) - 1

ERR_RANGE_FLOAT = "ERR min or max is not a float"
ERR_RANGE_LEX = "ERR min or max not valid string range item"
ERR_POSITIVE = "ERR value is out of range, must be positive"
ERR_NAN = "ERR resulting score is not a number (NaN)"

_ready_fn: Any = None


def _key_ready(c, key: bytes) -> None:
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


def get_zset_read(c, key: bytes) -> ZSetValue | None:
    """The sorted set at *key* for a read (hit/miss stats), None if missing; WRONGTYPE otherwise."""
    v = c.db.lookup_read(key)
    if v is None or type(v) is ZSetValue:
        return v
    raise WrongType()


def get_zset_write(c, key: bytes) -> ZSetValue | None:
    """The sorted set at *key* for a write, None if missing; WRONGTYPE otherwise."""
    v = c.db.get(key)
    if v is None or type(v) is ZSetValue:
        return v
    raise WrongType()


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
        _key_ready(c, dst)
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


def _members(items: list[tuple[float, bytes]]) -> Raw:
    """Reply listing the members of ``(score, member)`` items (pre-encoded)."""
    hdr = _BULK_HDR
    parts = [b"*%d" % len(items)]
    ap = parts.append
    for _, m in items:
        n = len(m)
        ap(hdr[n] if n < 256 else b"$%d" % n)
        ap(m)
    parts.append(b"")
    return Raw(b"\r\n".join(parts))


# -- ZADD / ZINCRBY -----------------------------------------------------------------------------------
def zadd_generic(c, argv: list[bytes], incr: bool, parsed: list[float] | None = None):
    """ZADD/ZINCRBY; *parsed* optionally gives the already parsed scores (GEOADD)."""
    key = argv[1]
    nx = xx = gt = lt = ch = False
    i = 2
    n = len(argv)
    while i < n:
        o = argv[i].lower()
        if o == b"nx":
            nx = True
        elif o == b"xx":
            xx = True
        elif o == b"ch":
            ch = True
        elif o == b"incr":
            incr = True
        elif o == b"gt":
            gt = True
        elif o == b"lt":
            lt = True
        else:
            break
        i += 1
    elements = n - i
    if not elements or elements % 2:
        raise syntax_error()
    elements //= 2
    if nx and xx:
        raise CommandError("ERR XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError("ERR GT, LT, and/or NX options at the same time are not compatible")
    if incr and elements > 1:
        raise CommandError("ERR INCR option supports a single increment-element pair")
    scores = parsed if parsed is not None else [_score_arg(argv[i + 2 * j]) for j in range(elements)]
    db = c.db
    zs = db.get(key)
    if zs is None:
        if xx:
            return None if incr else 0
        zs = ZSetValue()
        db.add(key, zs)
        _key_ready(c, key)
        if elements > 8 and not (nx or gt or lt or incr):
            added, updated = _bulk_fill(c, zs, argv, i, scores)
            c.changed(key, ZSET, b"zadd")
            c.server.dirty += added + updated - 1
            return added + updated if ch else added
    elif type(zs) is not ZSetValue:
        raise WrongType()
    entries, maxval = _limits(c)
    d = zs.d
    added = updated = processed = 0
    newscore = 0.0
    for j in range(elements):
        s = scores[j]
        m = argv[i + 2 * j + 1]
        cur = d.get(m)
        if cur is not None:
            if nx:
                continue
            if incr:
                s = cur + s
                if s != s:
                    if added or updated:
                        c.changed(key, ZSET, b"zincr")
                    raise CommandError(ERR_NAN)
            if (lt and s >= cur) or (gt and s <= cur):
                continue
            newscore = s
            processed += 1
            if s != cur:
                zs.update(m, cur, s)
                updated += 1
        else:
            if xx:
                continue
            zs.insert(m, s, entries, maxval)
            newscore = s
            added += 1
            processed += 1
    if added or updated:
        c.changed(key, ZSET, b"zincr" if incr else b"zadd")
        c.server.dirty += added + updated - 1
    if incr:
        return Double(newscore) if processed else None
    return added + updated if ch else added


def _bulk_fill(c, zs: ZSetValue, argv: list[bytes], i: int, scores: list[float]) -> tuple[int, int]:
    """Plain ZADD of many pairs into a new, empty set: same result as one insert at a time."""
    entries, maxval = _limits(c)
    d: dict[bytes, float] = {}
    big = False
    updated = 0
    for j, s in enumerate(scores):
        m = argv[i + 2 * j + 1]
        cur = d.get(m)
        if cur is None:
            if not big:
                if len(d) >= entries or len(m) > maxval:
                    big = True
                elif s == 0.0:
                    s = 0.0
            d[m] = s
        elif s != cur:
            if not big and s == 0.0:
                s = 0.0
            d[m] = s
            updated += 1
    zs.d = d
    zs.big = big
    zs.sl = SortedList([(s, m) for m, s in d.items()])
    return len(d), updated


@command("zadd", -4, "write denyoom fast", 1, 1, 1)
def cmd_zadd(c, argv):
    if len(argv) == 4:
        s = parse_score(argv[2])
        if s is not None:
            key = argv[1]
            db = c.db
            zs = db.get(key)
            if zs is None:
                zs = ZSetValue()
                db.add(key, zs)
                _key_ready(c, key)
            elif type(zs) is not ZSetValue:
                raise WrongType()
            m = argv[3]
            cur = zs.d.get(m)
            if cur is None:
                v = c.server.config.values
                zs.insert(m, s, v["zset-max-listpack-entries"], v["zset-max-listpack-value"])
                c.changed(key, ZSET, b"zadd")
                return 1
            if s != cur:
                zs.update(m, cur, s)
                c.changed(key, ZSET, b"zadd")
            return 0
    return zadd_generic(c, argv, False)


@command("zincrby", 4, "write denyoom fast", 1, 1, 1)
def cmd_zincrby(c, argv):
    return zadd_generic(c, argv, True)


# -- simple reads -----------------------------------------------------------------------------------
@command("zcard", 2, "readonly fast", 1, 1, 1)
def cmd_zcard(c, argv):
    zs = get_zset_read(c, argv[1])
    return 0 if zs is None else len(zs.d)


@command("zscore", 3, "readonly fast", 1, 1, 1)
def cmd_zscore(c, argv):
    zs = get_zset_read(c, argv[1])
    if zs is None:
        return None
    s = zs.d.get(argv[2])
    return None if s is None else Double(s)


@command("zmscore", -3, "readonly fast", 1, 1, 1)
def cmd_zmscore(c, argv):
    zs = get_zset_read(c, argv[1])
    if zs is None:
        return [None] * (len(argv) - 2)
    get = zs.d.get
    out = []
    for m in argv[2:]:
        s = get(m)
        out.append(None if s is None else Double(s))
    return out


def _zrank(c, argv, rev: bool):
    zs = get_zset_read(c, argv[1])
    if zs is None:
        return None
    r = zs.rank(argv[2])
    if r is None:
        return None
    return len(zs.d) - 1 - r if rev else r


@command("zrank", 3, "readonly fast", 1, 1, 1)
def cmd_zrank(c, argv):
    return _zrank(c, argv, False)


@command("zrevrank", 3, "readonly fast", 1, 1, 1)
def cmd_zrevrank(c, argv):
    return _zrank(c, argv, True)


def _parse_range(bmin: bytes, bmax: bytes) -> ScoreRange:
    r = parse_score_range(bmin, bmax)
    if r is None:
        raise CommandError(ERR_RANGE_FLOAT)
    return r


def _parse_lex(bmin: bytes, bmax: bytes) -> LexRange:
    r = parse_lex_range(bmin, bmax)
    if r is None:
        raise CommandError(ERR_RANGE_LEX)
    return r


@command("zcount", 4, "readonly fast", 1, 1, 1)
def cmd_zcount(c, argv):
    r = _parse_range(argv[2], argv[3])
    zs = get_zset_read(c, argv[1])
    if zs is None:
        return 0
    lo, hi = zs.score_bounds(r)
    return hi - lo


@command("zlexcount", 4, "readonly fast", 1, 1, 1)
def cmd_zlexcount(c, argv):
    r = _parse_lex(argv[2], argv[3])
    zs = get_zset_read(c, argv[1])
    if zs is None:
        return 0
    lo, hi = zs.lex_bounds(r)
    return hi - lo


# -- ZREM / ZREMRANGEBY* ------------------------------------------------------------------------------
@command("zrem", -3, "write fast", 1, 1, 1)
def cmd_zrem(c, argv):
    key = argv[1]
    zs = get_zset_write(c, key)
    if zs is None:
        return 0
    n = 0
    remove = zs.remove
    for m in argv[2:]:
        if remove(m):
            n += 1
            if not zs.d:
                break
    if n:
        _removed(c, key, zs, b"zrem", n)
    return n


def _zremrange(c, argv, kind: str):
    key = argv[1]
    if kind == "rank":
        start = _int_arg(argv[2])
        end = _int_arg(argv[3])
    elif kind == "score":
        sr = _parse_range(argv[2], argv[3])
    else:
        lr = _parse_lex(argv[2], argv[3])
    zs = get_zset_write(c, key)
    if zs is None:
        return 0
    llen = len(zs.d)
    if kind == "rank":
        if start < 0:
            start += llen
        if end < 0:
            end += llen
        if start < 0:
            start = 0
        if start > end or start >= llen:
            return 0
        if end >= llen:
            end = llen - 1
        lo, hi = start, end + 1
        event = b"zremrangebyrank"
    elif kind == "score":
        lo, hi = zs.score_bounds(sr)
        event = b"zremrangebyscore"
    else:
        lo, hi = zs.lex_bounds(lr)
        event = b"zremrangebylex"
    if hi <= lo:
        return 0
    zs.delete_slice(lo, hi)
    _removed(c, key, zs, event, hi - lo)
    return hi - lo


@command("zremrangebyrank", 4, "write", 1, 1, 1)
def cmd_zremrangebyrank(c, argv):
    return _zremrange(c, argv, "rank")


@command("zremrangebyscore", 4, "write", 1, 1, 1)
def cmd_zremrangebyscore(c, argv):
    return _zremrange(c, argv, "score")


@command("zremrangebylex", 4, "write", 1, 1, 1)
def cmd_zremrangebylex(c, argv):
    return _zremrange(c, argv, "lex")


# -- ZRANGE family --------------------------------------------------------------------------------------
RANK, SCORE, LEX = 1, 2, 3


def _slice_range(zs: ZSetValue, lo: int, hi: int, rev: bool, offset: int, limit: int):
    """Items of ranks ``[lo, hi)`` (reversed if *rev*) after LIMIT offset/count."""
    if offset < 0 or (offset > 0 and offset >= len(zs.d)):
        return []
    if rev:
        top = hi - offset
        bottom = lo if limit < 0 else max(lo, top - limit)
        if top <= bottom:
            return []
        return zs.sl[bottom:top][::-1]
    start = lo + offset
    stop = hi if limit < 0 else min(hi, start + limit)
    if stop <= start:
        return []
    return zs.sl[start:stop]


def zrange_generic(c, argv: list[bytes], src_idx: int, dst: bytes | None, rangetype: int | None,
                   rev: bool | None):
    """ZRANGE and its variants: argv[src_idx] is the source, then min and max, then options."""
    withscores = False
    offset, limit = 0, -1
    n = len(argv)
    j = src_idx + 3
    while j < n:
        o = argv[j].lower()
        left = n - j - 1
        if dst is None and o == b"withscores":
            withscores = True
        elif o == b"limit" and left >= 2:
            offset = _int_arg(argv[j + 1])
            limit = _int_arg(argv[j + 2])
            j += 2
        elif rev is None and o == b"rev":
            rev = True
        elif rangetype is None and o == b"bylex":
            rangetype = LEX
        elif rangetype is None and o == b"byscore":
            rangetype = SCORE
        else:
            raise syntax_error()
        j += 1
    if rev is None:
        rev = False
    if rangetype is None:
        rangetype = RANK
    if limit != -1 and rangetype == RANK:
        raise CommandError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    if withscores and rangetype == LEX:
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    bmin, bmax = argv[src_idx + 1], argv[src_idx + 2]
    if rev and rangetype != RANK:
        bmin, bmax = bmax, bmin
    if rangetype == RANK:
        start = _int_arg(bmin)
        end = _int_arg(bmax)
    elif rangetype == SCORE:
        sr = _parse_range(bmin, bmax)
    else:
        lr = _parse_lex(bmin, bmax)
    zs = get_zset_read(c, argv[src_idx])
    items: list[tuple[float, bytes]]
    if zs is None:
        items = []
    elif rangetype == RANK:
        llen = len(zs.d)
        if start < 0:
            start += llen
        if end < 0:
            end += llen
        if start < 0:
            start = 0
        if start > end or start >= llen:
            items = []
        else:
            if end >= llen:
                end = llen - 1
            items = zs.sl[start:end + 1] if not rev else zs.sl[llen - 1 - end:llen - start][::-1]
    elif rangetype == SCORE:
        lo, hi = zs.score_bounds(sr)
        items = _slice_range(zs, lo, hi, rev, offset, limit)
    else:
        lo, hi = zs.rev_lex_bounds(lr) if rev else zs.lex_bounds(lr)
        items = _slice_range(zs, lo, hi, rev, offset, limit)
    if dst is not None:
        return store_zset(c, dst, ((m, s) for s, m in items), b"zrangestore")
    if withscores:
        return _with_scores(c, items)
    return _members(items)


@command("zrange", -4, "readonly", 1, 1, 1)
def cmd_zrange(c, argv):
    return zrange_generic(c, argv, 1, None, None, None)


@command("zrangestore", -5, "write denyoom", 1, 2, 1)
def cmd_zrangestore(c, argv):
    return zrange_generic(c, argv, 2, argv[1], None, None)


@command("zrevrange", -4, "readonly", 1, 1, 1)
def cmd_zrevrange(c, argv):
    return zrange_generic(c, argv, 1, None, RANK, True)


@command("zrangebyscore", -4, "readonly", 1, 1, 1)
def cmd_zrangebyscore(c, argv):
    return zrange_generic(c, argv, 1, None, SCORE, False)


@command("zrevrangebyscore", -4, "readonly", 1, 1, 1)
def cmd_zrevrangebyscore(c, argv):
    return zrange_generic(c, argv, 1, None, SCORE, True)


@command("zrangebylex", -4, "readonly", 1, 1, 1)
def cmd_zrangebylex(c, argv):
    return zrange_generic(c, argv, 1, None, LEX, False)


@command("zrevrangebylex", -4, "readonly", 1, 1, 1)
def cmd_zrevrangebylex(c, argv):
    return zrange_generic(c, argv, 1, None, LEX, True)


# -- pops ---------------------------------------------------------------------------------------------
def zset_pop(c, key: bytes, zs: ZSetValue, maximum: bool, count: int) -> list[tuple[bytes, float]]:
    """Pop up to *count* (>= 1) members from the sorted set *zs* stored at *key*.

    Emits ``zpopmin``/``zpopmax`` (and ``del`` when the key empties) and returns the popped
    ``(member, score)`` pairs in pop order.
    """
    llen = len(zs.d)
    k = min(count, llen)
    if maximum:
        items = zs.delete_slice(llen - k, llen)
        items.reverse()
    else:
        items = zs.delete_slice(0, k)
    _removed(c, key, zs, b"zpopmax" if maximum else b"zpopmin", k)
    return [(m, s) for s, m in items]


def pop_reply_items(c, items: list[tuple[bytes, float]], nested: bool) -> list:
    """Popped pairs as a reply: ``[[m, s], ...]`` when *nested*, else flat ``[m, s, ...]``."""
    if nested:
        return [[m, Double(s)] for m, s in items]
    out: list = []
    for m, s in items:
        out.append(m)
        out.append(Double(s))
    return out


def _zpop(c, argv, maximum: bool):
    if len(argv) > 3:
        raise syntax_error()
    count = -1
    if len(argv) == 3:
        count = parse_ll(argv[2])
        if count is None or count < 0:
            raise CommandError(ERR_POSITIVE)
    key = argv[1]
    zs = get_zset_write(c, key)
    if zs is None or count == 0:
        return []
    items = zset_pop(c, key, zs, maximum, 1 if count == -1 else count)
    return pop_reply_items(c, items, count != -1 and c.resp == 3)


@command("zpopmin", -2, "write fast", 1, 1, 1)
def cmd_zpopmin(c, argv):
    return _zpop(c, argv, False)


@command("zpopmax", -2, "write fast", 1, 1, 1)
def cmd_zpopmax(c, argv):
    return _zpop(c, argv, True)


def parse_mpop_args(argv: list[bytes], numkeys_idx: int) -> tuple[list[bytes], bool, int]:
    """Parse ``numkeys key... MIN|MAX [COUNT n]`` (ZMPOP/BZMPOP); returns (keys, is_max, count)."""
    numkeys = parse_ll(argv[numkeys_idx])
    if numkeys is None or numkeys < 1:
        raise CommandError("ERR numkeys should be greater than 0")
    where_idx = numkeys_idx + numkeys + 1
    n = len(argv)
    if where_idx >= n:
        raise syntax_error()
    w = argv[where_idx].lower()
    if w == b"min":
        maximum = False
    elif w == b"max":
        maximum = True
    else:
        raise syntax_error()
    count = -1
    j = where_idx + 1
    while j < n:
        if count == -1 and argv[j].lower() == b"count" and j < n - 1:
            j += 1
            count = parse_ll(argv[j])
            if count is None or count < 1:
                raise CommandError("ERR count should be greater than 0")
        else:
            raise syntax_error()
        j += 1
    return argv[numkeys_idx + 1:where_idx], maximum, 1 if count == -1 else count


def mpop_keys(argv: list[bytes], numkeys_idx: int) -> list[int]:
    """Key positions of ZMPOP/BZMPOP-style commands (COMMAND GETKEYS)."""
    n = parse_ll(argv[numkeys_idx]) if len(argv) > numkeys_idx else None
    if n is None or n < 1 or numkeys_idx + n >= len(argv):
        return []
    return list(range(numkeys_idx + 1, numkeys_idx + 1 + n))


@command("zmpop", -4, "write movablekeys", 0, 0, 0, getkeys=lambda argv: mpop_keys(argv, 1))
def cmd_zmpop(c, argv):
    keys, maximum, count = parse_mpop_args(argv, 1)
    for key in keys:
        zs = get_zset_write(c, key)
        if zs is None:
            continue
        items = zset_pop(c, key, zs, maximum, count)
        c.repl = [[b"ZPOPMAX" if maximum else b"ZPOPMIN", key, b"%d" % len(items)]]
        return [key, pop_reply_items(c, items, True)]
    return NULL_ARRAY


# -- ZRANDMEMBER ----------------------------------------------------------------------------------------
@command("zrandmember", -2, "readonly", 1, 1, 1)
def cmd_zrandmember(c, argv):
    if len(argv) >= 3:
        count = parse_ll(argv[2])
        if count is None:
            raise CommandError(NOT_INTEGER)
        if count < -LONG_MAX:
            raise CommandError("ERR value is out of range, value must between -9223372036854775807 and "
                               "9223372036854775807")
        withscores = False
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
            raise syntax_error()
        if len(argv) == 4:
            withscores = True
            if count < -(LONG_MAX // 2) or count > LONG_MAX // 2:
                raise CommandError("ERR value is out of range")
        return _zrandmember_count(c, argv[1], count, withscores)
    zs = get_zset_read(c, argv[1])
    if zs is None:
        return None
    return zs.sl[random.randrange(len(zs.sl))][1]


def _zrandmember_count(c, key: bytes, count: int, withscores: bool):
    zs = get_zset_read(c, key)
    if zs is None or count == 0:
        return []
    sl = zs.sl
    size = len(sl)
    if count < 0 or count == 1:
        k = -count if count < 0 else 1
        rr = random.randrange
        items = [sl[rr(size)] for _ in range(k)]
    elif count >= size:
        items = list(sl.islice(reverse=True))
    else:
        items = [sl[i] for i in random.sample(range(size), count)]
    if withscores:
        return _with_scores(c, items)
    return _members(items)


# -- ZUNION / ZINTER / ZDIFF ------------------------------------------------------------------------------
UNION, INTER, DIFF = 1, 2, 3


def _source(v: Any) -> dict[bytes, float] | None:
    """The member -> score mapping of a ZUNION-family input (sets count with score 1)."""
    if type(v) is ZSetValue:
        return v.d
    if getattr(v, "TYPE_NAME", None) == b"set":
        members = v if isinstance(v, (set, frozenset, dict)) else list(v)
        return dict.fromkeys(members, 1.0)
    return None


def _nan0(x: float) -> float:
    return 0.0 if x != x else x


def _aggregate(agg: int, target: float, val: float) -> float:
    if agg == 0:
        t = target + val
        return 0.0 if t != t else t
    if agg == 1:
        return val if val < target else target
    return val if val > target else target


def numkeys_keys(argv: list[bytes], numkeys_idx: int, extra: tuple[int, ...] = ()) -> list[int]:
    """Key positions of ``numkeys key...`` commands, plus *extra* fixed positions."""
    n = parse_ll(argv[numkeys_idx]) if len(argv) > numkeys_idx else None
    if n is None or n < 1 or numkeys_idx + n >= len(argv):
        return list(extra)
    return list(extra) + list(range(numkeys_idx + 1, numkeys_idx + 1 + n))


def _zsetop(c, argv: list[bytes], dst: bytes | None, numkeys_idx: int, op: int, card_only: bool = False):
    setnum = _int_arg(argv[numkeys_idx])
    if setnum < 1:
        raise CommandError(f"ERR at least 1 input key is needed for '{c.cmd.fullname if c.cmd else ''}' command")
    n = len(argv)
    if setnum > n - (numkeys_idx + 1):
        raise syntax_error()
    srcs: list[dict[bytes, float] | None] = []
    lookup = c.db.lookup_read
    j = numkeys_idx + 1
    for _ in range(setnum):
        v = lookup(argv[j])
        if v is None:
            srcs.append(None)
        else:
            s = _source(v)
            if s is None:
                raise WrongType()
            srcs.append(s)
        j += 1
    weights = [1.0] * setnum
    agg = 0
    withscores = False
    limit = 0
    while j < n:
        o = argv[j].lower()
        remaining = n - j
        if op != DIFF and not card_only and remaining >= setnum + 1 and o == b"weights":
            j += 1
            for i in range(setnum):
                w = parse_score(argv[j])
                if w is None:
                    raise CommandError("ERR weight value is not a float")
                weights[i] = w
                j += 1
        elif op != DIFF and not card_only and remaining >= 2 and o == b"aggregate":
            a = argv[j + 1].lower()
            if a == b"sum":
                agg = 0
            elif a == b"min":
                agg = 1
            elif a == b"max":
                agg = 2
            else:
                raise syntax_error()
            j += 2
        elif remaining >= 1 and dst is None and not card_only and o == b"withscores":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and o == b"limit":
            lim = parse_ll(argv[j + 1])
            if lim is None or lim < 0:
                raise CommandError("ERR LIMIT can't be negative")
            limit = lim
            j += 2
        else:
            raise syntax_error()
    empty: dict[bytes, float] = {}
    pairs = [(s if s is not None else empty, w) for s, w in zip(srcs, weights, strict=True)]
    result: dict[bytes, float] = {}
    if op == UNION:
        pairs.sort(key=lambda p: len(p[0]))
        for src, w in pairs:
            for m, sc in src.items():
                sc = _nan0(w * sc)
                cur = result.get(m)
                if cur is None:
                    result[m] = sc
                else:
                    result[m] = _aggregate(agg, cur, sc)
    elif op == INTER:
        pairs.sort(key=lambda p: len(p[0]))
        first, w0 = pairs[0]
        rest = pairs[1:]
        card = 0
        if first:
            for m, sc in first.items():
                score = _nan0(w0 * sc)
                for src, w in rest:
                    v = src.get(m)
                    if v is None:
                        break
                    score = _aggregate(agg, score, v * w)
                else:
                    if card_only:
                        card += 1
                        if limit and card >= limit:
                            break
                    else:
                        result[m] = score
        if card_only:
            return card
    else:
        first = pairs[0][0]
        others = [p[0] for p in pairs[1:] if p[0]]
        for m, sc in first.items():
            for o in others:
                if m in o:
                    break
            else:
                result[m] = sc
    if dst is not None:
        event = b"zunionstore" if op == UNION else b"zinterstore" if op == INTER else b"zdiffstore"
        return store_zset(c, dst, result.items(), event)
    items = sorted((s, m) for m, s in result.items())
    if withscores:
        return _with_scores(c, items)
    return _members(items)


def _k1(argv):
    return numkeys_keys(argv, 1)


def _k2(argv):
    return numkeys_keys(argv, 2, (1,))


@command("zunion", -3, "readonly movablekeys", 0, 0, 0, getkeys=_k1)
def cmd_zunion(c, argv):
    return _zsetop(c, argv, None, 1, UNION)


@command("zinter", -3, "readonly movablekeys", 0, 0, 0, getkeys=_k1)
def cmd_zinter(c, argv):
    return _zsetop(c, argv, None, 1, INTER)


@command("zdiff", -3, "readonly movablekeys", 0, 0, 0, getkeys=_k1)
def cmd_zdiff(c, argv):
    return _zsetop(c, argv, None, 1, DIFF)


@command("zintercard", -3, "readonly movablekeys", 0, 0, 0, getkeys=_k1)
def cmd_zintercard(c, argv):
    return _zsetop(c, argv, None, 1, INTER, card_only=True)


@command("zunionstore", -4, "write denyoom movablekeys", 1, 1, 1, getkeys=_k2)
def cmd_zunionstore(c, argv):
    return _zsetop(c, argv, argv[1], 2, UNION)


@command("zinterstore", -4, "write denyoom movablekeys", 1, 1, 1, getkeys=_k2)
def cmd_zinterstore(c, argv):
    return _zsetop(c, argv, argv[1], 2, INTER)


@command("zdiffstore", -4, "write denyoom movablekeys", 1, 1, 1, getkeys=_k2)
def cmd_zdiffstore(c, argv):
    return _zsetop(c, argv, argv[1], 2, DIFF)


# -- ZSCAN ---------------------------------------------------------------------------------------------
@command("zscan", -3, "readonly", 1, 1, 1)
def cmd_zscan(c, argv):
    cursor = parse_cursor(argv[2])
    zs = get_zset_read(c, argv[1])
    if zs is None:
        return [b"0", []]
    pat, count, _, _ = parse_scan_options(argv, 3)
    match = compile_glob(pat) if pat is not None and pat != b"*" else None
    out: list[bytes] = []
    if not zs.big:
        for s, m in zs.sl:
            if match is None or match(m):
                out.append(m)
                out.append(format_listpack_score(s))
        return [b"0", out]
    d = zs.d
    nxt, members = scan_page(c, zs, cursor, count, lambda: list(d), d.__contains__)
    for m in members:
        if match is None or match(m):
            out.append(m)
            out.append(fmt_score(d[m]))
    return [b"%d" % nxt, out]
