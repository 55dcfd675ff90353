"""The gateway's frame layer, free of I/O: JSON frames in and out, WebSocket frame headers.

Protocol version 1 (docs/gateway.md). Every client frame is a JSON object with ``"op"`` and an
optional ``"id"``; answers carry the same ``"id"`` and either ``"ok": true`` or
``"error": {"code", "message"}``; pushed frames carry ``"type"``.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

VERSION = 1

# WebSocket close codes the gateway uses (4000-4999 is the application range, RFC 6455 7.4.2).
CLOSE_KILLED = 4000  # CLIENT KILL, ACL DELUSER, server shutdown
CLOSE_SLOW = 4001  # the client's queue went over client-output-buffer-limit pubsub
CLOSE_TOO_BIG = 1009  # a frame over 4 x gateway-max-frame (smaller oversized frames get an error)

OPS = frozenset({
    "auth", "ping", "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
    "sunsubscribe", "publish", "spublish", "watch", "unwatch", "command", "query",
})

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class FrameError(Exception):
    """A client frame the gateway refuses; ``code`` is a Redis error code (ERR, NOAUTH, NOPERM...)."""

    def __init__(self, code: str, message: str, fid: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fid = fid  # the frame's id, when it had a usable one


def encode(obj: dict[str, Any]) -> bytes:
    """One JSON frame as UTF-8 bytes."""
    return _dumps(obj).encode()


def ws_text(payload: bytes) -> bytes:
    """An unmasked, unfragmented WebSocket text frame (server to client) carrying *payload*."""
    n = len(payload)
    if n < 126:
        return b"\x81" + bytes((n,)) + payload
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


def ws_deflated(payload: bytes, bits: int) -> bytes:
    """A permessage-deflate text frame (RSV1 set), compressed on its own (no context takeover)."""
    z = zlib.compressobj(5, zlib.DEFLATED, -bits, 5)
    data = z.compress(payload) + z.flush(zlib.Z_SYNC_FLUSH)
    data = data[:-4]  # the empty stored block 00 00 ff ff (RFC 7692 7.2.1)
    n = len(data)
    if n < 126:
        return b"\xc1" + bytes((n,)) + data
    if n < 65536:
        return b"\xc1\x7e" + n.to_bytes(2, "big") + data
    return b"\xc1\x7f" + n.to_bytes(8, "big") + data


def text(b: bytes) -> tuple[str, bool]:
    """``(string, is_base64)``: UTF-8 text when *b* decodes, else its base64."""
    try:
        return b.decode(), False
    except UnicodeDecodeError:
        return base64.b64encode(b).decode(), True


def put_bytes(obj: dict[str, Any], field: str, b: bytes) -> None:
    """Store *b* under *field*, adding ``"<field>_encoding": "base64"`` when it is not UTF-8."""
    s, b64 = text(b)
    obj[field] = s
    if b64:
        obj[field + "_encoding"] = "base64"


def arg_bytes(v: Any, what: str) -> bytes:
    """A client-supplied string (or number) as bytes."""
    if isinstance(v, str):
        return v.encode("utf-8", "surrogatepass")
    if isinstance(v, bool) or v is None or isinstance(v, (list, dict)):
        raise FrameError("ERR", f"'{what}' must be a string")
    return str(v).encode()


def parse(data: str | bytes) -> dict[str, Any]:
    """Decode one client frame; raises :class:`FrameError` for bad JSON or a bad envelope."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise FrameError("ERR", f"invalid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise FrameError("ERR", "a frame must be a JSON object")
    fid = obj.get("id")
    if fid is not None and not isinstance(fid, (str, int, float)) or isinstance(fid, bool):
        raise FrameError("ERR", "'id' must be a string or a number")
    op = obj.get("op")
    if not isinstance(op, str):
        raise FrameError("ERR", "missing 'op'", fid)
    if op not in OPS:
        raise FrameError("ERR", f"unknown op '{op[:64]}'", fid)
    return obj


def str_list(obj: dict[str, Any], field: str, required: bool = True) -> list[bytes]:
    """A list-of-strings field (a single string is accepted as a one-element list)."""
    v = obj.get(field)
    if v is None:
        if required:
            raise FrameError("ERR", f"missing '{field}'")
        return []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v and required:
        raise FrameError("ERR", f"'{field}' must be a non-empty list of strings")
    return [arg_bytes(x, field) for x in v]


def reply(fid: Any, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": fid, "ok": True} if fid is not None else {"ok": True}
    out.update(fields)
    return out


def error(fid: Any, code: str, message: str) -> dict[str, Any]:
    """An error answer (with the frame's id) or an unsolicited ``"type": "error"`` frame."""
    err = {"code": code, "message": message}
    if fid is None:
        return {"type": "error", "error": err}
    return {"id": fid, "error": err}


def redis_error(message: str) -> tuple[str, str]:
    """Split a Redis error reply into (code, message): ``"WRONGTYPE Operation..."``."""
    code, _, rest = message.partition(" ")
    if code and code.isupper() and rest:
        return code, rest
    return "ERR", message
