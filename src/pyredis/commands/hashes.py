"""Hash commands (t_hash.c): HSET and friends, counters, HRANDFIELD, HSCAN."""

from __future__ import annotations

import random
from itertools import islice
from typing import TYPE_CHECKING

from pyredis.commands.args import get_int
from pyredis.commands.errors import NOT_FLOAT, OVERFLOW, CommandError, WrongType, syntax_error, wrong_args
from pyredis.commands.keys import parse_cursor, parse_scan_options, scan_page
from pyredis.commands.registry import command
from pyredis.engine import notify
from pyredis.engine.glob import compile_glob
from pyredis.engine.hash import HashValue
from pyredis.protocol.numbers import LLONG_MAX, LLONG_MIN, parse_ll
from pyredis.protocol.types import NOREPLY, OK, MapReply

if TYPE_CHECKING:
    from fractions import Fraction

HASH = notify.HASH
RANGE_ERR = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
GENERIC = notify.GENERIC


def lookup_hash(c, key: bytes, write: bool = False) -> HashValue | None:
    """The hash at *key* (None if missing); WRONGTYPE for other types."""
    v = c.db.get(key) if write else c.db.lookup_read(key)
    if v is None or type(v) is HashValue:
        return v
    raise WrongType()


def _hash_for_write(c, key: bytes) -> HashValue:
    """The hash at *key*, created empty (listpack) when missing."""
    v = c.db.get(key)
    if v is None:
        v = HashValue()
        c.db.add(key, v)
        return v
    if type(v) is not HashValue:
        raise WrongType()
    return v


def _hset(c, argv, name: str):
    if len(argv) % 2:
        raise wrong_args(name)
    key = argv[1]
    h = _hash_for_write(c, key)
    cfg = c.server.config
    if not h.big:
        h.check_lengths(cfg, argv[2:])
    before = len(h)
    for i in range(2, len(argv), 2):
        h[argv[i]] = argv[i + 1]
    if not h.big:
        h.check_size(cfg)
    c.changed(key, HASH, b"hset")
    c.server.dirty += (len(argv) - 2) // 2 - 1
    return len(h) - before


@command("hset", -4, "write denyoom fast", 1, 1, 1)
def cmd_hset(c, argv):
    if len(argv) != 4:
        return _hset(c, argv, "hset")
    key = argv[1]
    db = c.db
    h = db.get(key)
    if h is None:
        h = HashValue()
        db.add(key, h)
    elif type(h) is not HashValue:
        raise WrongType()
    f = argv[2]
    added = f not in h
    h[f] = argv[3]
    if not h.big:
        cfg = c.server.config
        h.check_lengths(cfg, argv[2:])
        h.check_size(cfg)
    c.changed(key, HASH, b"hset")
    return 1 if added else 0


@command("hmset", -4, "write denyoom fast", 1, 1, 1)
def cmd_hmset(c, argv):
    _hset(c, argv, "hmset")
    return OK


@command("hsetnx", 4, "write denyoom fast", 1, 1, 1)
def cmd_hsetnx(c, argv):
    key = argv[1]
    h = _hash_for_write(c, key)
    if argv[2] in h:
        return 0
    _store(c, h, argv[2], argv[3])
    c.changed(key, HASH, b"hset")
    return 1


@command("hget", 3, "readonly fast", 1, 1, 1)
def cmd_hget(c, argv):
    h = lookup_hash(c, argv[1])
    if h is None:
        return None
    return h.get(argv[2])


@command("hmget", -3, "readonly fast", 1, 1, 1)
def cmd_hmget(c, argv):
    h = lookup_hash(c, argv[1])
    if h is None:
        return [None] * (len(argv) - 2)
    get = h.get
    return [get(f) for f in argv[2:]]


@command("hdel", -3, "write fast", 1, 1, 1)
def cmd_hdel(c, argv):
    key = argv[1]
    h = lookup_hash(c, key, True)
    if h is None:
        return 0
    n = 0
    for f in argv[2:]:
        if h.pop(f, None) is not None:
            n += 1
            if not h:
                break
    if n:
        c.changed(key, HASH, b"hdel")
        c.server.dirty += n - 1
        if not h:
            c.db.delete(key)
            c.notify(GENERIC, b"del", key)
    return n


@command("hlen", 2, "readonly fast", 1, 1, 1)
def cmd_hlen(c, argv):
    h = lookup_hash(c, argv[1])
    return 0 if h is None else len(h)


@command("hstrlen", 3, "readonly fast", 1, 1, 1)
def cmd_hstrlen(c, argv):
    h = lookup_hash(c, argv[1])
    if h is None:
        return 0
    v = h.get(argv[2])
    return 0 if v is None else len(v)


@command("hexists", 3, "readonly fast", 1, 1, 1)
def cmd_hexists(c, argv):
    h = lookup_hash(c, argv[1])
    return 0 if h is None else int(argv[2] in h)


@command("hgetall", 2, "readonly", 1, 1, 1)
def cmd_hgetall(c, argv):
    h = lookup_hash(c, argv[1])
    out = MapReply()
    if h:
        for kv in h.items():
            out.extend(kv)
    return out


