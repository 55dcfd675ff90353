"""80-bit long double emulation: INCRBYFLOAT / HINCRBYFLOAT are computed in long double like Redis.

Exact rationals (``fractions``) rounded to the x87 extended format, printed with ``decimal``. Imported by
those two commands when first run, so a server that never runs them does not load decimal/fractions.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from pyredis.protocol.numbers import _FLOAT_RE, _is_hex_float

ZERO = Fraction(0)

_LD_MANT = 64


def _ld_round(x: Fraction) -> Fraction:
    """Round *x* to the nearest x87 extended-precision value (64-bit significand, ties to even)."""
    if x == 0:
        return x
    sign = -1 if x < 0 else 1
    a = abs(x)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    shift = _LD_MANT - 1 - e
    scaled = a * (Fraction(2) ** shift)
    m = round(scaled)  # Fraction.__round__ rounds half to even
    return sign * Fraction(m) / (Fraction(2) ** shift)


def parse_long_double(b: bytes) -> Fraction | float | None:
    """Parse like Redis's ``string2ld`` (strtold): exact value rounded to long double; None if invalid."""
    if not b or len(b) > 5000 or b[:1].isspace() or b[-1:].isspace():
        return None
    if not _FLOAT_RE.fullmatch(b):
        if _is_hex_float(b):  # strtold also reads C99 hex floats (0x10, 0x1p-3)
            return _ld_round(Fraction(float.fromhex(b.decode())))
        return None
    low = b.lower().lstrip(b"+-")
    if low.startswith(b"inf"):
        return float("-inf") if b.startswith(b"-") else float("inf")
    if low.startswith(b"nan"):
        return None
    exact = Fraction(Decimal(b.decode()))
    if exact and abs(exact) < _LD_TINY:
        return None  # strtold underflows to 0 with ERANGE: string2ld refuses it
    r = _ld_round(exact)
    if abs(r) > _LD_MAX:
        return None  # strtold overflows to HUGE_VAL with ERANGE: string2ld refuses it
    return r


_LD_MAX = Fraction(2**64 - 1) * Fraction(2) ** (16383 - 63)
_LD_TINY = Fraction(1, 2 ** 16446)  # half the smallest subnormal long double: below it strtold gives 0


def long_double_add(a: Fraction | float, b: Fraction | float) -> Fraction | float:
    """a + b in long double arithmetic (inf when it overflows, nan for inf - inf)."""
    if isinstance(a, float) or isinstance(b, float):
        return float(a) + float(b)
    r = _ld_round(a + b)
    if abs(r) > _LD_MAX:
        return float("inf") if r > 0 else float("-inf")
    return r


def format_long_double_human(v: Fraction) -> bytes:
    """``%.17Lf`` with trailing zeros removed, as Redis's LD_STR_HUMAN mode."""
    with localcontext() as ctx:
        ctx.prec = 6000
        d = Decimal(v.numerator) / Decimal(v.denominator)
        s = format(d.quantize(Decimal("1e-17"), rounding=ROUND_HALF_EVEN), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s == "-0":
        s = "0"
    return s.encode()
