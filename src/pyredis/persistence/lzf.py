"""LZF compression (the liblzf format Redis uses for RDB strings), in pure Python.

Format: a control byte ``c < 32`` starts a literal run of ``c + 1`` bytes; otherwise
``len = c >> 5`` (7 means "add the next byte"), the back-reference distance is
``((c & 31) << 8 | next byte) + 1`` and ``len + 2`` bytes are copied (overlap allowed).
"""

from __future__ import annotations

import zlib


class LZFError(ValueError):
    """Corrupt compressed data."""


def decompress(data: bytes | memoryview, out_len: int) -> bytes:
    """Decompress *data* that must expand to exactly *out_len* bytes."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n:
                raise LZFError("literal run past the end")
            out += data[i : i + run]
            i += run
            continue
        length = ctrl >> 5
        if length == 7:
            if i >= n:
                raise LZFError("truncated back reference")
            length += data[i]
            i += 1
        if i >= n:
            raise LZFError("truncated back reference")
        dist = ((ctrl & 31) << 8 | data[i]) + 1
        i += 1
        length += 2
        start = len(out) - dist
        if start < 0:
            raise LZFError("back reference before the start")
        if dist >= length:
            out += out[start : start + length]
        else:
            pattern = out[start:]
            reps = length // dist + 1
            out += (pattern * reps)[:length]
    if len(out) != out_len:
        raise LZFError("length mismatch")
    return bytes(out)


_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)  # 264


def _emit_literals(out: bytearray, data: bytes, start: int, end: int) -> None:
    while start < end:
        run = min(32, end - start)
        out.append(run - 1)
        out += data[start : start + run]
        start += run


def compress(data: bytes, max_out: int | None = None) -> bytes | None:
    """Compress *data*; None when the result would not be shorter than *max_out* bytes
    (default ``len(data) - 4``, Redis's rule for storing a string compressed)."""
    n = len(data)
    if max_out is None:
        max_out = n - 4
    if n < 4 or max_out <= 0:
        return None
    # Quick rejection of incompressible data with zlib's fast C matcher.
    if n > 64 and len(zlib.compress(data, 1, -15)) >= n - 4:
        return None
    out = bytearray()
    table: dict[bytes, int] = {}
    lit = 0
    i = 0
    last = n - 2
    while i < last:
        key = data[i : i + 3]
        ref = table.get(key)
        table[key] = i
        if ref is not None:
            off = i - ref - 1
            if off < _MAX_OFF:
                maxlen = min(_MAX_REF, n - i)
                ln = 3
                while ln + 16 <= maxlen and data[ref + ln : ref + ln + 16] == data[i + ln : i + ln + 16]:
                    ln += 16
                while ln < maxlen and data[ref + ln] == data[i + ln]:
                    ln += 1
                if lit < i:
                    _emit_literals(out, data, lit, i)
                code = ln - 2
                if code < 7:
                    out.append((code << 5) | (off >> 8))
                else:
                    out.append((7 << 5) | (off >> 8))
                    out.append(code - 7)
                out.append(off & 0xFF)
                if len(out) >= max_out:
                    return None
                # remember a couple of positions inside the match, as liblzf does
                j = i + ln
                if j < last:
                    table[data[j - 1 : j + 2]] = j - 1
                i = lit = j
                continue
        i += 1
    _emit_literals(out, data, lit, n)
    if len(out) >= max_out:
        return None
    return bytes(out)
