"""The ``cmsgpack`` library (lua-cmsgpack semantics): ``pack``, ``unpack``, ``unpack_one``, ``unpack_limit``.

Numbers that are exact 64-bit integers pack as integers, others as float32 when lossless else
float64; tables whose keys are exactly 1..n pack as arrays, others as maps; nesting deeper than 16
packs as nil.
"""

from __future__ import annotations

import struct
from typing import Any

from pyredis.scripting.cjson import LUA_MAX_CSTACK, deep_recursion
from pyredis.scripting.luaargs import LuaArgError, check_number, check_string, lua_type

MAX_NESTING = 16


class Codec:
    """Bound to one Lua runtime (to build tables when unpacking)."""

    def __init__(self, table_from: Any) -> None:
        self.table_from = table_from

    # -- packing ---------------------------------------------------------------------------------
    def pack(self, *args: Any) -> Any:
        if not args:
            raise LuaArgError("bad argument #0 to 'pack' (MessagePack pack needs input.)")
        out = bytearray()
        for a in args:
            self._enc(a, out, 0)
        return bytes(out)

    def _enc(self, v: Any, out: bytearray, level: int) -> None:
        t = type(v)
        if t is bytes:
            _enc_str(v, out)
        elif t is bool:
            out.append(0xC3 if v else 0xC2)
        elif t is int or t is float:
            _enc_num(v, out)
        elif v is None:
            out.append(0xC0)
        elif lua_type(v) == "table" and level < MAX_NESTING:
            items = list(v.items())
            n = len(items)
            is_array = True
            for k, _ in items:
                if type(k) not in (int, float) or k < 1 or k != int(k) or k > n:
                    is_array = False
                    break
            if is_array:
                _enc_len(out, n, 0x90, 0xDC, 0xDD)
                for i in range(1, n + 1):
                    self._enc(v[i], out, level + 1)
            else:
                _enc_len(out, n, 0x80, 0xDE, 0xDF)
                for k, x in items:
                    self._enc(k, out, level + 1)
                    self._enc(x, out, level + 1)
        else:
            out.append(0xC0)

    # -- unpacking -------------------------------------------------------------------------------
    def unpack(self, *args: Any) -> Any:
        s = check_string(args, 0, "unpack")
        vals, _ = self._decode_many(s, 0, 0)
        return tuple(vals)

    def unpack_one(self, *args: Any) -> Any:
        s = check_string(args, 0, "unpack_one")
        off = int(check_number(args, 1, "unpack_one")) if len(args) > 1 and args[1] is not None else 0
        vals, pos = self._decode_many(s, off, 1)
        return (-1 if pos >= len(s) else pos, *vals)

    def unpack_limit(self, *args: Any) -> Any:
        s = check_string(args, 0, "unpack_limit")
        limit = int(check_number(args, 1, "unpack_limit")) if len(args) > 1 and args[1] is not None else 0
        off = int(check_number(args, 2, "unpack_limit")) if len(args) > 2 and args[2] is not None else 0
        vals, pos = self._decode_many(s, off, limit)
        return (-1 if pos >= len(s) else pos, *vals)

    def _decode_many(self, s: bytes, pos: int, limit: int) -> tuple[list[Any], int]:
        if pos < 0 or pos > len(s):
            raise LuaArgError("Start offset %d greater than input length %d." % (pos, len(s)))
        vals: list[Any] = []
        with deep_recursion():
            while pos < len(s) and (limit <= 0 or len(vals) < limit):
                v, pos = self._dec(s, pos, 1 + len(vals))
                vals.append(v)
        return vals, pos

    def _need(self, s: bytes, pos: int, n: int) -> None:
        if pos + n > len(s):
            raise LuaArgError("Missing bytes in input.")

    def _dec(self, s: bytes, pos: int, used: int) -> tuple[Any, int]:
        """Decode one value at *pos*; *used*: Lua stack slots taken (lua_checkstack's limit)."""
        self._need(s, pos, 1)
        if used + 1 > LUA_MAX_CSTACK:
            raise LuaArgError("stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)")
        c = s[pos]
        pos += 1
        if c < 0x80:
            return c, pos
        if c >= 0xE0:
            return c - 256, pos
        if 0xA0 <= c <= 0xBF:
            return self._raw(s, pos, c & 0x1F)
        if 0x90 <= c <= 0x9F:
            return self._array(s, pos, c & 0x0F, used)
        if 0x80 <= c <= 0x8F:
            return self._map(s, pos, c & 0x0F, used)
        if c == 0xC0:
            return None, pos
        if c == 0xC2:
            return False, pos
        if c == 0xC3:
            return True, pos
        fixed = _FIXED.get(c)
        if fixed is not None:
            fmt, n = fixed
            self._need(s, pos, n)
            v = struct.unpack(fmt, s[pos : pos + n])[0]
            if type(v) is int and not -(1 << 53) <= v <= (1 << 53):
                v = float(v)
            return v, pos + n
        if c in (0xC4, 0xD9):
            self._need(s, pos, 1)
            return self._raw(s, pos + 1, s[pos])
        if c in (0xC5, 0xDA):
            self._need(s, pos, 2)
            return self._raw(s, pos + 2, int.from_bytes(s[pos : pos + 2], "big"))
        if c in (0xC6, 0xDB):
            self._need(s, pos, 4)
            return self._raw(s, pos + 4, int.from_bytes(s[pos : pos + 4], "big"))
        if c == 0xDC:
            self._need(s, pos, 2)
            return self._array(s, pos + 2, int.from_bytes(s[pos : pos + 2], "big"), used)
        if c == 0xDD:
            self._need(s, pos, 4)
            return self._array(s, pos + 4, int.from_bytes(s[pos : pos + 4], "big"), used)
        if c == 0xDE:
            self._need(s, pos, 2)
            return self._map(s, pos + 2, int.from_bytes(s[pos : pos + 2], "big"), used)
        if c == 0xDF:
            self._need(s, pos, 4)
            return self._map(s, pos + 4, int.from_bytes(s[pos : pos + 4], "big"), used)
        raise LuaArgError("Bad data format in input.")

    def _raw(self, s: bytes, pos: int, n: int) -> tuple[bytes, int]:
        self._need(s, pos, n)
        return s[pos : pos + n], pos + n

    def _array(self, s: bytes, pos: int, n: int, used: int) -> tuple[Any, int]:
        if used + 2 > LUA_MAX_CSTACK:
            raise LuaArgError("stack overflow (in function mp_decode_to_lua_array)")
        items = []
        for _ in range(n):
            v, pos = self._dec(s, pos, used + 2)
            items.append(v)
        return self.table_from(items), pos

    def _map(self, s: bytes, pos: int, n: int, used: int) -> tuple[Any, int]:
        d = {}
        for _ in range(n):
            k, pos = self._dec(s, pos, used + 1)
            v, pos = self._dec(s, pos, used + 2)
            if k is not None:
                d[k] = v
        return self.table_from(d), pos

    def spec(self) -> dict[str, Any]:
        return {
            "pack": self.pack, "unpack": self.unpack, "unpack_one": self.unpack_one,
            "unpack_limit": self.unpack_limit,
            "_NAME": b"cmsgpack", "_VERSION": b"lua-cmsgpack 0.4.0",
            "_COPYRIGHT": b"Copyright (C) 2012, Salvatore Sanfilippo",
            "_DESCRIPTION": b"MessagePack C implementation for Lua",
        }


