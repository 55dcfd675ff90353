"""HyperLogLog values in Redis's own string representation.

A HyperLogLog is a plain string: a 16 byte header (``HYLL``, encoding byte, 3 unused bytes, an
8 byte little-endian cardinality cache whose top bit marks it stale) followed by the registers.

* dense: 16384 six-bit registers packed little-endian (register *i* is bits ``6i..6i+5`` of the
  body read as one little-endian number), 12288 bytes.
* sparse: a run-length code of opcodes -- ZERO ``00xxxxxx`` (1..64 zero registers), XZERO
  ``01xxxxxx yyyyyyyy`` (1..16384 zero registers) and VAL ``1vvvvvxx`` (1..4 registers of value
  1..32).  Updates edit the opcode sequence in place exactly as redis-server does, so the bytes
  stay identical, and the value is promoted to dense past ``hll-sparse-max-bytes`` or when a
  register exceeds 32.

Elements are hashed with MurmurHash64A (seed 0xadc83b19); the low 14 bits pick the register and
the run of zero bits above them (plus one) is the candidate value.  Cardinality comes from the
register histogram with Ertl's improved estimator.  Bulk register work (unpacking, merging,
histograms) uses big-int SWAR arithmetic over byte lanes instead of per-register Python loops.
"""

from __future__ import annotations

import math
import re
import struct
from bisect import bisect_right
from itertools import accumulate

P = 14
REGISTERS = 1 << P
Q = 64 - P
HDR_SIZE = 16
DENSE_BYTES = REGISTERS * 6 // 8
DENSE_SIZE = HDR_SIZE + DENSE_BYTES
MAGIC = b"HYLL"
DENSE, SPARSE = 0, 1
VAL_MAX_VALUE = 32
VAL_MAX_LEN = 4
ZERO_MAX_LEN = 64
XZERO_MAX_LEN = 16384
ALPHA_INF = 0.721347520444481703680
SEED = 0xADC83B19

_M = 0xC6A4A7935BD1E995
_MASK = (1 << 64) - 1
_IDX_MASK = REGISTERS - 1
_SENTINEL = 1 << Q


class InvalidHLL(Exception):
    """The value is an HLL whose register data is corrupt (``-INVALIDOBJ``).

    From :meth:`HLL.add_many`, ``args[0]`` counts the registers changed before the corrupt spot.
    """


# -- hashing -----------------------------------------------------------------------------------------
_BLOCKS: dict[int, struct.Struct] = {}


