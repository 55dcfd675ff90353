"""Encode reply values (see :mod:`pyredis.protocol.types`) into RESP2 or RESP3 bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyredis.protocol.types import (
    NULL_ARRAY,
    BigNumber,
    Double,
    ErrorReply,
    MapReply,
    Push,
    Raw,
    SetReply,
    Status,
    Verbatim,
)


def format_double(d: float) -> bytes:
    """Format a double the way Redis 7.0's ``addReplyDouble`` does (``%.17g``, ``inf``)."""
    if d != d:
        return b"nan"
    if d == float("inf"):
        return b"inf"
    if d == float("-inf"):
        return b"-inf"
    return b"%.17g" % d


def _bulk(out: list, v: bytes, resp: int) -> None:
    out.append(b"$%d\r\n%s\r\n" % (len(v), v))


def _int(out: list, v: int, resp: int) -> None:
    out.append(b":%d\r\n" % v)


def _none(out: list, v: None, resp: int) -> None:
    out.append(b"_\r\n" if resp == 3 else b"$-1\r\n")


def _raw(out: list, v: bytes, resp: int) -> None:
    out.append(v)


def _status(out: list, v: bytes, resp: int) -> None:
    out.append(b"+%s\r\n" % v)


def _error(out: list, v: bytes, resp: int) -> None:
    out.append(b"-%s\r\n" % v)


def _array(out: list, v: list, resp: int) -> None:
    out.append(b"*%d\r\n" % len(v))
    for item in v:
        _ENCODERS[type(item)](out, item, resp)


def _double(out: list, v: float, resp: int) -> None:
    s = format_double(v)
    if resp == 3:
        out.append(b",%s\r\n" % s)
    else:
        out.append(b"$%d\r\n%s\r\n" % (len(s), s))


def _map(out: list, v: list, resp: int) -> None:
    out.append(b"%%%d\r\n" % (len(v) // 2) if resp == 3 else b"*%d\r\n" % len(v))
    for item in v:
        _ENCODERS[type(item)](out, item, resp)


def _set(out: list, v: list, resp: int) -> None:
    out.append(b"~%d\r\n" % len(v) if resp == 3 else b"*%d\r\n" % len(v))
    for item in v:
        _ENCODERS[type(item)](out, item, resp)


def _push(out: list, v: list, resp: int) -> None:
    out.append(b">%d\r\n" % len(v) if resp == 3 else b"*%d\r\n" % len(v))
    for item in v:
        _ENCODERS[type(item)](out, item, resp)


def _null_array(out: list, v: object, resp: int) -> None:
    out.append(b"_\r\n" if resp == 3 else b"*-1\r\n")


def _bool(out: list, v: bool, resp: int) -> None:
    if resp == 3:
        out.append(b"#t\r\n" if v else b"#f\r\n")
    else:
        out.append(b":1\r\n" if v else b":0\r\n")


def _bignum(out: list, v: int, resp: int) -> None:
    s = b"%d" % v
    out.append(b"(%s\r\n" % s if resp == 3 else b"$%d\r\n%s\r\n" % (len(s), s))


def _verbatim(out: list, v: bytes, resp: int) -> None:
    if resp == 3:
        out.append(b"=%d\r\ntxt:%s\r\n" % (len(v) + 4, v))
    else:
        out.append(b"$%d\r\n%s\r\n" % (len(v), v))


def _dict(out: list, v: dict, resp: int) -> None:
    out.append(b"%%%d\r\n" % len(v) if resp == 3 else b"*%d\r\n" % (2 * len(v)))
    for k, item in v.items():
        _ENCODERS[type(k)](out, k, resp)
        _ENCODERS[type(item)](out, item, resp)


def _str(out: list, v: str, resp: int) -> None:
    _bulk(out, v.encode(), resp)


_ENCODERS: dict[type, Callable[[list, Any, int], None]] = {
    bytes: _bulk,
    bytearray: _bulk,
    memoryview: lambda out, v, resp: _bulk(out, bytes(v), resp),
    str: _str,
    int: _int,
    type(None): _none,
    Raw: _raw,
    Status: _status,
    ErrorReply: _error,
    list: _array,
    tuple: _array,
    float: _double,
    Double: _double,
    MapReply: _map,
    dict: _dict,
    SetReply: _set,
    Push: _push,
    type(NULL_ARRAY): _null_array,
    bool: _bool,
    BigNumber: _bignum,
    Verbatim: _verbatim,
}


def encode_into(out: list, value: Any, resp: int = 2) -> None:
    """Append the RESP encoding of *value* to the list of byte chunks *out*."""
    _ENCODERS[type(value)](out, value, resp)


def encode(value: Any, resp: int = 2) -> bytes:
    """Return the RESP encoding of *value*."""
    out: list[bytes] = []
    _ENCODERS[type(value)](out, value, resp)
    return b"".join(out)


def encode_command(argv: list[bytes]) -> bytes:
    """RESP multi-bulk encoding of a command."""
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        parts.append(b"$%d\r\n" % len(a))
        parts.append(a)
        parts.append(b"\r\n")
    return b"".join(parts)
