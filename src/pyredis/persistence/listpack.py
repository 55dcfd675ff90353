"""Listpack, ziplist, intset and zipmap blobs: the compact encodings stored inside RDB values.

Redis 7.0 writes listpacks (small hashes, zsets, list quicklist nodes, stream nodes) and intsets;
ziplists and zipmaps only appear in files written by older versions, so they are decoded only.
Decoders return elements as ``bytes`` (integers formatted in decimal, as Redis returns them) or,
with ``ints=True``, integer elements as ``int``.
"""

from __future__ import annotations

import struct

from pyredis.persistence.accel import fast as _fast
from pyredis.persistence.codec_errors import BlobError
from pyredis.protocol.numbers import parse_ll

__all__ = ["BlobError", "lp_entry", "lp_encode", "lp_decode", "zl_decode", "intset_encode", "intset_decode",
           "zipmap_decode", "lp_encode_pairs"]


_I16, _I24, _I32, _I64 = 0xF1, 0xF2, 0xF3, 0xF4


def _backlen(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128))
    return bytes((n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                  (n & 127) | 128))


_SMALL_INT = [bytes((i, 1)) for i in range(128)]  # 7-bit uint entries with their backlen


def lp_entry_int(v: int) -> bytes:
    """One encoded listpack integer entry, backlen included."""
    if 0 <= v <= 127:
        return _SMALL_INT[v]
    if -4096 <= v <= 4095:
        if v < 0:
            v += 1 << 13
        return bytes((0xC0 | (v >> 8), v & 0xFF, 2))
    if -32768 <= v <= 32767:
        return b"\xf1" + struct.pack("<h", v) + b"\x03"
    if -8388608 <= v <= 8388607:
        return b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little") + b"\x04"
    if -2147483648 <= v <= 2147483647:
        return b"\xf3" + struct.pack("<i", v) + b"\x05"
    return b"\xf4" + struct.pack("<q", v) + b"\x09"


def lp_entry(s: bytes | int) -> bytes:
    """One encoded listpack entry for a string (stored as an integer when it is one) or an int."""
    if type(s) is int:
        return lp_entry_int(s)
    n = len(s)
    if n <= 20 and n:
        v = parse_ll(s)
        if v is not None:
            return lp_entry_int(v)
    if n < 64:
        return bytes((0x80 | n,)) + s + bytes((n + 1,))
    if n < 4096:
        head = bytes((0xE0 | (n >> 8), n & 0xFF))
        return head + s + _backlen(n + 2)
    return b"\xf0" + struct.pack("<I", n) + s + _backlen(n + 5)


def lp_encode(items) -> bytes:
    """A listpack holding *items* (bytes or ints)."""
    body = b"".join([lp_entry(s) for s in items])
    count = len(items) if hasattr(items, "__len__") else None
    if count is None:
        raise TypeError("items must be sized")
    return struct.pack("<IH", len(body) + 7, count if count < 65535 else 65535) + body + b"\xff"


def lp_decode(blob: bytes, ints: bool = False) -> list:
    """Elements of a listpack (validated enough to never read out of bounds)."""
    n = len(blob)
    if n < 7:
        raise BlobError("listpack too short")
    total, count = struct.unpack_from("<IH", blob)
    if total != n or blob[-1] != 0xFF:
        raise BlobError("listpack size mismatch")
    out: list = []
    append = out.append
    p = 6
    end = n - 1
    unpack = struct.unpack_from
    while p < end:
        b = blob[p]
        if b < 0x80:
            v: bytes | int = b
            ln = 1
        elif b < 0xC0:
            sl = b & 0x3F
            v = blob[p + 1 : p + 1 + sl]
            ln = 1 + sl
        elif b < 0xE0:
            iv = ((b & 0x1F) << 8) | blob[p + 1]
            if iv >= 4096:
                iv -= 8192
            v = iv
            ln = 2
        elif b < 0xF0:
            sl = ((b & 0x0F) << 8) | blob[p + 1]
            v = blob[p + 2 : p + 2 + sl]
            ln = 2 + sl
        elif b == 0xF0:
            sl = unpack("<I", blob, p + 1)[0]
            v = blob[p + 5 : p + 5 + sl]
            ln = 5 + sl
        elif b == _I16:
            v = unpack("<h", blob, p + 1)[0]
            ln = 3
        elif b == _I24:
            iv = int.from_bytes(blob[p + 1 : p + 4], "little", signed=True)
            v = iv
            ln = 4
        elif b == _I32:
            v = unpack("<i", blob, p + 1)[0]
            ln = 5
        elif b == _I64:
            v = unpack("<q", blob, p + 1)[0]
            ln = 9
        else:
            raise BlobError("bad listpack entry encoding")
        if p + ln > end:
            raise BlobError("listpack entry past the end")
        if type(v) is int and not ints:
            v = b"%d" % v
        append(v)
        # check and skip the backlen
        if ln <= 127:
            if blob[p + ln] != ln:
                raise BlobError("bad listpack entry back length")
            p += ln + 1
        else:
            bl = _backlen(ln)
            if blob[p + ln : p + ln + len(bl)] != bl:
                raise BlobError("bad listpack entry back length")
            p += ln + len(bl)
    if p != end:
        raise BlobError("listpack entries overrun")
    if count != 65535 and count != len(out):
        raise BlobError("listpack count mismatch")
    return out


