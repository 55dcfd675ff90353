"""Argument parsing helpers shared by command handlers (numbers, options, expire times)."""

from __future__ import annotations

from pyredis.commands.errors import NOT_INTEGER, CommandError
from pyredis.protocol.numbers import parse_ll


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
