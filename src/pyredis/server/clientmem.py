"""Client memory accounting, output buffer limits and client eviction (``maxmemory-clients``).

What redis-server 7.0 counts for a client (``getClientMemoryUsage`` in networking.c), modelled on
pyredis's own buffers:

- the query buffer: bytes received and not yet parsed into a command, with the allocation Redis
  would hold for them (a bulk argument of 32 KB or more gets a buffer of exactly its size);
- the arguments already parsed of a command still arriving (``argv-mem``);
- the reply buffer: the first ``rbs`` bytes of unsent output live in a fixed buffer (16 KB, shrunk
  for idle clients and grown again for busy ones as Redis's clientsCron does), the rest is the
  reply list (``omem``); unsent output is what handlers queued plus what the socket has not taken;
- MULTI's queued commands, WATCHed keys, Pub/Sub subscriptions and tracking prefixes.

``client-output-buffer-limit`` is enforced on ``omem`` before anything is written (a client over
its hard limit gets nothing more and is closed), and by the cron for the soft limit's duration.
With ``maxmemory-clients`` set, normal and Pub/Sub clients (not ``CLIENT NO-EVICT on`` ones) are
evicted, largest first by power-of-two buckets, while all clients together use the limit or more.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from pyredis.protocol.parser import _wire_size as wire_size

if TYPE_CHECKING:
    from pyredis.server.app import Server

log = logging.getLogger("pyredis")

CLIENT_STRUCT = 776  # zmalloc_size(client) of redis-server 7.0 on x86-64
REPLY_CHUNK = 16384  # PROTO_REPLY_CHUNK_BYTES: the reply buffer's default size, and a reply block
REPLY_MIN = 1024  # PROTO_REPLY_MIN_BYTES
REPLY_BLOCK_OVERHEAD = 40  # listNode + clientReplyBlock header, per reply block
# a reply block holds what its allocation can: a 16 KB block plus header lands in jemalloc's 20 KB bin
REPLY_BLOCK_USABLE = 20480 - 16
QBUF_MIN = 20474  # the query buffer a client gets for its first read
BIG_ARG = 32768  # PROTO_MBULK_BIG_ARG
WATCHED_KEY = 56  # listNode + watchedKey
MULTI_CMD = 24  # sizeof(multiCmd)
PTR = 8
LIST_NODE = 24
DICT_ENTRY = 24
RAX_NODE = 32  # sizeof(raxNode) * sizeof(raxNode*), Redis's (under)estimate per tracking-prefix node
BUCKET_MIN_LOG, BUCKET_MAX_LOG = 15, 33  # CLIENT_MEM_USAGE_BUCKET_MIN_LOG / MAX_LOG


# -- the query buffer ------------------------------------------------------------------------------------
class _Chunks:
    """Read access at absolute offsets into a list of byte chunks (no join of the whole buffer)."""

    __slots__ = ("chunks", "starts", "size")

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.starts = []
        pos = 0
        for ch in chunks:
            self.starts.append(pos)
            pos += len(ch)
        self.size = pos

    def line(self, pos: int, limit: int = 64) -> tuple[bytes, int] | None:
        """The bytes from *pos* up to the next CRLF and the offset after it (None if incomplete)."""
        end = min(self.size, pos + limit)
        data = self.slice(pos, end)
        i = data.find(b"\r\n")
        if i < 0:
            return None
        return data[:i], pos + i + 2

    def slice(self, a: int, b: int) -> bytes:
        from bisect import bisect_right

        out = []
        i = max(0, bisect_right(self.starts, a) - 1)
        while a < b and i < len(self.chunks):
            ch = self.chunks[i]
            s = self.starts[i]
            lo = a - s
            hi = min(len(ch), b - s)
            if lo < hi:
                out.append(ch[lo:hi])
                a = s + hi
            i += 1
        return b"".join(out)


def query_layout(chunks: list[bytes]) -> tuple[int, int, int, int]:
    """How Redis would hold these unparsed bytes: (qbuf, argv bytes, argc, pending big bulk length).

    Redis consumes a multibulk request's headers as they arrive and moves each complete argument
    to the client's argv, so its query buffer holds only the argument being received (and what
    follows it). Inline requests stay whole in the buffer.
    """
    buf = _Chunks(chunks)
    n = buf.size
    if not n:
        return 0, 0, 0, 0
    if buf.slice(0, 1) != b"*":
        return n, 0, 0, 0
    head = buf.line(0)
    if head is None:
        return n, 0, 0, 0
    try:
        count = int(head[0][1:])
    except ValueError:
        return n, 0, 0, 0
    pos = head[1]
    argv = argc = 0
    for _ in range(max(count, 0)):
        hdr = buf.line(pos)
        if hdr is None or not hdr[0].startswith(b"$"):
            break
        try:
            blen = int(hdr[0][1:])
        except ValueError:
            break
        start = hdr[1]
        if start + blen + 2 > n:  # this argument is still arriving
            return n - start, argv, argc, blen if blen >= BIG_ARG else 0
        argv += blen
        argc += 1
        pos = start + blen + 2
    return n - pos, argv, argc, 0


def query_buffer(c: Any) -> tuple[int, int, int, int]:
    """(qbuf, qbuf allocation, argv bytes, argc) of a connection's partially received request."""
    parser = getattr(c, "parser", None)
    if parser is None or not parser.buffered:
        return 0, c.query_buffer_alloc() if hasattr(c, "query_buffer_alloc") else 0, 0, 0
    qbuf, argv, argc, big = query_layout(parser.pending_chunks())
    alloc = max(c.qbuf_alloc, qbuf, big + 2 if big else 0)
    if big:
        c.qbuf_alloc = alloc
    return qbuf, alloc, argv, argc