# -- ziplist (RDB files written before 7.0) --------------------------------------------------------
def zl_decode(blob: bytes, ints: bool = False) -> list:
    """Elements of a ziplist."""
    n = len(blob)
    if n < 11:
        raise BlobError("ziplist too short")
    total, _tail, count = struct.unpack_from("<IIH", blob)
    if total != n or blob[-1] != 0xFF:
        raise BlobError("ziplist size mismatch")
    out: list = []
    p = 10
    end = n - 1
    unpack = struct.unpack_from
    prev_len = 0
    last_start = 10
    while p < end:
        start = p
        if blob[p] < 254:
            prevlen = blob[p]
            p += 1
        else:
            if p + 5 > end:
                raise BlobError("ziplist entry past the end")
            prevlen = unpack("<I", blob, p + 1)[0]
            p += 5
        if prevlen != prev_len:
            raise BlobError("ziplist prevlen mismatch")
        if p >= end:
            raise BlobError("ziplist entry past the end")
        b = blob[p]
        top = b >> 6
        v: bytes | int
        if top == 0:
            sl = b & 0x3F
            v = blob[p + 1 : p + 1 + sl]
            p += 1 + sl
        elif top == 1:
            sl = ((b & 0x3F) << 8) | blob[p + 1]
            v = blob[p + 2 : p + 2 + sl]
            p += 2 + sl
        elif b == 0x80:
            sl = unpack(">I", blob, p + 1)[0]
            v = blob[p + 5 : p + 5 + sl]
            p += 5 + sl
        elif b == 0xC0:
            v = unpack("<h", blob, p + 1)[0]
            p += 3
        elif b == 0xD0:
            v = unpack("<i", blob, p + 1)[0]
            p += 5
        elif b == 0xE0:
            v = unpack("<q", blob, p + 1)[0]
            p += 9
        elif b == 0xF0:
            v = int.from_bytes(blob[p + 1 : p + 4], "little", signed=True)
            p += 4
        elif b == 0xFE:
            v = unpack("<b", blob, p + 1)[0]
            p += 2
        elif 0xF1 <= b <= 0xFD:
            v = (b & 0x0F) - 1
            p += 1
        else:
            raise BlobError("bad ziplist entry encoding")
        if p > end:
            raise BlobError("ziplist entry past the end")
        if type(v) is int and not ints:
            v = b"%d" % v
        out.append(v)
        prev_len = p - start
        last_start = start
    if count != 65535 and count != len(out):
        raise BlobError("ziplist count mismatch")
    if _tail != last_start:
        raise BlobError("ziplist tail offset mismatch")
    return out


# -- intset ------------------------------------------------------------------------------------------
def intset_encode(values: list[int]) -> bytes:
    """An intset of the (distinct) *values*, sorted, in the narrowest width."""
    vals = sorted(values)
    lo = vals[0] if vals else 0
    hi = vals[-1] if vals else 0
    if -32768 <= lo and hi <= 32767:
        width, code = 2, "h"
    elif -2147483648 <= lo and hi <= 2147483647:
        width, code = 4, "i"
    else:
        width, code = 8, "q"
    return struct.pack("<II", width, len(vals)) + struct.pack("<%d%s" % (len(vals), code), *vals)


def intset_decode(blob: bytes) -> list[int]:
    if len(blob) < 8:
        raise BlobError("intset too short")
    width, count = struct.unpack_from("<II", blob)
    code = {2: "h", 4: "i", 8: "q"}.get(width)
    if code is None or len(blob) != 8 + width * count:
        raise BlobError("intset size mismatch")
    vals = list(struct.unpack_from("<%d%s" % (count, code), blob, 8))
    for i in range(1, len(vals)):
        if vals[i - 1] >= vals[i]:
            raise BlobError("intset not sorted")
    return vals


# -- zipmap (hashes in RDB files written before 2.6) ------------------------------------------------
def zipmap_decode(blob: bytes) -> list[bytes]:
    """Field, value, field, value... of a zipmap."""
    out: list[bytes] = []
    n = len(blob)
    p = 1
    unpack = struct.unpack_from

    def length(p: int) -> tuple[int, int]:
        if p >= n:
            raise BlobError("zipmap truncated")
        b = blob[p]
        if b < 254:
            return b, p + 1
        if p + 5 > n:
            raise BlobError("zipmap truncated")
        v = unpack("<I", blob, p + 1)[0]
        if v < 254:
            raise BlobError("zipmap length below 254 in the 5 bytes encoding")
        return v, p + 5

    while True:
        if p >= n:
            raise BlobError("zipmap truncated")
        if blob[p] == 255:
            break
        kl, p = length(p)
        key = blob[p : p + kl]
        p += kl
        vl, p = length(p)
        if p >= n:
            raise BlobError("zipmap truncated")
        free = blob[p]
        p += 1
        val = blob[p : p + vl]
        p += vl + free
        if p > n:
            raise BlobError("zipmap truncated")
        out.append(key)
        out.append(val)
    if not out:
        raise BlobError("empty zipmap")
    return out


def lp_encode_pairs(mapping: dict) -> bytes:
    """A listpack of field, value, field, value... of a dict (small hashes)."""
    flat: list[bytes] = []
    for k, v in mapping.items():
        flat.append(k)
        flat.append(v)
    return lp_encode_py(flat)


lp_entry_py = lp_entry
lp_encode_py = lp_encode
lp_decode_py = lp_decode
lp_encode_pairs_py = lp_encode_pairs
if _fast is not None:
    lp_entry = _fast.lp_entry  # noqa: F811 - compiled twins of the *_py functions
    lp_encode = _fast.lp_encode  # noqa: F811
    lp_decode = _fast.lp_decode  # noqa: F811
    lp_encode_pairs = _fast.lp_encode_pairs  # noqa: F811
