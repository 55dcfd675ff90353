"""LZF compression (the liblzf format Redis uses for RDB strings), in pure Python.

Format: a control byte ``c < 32`` starts a literal run of ``c + 1`` bytes; otherwise
``len = c >> 5`` (7 means "add the next byte"), the back-reference distance is
``((c & 31) << 8 | next byte) + 1`` and ``len + 2`` bytes are copied (overlap allowed).
"""

from __future__ import annotations

import zlib

from pyredis.persistence.accel import fast as _fast
from pyredis.persistence.codec_errors import LZFError

__all__ = ["LZFError", "compress", "compress_py", "decompress", "decompress_py"]


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
_MAX_LIT = 32


def compress(data: bytes, max_out: int | None = None) -> bytes | None:
    """Compress *data* into at most *max_out* bytes (default ``len(data) - 4``, Redis's rule for
    storing a string compressed); None when it does not fit.

    The output is what liblzf (as built into Redis) produces: same 3-byte hash and 16-bit table
    (a slot keeps the last position hashed to it, so collisions lose matches the same way), no
    match against position 0, the last two bytes always literal, two table updates after a match.
    """
    n = len(data)
    if max_out is None:
        max_out = n - 4
    if n == 0 or max_out <= 0:
        return None
    if max_out > n - 4:
        pass
    elif n <= 256:
        # The output must be >= 5 bytes shorter than the input while literals cost a header byte,
        # so matches must cover >= 6 positions whose 3 bytes already occurred earlier: count those
        # (exact, and much cheaper than trying).
        if n - 2 - len(set(zip(data, data[1:], data[2:], strict=False))) < 6:
            return None
    elif len(zlib.compress(data, 1, -15)) >= n:
        # clearly incompressible for zlib's C matcher
        return None
    out_end = max_out
    htab: dict[int, int] = {}
    out = bytearray(b"\0")  # the first literal-run header
    lit = 0
    ip = 0
    last = n - 2
    d = data
    while ip < last:
        b1 = d[ip + 1]
        h = (((d[ip] << 8) | b1) - ((b1 << 8) | d[ip + 2]) * 5) & 0xFFFF
        ref = htab.get(h, 0)
        htab[h] = ip
        off = ip - ref - 1
        if ref and off < _MAX_OFF and d[ref + 2] == d[ip + 2] and d[ref] == d[ip] and d[ref + 1] == b1:
            op = len(out)
            if op + 4 >= out_end and op - (lit == 0) + 4 >= out_end:
                return None
            if lit:
                out[op - lit - 1] = lit - 1
            else:
                out.pop()
            maxlen = n - ip - 2
            if maxlen > _MAX_REF:
                maxlen = _MAX_REF
            # liblzf first compares bytes 3..18 unconditionally when maxlen > 16 (a match may then
            # run up to 2 bytes past maxlen), then continues byte by byte below maxlen.
            if maxlen > 16:
                if d[ref + 3 : ref + 19] == d[ip + 3 : ip + 19]:
                    ln = 19
                    while ln + 16 <= maxlen and d[ref + ln : ref + ln + 16] == d[ip + ln : ip + ln + 16]:
                        ln += 16
                    while ln < maxlen and d[ref + ln] == d[ip + ln]:
                        ln += 1
                else:
                    ln = 3
                    while d[ref + ln] == d[ip + ln]:
                        ln += 1
            else:
                ln = 3
                while ln < maxlen and d[ref + ln] == d[ip + ln]:
                    ln += 1
            code = ln - 2
            if code < 7:
                out.append((off >> 8) + (code << 5))
            else:
                out.append((off >> 8) + (7 << 5))
                out.append(code - 7)
            out.append(off & 0xFF)
            out.append(0)  # start a new literal run
            lit = 0
            ip += ln
            if ip >= last:
                break
            for p in (ip - 2, ip - 1):
                c1 = d[p + 1]
                htab[(((d[p] << 8) | c1) - ((c1 << 8) | d[p + 2]) * 5) & 0xFFFF] = p
            continue
        if len(out) >= out_end:
            return None
        out.append(d[ip])
        ip += 1
        lit += 1
        if lit == _MAX_LIT:
            out[len(out) - lit - 1] = lit - 1
            lit = 0
            out.append(0)
    if len(out) + 3 > out_end:
        return None
    while ip < n:
        out.append(d[ip])
        ip += 1
        lit += 1
        if lit == _MAX_LIT:
            out[len(out) - lit - 1] = lit - 1
            lit = 0
            out.append(0)
    if lit:
        out[len(out) - lit - 1] = lit - 1
    else:
        out.pop()
    return bytes(out)


compress_py = compress
decompress_py = decompress
if _fast is not None:
    compress = _fast.compress  # noqa: F811 - the compiled twin of compress_py
    decompress = _fast.decompress  # noqa: F811
