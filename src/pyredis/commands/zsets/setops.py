"""ZUNION/ZINTER/ZDIFF (and STORE), ZINTERCARD and ZSCAN."""

from __future__ import annotations

from typing import Any

from pyredis.commands.errors import CommandError, WrongType, syntax_error
from pyredis.commands.keys import parse_cursor, parse_scan_options, scan_page
from pyredis.commands.registry import command
from pyredis.commands.zsets.common import (
    _int_arg,
    _members,
    _with_scores,
    fmt_score,
    get_zset_read,
    store_zset,
)
from pyredis.engine.glob import compile_glob
from pyredis.engine.zset import (
    ZSetValue,
    format_listpack_score,
    parse_score,
)
from pyredis.protocol.numbers import parse_ll

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
    """Key positions of ``numkeys key...`` commands, plus *extra* fixed positions (none at all when
    numkeys is out of range, as genericGetKeys)."""
    n = parse_ll(argv[numkeys_idx]) if len(argv) > numkeys_idx else None
    if n is None or n < 1 or numkeys_idx + n >= len(argv):
        return []
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
