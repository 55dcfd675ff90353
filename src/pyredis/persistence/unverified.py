"""Values restored without deep sanitization (``sanitize-dump-payload no``) that do not decode.

With deep sanitization off, Redis checks only the headers of a payload's listpacks / intsets
(declared size, terminator, first entry) and keeps the blobs as they are; a corruption inside
them is found later, when a command walks the blob, as a failed assertion that ends the process.

pyredis decodes payloads into its own structures at RESTORE time, so it finds such a
corruption at once.  When the payload passes the same header checks Redis makes, RESTORE
accepts it like Redis does and the key keeps the payload verbatim as an
:class:`UnverifiedValue`: it can be deleted, renamed, expired, DUMPed and saved (written back
byte for byte), and the first command that needs its content fails the assertion Redis fails
(``ASSERTION FAILED`` in the log, then ``abort()`` / ``exit(1)`` with ``use-exit-on-panic``):
any command that finds such a key where it expects a value of its type (it would answer WRONGTYPE).

Two corruptions Redis meets while loading, and so fails on at RESTORE time: the walk to the first
entry of a version-1 stream (``streamGetEdgeID``; :func:`first_entry_readable`), and duplicate
fields of a listpack hash converted to a dict because it is over ``hash-max-listpack-entries``
(:class:`LoadPanic`).  Covered: streams, listpack hashes and quicklist-2 lists; other encodings
are always fully checked (ziplists and zipmaps are converted, hence deep-checked, by Redis too).
"""

from __future__ import annotations

import logging
from typing import Any

from pyredis.persistence.codec_errors import BlobError
from pyredis.persistence.rdb_format import RDBError

log = logging.getLogger("pyredis")


class Unverified(RDBError):
    """The payload passed Redis's shallow checks but not the full decode (deep checks were off)."""


class LoadPanic(RDBError):
    """A corruption Redis meets while converting a shallow-checked blob: it panics there.

    ``hexdump`` names the blob Redis dumps to the log before the panic (``listpack with dup
    elements``); ``assertion`` is True for a ``serverAssert`` (else ``serverPanic``)."""

    def __init__(self, message: str, where: str, hexdump: str = "", assertion: bool = False) -> None:
        super().__init__(message)
        self.message, self.where, self.hexdump, self.assertion = message, where, hexdump, assertion


_TYPE_NAMES = {0x0F: b"stream", 0x13: b"stream", 0x10: b"hash", 0x11: b"zset", 0x12: b"list", 0x0B: b"set"}


class UnverifiedValue:
    """A key's payload kept verbatim (see the module docstring)."""

    __slots__ = ("rdb_type", "body", "error")

    def __init__(self, payload: bytes, error: str) -> None:
        self.rdb_type = payload[0]
        self.body = payload[:-10]  # type byte + value, without the version/CRC footer
        self.error = error

    @property
    def TYPE_NAME(self) -> bytes:  # noqa: N802 - the attribute every value type has
        """What TYPE reports."""
        return _TYPE_NAMES.get(self.rdb_type, b"none")

    def rdb_encode(self, compress: bool) -> bytes:
        """The RDB serialization: the bytes it was restored from."""
        return self.body


def shallow_listpack_ok(blob: bytes) -> bool:
    """``lpValidateIntegrity(..., deep=0)``: the header's size is the blob's and it ends with 0xFF."""
    return len(blob) >= 7 and int.from_bytes(blob[:4], "little") == len(blob) and blob[-1] == 0xFF


def check_wrongtype(c: Any, argv: list[bytes]) -> None:
    """Called when a command failed with WRONGTYPE: if one of its arguments names a key holding an
    :class:`UnverifiedValue`, the command was reading a blob Redis would have walked and asserted on."""
    data = c.db.data
    for a in argv[1:]:
        v = data.get(a)
        if type(v) is UnverifiedValue:
            from pyredis.server import crash

            # a plain assert() inside the listpack code in Redis: no client context section
            log.warning("Key '%s' holds a payload restored without deep sanitization: %s",
                        a.decode("utf-8", "replace"), v.error)
            crash.assertion_failed(c.server, [], "p >= lp+LP_HDR_SIZE && p+bytes < lp+lpbytes", "listpack.c:0")


def _element_size(blob: bytes, p: int) -> int:
    """Size (encoding + back-length) of the listpack element at *p*, from its first bytes."""
    b = blob[p]
    if b < 0x80:
        ln = 1
    elif b < 0xC0:
        ln = 1 + (b & 0x3F)
    elif b < 0xE0:
        ln = 2
    elif b < 0xF0:
        ln = 2 + (((b & 0x0F) << 8) | blob[p + 1])
    elif b == 0xF0:
        ln = 5 + int.from_bytes(blob[p + 1 : p + 5], "little")
    else:
        ln = {0xF1: 3, 0xF2: 4, 0xF3: 5, 0xF4: 9}.get(b, 0)
        if not ln:
            raise BlobError("bad listpack entry encoding")
    back = 1 if ln <= 127 else 2 if ln < 16383 else 3 if ln < 2097151 else 4 if ln < 268435455 else 5
    return ln + back


def listpack_prefix(blob: bytes) -> tuple[list, bool]:
    """The elements of a listpack up to the first invalid one (what ``lpNext`` walks before
    asserting), and whether that is all of them."""
    from pyredis.persistence.listpack import lp_decode

    out: list = []
    p, end = 6, len(blob) - 1
    while p < end:
        try:
            size = _element_size(blob, p)
            if p + size > end:
                return out, False
            one = lp_decode((size + 7).to_bytes(4, "little") + b"\x01\x00" + blob[p : p + size] + b"\xff", ints=True)
        except (BlobError, IndexError, ValueError):
            return out, False
        out.append(one[0])
        p += size
    return out, True


def first_entry_readable(blobs: list[bytes]) -> bool:
    """Whether the walk Redis makes loading a version-1 stream (``streamGetEdgeID``: master entry,
    then entries up to the first live one's ID and field count) stays on valid elements."""
    for blob in blobs:
        e, complete = listpack_prefix(blob)

        def num(i: int, e: list = e) -> int:
            v = e[i]  # IndexError: the walk reached an invalid element (or the end)
            return v if type(v) is int else int(v)  # ValueError: lpGetInteger on a non-number

        try:
            nf = num(2)
            p = 4 + nf
            num(p - 1)  # the master terminator
            while True:
                flags = num(p)
                num(p + 1)
                num(p + 2)
                if not flags & 1:  # the first live entry: its ID, then the next element is read
                    if flags & 2:
                        return p + 3 < len(e) or complete
                    num(p + 3)
                    return p + 4 < len(e) or complete
                k = nf if flags & 2 else num(p + 3)
                p += 3 + (k if flags & 2 else 1 + 2 * k) + 1  # skip the tombstone and its lp-count
        except IndexError:
            if not complete:
                return False
        except ValueError:
            return False
    return True
