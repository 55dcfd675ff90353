"""Strict number parsing and formatting with Redis's rules (``string2ll``, ``%.17g``)."""

from __future__ import annotations

import math
import re

LLONG_MAX = (1 << 63) - 1
LLONG_MIN = -(1 << 63)

_INT_RE = re.compile(rb"-?[1-9][0-9]*|0")


def parse_ll(b: bytes) -> int | None:
    """Parse *b* like Redis's ``string2ll``: no spaces, no '+', no leading zeros, 64-bit range."""
    if b.isdigit() and len(b) < 19 and (b[0] != 48 or len(b) == 1):
        return int(b)
    if not _INT_RE.fullmatch(b):
        return None
    v = int(b)
    if v > LLONG_MAX or v < LLONG_MIN:
        return None
    return v


_FLOAT_RE = re.compile(rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.I)


def parse_float(b: bytes, allow_nan: bool = False) -> float | None:
    """Parse *b* like Redis's ``strtod``-based helpers; ``None`` when invalid (spaces, empty, nan)."""
    if not b or len(b) > 5000 or not _FLOAT_RE.fullmatch(b):
        if b[:2].lower() in (b"0x", b"-0", b"+0") and _is_hex_float(b):
            return float.fromhex(b.decode())
        return None
    v = float(b)
    if v != v and not allow_nan:
        return None
    return v


def _is_hex_float(b: bytes) -> bool:
    try:
        float.fromhex(b.decode())
    except (ValueError, UnicodeDecodeError):
        return False
    return b.lower().lstrip(b"+-").startswith(b"0x")


def format_long_double(v: float) -> bytes:
    """Human formatting used by INCRBYFLOAT/HINCRBYFLOAT: no exponent, no trailing zeros."""
    if math.isinf(v):
        return b"inf" if v > 0 else b"-inf"
    r = repr(v)
    if "e" in r or "E" in r:
        from decimal import Decimal

        s = format(Decimal(r), "f")
    else:
        s = r
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s == "-0":
        s = "0"
    return s.encode()
