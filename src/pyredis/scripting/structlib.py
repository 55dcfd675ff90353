"""The ``struct`` library scripts use: ``pack``, ``unpack`` and ``size`` with Lua-struct formats.

Formats: ``<`` ``>`` endianness (native is little), ``!n`` maximum alignment, ``x`` padding,
``b/B h/H l/L T i[n]/I[n]`` integers, ``f`` ``d`` floats, ``c[n]`` fixed strings (``c0``: length
from the previous value when unpacking), ``s`` zero-terminated strings.
"""

from __future__ import annotations

import struct
from typing import Any

from pyredis.scripting.luaargs import LuaArgError, check_number, check_string, to_int64

MAXINTSIZE = 32
MAXALIGN = 8
_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}


class _Fmt:
    __slots__ = ("s", "i", "little", "align")

    def __init__(self, s: bytes) -> None:
        self.s = s.decode("latin-1")
        self.i = 0
        self.little = True
        self.align = 1

    def getnum(self, default: int) -> int:
        s, i = self.s, self.i
        if i >= len(s) or not s[i].isdigit():
            return default
        a = 0
        while i < len(s) and s[i].isdigit():
            if a > (2**31 - 1) // 10 or a * 10 > (2**31 - 1) - int(s[i]):
                raise LuaArgError("integral size overflow")
            a = a * 10 + int(s[i])
            i += 1
        self.i = i
        return a

    def optsize(self, opt: str) -> int:
        if opt in _SIZES:
            return _SIZES[opt]
        if opt == "c":
            return self.getnum(1)
        if opt in "iI":
            sz = self.getnum(4)
            if sz > MAXINTSIZE:
                raise LuaArgError("integral size %d is larger than limit of %d" % (sz, MAXINTSIZE))
            return sz
        return 0

    def toalign(self, pos: int, opt: str, size: int) -> int:
        if size == 0 or opt == "c":
            return 0
        size = min(size, self.align)
        return (size - (pos & (size - 1))) & (size - 1)

    def control(self, opt: str, fname: str) -> None:
        if opt == " ":
            return
        if opt == ">":
            self.little = False
        elif opt == "<":
            self.little = True
        elif opt == "!":
            a = self.getnum(MAXALIGN)
            if a == 0 or a & (a - 1):
                raise LuaArgError("alignment %d is not a power of 2" % a)
            self.align = a
        else:
            raise LuaArgError(f"bad argument #1 to '{fname}' (invalid format option '{opt}')")

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.i >= len(self.s) or self.s[self.i] == "\0":
            raise StopIteration
        c = self.s[self.i]
        self.i += 1
        return c


def _putint(n: float, size: int, little: bool) -> bytes:
    v = to_int64(n) if n < 0 else (int(n) if n == n and n < 2.0**64 else 0)
    v &= (1 << 64) - 1
    b = v.to_bytes(8, "little") + bytes(max(0, size - 8))
    b = b[:size]
    return b if little else b[::-1]


def _getint(data: bytes, little: bool, signed: bool, size: int) -> int:
    # lua_struct reads into a 64-bit unsigned: bytes past 8 shift out; the sign mask's shift count
    # is taken modulo 64 as x86 does (``i9`` masks from bit 7)
    u64 = (1 << 64) - 1
    v = int.from_bytes(data, "little" if little else "big") & u64
    if signed:
        mask = (u64 << ((size * 8 - 1) & 63)) & u64
        if v & mask:
            v |= mask
        if v & (1 << 63):
            v -= 1 << 64
    return v


def pack(*args: Any) -> Any:
    f = _Fmt(check_string(args, 0, "pack"))
    out = bytearray()
    arg = 1
    for opt in f:
        size = f.optsize(opt)
        pad = f.toalign(len(out), opt, size)
        out += bytes(pad)
        if opt in "bBhHlLTiI":
            out += _putint(check_number(args, arg, "pack"), size, f.little)
            arg += 1
        elif opt == "x":
            out += b"\0"
        elif opt == "f":
            out += struct.pack("<f" if f.little else ">f", _to_float32(check_number(args, arg, "pack")))
            arg += 1
        elif opt == "d":
            out += struct.pack("<d" if f.little else ">d", float(check_number(args, arg, "pack")))
            arg += 1
        elif opt in "cs":
            s = check_string(args, arg, "pack")
            arg += 1
            if size == 0:
                size = len(s)
            if len(s) < size:
                raise LuaArgError(f"bad argument #{arg + 1} to 'pack' (string too short)")
            out += s[:size]
            if opt == "s":
                out += b"\0"
        else:
            f.control(opt, "pack")
    return bytes(out)


def _to_float32(v: float) -> float:
    try:
        struct.pack("<f", v)
        return v
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def unpack(*args: Any) -> Any:
    f = _Fmt(check_string(args, 0, "unpack"))
    data = check_string(args, 1, "unpack")
    ld = len(data)
    start = 1 if len(args) < 3 or args[2] is None else int(check_number(args, 2, "unpack"))
    pos = start - 1
    if pos < 0 or pos > ld:
        raise LuaArgError("bad argument #3 to 'unpack' (offset must be 1 or greater)")
    res: list[Any] = []
    for opt in f:
        size = f.optsize(opt)
        pos += f.toalign(pos, opt, size)
        if size > ld or pos > ld - size:
            raise LuaArgError("bad argument #2 to 'unpack' (data string too short)")
        if opt in "bBhHlLTiI":
            res.append(_getint(data[pos : pos + size], f.little, opt.islower(), size))
        elif opt == "x":
            pass
        elif opt == "f":
            res.append(struct.unpack("<f" if f.little else ">f", data[pos : pos + 4])[0])
        elif opt == "d":
            res.append(struct.unpack("<d" if f.little else ">d", data[pos : pos + 8])[0])
        elif opt == "c":
            if size == 0:
                if not res or type(res[-1]) not in (int, float):
                    raise LuaArgError("format 'c0' needs a previous size")
                size = int(res.pop())
                if size > ld or pos > ld - size:
                    raise LuaArgError("bad argument #2 to 'unpack' (data string too short)")
            res.append(data[pos : pos + size])
        elif opt == "s":
            e = data.find(b"\0", pos)
            if e < 0:
                raise LuaArgError("unfinished string in data")
            size = e - pos + 1
            res.append(data[pos:e])
        else:
            f.control(opt, "unpack")
        pos += size
    res.append(pos + 1)
    return tuple(_lua_num(x) for x in res)


def _lua_num(x: Any) -> Any:
    if type(x) is int and not -(1 << 53) <= x <= (1 << 53):
        return float(x)
    return x


def size(*args: Any) -> Any:
    f = _Fmt(check_string(args, 0, "size"))
    pos = 0
    for opt in f:
        sz = f.optsize(opt)
        pos += f.toalign(pos, opt, sz)
        if opt == "s":
            raise LuaArgError("bad argument #1 to 'size' (option 's' has no fixed size)")
        if opt == "c" and sz == 0:
            raise LuaArgError("bad argument #1 to 'size' (option 'c0' has no fixed size)")
        if not opt.isalnum():
            f.control(opt, "size")
        pos += sz
    return pos


def spec() -> dict[str, Any]:
    return {"pack": pack, "size": size, "unpack": unpack}
