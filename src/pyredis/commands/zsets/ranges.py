"""The ZRANGE family: ZRANGE/ZRANGESTORE and the legacy ZREV/BYSCORE/BYLEX forms."""

from __future__ import annotations

from pyredis.commands.args import rank_range
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command
from pyredis.commands.zsets.add import (
    _parse_lex,
    _parse_range,
)
from pyredis.commands.zsets.common import (
    _int_arg,
    _members,
    _with_scores,
    get_zset_read,
    rank_reply,
    store_zset,
)
from pyredis.engine.zset import (
    ZSetValue,
)

# -- ZRANGE family --------------------------------------------------------------------------------------
RANK, SCORE, LEX = 1, 2, 3


def _window(zs: ZSetValue, lo: int, hi: int, rev: bool, offset: int, limit: int) -> tuple[int, int] | None:
    """The ranks ``[start, stop)`` left of ``[lo, hi)`` after LIMIT offset/count (counted from *hi*
    when *rev*), or None when nothing is."""
    if offset < 0 or (offset > 0 and offset >= len(zs.d)):
        return None
    if rev:
        top = hi - offset
        bottom = lo if limit < 0 else max(lo, top - limit)
        return (bottom, top) if bottom < top else None
    start = lo + offset
    stop = hi if limit < 0 else min(hi, start + limit)
    return (start, stop) if start < stop else None


def _slice_range(zs: ZSetValue, lo: int, hi: int, rev: bool, offset: int, limit: int):
    """Items of ranks ``[lo, hi)`` (reversed if *rev*) after LIMIT offset/count."""
    w = _window(zs, lo, hi, rev, offset, limit)
    return [] if w is None else zs.entries(w[0], w[1], rev)


def _lex_items(zs: ZSetValue, r, rev: bool, offset: int, limit: int):
    """BYLEX items as Redis walks them: from the first member in range (from the head, or the tail
    when *rev*) *offset* members are skipped unchecked, then members are taken while they stay within
    the other bound. With one score throughout that is the rank interval after LIMIT; with mixed
    scores (which Redis leaves undefined) it is what Redis's listpack scan returns."""
    lo, hi = zs.rev_lex_bounds(r) if rev else zs.lex_bounds(r)
    sl = zs.sl
    if lo >= hi or offset <= 0 or offset >= len(sl) or sl[0][0] == sl[-1][0]:
        return _slice_range(zs, lo, hi, rev, offset, limit)
    out = []
    if rev:
        pos = hi - 1 - offset
        if pos < 0:
            return out
        for item in sl.islice(0, pos + 1, reverse=True):
            if limit == 0 or not r.gte_min(item[1]):
                break
            out.append(item)
            limit -= 1
    else:
        for item in sl.islice(lo + offset):
            if limit == 0 or not r.lte_max(item[1]):
                break
            out.append(item)
            limit -= 1
    return out


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
    items: list[tuple[float, bytes]] = []
    w = None  # the ranks [start, stop) of the reply (last first when rev), when they are one run
    if zs is None:
        pass
    elif rangetype == RANK:
        llen = len(zs.d)
        r = rank_range(start, end, llen)
        if r is not None:
            w = (r[0], r[1] + 1) if not rev else (llen - 1 - r[1], llen - r[0])
    elif rangetype == SCORE:
        lo, hi = zs.score_bounds(sr)
        w = _window(zs, lo, hi, rev, offset, limit)
    else:
        items = _lex_items(zs, lr, rev, offset, limit)
    if w is not None:
        if dst is None:
            return rank_reply(c, zs, w[0], w[1], rev, withscores)
        items = zs.entries(w[0], w[1], rev)
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


