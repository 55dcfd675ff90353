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

from pyredis.persistence.codec_errors import BlobError, RDBError

log = logging.getLogger("pyredis")


class Unverified(RDBError):
    """The payload passed Redis's shallow checks but not the full decode (deep checks were off).

    ``no_max_id``: for a stream, its declared length when the backward walk Redis makes for its last
    live ID (``streamLastValidID``, see :func:`last_valid_id_missing`) finds none (else 0)."""

    def __init__(self, message: str, no_max_id: int = 0) -> None:
        super().__init__(message)
        self.no_max_id = no_max_id


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

    __slots__ = ("rdb_type", "body", "error", "no_max_id")

    def __init__(self, payload: bytes, error: str, no_max_id: int = 0) -> None:
        self.rdb_type = payload[0]
        self.body = payload[:-10]  # type byte + value, without the version/CRC footer
        self.error = error
        self.no_max_id = no_max_id

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

            if v.no_max_id and argv[0].lower() == b"xread":  # XREAD asks a non-empty stream for its last ID
                crash.panic(c.server, "Corrupt stream, length is %d, but no max id" % v.no_max_id, "t_stream.c:1372")

            # a plain assert() inside the listpack code in Redis: no client context section
            log.warning("Key '%s' holds a payload restored without deep sanitization: %s",
                        a.decode("utf-8", "replace"), v.error)
            crash.assertion_failed(c.server, [], "p >= lp+LP_HDR_SIZE && p+bytes < lp+lpbytes", "listpack.c:0")


def _encoded_len(blob: bytes, p: int) -> int:
    """Size (encoding + data, no back-length) of the listpack element at *p*, from its first bytes."""
    b = blob[p]
    if b < 0x80:
        return 1
    if b < 0xC0:
        return 1 + (b & 0x3F)
    if b < 0xE0:
        return 2
    if b < 0xF0:
        return 2 + (((b & 0x0F) << 8) | blob[p + 1])
    if b == 0xF0:
        return 5 + int.from_bytes(blob[p + 1 : p + 5], "little")
    ln = {0xF1: 3, 0xF2: 4, 0xF3: 5, 0xF4: 9}.get(b, 0)
    if not ln:
        raise BlobError("bad listpack entry encoding")
    return ln


def _element_size(blob: bytes, p: int) -> int:
    """Size (encoding + back-length) of the listpack element at *p*, from its first bytes."""
    ln = _encoded_len(blob, p)
    return ln + _backlen_size(ln)


def listpack_prefix(blob: bytes) -> tuple[list, bool]:
    """The elements of a listpack up to the first invalid one (what ``lpNext`` walks before
    asserting), and whether that is all of them."""
    from pyredis.persistence.listpack import lp_decode

    out: list = []
    p, end = 6, len(blob) - 1
    while p < end:
        if blob[p] == 0xFF:  # an end byte where an element starts: lpNext returns NULL there
            return out, True
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


# -- the backward walk of streamLastValidID over shallow-checked listpacks ----------------------------------
class _Crash(Exception):
    """The walk would fail an assertion (or dereference NULL) in Redis."""


def _backlen_size(n: int) -> int:
    return 1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else 4 if n < 268435455 else 5


def _decode_backlen(blob: bytes, q: int) -> int:
    """``lpDecodeBacklen``: the entry length stored backwards ending at *q*."""
    val = shift = 0
    while True:
        if q < 0:
            raise _Crash
        val |= (blob[q] & 127) << shift
        if not blob[q] & 128:
            return val
        shift += 7
        q -= 1
        if shift > 28:
            return (1 << 64) - 1


def _valid_entry(blob: bytes, p: int) -> bool:
    """``lpValidateNext`` (what ``lpAssertValidEntry`` asserts) for the element at *p*."""
    last = len(blob) - 1
    if p < 6 or p > last:
        return False
    b = blob[p]
    if b == 0xFF:
        return True
    lenbytes = 2 if 0xE0 <= b < 0xF0 else 5 if b == 0xF0 else 1 if b < 0xE0 or b <= 0xF4 else 0
    if not lenbytes or p + lenbytes > last:
        return False
    try:
        ln = _encoded_len(blob, p)
    except (BlobError, IndexError):
        return False
    full = ln + _backlen_size(ln)
    return p + full <= last and _decode_backlen(blob, p + full - 1) == ln


def _lp_next(blob: bytes, p: int | None) -> int | None:
    if p is None:
        raise _Crash
    try:
        p += _element_size(blob, p)
    except (BlobError, IndexError):
        raise _Crash from None
    if p >= len(blob):
        raise _Crash
    if blob[p] == 0xFF:
        return None
    if not _valid_entry(blob, p):
        raise _Crash
    return p


def _lp_prev(blob: bytes, p: int | None) -> int | None:
    if p is None:
        raise _Crash
    if p == 6:
        return None
    n = _decode_backlen(blob, p - 1)
    p = p - 1 - (n + _backlen_size(n) - 1)
    if not _valid_entry(blob, p):
        raise _Crash
    return p


def _lp_int(blob: bytes, p: int | None) -> int:
    """``lpGetInteger`` as the stream code uses it (a string must parse as a 64-bit integer)."""
    from pyredis.persistence.listpack import lp_decode
    from pyredis.protocol.numbers import parse_ll

    if p is None or blob[p] == 0xFF:
        raise _Crash
    size = _element_size(blob, p)
    try:
        v = lp_decode((size + 7).to_bytes(4, "little") + b"\x01\x00" + blob[p : p + size] + b"\xff", ints=True)[0]
    except (BlobError, IndexError, ValueError):
        raise _Crash from None
    if type(v) is not int:
        v = parse_ll(v)
        if v is None:
            raise _Crash
    return v


def last_valid_id_missing(blobs: list[bytes]) -> bool:
    """Whether ``streamLastValidID``'s backward walk (last node first, tombstones skipped) over these
    node listpacks ends without finding a live entry and without failing an assertion on the way."""
    try:
        for blob in reversed(blobs):
            e = _lp_next(blob, _lp_next(blob, 6 if _valid_entry(blob, 6) else None))
            master_fields = _lp_int(blob, e)
            _lp_next(blob, e)
            e = _lp_prev(blob, len(blob) - 1)
            while True:
                count = _lp_int(blob, e)
                if count == 0:  # the master entry's terminator: the previous node
                    break
                if count < 0:
                    raise _Crash
                for _ in range(count):
                    e = _lp_prev(blob, e)
                flags = _lp_int(blob, e)
                e = _lp_next(blob, e)
                _lp_int(blob, e)
                e = _lp_next(blob, e)
                _lp_int(blob, e)
                e = _lp_next(blob, e)
                if flags & 2:
                    nfields = master_fields
                else:
                    nfields = _lp_int(blob, e)
                    e = _lp_next(blob, e)
                if nfields < 0:
                    raise _Crash
                if not flags & 1:
                    return False  # a live entry: its ID is the max ID
                for _ in range(4 if flags & 2 else 5):
                    e = _lp_prev(blob, e)
    except (_Crash, IndexError):
        return False
    return True
