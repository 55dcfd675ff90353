"""Set commands (t_set.c): membership, random members, SPOP, SMOVE, algebra, SSCAN."""

from __future__ import annotations

import random

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, WrongType, syntax_error
from pyredis.commands.keys import parse_cursor, parse_scan_options, scan_page
from pyredis.commands.registry import command
from pyredis.engine import notify
from pyredis.engine.glob import compile_glob
from pyredis.engine.set import SetValue
from pyredis.protocol.numbers import LLONG_MAX, parse_ll
from pyredis.protocol.types import NOREPLY, SetReply

SET = notify.SET
GENERIC = notify.GENERIC


def lookup_set(c, key: bytes, write: bool = False) -> SetValue | None:
    """The set at *key* (None if missing); WRONGTYPE for other types."""
    v = c.db.get(key) if write else c.db.lookup_read(key)
    if v is None or type(v) is SetValue:
        return v
    raise WrongType()


def _delete_if_empty(c, key: bytes, s: SetValue) -> None:
    if not s:
        c.db.delete(key)
        c.notify(GENERIC, b"del", key)


# -- membership ----------------------------------------------------------------------------------------
@command("sadd", -3, "write denyoom fast", 1, 1, 1)
def cmd_sadd(c, argv):
    key = argv[1]
    s = c.db.get(key)
    if s is None:
        s = SetValue()
        s.big = False
        c.db.add(key, s)
    elif type(s) is not SetValue:
        raise WrongType()
    before = len(s)
    if len(argv) == 3:
        s.add(argv[2])
        if s.pool is not None and len(s) != before:
            s.pool.append(argv[2])
    else:
        s.update(argv[2:])
        s.pool = None
    added = len(s) - before
    if not s.big:
        s.after_add(c.server.config, argv[2:])
    if added:
        c.changed(key, SET, b"sadd")
        c.server.dirty += added - 1
    return added


@command("srem", -3, "write fast", 1, 1, 1)
def cmd_srem(c, argv):
    key = argv[1]
    s = lookup_set(c, key, True)
    if s is None:
        return 0
    before = len(s)
    if len(argv) == 3:
        s.discard(argv[2])
    else:
        s.difference_update(argv[2:])
    removed = before - len(s)
    if removed:
        s.pool = None
    if removed:
        c.changed(key, SET, b"srem")
        c.server.dirty += removed - 1
        _delete_if_empty(c, key, s)
    return removed


@command("smove", 4, "write fast", 1, 2, 1)
def cmd_smove(c, argv):
    src, dst, m = argv[1], argv[2], argv[3]
    s = lookup_set(c, src, True)
    d = lookup_set(c, dst, True) if s is not None else None
    if s is None:
        return 0
    if s is d:
        return int(m in s)
    if m not in s:
        return 0
    s.discard(m)
    s.pool = None
    c.changed(src, SET, b"srem")
    _delete_if_empty(c, src, s)
    if d is None:
        d = SetValue.create_for(m)
        c.db.add(dst, d)
    if m not in d:
        d.add(m)
        if d.pool is not None:
            d.pool.append(m)
        if not d.big:
            d.after_add(c.server.config, (m,))
        c.changed(dst, SET, b"sadd")
    return 1


@command("scard", 2, "readonly fast", 1, 1, 1)
def cmd_scard(c, argv):
    s = lookup_set(c, argv[1])
    return 0 if s is None else len(s)


@command("sismember", 3, "readonly fast", 1, 1, 1)
def cmd_sismember(c, argv):
    s = lookup_set(c, argv[1])
    return 0 if s is None else int(argv[2] in s)


@command("smismember", -3, "readonly fast", 1, 1, 1)
def cmd_smismember(c, argv):
    s = lookup_set(c, argv[1])
    if s is None:
        return [0] * (len(argv) - 2)
    return [int(m in s) for m in argv[2:]]


@command("smembers", 2, "readonly", 1, 1, 1)
def cmd_smembers(c, argv):
    s = lookup_set(c, argv[1])
    return SetReply() if s is None else SetReply(s.ordered())


# -- random members --------------------------------------------------------------------------------------
@command("srandmember", -2, "readonly", 1, 1, 1)
def cmd_srandmember(c, argv):
    if len(argv) == 2:
        s = lookup_set(c, argv[1])
        return None if s is None else s.random_member()
    if len(argv) > 3:
        raise syntax_error()
    n = get_int(argv[2])
    if n < -LLONG_MAX:
        raise CommandError("ERR value is out of range, value must between -9223372036854775807 and "
                           "9223372036854775807")
    s = lookup_set(c, argv[1])
    if s is None or n == 0:
        return []
    if n < 0:
        pool = s.members_list() if len(s) > 16 else tuple(s)
        out: list[bytes] = []
        left = -n
        size = 0
        while left:  # in batches: a client over its output buffer limit stops the reply mid-run
            batch = random.choices(pool, k=min(left, 1024))
            left -= len(batch)
            out += batch
            size += sum(len(m) for m in batch) + 16 * len(batch)
            if c.reply_limit_reached(size):
                return NOREPLY
        return out
    if n >= len(s):
        return s.ordered()
    return random.sample(s.members_list(), n)


