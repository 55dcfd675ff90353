"""The replication backlog: the last ``repl-backlog-size`` bytes of the replication stream.

Offsets are Redis's: ``offset`` is the master replication offset (bytes ever fed), the first byte
kept has offset ``first`` (``repl_backlog_first_byte_offset``). Data is kept in chunks so appends
and trimming cost no copying of the whole buffer.
"""

from __future__ import annotations

from collections import deque


class Backlog:
    """A byte window over the replication stream, ending at ``offset``."""

    def __init__(self, size: int, offset: int) -> None:
        self.size = max(size, 16384)
        self.chunks: deque[bytes] = deque()
        self.histlen = 0
        self.offset = offset  # master_repl_offset: the offset of the last byte fed

    @property
    def first(self) -> int:
        """Offset of the first byte held (Redis reports offset+1 for an empty backlog)."""
        return self.offset - self.histlen + 1

    def append(self, data: bytes) -> None:
        self.chunks.append(data)
        n = len(data)
        self.histlen += n
        self.offset += n
        chunks = self.chunks
        while self.histlen - len(chunks[0]) >= self.size:
            self.histlen -= len(chunks.popleft())
        if self.histlen > self.size and len(chunks[0]) > 4096:  # trim inside a large first chunk
            cut = self.histlen - self.size
            chunks[0] = chunks[0][cut:]
            self.histlen -= cut

    def resize(self, size: int) -> None:
        self.size = max(size, 16384)
        while self.histlen > self.size and self.chunks:
            first = self.chunks[0]
            cut = self.histlen - self.size
            if cut >= len(first):
                self.chunks.popleft()
                self.histlen -= len(first)
            else:
                self.chunks[0] = first[cut:]
                self.histlen -= cut

    def covers(self, psync_offset: int) -> bool:
        """True when the bytes from *psync_offset* (the next byte a replica wants) are all here."""
        return self.first <= psync_offset <= self.offset + 1

    def read_from(self, psync_offset: int) -> bytes:
        """The stream from *psync_offset* to the end."""
        skip = psync_offset - self.first
        out = []
        for ch in self.chunks:
            if skip >= len(ch):
                skip -= len(ch)
                continue
            out.append(ch[skip:] if skip else ch)
            skip = 0
        return b"".join(out)
