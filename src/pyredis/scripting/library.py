"""Function libraries (FUNCTION LOAD): registration of functions and the DUMP/RESTORE payload."""

from __future__ import annotations

import struct
from typing import Any

from pyredis.commands.errors import CommandError

RDB_VERSION = 10
OPCODE_FUNCTION2 = 0xF5
_POLY = 0x95AC9329AC4BC9B5
_CRC_TABLE: list[int] = []


class FunctionInfo:
    """A registered function: its library, Lua callback, description and flags."""

    __slots__ = ("name", "library", "callback", "description", "flags")

    def __init__(self, name: bytes, callback: Any, description: bytes | None, flags: int) -> None:
        self.name = name
        self.library: Library | None = None
        self.callback = callback
        self.description = description
        self.flags = flags


class Library:
    """A library: name, source code and its functions (by lower-cased name, in registration order)."""

    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes) -> None:
        self.name = name
        self.code = code
        self.functions: dict[bytes, FunctionInfo] = {}


# -- DUMP payload: RDB FUNCTION2 records + RDB version + CRC64 ---------------------------------------
def crc64(data: bytes, crc: int = 0) -> int:
    """CRC-64/Jones (reflected), as Redis checksums DUMP payloads."""
    if not _CRC_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ _POLY if c & 1 else c >> 1
            _CRC_TABLE.append(c)
    t = _CRC_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def _enc_len(n: int) -> bytes:
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def dump_payload(codes: list[bytes]) -> bytes:
    body = b"".join(bytes([OPCODE_FUNCTION2]) + _enc_len(len(c)) + c for c in codes)
    body += struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(body))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ValueError("short")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("short")
        r = self.data[self.pos : self.pos + n]
        self.pos += n
        return r

    def length(self) -> tuple[int, bool]:
        b = self.byte()
        kind = b >> 6
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.byte(), False
        if kind == 2:
            if b == 0x80:
                return struct.unpack(">I", self.raw(4))[0], False
            if b == 0x81:
                return struct.unpack(">Q", self.raw(8))[0], False
            raise ValueError("bad length")
        return b & 0x3F, True

    def string(self) -> bytes:
        n, encoded = self.length()
        if not encoded:
            return self.raw(n)
        if n == 0:
            return b"%d" % struct.unpack("<b", self.raw(1))[0]
        if n == 1:
            return b"%d" % struct.unpack("<h", self.raw(2))[0]
        if n == 2:
            return b"%d" % struct.unpack("<i", self.raw(4))[0]
        if n == 3:
            clen, _ = self.length()
            ulen, _ = self.length()
            return lzf_decompress(self.raw(clen), ulen)
        raise ValueError("bad encoding")


def lzf_decompress(data: bytes, out_len: int) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            ln = ctrl + 1
            out += data[i : i + ln]
            i += ln
        else:
            ln = ctrl >> 5
            ref = len(out) - ((ctrl & 0x1F) << 8) - 1
            if ln == 7:
                ln += data[i]
                i += 1
            ref -= data[i]
            i += 1
            ln += 2
            if ref < 0:
                raise ValueError("bad lzf")
            for k in range(ln):
                out.append(out[ref + k])
    if len(out) != out_len:
        raise ValueError("bad lzf length")
    return bytes(out)


def parse_payload(payload: bytes) -> list[bytes]:
    """The library codes in a FUNCTION DUMP payload (CommandError if it is not valid)."""
    bad = CommandError("ERR DUMP payload version or checksum are wrong")
    if len(payload) < 10:
        raise bad
    body, footer = payload[:-8], payload[-8:]
    version = struct.unpack("<H", body[-2:])[0]
    if version > RDB_VERSION:
        raise bad
    crc = struct.unpack("<Q", footer)[0]
    if crc != 0 and crc64(body) != crc:
        raise bad
    r = _Reader(body[:-2])
    codes = []
    try:
        while r.pos < len(r.data):
            op = r.byte()
            if op != OPCODE_FUNCTION2:
                raise CommandError("ERR given type is not a function")
            codes.append(r.string())
    except ValueError:
        raise CommandError("ERR payload is not a valid functions dump") from None
    return codes
