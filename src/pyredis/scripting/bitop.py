"""The ``bit`` library (LuaBitOp semantics: 32-bit signed results, doubles wrapped modulo 2^32)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from pyredis.scripting.luaargs import check_number, opt_number

_D2I = struct.Struct("<d")
_I32 = struct.Struct("<i")


def tobit(d: float) -> int:
    """Normalize a Lua number to a signed 32-bit integer as LuaBitOp does (round half to even)."""
    if type(d) is int and -(1 << 31) <= d < (1 << 31):
        return d
    try:
        raw = _D2I.pack(float(d) + 6755399441055744.0)
    except OverflowError:
        return 0
    return _I32.unpack(raw[:4])[0]


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _arg(args: tuple, i: int, name: str) -> int:
    return tobit(check_number(args, i, name))


def _fold(name: str, op: Callable[[int, int], int]) -> Callable[..., Any]:
    def fn(*args: Any) -> Any:
        r = _arg(args, 0, name)
        for i in range(1, len(args)):
            r = op(r, _arg(args, i, name))
        return _s32(r)

    return fn


def _unary(name: str, op: Callable[[int], int]) -> Callable[..., Any]:
    def fn(*args: Any) -> Any:
        return _s32(op(_arg(args, 0, name)))

    return fn


def _shift(name: str, op: Callable[[int, int], int]) -> Callable[..., Any]:
    def fn(*args: Any) -> Any:
        x = _arg(args, 0, name)
        n = _arg(args, 1, name) & 31
        return _s32(op(x, n))

    return fn


def _tohex(*args: Any) -> Any:
    b = _arg(args, 0, "tohex")
    n = tobit(opt_number(args, 1, "tohex", 8))
    digits = "0123456789abcdef"
    if n < 0:
        n = -n
        digits = "0123456789ABCDEF"
    n = min(n, 8)
    out = []
    b &= 0xFFFFFFFF
    for _ in range(n):
        out.append(digits[b & 15])
        b >>= 4
    return "".join(reversed(out)).encode()


def _bswap(x: int) -> int:
    x &= 0xFFFFFFFF
    return int.from_bytes(x.to_bytes(4, "little"), "big")


def spec() -> dict[str, Any]:
    """The library's functions (they raise :class:`LuaArgError`)."""
    return {
        "tobit": _unary("tobit", lambda x: x),
        "bnot": _unary("bnot", lambda x: ~x),
        "bswap": _unary("bswap", _bswap),
        "band": _fold("band", lambda a, b: a & b),
        "bor": _fold("bor", lambda a, b: a | b),
        "bxor": _fold("bxor", lambda a, b: a ^ b),
        "lshift": _shift("lshift", lambda x, n: x << n),
        "rshift": _shift("rshift", lambda x, n: (x & 0xFFFFFFFF) >> n),
        "arshift": _shift("arshift", lambda x, n: x >> n),
        "rol": _shift("rol", lambda x, n: ((x & 0xFFFFFFFF) << n) | ((x & 0xFFFFFFFF) >> (32 - n))),
        "ror": _shift("ror", lambda x, n: ((x & 0xFFFFFFFF) >> n) | ((x & 0xFFFFFFFF) << (32 - n))),
        "tohex": _tohex,
    }