@command("spop", -2, "write fast", 1, 1, 1)
def cmd_spop(c, argv):
    key = argv[1]
    if len(argv) == 2:
        s = c.db.get(key)
        if s is None:
            return None
        if type(s) is not SetValue:
            raise WrongType()
        m = s.pop_one()
        c.changed(key, SET, b"spop")
        if not s:
            c.db.delete(key)
            c.notify(GENERIC, b"del", key)
        c.repl = [[b"SREM", key, m]]
        return m
    if len(argv) > 3:
        raise syntax_error()
    n = parse_ll(argv[2])
    if n is None or n < 0:
        raise CommandError("ERR value is out of range, must be positive")
    s = lookup_set(c, key, True)
    if s is None or n == 0:
        return SetReply()
    if n >= len(s):
        out = s.ordered()
        s.clear()
        s.pool = None
        c.changed(key, SET, b"spop")
        _delete_if_empty(c, key, s)
        c.repl = [[b"DEL", key]]
        return SetReply(out)
    picked = s.pop_random(n)
    c.changed(key, SET, b"spop")
    c.server.dirty += n - 1
    c.repl = [[b"SREM", key, m] for m in picked]
    return SetReply(picked)


# -- algebra ---------------------------------------------------------------------------------------------
def _lookup_all(c, keys: list[bytes], write: bool = False) -> list[SetValue | None]:
    return [lookup_set(c, k, write) for k in keys]


def _intersection(sets: list[SetValue | None]) -> tuple[set, SetValue | None]:
    """(intersection, smallest set); empty when a key is missing."""
    if not sets or any(s is None for s in sets):
        return set(), None
    ordered = sorted(sets, key=len)  # type: ignore[arg-type]
    first = ordered[0]
    assert first is not None
    return first.intersection(*ordered[1:]), first


def _ordered_result(res: set, smallest: SetValue | None) -> list[bytes]:
    if smallest is not None and not smallest.big:
        return sorted(res, key=int)
    return list(res)


def _store(c, dst: bytes, res: set, event: bytes) -> int:
    """Store *res* at *dst* (deleting *dst* when empty) with Redis's events."""
    db = c.db
    if not res:
        if db.get(dst) is not None:
            db.delete(dst)
            c.changed(dst, GENERIC, b"del")
        return 0
    v = SetValue.build(res, c.server.config)
    db.set(dst, v)
    c.changed(dst, SET, event)
    return len(v)


@command("sinter", -2, "readonly", 1, -1, 1)
def cmd_sinter(c, argv):
    res, smallest = _intersection(_lookup_all(c, argv[1:]))
    return SetReply(_ordered_result(res, smallest))


@command("sinterstore", -3, "write denyoom", 1, -1, 1)
def cmd_sinterstore(c, argv):
    res, _ = _intersection(_lookup_all(c, argv[2:]))
    return _store(c, argv[1], res, b"sinterstore")


def _numkeys_getkeys(argv: list[bytes]) -> list[int]:
    nk = parse_ll(argv[1]) if len(argv) > 1 else None
    if nk is None or nk <= 0 or 1 + nk >= len(argv):
        return []
    return list(range(2, 2 + nk))


@command("sintercard", -3, "readonly movablekeys", getkeys=_numkeys_getkeys)
def cmd_sintercard(c, argv):
    nk = parse_ll(argv[1])
    if nk is None or nk <= 0:
        raise CommandError("ERR numkeys should be greater than 0")
    if nk > len(argv) - 2:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    limit = 0
    i = 2 + nk
    while i < len(argv):
        if argv[i].lower() == b"limit" and i + 1 < len(argv):
            v = parse_ll(argv[i + 1])
            if v is None or v < 0:
                raise CommandError("ERR LIMIT can't be negative")
            limit = v
            i += 2
        else:
            raise syntax_error()
    sets = _lookup_all(c, argv[2 : 2 + nk])
    if any(s is None for s in sets):
        return 0
    ordered = sorted(sets, key=len)  # type: ignore[arg-type]
    first, rest = ordered[0], ordered[1:]
    if not limit:
        return len(first.intersection(*rest)) if rest else len(first)  # type: ignore[union-attr]
    n = 0
    for m in first:  # type: ignore[union-attr]
        if all(m in o for o in rest):  # type: ignore[operator]
            n += 1
            if n >= limit:
                break
    return n


def _union(sets: list[SetValue | None]) -> set:
    present = [s for s in sets if s is not None]
    if not present:
        return set()
    return set().union(*present)


def _diff(sets: list[SetValue | None]) -> set:
    first = sets[0]
    if first is None:
        return set()
    return first.difference(*(s for s in sets[1:] if s is not None))


def _algebra_reply(c, res: set) -> SetReply:
    if not res:
        return SetReply()
    return SetReply(SetValue.build(res, c.server.config).ordered())


@command("sunion", -2, "readonly", 1, -1, 1)
def cmd_sunion(c, argv):
    return _algebra_reply(c, _union(_lookup_all(c, argv[1:])))


@command("sunionstore", -3, "write denyoom", 1, -1, 1)
def cmd_sunionstore(c, argv):
    return _store(c, argv[1], _union(_lookup_all(c, argv[2:])), b"sunionstore")


@command("sdiff", -2, "readonly", 1, -1, 1)
def cmd_sdiff(c, argv):
    return _algebra_reply(c, _diff(_lookup_all(c, argv[1:])))


@command("sdiffstore", -3, "write denyoom", 1, -1, 1)
def cmd_sdiffstore(c, argv):
    return _store(c, argv[1], _diff(_lookup_all(c, argv[2:])), b"sdiffstore")


# -- SSCAN -----------------------------------------------------------------------------------------------
@command("sscan", -3, "readonly", 1, 1, 1)
def cmd_sscan(c, argv):
    cursor = parse_cursor(argv[2])
    s = lookup_set(c, argv[1])
    if s is None:
        return [b"0", []]
    pat, count, _, _ = parse_scan_options(argv, 3)
    if not s.big:
        members = s.ordered()
        nxt = 0
    else:
        nxt, members = scan_page(c, s, cursor, count, lambda: list(s), s.__contains__)
    if pat is not None and pat != b"*":
        match = compile_glob(pat)
        members = [m for m in members if match(m)]
    return [b"%d" % nxt, members]
