"""CRC-64 with the Jones polynomial, as Redis checksums RDB files and DUMP payloads.

Reflected polynomial 0x95ac9329ac4bc9b5, initial value 0, no final xor
(``crc64(0, b"123456789") == 0xe9c6d914c4b8d9ca``).

Pure Python. Short inputs use a table-driven byte loop. Long inputs are cut into many equal
lanes whose CRCs advance together one byte per step: each lane byte of the 64-bit register is
kept in its own ``bytes`` object, so a step is a handful of ``bytes.translate`` table lookups and
big-integer XORs running at C speed over every lane at once. The lane CRCs are then chained
with a precomputed "append C zero bytes" linear operator (the CRC is linear because the initial
value and final xor are 0).
"""

from __future__ import annotations

import struct
from functools import lru_cache

from pyredis.persistence.accel import fast as _fast

POLY = 0x95AC9329AC4BC9B5
MASK = (1 << 64) - 1


def _make_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


TABLE = _make_table()
# TRANS[j]: translate table giving byte j of TABLE[i] for each i.
TRANS = [bytes((t >> (8 * j)) & 0xFF for t in TABLE) for j in range(8)]

_SMALL = 1 << 15  # below this, the plain byte loop is faster


def _crc_loop(crc: int, data: bytes | bytearray | memoryview) -> int:
    t = TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# -- linear operators on the 64-bit register (lists of 64 column values) ---------------------------
def _apply(op: list[int], x: int) -> int:
    r = 0
    i = 0
    while x:
        if x & 1:
            r ^= op[i]
        x >>= 1
        i += 1
    return r


def _compose(a: list[int], b: list[int]) -> list[int]:
    """The operator x -> a(b(x))."""
    return [_apply(a, col) for col in b]


@lru_cache(maxsize=64)
def _zeros_op(n: int) -> tuple[tuple[int, ...], ...]:
    """Byte-wise lookup tables of the operator "feed *n* zero bytes": 8 tables of 256 entries."""
    # operator for one zero byte: crc -> TABLE[crc & 0xff] ^ (crc >> 8)
    one = [TABLE[(1 << i) & 0xFF] ^ ((1 << i) >> 8) for i in range(64)]
    result = [1 << i for i in range(64)]
    power = one
    while n:
        if n & 1:
            result = _compose(power, result)
        n >>= 1
        if n:
            power = _compose(power, power)
    tables = []
    for j in range(8):
        cols = result[8 * j : 8 * j + 8]
        tab = [0] * 256
        for v in range(1, 256):
            low = v & -v
            tab[v] = tab[v ^ low] ^ cols[low.bit_length() - 1]
        tables.append(tuple(tab))
    return tuple(tables)


def _shift(crc: int, n: int) -> int:
    """The register after feeding *n* zero bytes to *crc*."""
    if not crc or not n:
        return crc
    t = _zeros_op(n)
    return (t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^ t[3][(crc >> 24) & 0xFF]
            ^ t[4][(crc >> 32) & 0xFF] ^ t[5][(crc >> 40) & 0xFF] ^ t[6][(crc >> 48) & 0xFF]
            ^ t[7][crc >> 56])


def _lanes(data: bytes, lanes: int, clen: int) -> int:
    """CRC (from 0) of data[: lanes * clen] computed as *lanes* parallel lanes of *clen* bytes.

    With ``idx_k = reg_k & 0xff ^ byte_k`` the low register byte obeys
    ``reg_{k+1} & 0xff == T0[idx_k] ^ T1[idx_{k-1}] ^ ... ^ T7[idx_{k-7}]``, so each step needs
    only the last eight index planes.
    """
    frm = int.from_bytes
    n = lanes
    t0, t1, t2, t3, t4, t5, t6, t7 = TRANS
    end = lanes * clen
    zero = bytes(n)
    # h[j] = the index plane of j+1 steps ago (zeros before the start)
    h1 = h2 = h3 = h4 = h5 = h6 = h7 = h8 = zero
    for k in range(clen):
        v = (frm(data[k:end:clen], "little") ^ frm(h1.translate(t0), "little") ^ frm(h2.translate(t1), "little")
             ^ frm(h3.translate(t2), "little") ^ frm(h4.translate(t3), "little")
             ^ frm(h5.translate(t4), "little") ^ frm(h6.translate(t5), "little")
             ^ frm(h7.translate(t6), "little") ^ frm(h8.translate(t7), "little"))
        h8, h7, h6, h5, h4, h3, h2, h1 = h7, h6, h5, h4, h3, h2, h1, v.to_bytes(n, "little")
    # final registers: byte j of a lane register = XOR over m >= j of T_m[idx of (m - j + 1) steps ago]
    hist = (h1, h2, h3, h4, h5, h6, h7, h8)
    planes = []
    for j in range(8):
        acc = 0
        for m in range(j, 8):
            acc ^= frm(hist[m - j].translate(TRANS[m]), "little")
        planes.append(acc.to_bytes(n, "little"))
    buf = bytearray(8 * n)
    for j in range(8):
        buf[j::8] = planes[j]
    regs = struct.unpack("<%dQ" % n, buf)
    t0, t1, t2, t3, t4, t5, t6, t7 = _zeros_op(clen)
    crc = 0
    for r in regs:
        if crc:
            crc = (t0[crc & 0xFF] ^ t1[(crc >> 8) & 0xFF] ^ t2[(crc >> 16) & 0xFF] ^ t3[(crc >> 24) & 0xFF]
                   ^ t4[(crc >> 32) & 0xFF] ^ t5[(crc >> 40) & 0xFF] ^ t6[(crc >> 48) & 0xFF] ^ t7[crc >> 56])
        crc ^= r
    return crc


def crc64(crc: int, data: bytes | bytearray | memoryview) -> int:
    """Continue the CRC *crc* over *data* (use 0 to start)."""
    n = len(data)
    if n < _SMALL:
        return _crc_loop(crc, data)
    if not isinstance(data, bytes):
        data = bytes(data)
    lanes = 4096 if n < (1 << 22) else 16384
    clen = n // lanes
    body = lanes * clen
    crc = _shift(crc, body) ^ _lanes(data, lanes, clen)
    return _crc_loop(crc, data[body:])


crc64_py = crc64
if _fast is not None:
    crc64 = _fast.crc64  # noqa: F811 - the compiled twin of crc64_py