_FIXED = {
    0xCA: (">f", 4), 0xCB: (">d", 8),
    0xCC: (">B", 1), 0xCD: (">H", 2), 0xCE: (">I", 4), 0xCF: (">Q", 8),
    0xD0: (">b", 1), 0xD1: (">h", 2), 0xD2: (">i", 4), 0xD3: (">q", 8),
}


def _enc_len(out: bytearray, n: int, fix: int, c16: int, c32: int) -> None:
    if n < 16:
        out.append(fix | n)
    elif n <= 0xFFFF:
        out.append(c16)
        out += n.to_bytes(2, "big")
    else:
        out.append(c32)
        out += n.to_bytes(4, "big")


def _enc_str(v: bytes, out: bytearray) -> None:
    n = len(v)
    if n < 32:
        out.append(0xA0 | n)
    elif n <= 0xFF:
        out.append(0xD9)
        out.append(n)
    elif n <= 0xFFFF:
        out.append(0xDA)
        out += n.to_bytes(2, "big")
    else:
        out.append(0xDB)
        out += n.to_bytes(4, "big")
    out += v


def _enc_num(v: float, out: bytearray) -> None:
    if type(v) is int or (v == v and -(2.0**63) <= v < 2.0**63 and v == int(v)):
        _enc_int(int(v), out)
        return
    try:
        lossless = struct.unpack(">f", struct.pack(">f", v))[0] == v
    except OverflowError:
        lossless = False
    if lossless:
        out.append(0xCA)
        out += struct.pack(">f", v)
    else:
        out.append(0xCB)
        out += struct.pack(">d", v)


def _enc_int(n: int, out: bytearray) -> None:
    if n >= 0:
        if n <= 127:
            out.append(n)
        elif n <= 0xFF:
            out += b"\xcc" + n.to_bytes(1, "big")
        elif n <= 0xFFFF:
            out += b"\xcd" + n.to_bytes(2, "big")
        elif n <= 0xFFFFFFFF:
            out += b"\xce" + n.to_bytes(4, "big")
        else:
            out += b"\xcf" + n.to_bytes(8, "big")
    else:
        if n >= -32:
            out.append(n & 0xFF)
        elif n >= -128:
            out += b"\xd0" + n.to_bytes(1, "big", signed=True)
        elif n >= -32768:
            out += b"\xd1" + n.to_bytes(2, "big", signed=True)
        elif n >= -(1 << 31):
            out += b"\xd2" + n.to_bytes(4, "big", signed=True)
        else:
            out += b"\xd3" + n.to_bytes(8, "big", signed=True)