def murmur64a(data: bytes, seed: int = SEED) -> int:
    """MurmurHash64A (64-bit, little-endian block reads) of *data*."""
    n = len(data)
    h = (seed ^ (n * _M)) & _MASK
    nb = n >> 3
    if nb:
        st = _BLOCKS.get(nb)
        if st is None:
            st = _BLOCKS[nb] = struct.Struct("<%dQ" % nb)
        for k in st.unpack_from(data):
            k = (k * _M) & _MASK
            k ^= k >> 47
            h = ((h ^ ((k * _M) & _MASK)) * _M) & _MASK
    if n & 7:
        h = ((h ^ int.from_bytes(data[nb << 3 :], "little")) * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    return h ^ (h >> 47)


def element_position(ele: bytes) -> tuple[int, int]:
    """(register index, candidate register value) for an element."""
    h = murmur64a(ele)
    rest = (h >> P) | _SENTINEL
    return h & _IDX_MASK, (rest & -rest).bit_length()


# -- the estimator ---------------------------------------------------------------------------------
def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        prev = z
        z += x * y
        y += y
        if prev == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1.0 - x
    while True:
        x = math.sqrt(x)
        prev = z
        y *= 0.5
        d = 1.0 - x
        z -= d * d * y
        if prev == z:
            return z / 3.0


def estimate(hist: list[int]) -> int:
    """Cardinality from the register-value histogram (64 buckets), Ertl's estimator.

    The result is an unsigned 64-bit value (replies show it as signed, like redis-server).
    """
    m = float(REGISTERS)
    z = m * _tau((m - hist[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += hist[j]
        z *= 0.5
    z += m * _sigma(hist[0] / m)
    if z == 0.0:
        return 1 << 63  # llroundl(inf) is LLONG_MIN, reinterpreted as unsigned
    e = ALPHA_INF * m * m / z
    if not e < 2.0**63:
        return 1 << 63
    f = math.floor(e)
    return int(f) + (1 if e - f >= 0.5 else 0)


# -- SWAR helpers over register arrays ------------------------------------------------------------
def _lanes(pattern: bytes, count: int) -> int:
    return int.from_bytes(pattern * count, "little")


_K0 = _lanes(b"\x3f\x00\x00\x00", REGISTERS // 4)
_K1 = _K0 << 8
_K2 = _K0 << 16
_K3 = _K0 << 24
_P1 = _K0 << 6
_P2 = _K0 << 12
_P3 = _K0 << 18
_H80 = _lanes(b"\x80", REGISTERS)
_L7F = _lanes(b"\x7f", REGISTERS)


def unpack_dense(packed: bytes | bytearray) -> bytes:
    """12288 packed bytes -> 16384 bytes, one register per byte."""
    buf = bytearray(REGISTERS)
    buf[0::4] = packed[0::3]
    buf[1::4] = packed[1::3]
    buf[2::4] = packed[2::3]
    v = int.from_bytes(buf, "little")
    r = (v & _K0) | ((v << 2) & _K1) | ((v << 4) & _K2) | ((v << 6) & _K3)
    return r.to_bytes(REGISTERS, "little")


def pack_dense(regs: bytes | bytearray) -> bytearray:
    """16384 register bytes (values < 64) -> 12288 packed bytes."""
    r = int.from_bytes(regs, "little")
    v = (r & _K0) | ((r >> 2) & _P1) | ((r >> 4) & _P2) | ((r >> 6) & _P3)
    buf = v.to_bytes(REGISTERS, "little")
    out = bytearray(DENSE_BYTES)
    out[0::3] = buf[0::4]
    out[1::3] = buf[1::4]
    out[2::3] = buf[2::4]
    return out


def lanes_max(a: int, b: int) -> int:
    """Lane-wise max of two register arrays held as ints (8-bit lanes, values < 128)."""
    m = ((a | _H80) - b) & _H80
    m -= m >> 7
    return (a & m) | (b & (_L7F ^ m))


def histogram(regs: bytes) -> list[int]:
    """Register-value histogram (64 buckets) of one-byte-per-register data."""
    hist = [0] * 64
    rest = len(regs)
    for v in range(1, 64):
        if v in regs:  # memchr: cheap for the many absent values
            n = regs.count(v)
            hist[v] = n
            rest -= n
    hist[0] = rest
    return hist


# -- sparse opcodes -----------------------------------------------------------------------------------
# An opcode is kept as an int: ZERO 0x00-0x3f, VAL 0x80-0xff, XZERO 0x4000-0x7fff (its two bytes).
def _op_span(op: int) -> int:
    if op < 0x40:
        return op + 1
    if op < 0x100:
        return (op & 3) + 1
    return (op & 0x3FFF) + 1


def _val(value: int, length: int) -> int:
    return 0x80 | ((value - 1) << 2) | (length - 1)


def _zeros(length: int) -> int:
    return length - 1 if length <= ZERO_MAX_LEN else 0x4000 | (length - 1)


_OPBYTES: list[bytes] = []


def _opbytes() -> list[bytes]:
    if not _OPBYTES:
        table = [bytes((i,)) for i in range(256)] + [b""] * (0x4000 - 256)
        table += [bytes((i >> 8, i & 0xFF)) for i in range(0x4000, 0x8000)]
        _OPBYTES.extend(table)
    return _OPBYTES


_SPAN1 = bytes((b & 0x3F) + 1 if b < 0x40 else (b & 3) + 1 if b >= 0x80 else 0 for b in range(256))
_XZERO_BYTE = re.compile(rb"[\x40-\x7f]")
_VALRUNS = [[bytes([v]) * n for n in range(5)] for v in range(33)]


class Sparse:
    """A decoded sparse body: opcodes, the first register each covers, the encoded size."""

    __slots__ = ("ops", "starts", "size", "total")

    def __init__(self, ops: list[int], starts: list[int], size: int, total: int) -> None:
        self.ops = ops
        self.starts = starts
        self.size = size
        self.total = total

    @classmethod
    def empty(cls) -> Sparse:
        return cls([0x4000 | (REGISTERS - 1)], [0], 2, REGISTERS)

    @classmethod
    def decode(cls, body: bytes) -> Sparse:
        n = len(body)
        if n > 2 * REGISTERS:
            # Every opcode covers at least one register: this cannot describe 16384 registers,
            # so skip decoding what may be megabytes of opcodes.
            return cls([], [], n, -1)
        ops: list[int] = []
        starts: list[int] = []
        idx = 0
        pos = 0
        search = _XZERO_BYTE.search
        while True:
            # Runs of one-byte opcodes are decoded in C: spans via translate, starts by accumulate.
            m = search(body, pos)
            end = m.start() if m is not None else n
            if end > pos:
                chunk = body[pos:end]
                ops.extend(chunk)
                acc = list(accumulate(chunk.translate(_SPAN1), initial=idx))
                idx = acc.pop()
                starts.extend(acc)
            if m is None:
                break
            op = (body[end] << 8) | (body[end + 1] if end + 1 < n else 0)
            ops.append(op)
            starts.append(idx)
            idx += (op & 0x3FFF) + 1
            pos = end + 2
        return cls(ops, starts, n, idx)

    def encode(self) -> bytes:
        ops = self.ops
        if max(ops, default=0) < 256:
            return bytes(ops)
        return b"".join(map(_opbytes().__getitem__, ops))

    def histogram(self) -> list[int]:
        if self.total != REGISTERS:
            raise InvalidHLL()
        hist = [0] * 64
        zeros = REGISTERS
        for op in self.ops:
            if 0x80 <= op < 0x100:
                n = (op & 3) + 1
                hist[((op >> 2) & 31) + 1] += n
                zeros -= n
        hist[0] = zeros
        return hist

    def registers(self) -> bytearray:
        """One byte per register; InvalidHLL unless the opcodes cover exactly 16384 registers."""
        if self.total != REGISTERS:
            raise InvalidHLL()
        regs = bytearray(REGISTERS)
        for op, start in zip(self.ops, self.starts, strict=True):
            if 0x80 <= op < 0x100:
                n = (op & 3) + 1
                regs[start : start + n] = _VALRUNS[((op >> 2) & 31) + 1][n]
        return regs

    def describe(self) -> bytes:
        """PFDEBUG DECODE text."""
        parts = []
        for op in self.ops:
            if op < 0x40:
                parts.append(b"z:%d" % (op + 1))
            elif op < 0x100:
                parts.append(b"v:%d,%d" % (((op >> 2) & 31) + 1, (op & 3) + 1))
            else:
                parts.append(b"Z:%d" % ((op & 0x3FFF) + 1))
        return b" ".join(parts)

    def set(self, index: int, count: int, max_bytes: int) -> int:
        """Raise register *index* to *count*: 1 updated, 0 unchanged, -1 corrupt, 2 must promote."""
        if count > VAL_MAX_VALUE:
            return 2
        ops = self.ops
        starts = self.starts
        i = bisect_right(starts, index) - 1
        if i < 0:
            return -1
        op = ops[i]
        start = starts[i]
        span = _op_span(op)
        if index >= start + span:
            return -1
        if 0x80 <= op < 0x100:
            old = ((op >> 2) & 31) + 1
            if old >= count:
                return 0
            if span == 1:
                ops[i] = _val(count, 1)
                self._merge(i - 1 if i else 0)
                return 1
            before = index - start
            after = span - before - 1
            seq = []
            seq_starts = []
            if before:
                seq.append(_val(old, before))
                seq_starts.append(start)
            seq.append(_val(count, 1))
            seq_starts.append(index)
            if after:
                seq.append(_val(old, after))
                seq_starts.append(index + 1)
            delta = len(seq) - 1
        else:
            before = index - start
            after = span - before - 1
            seq = []
            seq_starts = []
            delta = -2 if op >= 0x100 else -1
            if before:
                z = _zeros(before)
                seq.append(z)
                seq_starts.append(start)
                delta += 2 if z >= 0x100 else 1
            seq.append(_val(count, 1))
            seq_starts.append(index)
            delta += 1
            if after:
                z = _zeros(after)
                seq.append(z)
                seq_starts.append(index + 1)
                delta += 2 if z >= 0x100 else 1
        if delta > 0 and HDR_SIZE + self.size + delta > max_bytes:
            return 2
        ops[i : i + 1] = seq
        starts[i : i + 1] = seq_starts
        self.size += delta
        self._merge(i - 1 if i else 0)
        return 1

    def _merge(self, p: int) -> None:
        """Fuse adjacent VAL opcodes of equal value, scanning five opcodes from *p*."""
        ops = self.ops
        budget = 5
        while budget and p < len(ops):
            budget -= 1
            op = ops[p]
            if 0x80 <= op < 0x100 and p + 1 < len(ops):
                nxt = ops[p + 1]
                if 0x80 <= nxt < 0x100 and (op & 0x7C) == (nxt & 0x7C):
                    n = (op & 3) + (nxt & 3) + 2
                    if n <= VAL_MAX_LEN:
                        ops[p] = (op & 0xFC) | (n - 1)
                        del ops[p + 1]
                        del self.starts[p + 1]
                        self.size -= 1
                        continue
            p += 1


# -- a whole HLL value ------------------------------------------------------------------------------
class HLL:
    """A decoded HLL value: header bytes plus sparse opcodes or packed dense registers."""

    __slots__ = ("header", "sparse", "dense")

    def __init__(self, header: bytearray, sparse: Sparse | None, dense: bytearray | None) -> None:
        self.header = header
        self.sparse = sparse
        self.dense = dense

    @classmethod
    def new(cls) -> HLL:
        header = bytearray(HDR_SIZE)
        header[0:4] = MAGIC
        header[4] = SPARSE
        return cls(header, Sparse.empty(), None)

    @classmethod
    def load(cls, value: bytes) -> HLL:
        """Decode a value already checked by :func:`check`."""
        header = bytearray(value[:HDR_SIZE])
        if value[4] == DENSE:
            return cls(header, None, bytearray(value[HDR_SIZE:]))
        return cls(header, Sparse.decode(value[HDR_SIZE:]), None)

    def dump(self) -> bytes:
        if self.dense is not None:
            return bytes(self.header) + self.dense
        return bytes(self.header) + self.sparse.encode()  # type: ignore[union-attr]

    @property
    def is_sparse(self) -> bool:
        return self.dense is None

    # cardinality cache
    def cached(self) -> int | None:
        h = self.header
        if h[15] & 0x80:
            return None
        return int.from_bytes(h[8:16], "little")

    def set_cache(self, card: int) -> None:
        self.header[8:16] = card.to_bytes(8, "little")

    def invalidate(self) -> None:
        self.header[15] |= 0x80

    # registers
    def to_dense(self) -> None:
        """Promote to the dense encoding (InvalidHLL if the sparse data is corrupt)."""
        regs = self.sparse.registers()  # type: ignore[union-attr]
        self.dense = pack_dense(regs)
        self.sparse = None
        self.header[4] = DENSE

    def registers(self) -> bytes:
        """One byte per register."""
        if self.dense is not None:
            return unpack_dense(self.dense)
        return bytes(self.sparse.registers())  # type: ignore[union-attr]

    def histogram(self) -> list[int]:
        if self.dense is not None:
            return histogram(unpack_dense(self.dense))
        return self.sparse.histogram()  # type: ignore[union-attr]

    def count(self) -> int:
        return estimate(self.histogram())

    def set_register(self, index: int, count: int, max_bytes: int) -> int:
        """Raise a register if *count* is larger: 1 updated, 0 not (InvalidHLL if corrupt)."""
        d = self.dense
        if d is None:
            r = self.sparse.set(index, count, max_bytes)  # type: ignore[union-attr]
            if r == 2:
                self.to_dense()
                d = self.dense
            elif r < 0:
                raise InvalidHLL()
            else:
                return r
        bit = index * 6
        b = bit >> 3
        fb = bit & 7
        if fb <= 2:
            w = d[b]  # type: ignore[index]
            if (w >> fb) & 63 >= count:
                return 0
            d[b] = (w & ~(63 << fb) & 0xFF) | (count << fb)  # type: ignore[index]
            return 1
        w = d[b] | (d[b + 1] << 8)  # type: ignore[index]
        if (w >> fb) & 63 >= count:
            return 0
        w = (w & ~(63 << fb)) | (count << fb)
        d[b] = w & 0xFF  # type: ignore[index]
        d[b + 1] = (w >> 8) & 0xFF  # type: ignore[index]
        return 1

    def add(self, ele: bytes, max_bytes: int) -> int:
        index, count = element_position(ele)
        return self.set_register(index, count, max_bytes)

    def add_many(self, elements: list[bytes], max_bytes: int) -> int:
        """PFADD: hash and add each element; returns how many registers changed."""
        updated = 0
        m = _M
        mask = _MASK
        blocks = _BLOCKS
        setreg = self.set_register
        for ele in elements:
            # MurmurHash64A, inlined (see murmur64a).
            n = len(ele)
            h = (SEED ^ (n * m)) & mask
            nb = n >> 3
            if nb:
                st = blocks.get(nb)
                if st is None:
                    st = blocks[nb] = struct.Struct("<%dQ" % nb)
                for k in st.unpack_from(ele):
                    k = (k * m) & mask
                    k ^= k >> 47
                    h = ((h ^ ((k * m) & mask)) * m) & mask
            if n & 7:
                h = ((h ^ int.from_bytes(ele[nb << 3 :], "little")) * m) & mask
            h ^= h >> 47
            h = (h * m) & mask
            h ^= h >> 47
            rest = (h >> P) | _SENTINEL
            try:
                updated += setreg(h & _IDX_MASK, (rest & -rest).bit_length(), max_bytes)
            except InvalidHLL:
                raise InvalidHLL(updated) from None
        return updated

    def merge_from(self, regs: bytes, max_bytes: int) -> None:
        """Raise every register to the given values (PFMERGE's write into the destination)."""
        if self.dense is not None:
            self.dense = pack_dense(
                lanes_max(int.from_bytes(unpack_dense(self.dense), "little"), int.from_bytes(regs, "little"))
                .to_bytes(REGISTERS, "little")
            )
            return
        for m in _NONZERO.finditer(regs):
            i = m.start()
            self.set_register(i, regs[i], max_bytes)


_NONZERO = re.compile(rb"[^\x00]")


def check(value: object) -> bool:
    """True when a string value has a well-formed HLL header (and length when dense)."""
    if type(value) is not bytes or len(value) < HDR_SIZE or value[:4] != MAGIC:
        return False
    enc = value[4]
    if enc > SPARSE:
        return False
    return not (enc == DENSE and len(value) != DENSE_SIZE)


def self_test() -> bool:
    """A quick consistency check of the register codecs and both encodings (PFSELFTEST)."""
    import random

    rnd = random.Random(1234)
    regs = bytes(rnd.randrange(64) for _ in range(REGISTERS))
    if unpack_dense(pack_dense(regs)) != regs:
        return False
    a, b = HLL.new(), HLL.new()
    b.to_dense()
    for i in range(2000):
        ele = b"%d" % rnd.randrange(1 << 30)
        a.add(ele, 1 << 30)
        b.add(ele, 1 << 30)
        if i % 250 == 0 and a.count() != b.count():
            return False
    return a.registers() == b.registers()
