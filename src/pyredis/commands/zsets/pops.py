"""ZPOPMIN/ZPOPMAX/ZMPOP (shared with BZPOP*) and ZRANDMEMBER."""

from __future__ import annotations

import random

from pyredis.commands.args import parse_mpop
from pyredis.commands.errors import NOT_INTEGER, CommandError, syntax_error
from pyredis.commands.registry import command
from pyredis.commands.zsets.common import (
    ERR_POSITIVE,
    LONG_MAX,
    _members,
    _removed,
    _with_scores,
    get_zset_read,
    get_zset_write,
)
from pyredis.engine.zset import (
    ZSetValue,
)
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import NOREPLY, NULL_ARRAY, Double


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
    keys, side, count = parse_mpop(argv, numkeys_idx, (b"min", b"max"))
    return keys, side == 1, count


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
        left = -count if count < 0 else 1
        rr = random.randrange
        items = []
        nbytes = 0
        while left:  # in batches: a client over its output buffer limit stops the reply mid-run
            batch = [sl[rr(size)] for _ in range(min(left, 1024))]
            left -= len(batch)
            items += batch
            nbytes += sum(len(e[1]) for e in batch) + (40 if withscores else 16) * len(batch)
            if c.reply_limit_reached(nbytes):
                return NOREPLY
    elif count >= size:
        items = list(sl.islice(reverse=True))
    else:
        items = [sl[i] for i in random.sample(range(size), count)]
    if withscores:
        return _with_scores(c, items)
    return _members(items)


