"""ZADD/ZINCRBY, ZCARD/ZSCORE/ZMSCORE/ZRANK/ZCOUNT/ZLEXCOUNT, ZREM and ZREMRANGEBY*."""

from __future__ import annotations

from pyredis import _speedups
from pyredis.commands.args import rank_range
from pyredis.commands.errors import CommandError, WrongType, syntax_error
from pyredis.commands.registry import command
from pyredis.commands.zsets.common import (
    ERR_NAN,
    ERR_RANGE_FLOAT,
    ERR_RANGE_LEX,
    ZSET,
    _int_arg,
    _limits,
    _removed,
    _score_arg,
    get_zset_read,
    get_zset_write,
    key_ready,
)
from pyredis.engine.zset import (
    LexRange,
    ScoreRange,
    ZSetValue,
    parse_lex_range,
    parse_score,
    parse_score_range,
    sorted_list_of,
)
from pyredis.protocol.types import Double


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
        key_ready(c, key)
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
    d: dict[bytes, float] = _speedups.key_dict()
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
    zs.sl = sorted_list_of(sorted([(s, m) for m, s in d.items()]))
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
                key_ready(c, key)
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
        r = rank_range(start, end, llen)
        if r is None:
            return 0
        lo, hi = r[0], r[1] + 1
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


