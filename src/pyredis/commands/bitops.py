"""Bitmap commands (bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.

Bitmaps are plain strings (``bytes``); bit 0 is the most significant bit of byte 0.  Counting
and searching run in C through ``int.bit_count``, ``bytes.translate`` and regex scans, never a
per-bit Python loop.
"""

from __future__ import annotations

import re

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, WrongType, syntax_error
from pyredis.commands.registry import command
from pyredis.engine import notify
from pyredis.protocol.numbers import parse_ll

STRING = notify.STRING
GENERIC = notify.GENERIC

BIT_OFFSET_ERR = "ERR bit offset is not an integer or out of range"
BIT_VALUE_ERR = "ERR bit is not an integer or out of range"
BITFIELD_TYPE_ERR = (
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
)
_U64 = (1 << 64) - 1

_NOT_TABLE = bytes(255 - i for i in range(256))
_NONZERO = re.compile(rb"[^\x00]")
_NONFF = re.compile(rb"[^\xff]")


def _max_bulk(c) -> int:
    return c.server.config.values["proto-max-bulk-len"]


def bit_offset(c, arg: bytes, bits: int = 0) -> int:
    """Parse a bit offset (``#N`` means N*bits when *bits* is given), bounded by proto-max-bulk-len."""
    usehash = bits > 0 and arg[:1] == b"#"
    v = parse_ll(arg[1:] if usehash else arg)
    if v is None:
        raise CommandError(BIT_OFFSET_ERR)
    if usehash:
        v = ((v * bits + (1 << 63)) & _U64) - (1 << 63)  # 64-bit wrap, as the C multiply
    if v < 0 or (v >> 3) >= _max_bulk(c):
        raise CommandError(BIT_OFFSET_ERR)
    return v


def _string_read(c, key: bytes) -> bytes | None:
    v = c.db.lookup_read(key)
    if v is None or type(v) is bytes:
        return v
    raise WrongType()


def _string_write(c, key: bytes) -> bytes | None:
    v = c.db.get(key)
    if v is None or type(v) is bytes:
        return v
    raise WrongType()


# -- SETBIT / GETBIT --------------------------------------------------------------------------------
@command("setbit", 4, "write denyoom", 1, 1, 1)
def cmd_setbit(c, argv):
    key = argv[1]
    offset = bit_offset(c, argv[2])
    on = parse_ll(argv[3])
    if on is None or on & ~1:
        raise CommandError(BIT_VALUE_ERR)
    v = _string_write(c, key)
    byte = offset >> 3
    shift = 7 - (offset & 7)
    if v is None or byte >= len(v):
        # Growing (or creating) the string is a change even when the bit stays 0.
        old = 0
        v = v or b""
        new = b"".join((v, bytes(byte - len(v)), bytes((on << shift,))))
    else:
        cur = v[byte]
        old = (cur >> shift) & 1
        if old == on:
            return old
        m = memoryview(v)  # join copies straight from the views: one copy of a big bitmap
        new = b"".join((m[:byte], bytes((cur ^ (1 << shift),)), m[byte + 1 :]))
    c.db.set(key, new, keep_ttl=True)
    c.changed(key, STRING, b"setbit")
    return old


@command("getbit", 3, "readonly fast", 1, 1, 1)
def cmd_getbit(c, argv):
    offset = bit_offset(c, argv[2])
    v = _string_read(c, argv[1])
    byte = offset >> 3
    if v is None or byte >= len(v):
        return 0
    return (v[byte] >> (7 - (offset & 7))) & 1


# -- BITCOUNT / BITPOS --------------------------------------------------------------------------------
_CHUNK = 1 << 20


def popcount(data: bytes) -> int:
    """Set bits in *data* (big strings in 1MB pieces, so no giant temporary int)."""
    if len(data) <= _CHUNK:
        return int.from_bytes(data, "big").bit_count()
    m = memoryview(data)
    return sum(int.from_bytes(m[i : i + _CHUNK], "big").bit_count() for i in range(0, len(data), _CHUNK))


def _count_bits(v: bytes, start: int, end: int) -> int:
    """Set bits between bit positions *start* and *end* inclusive."""
    sb, eb = start >> 3, end >> 3
    if eb - sb > _CHUNK:
        head = (v[sb] & (0xFF >> (start & 7))).bit_count()
        tail = (v[eb] >> (7 - (end & 7))).bit_count()
        return head + popcount(memoryview(v)[sb + 1 : eb]) + tail
    x = int.from_bytes(v[sb : eb + 1], "big")
    x >>= 7 - (end & 7)
    x &= (1 << (end - start + 1)) - 1
    return x.bit_count()


def _parse_unit(arg: bytes) -> bool:
    u = arg.lower()
    if u == b"bit":
        return True
    if u == b"byte":
        return False
    raise syntax_error()


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    if start < 0:
        start += total
    if end < 0:
        end += total
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= total:
        end = total - 1
    return start, end


