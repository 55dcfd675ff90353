"""Blocking commands (blocked.c, t_list.c, t_zset.c): BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP,
BZPOPMIN, BZPOPMAX, BZMPOP, CLIENT UNBLOCK, and the blocking-timeout parsing shared with XREAD BLOCK.

The machinery (blocked clients, serving ready keys, CLIENT PAUSE) is :mod:`pyredis.server.blocking`;
``block_for_keys``, ``signal_key_ready`` and ``ready_key`` are re-exported here for command families.
"""

from __future__ import annotations

import math
from typing import Any

from pyredis.commands import lists
from pyredis.commands.args import where_left
from pyredis.commands.errors import CommandError, WrongType, syntax_error
from pyredis.commands.registry import TABLE, command, subcommand
from pyredis.protocol.numbers import parse_float, parse_ll
from pyredis.protocol.types import OK
from pyredis.server.blocking import block_for_keys, ready_key, signal_key_ready, unblock_client

LLONG_MAX = (1 << 63) - 1


# -- timeouts ------------------------------------------------------------------------------------
def parse_timeout(b: bytes) -> int:
    """A timeout in seconds (float) -> milliseconds (0 = forever), with Redis's errors."""
    v = parse_float(b)
    if v is None or v != v:
        raise CommandError("ERR timeout is not a float or out of range")
    ms = v * 1000.0
    if ms >= 9.223372036854775807e18:
        raise CommandError("ERR timeout is negative")
    ims = math.ceil(ms)
    if ims < 0:
        raise CommandError("ERR timeout is negative")
    return ims


def parse_timeout_ms(b: bytes) -> int:
    """A timeout in milliseconds (integer), as XREAD BLOCK takes it."""
    v = parse_ll(b)
    if v is None:
        raise CommandError("ERR timeout is not an integer or out of range")
    if v < 0:
        raise CommandError("ERR timeout is negative")
    return v


# -- list commands -----------------------------------------------------------------------------
def _type_of(v: Any) -> bytes:
    return b"string" if type(v) is bytes else v.TYPE_NAME


def _first_ready(c, keys: list[bytes], type_name: bytes) -> bytes | None:
    """The first key holding a value of *type_name* (WRONGTYPE for another type on the way)."""
    db = c.db
    for key in keys:
        v = db.get(key)
        if v is None:
            continue
        if _type_of(v) != type_name:
            raise WrongType()
        return key
    return None


def _ready_of(c, keys: list[bytes], type_name: bytes) -> bytes | None:
    """When serving a blocked client: the ready key if it holds *type_name* (else not served)."""
    key = ready_key()
    v = c.db.get(key)
    if v is not None and _type_of(v) == type_name:
        return key
    return None


def _bpop(c, argv: list[bytes], left: bool):
    keys = argv[1:-1]
    timeout = parse_timeout(argv[-1])
    name = b"LPOP" if left else b"RPOP"
    key = _first_ready(c, keys, b"list")
    if key is not None:
        v = lists.list_pop(c, key, left)
        c.repl = [[name, key]]
        return [key, v]

    def serve(cl):
        k = _ready_of(cl, keys, b"list")
        if k is None:
            return None
        v = lists.list_pop(cl, k, left)
        if v is None:
            return None
        cl.repl = [[name, k]]
        return [k, v]

    return block_for_keys(c, keys, timeout, serve, argv=argv)


@command("blpop", -3, "write noscript blocking", 1, -2, 1)
def cmd_blpop(c, argv):
    return _bpop(c, argv, True)


@command("brpop", -3, "write noscript blocking", 1, -2, 1)
def cmd_brpop(c, argv):
    return _bpop(c, argv, False)


def _blmove(c, src: bytes, dst: bytes, wfrom: bool, wto: bool, timeout: int, name: list[bytes],
            argv: list[bytes]):
    v = c.db.get(src)
    if v is not None:
        if _type_of(v) != b"list":
            raise WrongType()
        r = lists.list_move(c, src, dst, wfrom, wto)
        c.repl = [name]
        return r

    def serve(cl):
        sv = cl.db.get(src)
        if sv is None or _type_of(sv) != b"list":
            return None
        r = lists.list_move(cl, src, dst, wfrom, wto)
        if r is None:
            return None
        cl.repl = [name]
        return r

    if c.in_exec or c.in_script or c.multi is not None:
        return None  # not allowed to block: a null bulk here (the timeout reply is a null array)
    return block_for_keys(c, [src], timeout, serve, argv=argv)


@command("blmove", 6, "write denyoom noscript blocking", 1, 2, 1)
def cmd_blmove(c, argv):
    wfrom = where_left(argv[3])
    wto = where_left(argv[4])
    timeout = parse_timeout(argv[5])
    return _blmove(c, argv[1], argv[2], wfrom, wto, timeout, [b"LMOVE", *argv[1:5]], argv)


