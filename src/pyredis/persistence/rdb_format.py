"""RDB primitives: type and opcode constants, length / string encodings and the in-memory
:class:`Reader` of lengths, strings, doubles and times (the file format's lowest layer).

Everything above it (per-type codecs in :mod:`rdb_types`, whole files in :mod:`rdb_writer` /
:mod:`rdb_reader`, streams in :mod:`stream_codec`) builds on this module; it imports nothing of
the engine.
"""

from __future__ import annotations

import math
import struct
import time
from typing import Any

from pyredis.persistence import lzf
from pyredis.persistence.accel import fast as _fast
from pyredis.persistence.codec_errors import RDBError
from pyredis.protocol.numbers import parse_ll

RDB_VERSION = 10

# value types
T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_ZSET_2 = 0, 1, 2, 3, 4, 5
T_MODULE, T_MODULE_2 = 6, 7
T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_HASH_ZIPLIST = 9, 10, 11, 12, 13
T_LIST_QUICKLIST, T_STREAM_LISTPACKS, T_HASH_LISTPACK, T_ZSET_LISTPACK = 14, 15, 16, 17
T_LIST_QUICKLIST_2, T_STREAM_LISTPACKS_2 = 18, 19

# opcodes
OP_FUNCTION2, OP_FUNCTION, OP_MODULE_AUX, OP_IDLE, OP_FREQ = 0xF5, 0xF6, 0xF7, 0xF8, 0xF9
OP_AUX, OP_RESIZEDB, OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF

QUICKLIST_PLAIN, QUICKLIST_PACKED = 1, 2
PACKED_THRESHOLD = 1 << 30
LZF_MAX_RATIO = 88  # the most one compressed byte expands to (a 3-byte back reference copies 264 bytes)


class NeedMore(RDBError):
    """A streamed load (a replica's diskless load) ran out of bytes that are still to come."""


# ==================================================================================================
# Encoding
# ==================================================================================================
_LEN1 = [bytes((i,)) for i in range(64)]
_pack_q = struct.Struct("<q").pack
_pack_d = struct.Struct("<d").pack


def enc_len(n: int) -> bytes:
    if n < 64:
        return _LEN1[n]
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def _enc_int(v: int) -> bytes | None:
    if -128 <= v <= 127:
        return b"\xc0" + (v & 0xFF).to_bytes(1, "little")
    if -32768 <= v <= 32767:
        return b"\xc1" + (v & 0xFFFF).to_bytes(2, "little")
    if -2147483648 <= v <= 2147483647:
        return b"\xc2" + (v & 0xFFFFFFFF).to_bytes(4, "little")
    return None


def enc_str(s: bytes, compress: bool = True) -> bytes:
    """A string as RDB stores it: integer-encoded when it is a short canonical integer, LZF
    compressed when longer than 20 bytes and compressible (with *compress*), else raw."""
    n = len(s)
    if n <= 11 and n:
        c = s[0]
        if 48 <= c <= 57 or c == 45:
            v = parse_ll(s)
            if v is not None:
                e = _enc_int(v)
                if e is not None:
                    return e
    elif n > 20 and compress:
        z = lzf.compress_py(s)
        if z is not None:
            return b"\xc3" + enc_len(len(z)) + enc_len(n) + z
    if n < 64:
        return _LEN1[n] + s
    return enc_len(n) + s



def score_bytes(score: float) -> bytes:
    """A zset score as Redis stores it in a listpack (``d2string``: integral values as integers)."""
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    if score == 0:
        return b"-0" if math.copysign(1.0, score) < 0 else b"0"
    if score.is_integer() and -(1 << 52) < score < (1 << 52):
        return b"%d" % int(score)
    return b"%.17g" % score



def key_delay(usec: int) -> None:
    """``rdb-key-save-delay`` / ``key-load-delay`` (test knobs): sleep per key."""
    if usec > 0:
        time.sleep(usec / 1e6)


_unpack_q = struct.Struct("<q").unpack_from
_unpack_Q = struct.Struct("<Q").unpack_from
_unpack_d = struct.Struct("<d").unpack_from
_unpack_i = struct.Struct("<i").unpack_from