@command("bitcount", -2, "readonly", 1, 1, 1)
def cmd_bitcount(c, argv):
    v = _string_read(c, argv[1])
    if v is None:
        return 0
    n = len(argv)
    if n == 2:
        return popcount(v)
    if n not in (4, 5):
        raise syntax_error()
    start = get_int(argv[2])
    end = get_int(argv[3])
    isbit = _parse_unit(argv[4]) if n == 5 else False
    total = len(v) << 3 if isbit else len(v)
    if start < 0 and end < 0 and start > end:
        return 0
    start, end = _clamp(start, end, total)
    if start > end:
        return 0
    if isbit:
        return _count_bits(v, start, end)
    if start == 0 and end == len(v) - 1:
        return popcount(v)
    return popcount(memoryview(v)[start : end + 1])


def first_bit(v: bytes, bit: int, start: int, end: int) -> int:
    """Position of the first *bit* between bit positions *start* and *end* inclusive, or -1."""
    sb, eb = start >> 3, end >> 3
    head = 0xFF >> (start & 7)
    tail = (0xFF << (7 - (end & 7))) & 0xFF
    flip = 0 if bit else 0xFF
    if sb == eb:
        x = (v[sb] ^ flip) & head & tail
        return -1 if not x else (sb << 3) + 8 - x.bit_length()
    x = (v[sb] ^ flip) & head
    if x:
        return (sb << 3) + 8 - x.bit_length()
    m = (_NONZERO if bit else _NONFF).search(v, sb + 1, eb)
    if m is not None:
        i = m.start()
        x = v[i] ^ flip
        return (i << 3) + 8 - x.bit_length()
    x = (v[eb] ^ flip) & tail
    return -1 if not x else (eb << 3) + 8 - x.bit_length()


@command("bitpos", -3, "readonly", 1, 1, 1)
def cmd_bitpos(c, argv):
    bit = get_int(argv[2])
    if bit not in (0, 1):
        raise CommandError("ERR The bit argument must be 1 or 0.")
    v = _string_read(c, argv[1])
    if v is None:
        return -1 if bit else 0
    n = len(argv)
    isbit = False
    end_given = False
    if n in (4, 5, 6):
        start = get_int(argv[3])
        if n == 6:
            isbit = _parse_unit(argv[5])
        total = len(v) << 3 if isbit else len(v)
        if n >= 5:
            end = get_int(argv[4])
            end_given = True
        else:
            end = total - 1
        start, end = _clamp(start, end, total)
    elif n == 3:
        start, end = 0, len(v) - 1
    else:
        raise syntax_error()
    if start > end:
        return -1
    if isbit:
        return first_bit(v, bit, start, end)
    pos = first_bit(v, bit, start << 3, (end << 3) + 7)
    if pos < 0 and bit == 0 and not end_given:
        return (end + 1) << 3
    return pos


# -- BITOP --------------------------------------------------------------------------------------------
@command("bitop", -4, "write denyoom", 2, -1, 1)
def cmd_bitop(c, argv):
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        raise syntax_error()
    dest = argv[2]
    keys = argv[3:]
    if op == b"not" and len(keys) != 1:
        raise CommandError("ERR BITOP NOT must be called with a single source key.")
    vals = []
    for k in keys:
        v = c.db.lookup_read(k)
        if v is None:
            v = b""
        elif type(v) is not bytes:
            raise WrongType()
        vals.append(v)
    maxlen = max(len(v) for v in vals)
    if maxlen == 0:
        if c.db.delete(dest):
            c.changed(dest, GENERIC, b"del")
        return 0
    if op == b"not":
        res = vals[0].translate(_NOT_TABLE)
    elif len(vals) == 1:
        res = vals[0]
    else:
        acc = int.from_bytes(vals[0], "little")
        if op == b"and":
            # Little-endian ints: a shorter string's missing bytes are high zero bits.
            for v in vals[1:]:
                acc &= int.from_bytes(v, "little")
        elif op == b"or":
            for v in vals[1:]:
                acc |= int.from_bytes(v, "little")
        else:
            for v in vals[1:]:
                acc ^= int.from_bytes(v, "little")
        res = acc.to_bytes(maxlen, "little")
    c.db.set(dest, res)
    c.changed(dest, STRING, b"set")
    return maxlen


# -- BITFIELD -----------------------------------------------------------------------------------------
_WRAP, _SAT, _FAIL = 0, 1, 2
_GET, _SET, _INCRBY = 0, 1, 2


def _bitfield_type(arg: bytes) -> tuple[bool, int]:
    """(signed, bits) of an ``i16``/``u8`` type argument."""
    sign = arg[:1]
    bits = parse_ll(arg[1:]) if sign in (b"i", b"u") else None
    if bits is None or bits < 1 or (sign == b"i" and bits > 64) or (sign == b"u" and bits > 63):
        raise CommandError(BITFIELD_TYPE_ERR)
    return sign == b"i", bits


