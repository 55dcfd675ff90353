"""Command replies -> Lua values, following Redis's RESP2/RESP3 to Lua conversion rules.

RESP2 (the default): integer -> number, bulk -> string, null -> false, array -> table, status ->
``{ok=...}``, error -> ``{err=...}``. RESP3 (after ``redis.setresp(3)``) adds: null -> nil, map ->
``{map={...}}``, set -> ``{set={k=true}}``, double -> ``{double=n}``, boolean -> true/false, big
number -> ``{big_number='...'}``, verbatim -> ``{verbatim_string={format=..., string=...}}``.
"""

from __future__ import annotations

from typing import Any

from pyredis.protocol.encoder import format_double
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


class ReplyParseError(ValueError):
    pass


def parse_resp(data: bytes) -> list[Any]:
    """Parse RESP2/RESP3 bytes (a handler's pre-encoded output) into reply values."""
    out: list[Any] = []
    pos = 0
    n = len(data)
    while pos < n:
        v, pos = _parse(data, pos)
        out.append(v)
    return out


def _line(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.find(b"\r\n", pos)
    if end < 0:
        raise ReplyParseError("truncated reply")
    return data[pos:end], end + 2


def _parse(data: bytes, pos: int) -> tuple[Any, int]:
    t = data[pos : pos + 1]
    line, pos = _line(data, pos + 1)
    if t == b"+":
        return Status(line), pos
    if t == b"-":
        return ErrorReply(line), pos
    if t == b":":
        return int(line), pos
    if t in (b"$", b"=", b"!"):
        ln = int(line)
        if ln < 0:
            return None, pos
        body = data[pos : pos + ln]
        pos += ln + 2
        if t == b"=":
            return Verbatim(body[4:]), pos
        if t == b"!":
            return ErrorReply(body), pos
        return body, pos
    if t in (b"*", b"~", b">", b"%", b"|"):
        cnt = int(line)
        if cnt < 0:
            return NULL_ARRAY, pos
        if t in (b"%", b"|"):
            cnt *= 2
        items = []
        for _ in range(cnt):
            v, pos = _parse(data, pos)
            items.append(v)
        if t == b"|":
            v, pos = _parse(data, pos)
            return v, pos
        if t == b"%":
            return MapReply(items), pos
        if t == b"~":
            return SetReply(items), pos
        if t == b">":
            return Push(items), pos
        return items, pos
    if t == b"_":
        return None, pos
    if t == b"#":
        return line == b"t", pos
    if t == b",":
        return Double(float(line)), pos
    if t == b"(":
        return BigNumber(int(line)), pos
    raise ReplyParseError("unknown reply type %r" % t)


_RAW_CACHE: dict[bytes, Any] = {}


def raw_value(v: bytes) -> Any:
    """The reply value a pre-encoded :class:`Raw` reply stands for."""
    r = _RAW_CACHE.get(v)
    if r is None:
        vals = parse_resp(bytes(v))
        r = vals[0] if vals else None
        if len(v) < 64 and type(r) in (Status, int, bytes):
            _RAW_CACHE[bytes(v)] = r
    return r


class ToLua:
    """Converts reply values into Lua values for one Lua runtime."""

    def __init__(self, table_from: Any, mk_ok: Any, mk_err: Any, mk_single: Any, mk_verbatim: Any) -> None:
        self.table_from = table_from
        self.mk_ok = mk_ok
        self.mk_err = mk_err
        self.mk_single = mk_single
        self.mk_verbatim = mk_verbatim

    def value(self, v: Any, resp: int) -> Any:
        """Convert a nested reply value (element of an array or map)."""
        t = type(v)
        if t is bytes:
            return v
        if t is int:
            return v if -(1 << 63) <= v < (1 << 63) else float(v)
        if v is None:
            return None if resp == 3 else False
        if t is list or t is tuple or t is Push:
            return self.table_from([self.value(x, resp) for x in v])
        if t is Status:
            return self.mk_ok(bytes(v))
        if t is Raw:
            return self.value(raw_value(v), resp)
        if t is ErrorReply:
            return self.mk_err(bytes(v))
        if t is bool:
            if resp == 3:
                return v
            return 1 if v else 0
        if t is float or t is Double:
            if resp == 3:
                return self.mk_single(b"double", float(v))
            return format_double(v)
        if t is MapReply or t is dict:
            items = list(v.items()) if t is dict else list(zip(v[0::2], v[1::2], strict=False))
            if resp == 3:
                return self.mk_single(b"map", self.table_from({self.value(k, 3): self.value(x, 3) for k, x in items}))
            flat = []
            for k, x in items:
                flat.append(self.value(k, resp))
                flat.append(self.value(x, resp))
            return self.table_from(flat)
        if t is SetReply:
            if resp == 3:
                return self.mk_single(b"set", self.table_from({self.value(k, 3): True for k in v}))
            return self.table_from([self.value(x, resp) for x in v])
        if t is BigNumber:
            s = b"%d" % v
            return self.mk_single(b"big_number", s) if resp == 3 else s
        if t is Verbatim:
            return self.mk_verbatim(b"txt", bytes(v)) if resp == 3 else bytes(v)
        if v is NULL_ARRAY:
            return None if resp == 3 else False
        if t is str:
            return v.encode()
        if t is bytearray or t is memoryview:
            return bytes(v)
        if isinstance(v, int):
            return int(v)
        return False
