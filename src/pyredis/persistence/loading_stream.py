"""An RDB image read while it arrives (Redis's rdbLoadRio over a connection rio): a replica's
diskless load parses the master's payload from the socket instead of buffering all of it first.

:class:`StreamReader` is a :class:`~pyredis.persistence.rdb_format.Reader` over a buffer that grows
(:meth:`feed`) and drops what the loader consumed (folding it into the running CRC64, as
rdbLoadProgressCallback does). A read past the end of what has arrived raises ``NeedMore`` while more
may come; the loader (``iter_load_rdb(reader=...)``) then yields ``NEED`` and reads that record again
from its first byte once fed. Sans-IO: the caller owns the socket."""

from __future__ import annotations

from typing import Any

from pyredis.persistence.crc64 import crc64
from pyredis.persistence.rdb_format import NeedMore, RDBError, Reader

EOF_MSG = "Unexpected EOF reading RDB file"


class StreamReader(Reader):
    """The bytes of one RDB image as they arrive; ``final`` once nothing more will (the image's
    announced size was reached, or the connection ended)."""

    def __init__(self, config: Any, size: int = -1) -> None:
        super().__init__(b"", config)
        self.size = size  # -1: the $EOF:<mark> form (the image ends where the loader finds its end)
        self.received = 0  # bytes of the image fed so far
        self.final = False
        self.crc = 0  # CRC64 of the bytes already dropped from ``data``

    def fail(self, msg: str = EOF_MSG) -> RDBError:
        if msg == EOF_MSG and not self.final:
            return NeedMore(msg)
        return RDBError(msg)

    @property
    def consumed(self) -> int:
        """Bytes of the image the loader went past."""
        return self.base + self.pos

    @property
    def pending(self) -> int:
        """Bytes fed and not consumed yet."""
        return len(self.data) - self.pos

    def feed(self, chunk: bytes) -> bytes:
        """Append *chunk*; returns what lies beyond the image's announced size (the command stream)."""
        extra = b""
        if self.size >= 0:
            room = self.size - self.received
            if len(chunk) > room:
                chunk, extra = chunk[:room], chunk[room:]
        p = self.pos
        if p:
            self.crc = crc64(self.crc, memoryview(self.data)[:p])
            self.data = self.data[p:] + chunk
            self.base += p
            self.pos = 0
        else:
            self.data += chunk
        self.received += len(chunk)
        if self.size >= 0 and self.received >= self.size:
            self.final = True
        return extra

    def take(self, n: int) -> bytes:
        """Up to *n* bytes after the image (the EOF mark), consumed."""
        p = self.pos
        out = self.data[p:p + n]
        self.pos = p + len(out)
        return out

    def rest(self) -> bytes:
        """Everything fed beyond what was consumed."""
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out