def _parse_bitfield(c, argv: list[bytes], readonly: bool) -> list[tuple]:
    ops: list[tuple] = []
    owtype = _WRAP
    j = 2
    n = len(argv)
    while j < n:
        rem = n - j - 1
        sub = argv[j].lower()
        if sub == b"get" and rem >= 2:
            opcode = _GET
        elif sub == b"set" and rem >= 3:
            opcode = _SET
        elif sub == b"incrby" and rem >= 3:
            opcode = _INCRBY
        elif sub == b"overflow" and rem >= 1:
            mode = argv[j + 1].lower()
            if mode == b"wrap":
                owtype = _WRAP
            elif mode == b"sat":
                owtype = _SAT
            elif mode == b"fail":
                owtype = _FAIL
            else:
                raise CommandError("ERR Invalid OVERFLOW type specified")
            j += 2
            continue
        else:
            raise syntax_error()
        signed, bits = _bitfield_type(argv[j + 1])
        offset = bit_offset(c, argv[j + 2], bits)
        value = 0
        if opcode != _GET:
            value = get_int(argv[j + 3])
            if readonly:
                raise CommandError("ERR BITFIELD_RO only supports the GET subcommand")
            j += 4
        else:
            j += 3
        ops.append((opcode, signed, bits, offset, value, owtype))
    return ops


def _read_field(buf, offset: int, bits: int, signed: bool) -> int:
    sb = offset >> 3
    eb = (offset + bits - 1) >> 3
    chunk = buf[sb : eb + 1]
    nbytes = eb - sb + 1
    x = int.from_bytes(chunk, "big")
    if len(chunk) < nbytes:
        x <<= (nbytes - len(chunk)) << 3
    x = (x >> (((eb + 1) << 3) - offset - bits)) & ((1 << bits) - 1)
    if signed and x >> (bits - 1):
        x -= 1 << bits
    return x


def _write_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    sb = offset >> 3
    eb = (offset + bits - 1) >> 3
    nbytes = eb - sb + 1
    shift = ((eb + 1) << 3) - offset - bits
    mask = ((1 << bits) - 1) << shift
    x = int.from_bytes(buf[sb : eb + 1], "big")
    x = (x & ~mask) | ((value << shift) & mask)
    buf[sb : eb + 1] = x.to_bytes(nbytes, "big")


def _overflow(value: int, bits: int, signed: bool, owtype: int) -> int | None:
    """Fit an exact result into the field: wrapped, saturated, or None (FAIL) when out of range."""
    if signed:
        hi = (1 << (bits - 1)) - 1
        lo = -hi - 1
    else:
        hi = (1 << bits) - 1
        lo = 0
    if lo <= value <= hi:
        return value
    if owtype == _FAIL:
        return None
    if owtype == _SAT:
        return hi if value > hi else lo
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _bitfield(c, argv: list[bytes], readonly: bool):
    ops = _parse_bitfield(c, argv, readonly)
    key = argv[1]
    writes = [op for op in ops if op[0] != _GET]
    if not writes:
        v = _string_read(c, key)
        buf = v or b""
        out = []
        for _, signed, bits, offset, _, _ in ops:
            out.append(_read_field(buf, offset, bits, signed))
        return out
    v = _string_write(c, key) or b""
    need = (max(op[3] + op[2] - 1 for op in writes) >> 3) + 1
    grown = len(v) < need
    # Work on a copy of the touched bytes only: large bitmaps are not copied twice.
    lo = min(op[3] for op in ops) >> 3
    hi = max((op[3] + op[2] - 1) >> 3 for op in ops) + 1
    win = bytearray(v[lo:hi])
    if len(win) < hi - lo:
        win.extend(bytes(hi - lo - len(win)))
    base = lo << 3
    changes = 0
    out = []
    for opcode, signed, bits, offset, value, owtype in ops:
        offset -= base
        old = _read_field(win, offset, bits, signed)
        if opcode == _GET:
            out.append(old)
            continue
        if opcode == _SET:
            if not signed:
                value &= _U64
            new = _overflow(value, bits, signed, owtype)
        else:
            new = _overflow(old + value, bits, signed, owtype)
        if new is None:
            out.append(None)
            continue
        _write_field(win, offset, bits, new)
        if grown or new != old:
            changes += 1
        out.append(old if opcode == _SET else new)
    if changes or grown:
        size = max(len(v), need)
        m = memoryview(v)
        head = m[:lo] if len(v) >= lo else v + bytes(lo - len(v))
        c.db.set(key, b"".join((head, win, m[hi:]))[:size], keep_ttl=True)
    if changes:
        c.changed(key, STRING, b"setbit")
        c.server.dirty += changes - 1
    return out


@command("bitfield", -2, "write denyoom", 1, 1, 1)
def cmd_bitfield(c, argv):
    return _bitfield(c, argv, False)


@command("bitfield_ro", -2, "readonly fast", 1, 1, 1)
def cmd_bitfield_ro(c, argv):
    return _bitfield(c, argv, True)
