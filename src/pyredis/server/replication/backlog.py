"""The shared replication buffer and the backlog (redis-server 7.0's ``repl_buffer_blocks``).

The replication stream is kept once, in a linked list of blocks. The backlog and every replica
hold a reference into it: the backlog to its first block, a replica to the block (and position)
of the next byte it has to send. A block is freed only when the backlog trims it and no replica
still refers to it, so a slow replica (or one waiting for its RDB) makes the backlog outgrow
``repl-backlog-size``, and what it holds can serve partial resynchronizations.

Offsets are Redis's: ``offset`` is the master replication offset (bytes ever fed), the first byte
kept has offset ``first`` (``repl_backlog_first_byte_offset``). Memory figures follow Redis's
accounting: a block is allocated for at least 16 KB (at most ``repl-backlog-size``/16), rounded up to
jemalloc's size class, plus its list node (``mem_total_replication_buffers``).
"""

from __future__ import annotations

from pyredis.engine.lowlevel import je_usable

REPLY_CHUNK = 16384  # PROTO_REPLY_CHUNK_BYTES
BLOCK_HEADER = 40  # sizeof(replBufBlock)
LIST_NODE = 24  # sizeof(listNode)
MIN_BACKLOG = 16384  # CONFIG_REPL_BACKLOG_MIN_SIZE
TRIM_PER_CALL = 64  # REPL_BACKLOG_TRIM_BLOCKS_PER_CALL


class Block:
    """One replication buffer block (``replBufBlock``): *offset* is the stream offset of its first byte."""

    __slots__ = ("id", "offset", "size", "buf", "refcount", "next")

    def __init__(self, bid: int, offset: int, size: int) -> None:
        self.id = bid
        self.offset = offset
        self.size = size
        self.buf = bytearray()
        self.refcount = 0
        self.next: Block | None = None


class Backlog:
    """The shared replication buffer with the backlog's window over it, ending at ``offset``."""

    def __init__(self, size: int, offset: int) -> None:
        self.size = max(size, MIN_BACKLOG)
        self.head: Block | None = None  # the backlog's first block (ref_repl_buf_node)
        self.tail: Block | None = None
        self.nblocks = 0
        self.histlen = 0
        self.offset = offset  # master_repl_offset: the offset of the last byte fed
        self.mem = 0  # repl_buffer_mem
        self._next_id = 0

    @property
    def first(self) -> int:
        """Offset of the first byte held (Redis reports offset+1 for an empty backlog)."""
        return self.offset - self.histlen + 1

    def append(self, data: bytes | memoryview) -> tuple[Block, int, bool]:
        """feedReplicationBuffer: add stream bytes. Returns where they start (block, position) and
        whether a block was added (then the caller sets replicas' references, checks their output
        buffer limits, and trims)."""
        start: tuple[Block, int] | None = None
        added = False
        n = len(data)
        done = 0
        tail = self.tail
        if tail is not None and len(tail.buf) < tail.size:
            start = (tail, len(tail.buf))
            done = min(tail.size - len(tail.buf), n)
            tail.buf += data[:done] if done < n else data
        while done < n:
            left = n - done
            want = min(max(left, REPLY_CHUNK), max(self.size // 16, REPLY_CHUNK))
            alloc = je_usable(want + BLOCK_HEADER)
            blk = Block(self._next_id, self.offset + done + 1, alloc - BLOCK_HEADER)
            self._next_id += 1
            take = min(blk.size, left)
            blk.buf += data[done:done + take] if (done or take < n) else data
            done += take
            self.mem += alloc + LIST_NODE
            if self.tail is None:
                self.head = blk
                blk.refcount += 1  # the backlog's reference
            else:
                self.tail.next = blk
            self.tail = blk
            self.nblocks += 1
            if start is None:
                start = (blk, 0)
            added = True
        self.offset += n
        self.histlen += n
        assert start is not None
        return start[0], start[1], added

    def trim(self, max_blocks: int) -> None:
        """incrementalTrimReplicationBacklog: drop first blocks while the backlog is over its size
        and no replica refers to them."""
        trimmed = 0
        while self.histlen > self.size and trimmed < max_blocks and self.nblocks > 1:
            fo = self.head
            assert fo is not None and fo.next is not None
            if fo.refcount != 1 or self.histlen - fo.size <= self.size:
                break
            fo.refcount -= 1
            trimmed += 1
            self.histlen -= fo.size
            self.head = fo.next
            self.head.refcount += 1
            self.mem -= fo.size + BLOCK_HEADER + LIST_NODE
            self.nblocks -= 1
            fo.next = None
            fo.buf = bytearray()

    def resize(self, size: int) -> None:
        self.size = max(size, MIN_BACKLOG)
        self.trim(TRIM_PER_CALL)

    def covers(self, psync_offset: int) -> bool:
        """True when the bytes from *psync_offset* (the next byte a replica wants) are all here."""
        return self.first <= psync_offset <= self.offset + 1

    def locate(self, psync_offset: int) -> tuple[Block, int] | None:
        """The block and position holding stream offset *psync_offset* (None for an empty buffer)."""
        b = self.head
        while b is not None:
            if b.offset + len(b.buf) >= psync_offset:
                return b, psync_offset - b.offset
            b = b.next
        return None

    def read_from(self, psync_offset: int) -> bytes:
        """The stream from *psync_offset* to the end."""
        at = self.locate(psync_offset)
        if at is None:
            return b""
        b: Block | None = at[0]
        out = [bytes(at[0].buf[at[1]:])]
        b = at[0].next
        while b is not None:
            out.append(bytes(b.buf))
            b = b.next
        return b"".join(out)

    def pending_from(self, blk: Block) -> tuple[int, int]:
        """(bytes, blocks) from *blk* to the end, as a replica's output buffer counts them."""
        tail = self.tail
        assert tail is not None
        return tail.offset + tail.size - blk.offset, tail.id - blk.id + 1

    def memory(self, replicas: int) -> tuple[int, int]:
        """(mem_replication_backlog, mem_clients_slaves) as INFO memory splits the buffer."""
        if replicas and self.mem > self.size:
            return self.size, self.mem - self.size
        return self.mem, 0
