"""Values restored without deep sanitization (``sanitize-dump-payload no``) that do not decode.

With deep sanitization off, Redis checks only the headers of a payload's listpacks / intsets
(declared size, terminator, first entry) and keeps the blobs as they are; a corruption inside
them is found later, when a command walks the blob, as a failed assertion that ends the process.

pyredis decodes payloads into its own structures at RESTORE time, so it finds such a
corruption at once.  When the payload passes the same header checks Redis makes, RESTORE
accepts it like Redis does and the key keeps the payload verbatim as an
:class:`UnverifiedValue`: it can be deleted, renamed, expired, DUMPed and saved (written back
byte for byte), and the first command that needs its content fails the assertion Redis fails
(``ASSERTION FAILED`` in the log, then ``abort()`` / ``exit(1)`` with ``use-exit-on-panic``).
"""

from __future__ import annotations

import logging
from typing import Any

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
