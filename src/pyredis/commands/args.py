"""Argument parsing and lookup helpers shared by command handlers (numbers, ranges, options, typed lookups)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pyredis.commands.errors import NOT_INTEGER, CommandError, WrongType, syntax_error
from pyredis.protocol.numbers import parse_ll

T = TypeVar("T")


def get_int(b: bytes, msg: str = NOT_INTEGER) -> int:
    """Parse a 64-bit integer argument or raise Redis's error."""
    v = parse_ll(b)
    if v is None:
        raise CommandError(msg)
    return v


def type_name(v: object) -> bytes:
    """The TYPE of a stored value."""
    if type(v) is bytes:
        return b"string"
    return v.TYPE_NAME  # type: ignore[attr-defined]


def parse_expire_arg(c, b: bytes, unit_ms: bool, absolute: bool, cmdname: str) -> int:
    """Turn an EX/PX/EXAT/PXAT argument into an absolute unix time in ms (SET/GETEX rules)."""
    from pyredis.protocol.numbers import LLONG_MAX

    v = get_int(b)
    if v <= 0 or (not unit_ms and v > LLONG_MAX // 1000):
        raise CommandError(f"ERR invalid expire time in '{cmdname}' command")
    if not unit_ms:
        v *= 1000
    if not absolute:
        now = c.server.keyspace.clock()
        if v > LLONG_MAX - now:
            raise CommandError(f"ERR invalid expire time in '{cmdname}' command")
        v += now
    return v


def typed_lookups(cls: type[T]) -> tuple[Callable[[Any, bytes], T | None], Callable[[Any, bytes], T | None]]:
    """``(read, write)`` lookups of a value of type *cls*: None if missing, WRONGTYPE otherwise.

    ``read`` counts keyspace hits/misses (``db.lookup_read``), ``write`` does not (``db.get``).
    """

    def read(c: Any, key: bytes) -> T | None:
        v = c.db.lookup_read(key)
        if v is None or type(v) is cls:
            return v
        raise WrongType()

    def write(c: Any, key: bytes) -> T | None:
        v = c.db.get(key)
        if v is None or type(v) is cls:
            return v
        raise WrongType()

    return read, write


def rank_range(start: int, end: int, llen: int) -> tuple[int, int] | None:
    """Normalise an inclusive ``start end`` rank range (negative from the end) over *llen* items.

    Returns the clamped inclusive ``(start, end)``, or None when the range selects nothing.
    """
    if start < 0:
        start += llen
    if end < 0:
        end += llen
    if start < 0:
        start = 0
    if start > end or start >= llen:
        return None
    return start, min(end, llen - 1)


def parse_mpop(argv: list[bytes], numkeys_idx: int, where: tuple[bytes, bytes]) -> tuple[list[bytes], int, int]:
    """Parse ``numkeys key... <where[0]|where[1]> [COUNT n]`` (ZMPOP/LMPOP and their blocking forms).

    Returns ``(keys, index of the where word given, count)``; the errors are Redis's.
    """
    numkeys = parse_ll(argv[numkeys_idx])
    if numkeys is None or numkeys < 1:
        raise CommandError("ERR numkeys should be greater than 0")
    where_idx = numkeys_idx + numkeys + 1
    n = len(argv)
    if where_idx >= n:
        raise syntax_error()
    w = argv[where_idx].lower()
    if w == where[0]:
        side = 0
    elif w == where[1]:
        side = 1
    else:
        raise syntax_error()
    count = -1
    j = where_idx + 1
    while j < n:
        if count == -1 and argv[j].lower() == b"count" and j < n - 1:
            j += 1
            v = parse_ll(argv[j])
            if v is None or v < 1:
                raise CommandError("ERR count should be greater than 0")
            count = v
        else:
            raise syntax_error()
        j += 1
    return argv[numkeys_idx + 1:where_idx], side, 1 if count == -1 else count


def where_left(b: bytes) -> bool:
    """A LEFT|RIGHT argument: True for LEFT; a syntax error for anything else."""
    w = b.lower()
    if w == b"left":
        return True
    if w == b"right":
        return False
    raise syntax_error()