@command("brpoplpush", 4, "write denyoom noscript blocking", 1, 2, 1)
def cmd_brpoplpush(c, argv):
    timeout = parse_timeout(argv[3])
    return _blmove(c, argv[1], argv[2], False, True, timeout, [b"RPOPLPUSH", argv[1], argv[2]], argv)


def _mpop_keys(argv: list[bytes]) -> list[int]:
    nk = parse_ll(argv[2]) if len(argv) > 2 else None
    if nk is None or nk <= 0 or 3 + nk > len(argv):
        return []
    return list(range(3, 3 + nk))


@command("blmpop", -5, "write blocking movablekeys", getkeys=_mpop_keys)
def cmd_blmpop(c, argv):
    keys, left, count = lists.lmpop_parse(argv, 2)
    timeout = parse_timeout(argv[1])
    key = _first_ready(c, keys, b"list")
    if key is not None:
        return lists.lmpop_first(c, [key], left, count)

    def serve(cl):
        k = _ready_of(cl, keys, b"list")
        if k is None:
            return None
        return lists.lmpop_first(cl, [k], left, count)

    return block_for_keys(c, keys, timeout, serve, argv=argv)


# -- sorted set commands -------------------------------------------------------------------------
def _zpop(c, key: bytes, maximum: bool) -> list:
    name = b"zpopmax" if maximum else b"zpopmin"
    r = TABLE[name].handler(c, [name, key])
    c.repl = [[name.upper(), key]]
    return [key, *r]


def _bzpop(c, argv: list[bytes], maximum: bool):
    keys = argv[1:-1]
    timeout = parse_timeout(argv[-1])
    key = _first_ready(c, keys, b"zset")
    if key is not None:
        return _zpop(c, key, maximum)

    def serve(cl):
        k = _ready_of(cl, keys, b"zset")
        if k is None:
            return None
        return _zpop(cl, k, maximum)

    return block_for_keys(c, keys, timeout, serve, argv=argv)


@command("bzpopmin", -3, "write noscript blocking fast", 1, -2, 1)
def cmd_bzpopmin(c, argv):
    return _bzpop(c, argv, False)


@command("bzpopmax", -3, "write noscript blocking fast", 1, -2, 1)
def cmd_bzpopmax(c, argv):
    return _bzpop(c, argv, True)


def _zmpop_parse(argv: list[bytes]) -> tuple[list[bytes], bytes, int | None]:
    nk = parse_ll(argv[2])
    if nk is None or nk <= 0 or nk > LLONG_MAX:
        raise CommandError("ERR numkeys should be greater than 0")
    where_idx = 3 + nk
    if where_idx >= len(argv):
        raise syntax_error()
    keys = argv[3:where_idx]
    where = argv[where_idx].lower()
    if where not in (b"min", b"max"):
        raise syntax_error()
    count: int | None = None
    i = where_idx + 1
    while i < len(argv):
        if argv[i].lower() == b"count" and i + 1 < len(argv) and count is None:
            v = parse_ll(argv[i + 1])
            if v is None or v <= 0:
                raise CommandError("ERR count should be greater than 0")
            count = v
            i += 2
        else:
            raise syntax_error()
    return keys, where, count


def _zmpop_one(c, key: bytes, where: bytes, count: int | None):
    args = [b"zmpop", b"1", key, where] + ([b"COUNT", b"%d" % count] if count is not None else [])
    return TABLE[b"zmpop"].handler(c, args)


@command("bzmpop", -5, "write blocking movablekeys", getkeys=_mpop_keys)
def cmd_bzmpop(c, argv):
    keys, where, count = _zmpop_parse(argv)
    timeout = parse_timeout(argv[1])
    key = _first_ready(c, keys, b"zset")
    if key is not None:
        return _zmpop_one(c, key, where, count)

    def serve(cl):
        k = _ready_of(cl, keys, b"zset")
        if k is None:
            return None
        return _zmpop_one(cl, k, where, count)

    return block_for_keys(c, keys, timeout, serve, argv=argv)


# -- CLIENT UNBLOCK ------------------------------------------------------------------------------
@subcommand("client", "unblock", -3, "admin noscript loading stale")
def cmd_client_unblock(c, argv):
    cid = parse_ll(argv[2])
    if cid is None:
        raise CommandError("ERR value is not an integer or out of range")
    error = None
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"error":
            error = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
        elif mode != b"timeout":
            raise CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    elif len(argv) > 4:
        raise CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP."
                           % argv[1].decode("utf-8", "surrogateescape"))
    target = c.server.clients.get(cid)
    if target is None:
        return 0
    return 1 if unblock_client(target, error) else 0


__all__ = ["block_for_keys", "signal_key_ready", "ready_key", "parse_timeout", "parse_timeout_ms", "OK"]