# -- output ----------------------------------------------------------------------------------------------
def unsent(c: Any) -> int:
    """Reply bytes not yet taken by the socket: queued by handlers plus the transport's buffer."""
    n = 0
    for b in c.out:
        n += len(b)
    t = getattr(c, "transport", None)
    if t is not None and not getattr(c, "closed", False):
        try:
            n += t.get_write_buffer_size()
        except (AttributeError, RuntimeError):
            pass
    return n


def output_layout(c: Any) -> tuple[int, int, int]:
    """(obl, oll, omem): bytes in the reply buffer, reply blocks, and the reply list's memory.
    A replica's output is the shared replication buffer from its position on (no reply list)."""
    link = getattr(c, "repl_link", None)
    if link is not None and getattr(c, "is_replica", False):
        return 0, 0, c.server.replication.master.output_memory(link)
    pending = unsent(c)
    rbs = getattr(c, "rbs", REPLY_CHUNK)
    obl = min(pending, rbs)
    rest = pending - obl
    if not rest:
        return obl, 0, 0
    return obl, *reply_list(rest)


def reply_list(rest: int) -> tuple[int, int]:
    """(blocks, memory) of the reply list holding *rest* bytes past the reply buffer."""
    blocks = -(-rest // REPLY_BLOCK_USABLE)
    return blocks, blocks * (REPLY_BLOCK_USABLE + REPLY_BLOCK_OVERHEAD)


def output_memory(c: Any) -> int:
    """``getClientOutputBufferMemoryUsage``: what client-output-buffer-limit is checked against."""
    return output_layout(c)[2]


def multi_memory(c: Any) -> int:
    """Bytes of the commands queued by MULTI (``multi-mem``), kept incrementally per transaction."""
    q = c.multi
    if q is None:
        return 0
    cache = getattr(c, "_multi_mem", None)
    if cache is None or cache[0] is not q or cache[1] > len(q):
        cache = [q, 0, 0]
    total = cache[2]
    for i in range(cache[1], len(q)):
        argv = q[i][1]
        total += sum(len(a) for a in argv) + PTR * len(argv)
    cache[1] = len(q)
    cache[2] = total
    c._multi_mem = cache
    return total


def _dict_slots(n: int) -> int:
    if not n:
        return 0
    size = 4
    while size < n:
        size *= 2
    return size


def client_memory(c: Any, argv: list[bytes] | None = None) -> int:
    """``getClientMemoryUsage``: everything a client holds (``tot-mem``).

    *argv*: the command the client is running (counted as Redis still holds it)."""
    mem = output_memory(c)
    qbuf, alloc, pargv, pargc = query_buffer(c)
    mem += alloc + CLIENT_STRUCT + getattr(c, "rbs", REPLY_CHUNK)
    if argv is not None:
        pargv += sum(len(a) for a in argv)
        pargc += len(argv)
    mem += pargv + PTR * pargc
    q = c.multi
    if q:
        mem += multi_memory(c) + MULTI_CMD * len(q)
    if c.watched:
        mem += len(c.watched) * WATCHED_KEY
    mem += len(c.patterns) * LIST_NODE
    for chans in (c.channels, c.shard_channels):
        if chans:
            mem += len(chans) * DICT_ENTRY + _dict_slots(len(chans)) * PTR
    t = c.tracking
    if t is not None and getattr(t, "prefixes", None):
        mem += 2 * len(t.prefixes) * RAX_NODE  # about two radix-tree nodes per prefix
    return mem


# -- the reply buffer (clientsCronResizeOutputBuffer) ------------------------------------------------------
def note_reply(c: Any, size: int) -> None:
    """A write of *size* reply bytes: the reply buffer filled up to min(size, rbs) (its peak)."""
    used = size if size < c.rbs else c.rbs
    if used > c.rbp:
        c.rbp = used


def resize_reply_buffer(c: Any, now_ms: int, server: Any) -> None:
    """Shrink the reply buffer of a client that used little of it, grow a busy one's (up to 16 KB)."""
    dbg = server.debug
    if dbg.reply_buffer_resizing:
        rbs = c.rbs
        if rbs // 2 >= REPLY_MIN and c.rbp < rbs // 2:
            c.rbs = max(REPLY_MIN, c.rbp + 1)
            server.stats.reply_buffer_shrinks += 1
        elif rbs * 2 < REPLY_CHUNK * 2 and c.rbp == rbs:
            c.rbs = min(REPLY_CHUNK, rbs * 2)
            server.stats.reply_buffer_expands += 1
    reset = dbg.reply_peak_reset_time
    if reset >= 0 and now_ms - c.rbp_reset >= reset:
        c.rbp = min(unsent(c), c.rbs)
        c.rbp_reset = now_ms


# -- client-output-buffer-limit ----------------------------------------------------------------------------
def client_class(c: Any) -> str:
    """The ``client-output-buffer-limit`` class of *c*."""
    if getattr(c, "is_replica", False) and not c.monitor:
        return "replica"
    if c.channels or c.patterns or c.shard_channels:
        return "pubsub"
    return "normal"


def obuf_limit_reached(c: Any, omem: int | None = None) -> bool:
    """``checkClientOutputBufferLimits``: the hard limit, or the soft one held longer than allowed."""
    if not getattr(c, "authenticated", True):  # unauthenticated clients get 1024 bytes (authRequired)
        if omem is None:
            omem = output_memory(c)
        if omem > 1024:
            return True
    cfg = c.server.config.values
    cls = client_class(c)
    hard, soft, secs = cfg["client-output-buffer-limit"][cls]
    if not hard and not soft:
        return False
    if cls == "replica" and hard and hard < cfg["repl-backlog-size"]:
        hard = cfg["repl-backlog-size"]  # replicas share the backlog's memory: never below its size
    if omem is None:
        omem = output_memory(c)
    if hard and omem >= hard:
        return True
    if soft and omem >= soft:
        now = int(time.time())
        since = getattr(c, "obuf_soft_since", None)
        if since is None:
            c.obuf_soft_since = now
            return False
        return now - since > secs
    c.obuf_soft_since = None
    return False


def close_on_obuf_limit(c: Any, omem: int | None = None) -> bool:
    """Close *c* (nothing more written) if it is over its output buffer limit; True if it was."""
    if getattr(c, "closed", True) or not obuf_limit_reached(c, omem):
        return False
    log.warning("Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
                client_info_line(c))
    c._abort()
    return True


# -- maxmemory-clients ------------------------------------------------------------------------------------
def _bucket(mem: int) -> int:
    return max(BUCKET_MIN_LOG, min(BUCKET_MAX_LOG, mem.bit_length())) - BUCKET_MIN_LOG


class ClientEviction:
    """``maxmemory-clients``: the memory all normal and Pub/Sub clients use, and their eviction
    (``server.client_eviction``)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.enabled = False
        self.used = 0  # stat_clients_type_memory[normal] + [pubsub]
        self.seq = 0
        self.evicting = False
        self._cron_queue: list[Any] = []
        self.last_warning = 0.0
        cfg = server.config
        cfg.on_change("maxmemory-clients", self.configure)
        cfg.on_change("maxmemory", self.configure)
        server.events.client_disconnected.append(self.forget)
        self.configure()

    def limit(self) -> int:
        """``getClientEvictionLimit``: bytes, or 0 when client eviction is off."""
        cfg = self.server.config.values
        value, percent = cfg["maxmemory-clients"]
        if percent:
            if not cfg["maxmemory"] or not value:
                return 0
            actual = int(cfg["maxmemory"] * value / 100)
        elif value > 0:
            actual = value
        else:
            return 0
        return max(actual, 128 * 1024)  # never so small that nobody can talk to the server

    def configure(self, *_: Any) -> None:
        """CONFIG SET maxmemory-clients / maxmemory: (re)account every client, evict if over.

        Clients are accounted while either is set: maxmemory counts their buffers in used_memory."""
        self.enabled = bool(self.limit()) or bool(self.server.config.values["maxmemory"])
        self.used = 0
        for c in list(self.server.clients.values()):
            c.mem_last = 0
            if self.enabled:
                self.update(c)
        if self.enabled:
            self.evict()

    def total(self) -> int:
        """The memory of all normal and Pub/Sub clients (measured now when not being accounted)."""
        if self.enabled:
            return self.used
        return sum(client_memory(c) for c in list(self.server.clients.values())
                   if self.counted(c) and not getattr(c, "closed", False))

    def counted(self, c: Any) -> bool:
        return not getattr(c, "is_master", False) and (not getattr(c, "is_replica", False) or c.monitor)

    def update(self, c: Any) -> None:
        """``updateClientMemUsageAndBucket``: recompute *c*'s memory and its bucket."""
        mem = client_memory(c) if self.counted(c) and not getattr(c, "closed", False) else 0
        self.used += mem - c.mem_last
        c.mem_last = mem
        b = _bucket(mem)
        if b != c.mem_bucket:
            c.mem_bucket = b
            self.seq += 1
            c.mem_seq = self.seq

    def touch(self, c: Any) -> None:
        """A client's buffers changed (after a read or a write): account it, evict if over the limit."""
        self.update(c)
        limit = self.limit()
        if limit and self.used >= limit:
            self.evict()

    def forget(self, c: Any) -> None:
        """``events.client_disconnected``."""
        self.used -= getattr(c, "mem_last", 0)
        c.mem_last = 0

    def evictable(self, c: Any) -> bool:
        return self.counted(c) and not c.no_evict and not getattr(c, "closed", False)

    def evict(self) -> None:
        """``evictClients``: free the largest clients until the total is below the limit."""
        limit = self.limit()
        if not limit or self.used < limit or self.evicting:
            return
        self.evicting = True
        try:
            srv = self.server
            victims = sorted((c for c in srv.clients.values() if self.evictable(c)),
                             key=lambda c: (-c.mem_bucket, c.mem_seq))
            for c in victims:
                if self.used < limit:
                    return
                log.info("Evicting client: %s", client_info_line(c))
                srv.stats.evicted_clients += 1
                self.forget(c)
                srv.clients.pop(c.id, None)
                c._abort()  # type: ignore[attr-defined]  # the connection layer's hard close
            if self.used >= limit:
                now = time.monotonic()
                if now - self.last_warning >= 1:
                    self.last_warning = now
                    log.warning("Over client maxmemory after evicting all evictable clients")
        finally:
            self.evicting = False

    def cron(self, server: Server) -> None:
        """``events.cron`` (clientsCron): re-account every client, then evict if over the limit."""
        if not self.enabled:
            return
        # like clientsCron: every client about once a second (at least 5 per tick)
        q = self._cron_queue
        if not q:
            q.extend(server.clients.values())
        hz = min(max(server.config.values["hz"], 1), 500)
        n = max(5, len(server.clients) // hz)
        for c in q[-n:]:
            if not c.closed:
                self.update(c)
        del q[-n:]
        self.evict()


def close_soft_limited(server: Server) -> None:
    """clientsCron's ``closeClientOnOutputBufferLimitReached``: soft limits expire without traffic."""
    for c in list(server.clients.values()):
        if getattr(c, "obuf_soft_since", None) is not None:
            close_on_obuf_limit(c)


def client_info_line(c: Any, now: float | None = None, argv: list[bytes] | None = None) -> str:
    """One CLIENT LIST line, in redis-server 7.0's field order (memory fields: server/clientmem.py)."""
    now = now or time.time()
    qbuf, alloc, pargv, _ = query_buffer(c)
    if argv is not None:  # the caller: Redis still holds the command being executed in its buffer
        w = wire_size(argv)
        qbuf += w
        alloc = max(alloc, qbuf)
        pargv += sum(len(a) for a in argv)
    obl, oll, omem = output_layout(c)
    cmd = c.cmd.fullname if c.cmd is not None else "NULL"
    multi = len(c.multi) if c.multi is not None else -1
    redir = c.tracking.redirect if c.tracking is not None and hasattr(c.tracking, "redirect") else -1
    name = (c.name or b"").decode("utf-8", "replace")
    return (
        f"id={c.id} addr={c.addr} laddr={c.laddr} fd={c.fd} name={name} age={int(now - c.created)} "
        f"idle={int(now - c.last_interaction)} flags={c.flags_string()} db={c.db.id} sub={len(c.channels)} "
        f"psub={len(c.patterns)} ssub={len(c.shard_channels)} multi={multi} qbuf={qbuf} "
        f"qbuf-free={max(0, alloc - qbuf)} argv-mem={pargv} multi-mem={multi_memory(c)} rbs={c.rbs} "
        f"rbp={c.rbp} obl={obl} oll={oll} omem={omem} tot-mem={client_memory(c, argv)} "
        f"events=r{'w' if obl or oll else ''} cmd={cmd} user={c.user.decode('utf-8', 'replace')} "
        f"redir={redir} resp={c.resp}"
    )
