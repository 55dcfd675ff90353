"""RESP3 replies (as the server encodes them for a command run by the gateway) to JSON values."""

from __future__ import annotations

import base64
import math
from typing import Any


class ReplyError(Exception):
    """A top-level error reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _str(b: bytes) -> Any:
    try:
        return b.decode()
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(b).decode()}


def key_str(v: Any) -> str:
    """A JSON object key for a reply value."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and "base64" in v:
        return "base64:" + v["base64"]
    return str(v)


def parse(buf: bytes) -> list[Any]:
    """Every reply in *buf*, JSON-ready. Errors nested in arrays become ``{"error": "..."}``;
    a top-level error raises :class:`ReplyError` when it is the only reply."""
    out: list[Any] = []
    pos = 0
    n = len(buf)
    while pos < n:
        v, pos = _parse(buf, pos)
        out.append(v)
    return out


def _line(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = buf.index(b"\r\n", pos)
    return buf[pos:end], end + 2


def _parse(buf: bytes, pos: int) -> tuple[Any, int]:
    t = buf[pos : pos + 1]
    line, pos = _line(buf, pos + 1)
    if t in (b"$", b"="):
        ln = int(line)
        if ln < 0:
            return None, pos
        data = buf[pos : pos + ln]
        if t == b"=":
            data = data[4:]  # "txt:" / "mkd:"
        return _str(data), pos + ln + 2
    if t == b"+":
        return _str(line), pos
    if t == b":":
        return int(line), pos
    if t in (b"-", b"!"):
        if t == b"!":
            ln = int(line)
            line, pos = buf[pos : pos + ln], pos + ln + 2
        return {"error": line.decode("utf-8", "replace")}, pos
    if t == b"_":
        return None, pos
    if t == b",":
        f = float(line)
        return (f if math.isfinite(f) else line.decode()), pos
    if t == b"#":
        return line == b"t", pos
    if t == b"(":
        return line.decode(), pos
    if t in (b"*", b"~", b">"):
        ln = int(line)
        if ln < 0:
            return None, pos
        items = []
        for _ in range(ln):
            v, pos = _parse(buf, pos)
            items.append(v)
        return items, pos
    if t in (b"%", b"|"):
        ln = int(line)
        m: dict[str, Any] = {}
        for _ in range(ln):
            k, pos = _parse(buf, pos)
            v, pos = _parse(buf, pos)
            m[key_str(k)] = v
        return m, pos
    raise ValueError(f"unexpected RESP type {t!r}")


def single(buf: bytes) -> Any:
    """The one reply of a command; raises :class:`ReplyError` for an error reply."""
    if buf[:1] == b"-":
        raise ReplyError(buf[1:].rstrip(b"\r\n").decode("utf-8", "replace"))
    vals = parse(buf)
    if not vals:
        return None
    return vals[0] if len(vals) == 1 else vals
