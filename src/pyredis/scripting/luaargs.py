"""Helpers for Python functions called from Lua: type names, number coercion, argument errors."""

from __future__ import annotations

import math
import re
from typing import Any

from lupa import lua51

lua_type = lua51.lua_type

_NUM_RE = re.compile(rb"\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf(inity)?|nan)\s*", re.I)
_HEX_RE = re.compile(rb"\s*0[xX]([0-9a-fA-F]+)\s*")


class LuaArgError(Exception):
    """An error to raise in Lua with the caller's position (``luaL_error`` style)."""


def type_name(v: Any) -> str:
    """The Lua type name of a value received from Lua."""
    if v is None:
        return "nil"
    t = type(v)
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if t is bytes:
        return "string"
    return lua_type(v) or "userdata"


def str2number(s: bytes) -> float | None:
    """Lua 5.1's string to number conversion (decimal via strtod, or hex integers)."""
    m = _HEX_RE.fullmatch(s)
    if m:
        return float(int(m.group(1), 16))
    if _NUM_RE.fullmatch(s):
        try:
            return float(s)
        except ValueError:
            return None
    return None


def check_number(args: tuple, i: int, fname: str) -> float:
    """``luaL_checknumber`` for the 0-based argument *i*."""
    if i >= len(args):
        raise LuaArgError(f"bad argument #{i + 1} to '{fname}' (number expected, got no value)")
    v = args[i]
    t = type(v)
    if t is int or t is float:
        return v
    if t is bytes:
        n = str2number(v)
        if n is not None:
            return n
    raise LuaArgError(f"bad argument #{i + 1} to '{fname}' (number expected, got {type_name(v)})")


def opt_number(args: tuple, i: int, fname: str, default: float) -> float:
    if i >= len(args) or args[i] is None:
        return default
    return check_number(args, i, fname)


def check_string(args: tuple, i: int, fname: str) -> bytes:
    """``luaL_checkstring``: strings, or numbers converted the way Lua prints them."""
    if i >= len(args):
        raise LuaArgError(f"bad argument #{i + 1} to '{fname}' (string expected, got no value)")
    v = args[i]
    t = type(v)
    if t is bytes:
        return v
    if t is int or t is float:
        return number2str(v)
    raise LuaArgError(f"bad argument #{i + 1} to '{fname}' (string expected, got {type_name(v)})")


def number2str(v: float) -> bytes:
    """``tostring`` of a Lua number (``%.14g``)."""
    if v != v:
        return b"-nan" if math.copysign(1.0, v) < 0 else b"nan"
    if v in (math.inf, -math.inf):
        return b"inf" if v > 0 else b"-inf"
    if type(v) is int and -(10**14) < v < 10**14:
        return b"%d" % v
    return b"%.14g" % v


def to_int64(v: float) -> int:
    """C's ``(long long)`` cast of a double as x86-64 does it (out of range -> LLONG_MIN)."""
    if type(v) is int:
        return v if -(1 << 63) <= v < (1 << 63) else -(1 << 63)
    if v != v or v >= 9.223372036854775807e18 or v < -9.223372036854775808e18:
        return -(1 << 63)
    return int(v)


def lua_safe(v: int) -> int | float:
    """Python ints beyond C long cannot cross into Lua: send them as doubles."""
    if -(1 << 63) <= v < (1 << 63):
        return v
    return float(v)


def err_bytes(msg: str) -> bytes:
    return msg.encode("utf-8", "surrogateescape")