@command("hkeys", 2, "readonly", 1, 1, 1)
def cmd_hkeys(c, argv):
    h = lookup_hash(c, argv[1])
    return [] if h is None else list(h)


@command("hvals", 2, "readonly", 1, 1, 1)
def cmd_hvals(c, argv):
    h = lookup_hash(c, argv[1])
    return [] if h is None else list(h.values())


@command("hincrby", 4, "write denyoom fast", 1, 1, 1)
def cmd_hincrby(c, argv):
    incr = get_int(argv[3])
    key = argv[1]
    h = lookup_hash(c, key, True)
    cur = 0
    old = None if h is None else h.get(argv[2])
    if old is not None:
        v = parse_ll(old)
        if v is None:
            raise CommandError("ERR hash value is not an integer")
        cur = v
    new = cur + incr
    if new > LLONG_MAX or new < LLONG_MIN:
        raise CommandError(OVERFLOW)
    out = b"%d" % new
    _store(c, h if h is not None else _hash_for_write(c, key), argv[2], out)
    c.changed(key, HASH, b"hincrby")
    return new


def _store(c, h: HashValue, field: bytes, value: bytes) -> None:
    if not h.big:
        cfg = c.server.config
        h.check_lengths(cfg, (field, value))
        h[field] = value
        h.check_size(cfg)
    else:
        h[field] = value


@command("hincrbyfloat", 4, "write denyoom fast", 1, 1, 1)
def cmd_hincrbyfloat(c, argv):
    from pyredis.protocol import longdouble as ld  # decimal/fractions: loaded on the first use

    incr = ld.parse_long_double(argv[3])
    if incr is None:
        raise CommandError(NOT_FLOAT)
    if isinstance(incr, float):
        raise CommandError("ERR value is NaN or Infinity")
    key = argv[1]
    h = lookup_hash(c, key, True)
    cur: Fraction | float = ld.ZERO
    old = None if h is None else h.get(argv[2])
    if old is not None:
        v = ld.parse_long_double(old)
        if v is None:
            raise CommandError("ERR hash value is not a float")
        cur = v
    new = ld.long_double_add(cur, incr)
    if isinstance(new, float):
        raise CommandError("ERR increment would produce NaN or Infinity")
    out = ld.format_long_double_human(new)
    _store(c, h if h is not None else _hash_for_write(c, key), argv[2], out)
    c.changed(key, HASH, b"hincrbyfloat")
    c.repl = [[b"HSET", key, argv[2], out]]
    return out


# -- HRANDFIELD --------------------------------------------------------------------------------------
def random_field(h: dict) -> bytes:
    """One uniformly random field of the non-empty dict *h*."""
    if not isinstance(h, dict):  # the accelerator's KeyTable picks one in O(1)
        return h.random_key()
    n = len(h)
    if n == 1:
        return next(iter(h))
    return next(islice(h, random.randrange(n), None))


@command("hrandfield", -2, "readonly", 1, 1, 1)
def cmd_hrandfield(c, argv):
    if len(argv) == 2:
        h = lookup_hash(c, argv[1])
        if h is None:
            return None
        return random_field(h)
    withvalues = False
    if len(argv) >= 4:
        if len(argv) > 4 or argv[3].lower() != b"withvalues":
            raise syntax_error()
        withvalues = True
    n = get_int(argv[2])
    if n < -LLONG_MAX:
        raise CommandError(RANGE_ERR)
    if withvalues and n < -(LLONG_MAX // 2):
        raise CommandError("ERR value is out of range")
    h = lookup_hash(c, argv[1])
    if h is None or n == 0:
        return []
    resp3 = c.resp == 3
    if n < 0:
        keys = list(h)
        picked = []
        left = -n
        size = 0
        while left:  # in batches: a client over its output buffer limit stops the reply mid-run
            batch = random.choices(keys, k=min(left, 1024))
            left -= len(batch)
            picked += batch
            size += sum(len(f) + (len(h[f]) + 16 if withvalues else 0) for f in batch) + 16 * len(batch)
            if c.reply_limit_reached(size):
                return NOREPLY
    elif n >= len(h):
        picked = list(h)
    else:
        picked = random.sample(list(h), n)
    if not withvalues:
        return picked
    if resp3:
        return [[f, h[f]] for f in picked]
    out = []
    for f in picked:
        out.append(f)
        out.append(h[f])
    return out


# -- HSCAN -------------------------------------------------------------------------------------------
@command("hscan", -3, "readonly", 1, 1, 1)
def cmd_hscan(c, argv):
    cursor = parse_cursor(argv[2])
    h = lookup_hash(c, argv[1])
    if h is None:
        return [b"0", []]
    pat, count, _, _ = parse_scan_options(argv, 3)
    match = compile_glob(pat) if pat is not None and pat != b"*" else None
    if not h.big:
        fields = list(h)
        nxt = 0
    else:
        nxt, fields = scan_page(c, h, cursor, count, lambda: list(h), h.__contains__)
    out = []
    for f in fields:
        if match is not None and not match(f):
            continue
        v = h.get(f)
        if v is not None:
            out.append(f)
            out.append(v)
    return [b"%d" % nxt, out]
