"""Strict number parsing and formatting with Redis's rules (``string2ll``, ``%.17g``)."""

from __future__ import annotations

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