class Reader:
    """Parses RDB data held in memory. Raises :class:`RDBError` on malformed input."""

    base = 0  # offset of data[0] in the whole image (a streamed load drops what it consumed)

    def __init__(self, data: bytes, config: Any, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.config = config
        self.empty_keys_skipped = 0
        self.deep = True  # False: RESTORE without deep sanitization (unverified.py)

    def fail(self, msg: str = "Unexpected EOF reading RDB file") -> RDBError:
        return RDBError(msg)

    def need(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise self.fail()

    def byte(self) -> int:
        p = self.pos
        if p >= len(self.data):
            raise self.fail()
        self.pos = p + 1
        return self.data[p]

    def raw(self, n: int) -> bytes:
        p = self.pos
        end = p + n
        if end > len(self.data):
            raise self.fail()
        self.pos = end
        return self.data[p:end]

    def length(self) -> int:
        """A length; raises on the special (encoded string) forms."""
        n, enc = self.length_enc()
        if enc:
            raise self.fail("Unknown length encoding in rdbLoadLen()")
        return n

    def length_enc(self) -> tuple[int, bool]:
        data = self.data
        p = self.pos
        if p >= len(data):
            raise self.fail()
        b = data[p]
        t = b >> 6
        if t == 0:
            self.pos = p + 1
            return b, False
        if t == 1:
            if p + 2 > len(data):
                raise self.fail()
            self.pos = p + 2
            return ((b & 0x3F) << 8) | data[p + 1], False
        if t == 3:
            self.pos = p + 1
            return b & 0x3F, True
        if b == 0x80:
            self.need(5)
            self.pos = p + 5
            return int.from_bytes(data[p + 1 : p + 5], "big"), False
        if b == 0x81:
            self.need(9)
            self.pos = p + 9
            return int.from_bytes(data[p + 1 : p + 9], "big"), False
        raise self.fail("Unknown length encoding %d in rdbLoadLen()" % b)

    def string(self) -> bytes:
        data = self.data
        p = self.pos
        if p < len(data):
            b = data[p]
            if b < 64:
                end = p + 1 + b
                if end > len(data):
                    raise self.fail()
                self.pos = end
                return data[p + 1 : end]
        n, enc = self.length_enc()
        if not enc:
            return self.raw(n)
        if n == 0:
            return b"%d" % _s8(self.raw(1))
        if n == 1:
            return b"%d" % int.from_bytes(self.raw(2), "little", signed=True)
        if n == 2:
            return b"%d" % int.from_bytes(self.raw(4), "little", signed=True)
        if n == 3:
            clen = self.length()
            ulen = self.length()
            comp = self.raw(clen)
            if ulen > clen * LZF_MAX_RATIO:  # more than LZF can expand to: no buffer that large is allocated
                raise self.fail("Invalid LZF compressed string")
            try:
                return lzf.decompress(comp, ulen)
            except lzf.LZFError:
                raise self.fail("Invalid LZF compressed string") from None
        raise self.fail("Unknown RDB string encoding type %d" % n)

    def double_str(self) -> float:
        n = self.byte()
        if n == 253:
            return math.nan
        if n == 254:
            return math.inf
        if n == 255:
            return -math.inf
        s = self.raw(n)
        try:
            return float(s)
        except ValueError:
            raise self.fail("Bad double value") from None

    def double_bin(self) -> float:
        self.need(8)
        v = _unpack_d(self.data, self.pos)[0]
        self.pos += 8
        return v

    def ms_time(self) -> int:
        self.need(8)
        v = _unpack_q(self.data, self.pos)[0]
        self.pos += 8
        return v


def _s8(b: bytes) -> int:
    v = b[0]
    return v - 256 if v > 127 else v



enc_len_py = enc_len
enc_str_py = enc_str
if _fast is not None:
    enc_len = _fast.enc_len  # noqa: F811 - compiled twins of enc_len_py / enc_str_py
    enc_str = _fast.enc_str  # noqa: F811
