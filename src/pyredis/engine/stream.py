"""Stream values: entries in listpack-like nodes, consumer groups, pending entries lists.

Public representation (what persistence serializes and what loaders rebuild)
-----------------------------------------------------------------------------
Stream IDs are plain ints: ``ms << 64 | seq`` (:func:`make_id`, :func:`id_ms`, :func:`id_seq`,
:func:`format_id`).  A :class:`StreamValue` holds:

* ``nodes``: list of :class:`StreamNode` in ID order.  They mirror Redis's radix-tree nodes
  (one listpack each) so that approximate trimming (``MAXLEN ~``/``MINID ~``) removes exactly the
  entries the real server removes and ``XINFO STREAM`` reports the same ``radix-tree-keys``.
  A node has ``master_id`` (its radix-tree key: the ID of the first entry ever appended to it),
  ``fields`` (the master entry's field names, a tuple), ``ids`` (live entry IDs, ascending),
  ``values`` (per live entry a flat ``(field, value, ...)`` tuple: tuples of bytes are not tracked
  by the garbage collector), ``deleted`` (entries deleted inside the node but still occupying its
  listpack) and ``last_id`` (the last ID appended to the node, deleted or not).
* ``length`` (live entries), ``last_id`` (last generated ID), ``first_id`` (first live ID, 0 when
  empty: the "recorded-first-entry-id"), ``max_deleted_id`` (largest ID removed by XDEL),
  ``entries_added`` (entries ever added, including XSETID adjustments).
* ``groups``: dict name -> :class:`ConsumerGroup` with ``name``, ``last_id`` (last delivered ID),
  ``entries_read`` (logical read counter, ``-1`` when unknown), ``pel`` (a ``SortedDict``
  id -> :class:`PendingEntry`) and ``consumers`` (dict name -> :class:`Consumer`).
* :class:`PendingEntry` (a NACK): ``consumer`` (the owning :class:`Consumer`), ``delivery_time``
  (unix ms of the last delivery), ``delivery_count`` (kept modulo 2**64, replies show it as a
  signed 64-bit number like Redis). A PEL entry created by ``XCLAIM ... FORCE`` has no consumer
  only until it is claimed, within the same command.
* :class:`Consumer`: ``name``, ``seen_time`` (unix ms of its last read/claim attempt; the only
  consumer time Redis 7.0 persists and reports), ``active_time`` (unix ms of its last successful
  read/claim, -1 if never; kept for later formats) and ``pel`` (``SortedDict`` id ->
  the same :class:`PendingEntry` objects the group PEL holds).

Loaders use :meth:`StreamValue.load_node` (one call per node, entries in order) then set the scalar
fields and groups; writers iterate ``nodes`` and ``groups``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import Any

from sortedcontainers import SortedDict

from pyredis.protocol.numbers import parse_ll

Fields = tuple[bytes, ...]  # an entry's flat (field, value, ...) tuple

MAX64 = (1 << 64) - 1
MAX_ID = (MAX64 << 64) | MAX64
LISTPACK_MAX_SIZE = 1 << 30


def make_id(ms: int, seq: int) -> int:
    return (ms << 64) | seq


def id_ms(i: int) -> int:
    return i >> 64


def id_seq(i: int) -> int:
    return i & MAX64


def format_id(i: int) -> bytes:
    return b"%d-%d" % (i >> 64, i & MAX64)


# -- listpack size model ------------------------------------------------------------------------
# Sizes (encoding + back-length) of listpack elements; only used to decide, like Redis, when the
# last node is full and a new one must start (stream-node-max-bytes).

def _int_size(v: int) -> int:
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -2147483648 <= v <= 2147483647:
        return 6
    return 10


def _str_size(b: bytes) -> int:
    n = len(b)
    if n <= 20 and n and b[0] in b"-0123456789":
        v = parse_ll(b)
        if v is not None:
            return _int_size(v)
    if n < 64:
        return n + 2
    enc = n + 2 if n < 4096 else n + 5
    if enc <= 127:
        return enc + 1
    if enc < 16383:
        return enc + 2
    if enc < 2097151:
        return enc + 3
    if enc < 268435455:
        return enc + 4
    return enc + 5


_I64 = 1 << 63
_NUMSTART = frozenset(b"-0123456789")


def _delta(a: int, b: int) -> int:
    """``a - b`` as a wrapped signed 64-bit integer (the listpack stores it that way)."""
    d = (a - b) & MAX64
    return d - (1 << 64) if d >> 63 else d


class StreamNode:
    """One radix-tree node of a stream (see the module docstring)."""

    __slots__ = ("master_id", "fields", "ids", "values", "deleted", "last_id", "fixed_size", "entries_size")

    def __init__(self, master_id: int, fields: tuple[bytes, ...] | list[bytes]) -> None:
        self.master_id = master_id
        self.fields = tuple(fields)
        self.ids: list[int] = []
        self.values: list[tuple[bytes, ...]] = []
        self.deleted = 0
        self.last_id = master_id
        # header(6) + end(1) + num-fields + master fields + master terminator (0)
        self.fixed_size = 7 + _int_size(len(fields)) + sum(_str_size(f) for f in fields) + 2
        self.entries_size = 0

    def lp_bytes(self) -> int:
        n = len(self.ids)
        d = self.deleted
        return (self.fixed_size + self.entries_size + (2 if n <= 127 else _int_size(n))
                + (2 if d <= 127 else _int_size(d)))

    def entry_size(self, eid: int, fv: Fields) -> int:
        """Listpack bytes taken by entry *eid* with fields/values *fv* in this node."""
        mid = self.master_id
        dm = (eid >> 64) - (mid >> 64)
        ds = (eid & MAX64) - (mid & MAX64)
        if 0 <= dm <= 127:
            size = 4
        else:
            size = 2 + _int_size(dm if -_I64 <= dm < _I64 else _delta(eid >> 64, mid >> 64))
        if 0 <= ds <= 127:
            size += 2
        else:
            size += _int_size(ds if -_I64 <= ds < _I64 else _delta(eid & MAX64, mid & MAX64))
        nf = len(fv) >> 1
        fields = self.fields
        if nf == len(fields) and (nf == 1 and fv[0] == fields[0] or tuple(fv[0::2]) == fields):
            for v in fv[1::2] if nf > 1 else (fv[1],):
                k = len(v)
                if k < 64 and (not k or v[0] not in _NUMSTART):
                    size += k + 2
                else:
                    size += _str_size(v)
            return size + _int_size(nf + 3)
        size += _int_size(nf)
        for x in fv:
            size += _str_size(x)
        return size + _int_size(2 * nf + 4)

    def copy(self) -> StreamNode:
        n = StreamNode.__new__(StreamNode)
        n.master_id = self.master_id
        n.fields = self.fields
        n.ids = self.ids[:]
        n.values = self.values[:]
        n.deleted = self.deleted
        n.last_id = self.last_id
        n.fixed_size = self.fixed_size
        n.entries_size = self.entries_size
        return n


class Consumer:
    """A consumer of a group: name, times and its own PEL (shared PendingEntry objects)."""

    __slots__ = ("name", "seen_time", "active_time", "pel")

    def __init__(self, name: bytes, now: int) -> None:
        self.name = name
        self.seen_time = now
        self.active_time = -1
        self.pel: SortedDict = SortedDict()


class PendingEntry:
    """A pending (delivered, not yet acknowledged) entry of a group."""

    __slots__ = ("consumer", "delivery_time", "delivery_count")

    def __init__(self, consumer: Consumer | None, delivery_time: int, delivery_count: int = 1) -> None:
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class ConsumerGroup:
    """A consumer group: last delivered ID, logical read counter, PEL and consumers."""

    __slots__ = ("name", "last_id", "entries_read", "pel", "consumers")

    def __init__(self, name: bytes, last_id: int, entries_read: int = -1) -> None:
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: SortedDict = SortedDict()
        self.consumers: dict[bytes, Consumer] = {}

    def consumer(self, name: bytes) -> Consumer | None:
        return self.consumers.get(name)

    def add_consumer(self, name: bytes, now: int) -> Consumer:
        c = Consumer(name, now)
        self.consumers[name] = c
        return c

    def delete_consumer(self, name: bytes) -> int:
        """Remove a consumer and its pending entries; returns how many were pending."""
        c = self.consumers.pop(name)
        pel = self.pel
        for eid in c.pel:
            del pel[eid]
        return len(c.pel)


class StreamValue:
    """A stream value (``TYPE`` stream)."""

    TYPE_NAME = b"stream"
    __slots__ = ("nodes", "starts", "length", "last_id", "first_id", "max_deleted_id", "entries_added", "groups")

    def __init__(self) -> None:
        self.nodes: list[StreamNode] = []
        self.starts: list[int] = []  # master_id of each node, for bisection
        self.length = 0
        self.last_id = 0
        self.first_id = 0
        self.max_deleted_id = 0
        self.entries_added = 0
        self.groups: dict[bytes, ConsumerGroup] = {}

    def encoding(self, config: Any = None) -> bytes:
        return b"stream"

    def __len__(self) -> int:
        return self.length

    # -- adding ----------------------------------------------------------------------------------
    def append(self, eid: int, fv: tuple[bytes, ...], max_bytes: int, max_entries: int) -> None:
        """Append entry *eid* (> last_id) with flat field/value tuple *fv*.

        Entries are stored as tuples: tuples of bytes are not tracked by the garbage collector, so
        millions of entries cost nothing at collection time.
        """
        if type(fv) is not tuple:
            fv = tuple(fv)
        nodes = self.nodes
        if nodes:
            node = nodes[-1]
            n = len(node.ids)
            d = node.deleted
            if max_bytes <= 0 or max_bytes > LISTPACK_MAX_SIZE:
                max_bytes = LISTPACK_MAX_SIZE
            if len(fv) == 2:
                total = len(fv[0]) + len(fv[1])
            else:
                total = 0
                for x in fv:
                    total += len(x)
            if (max_entries and n + d >= max_entries) or (
                node.fixed_size + node.entries_size + (2 if n <= 127 else _int_size(n))
                + (2 if d <= 127 else _int_size(d)) + total >= max_bytes
            ):
                node = StreamNode(eid, fv[0::2])
                nodes.append(node)
                self.starts.append(eid)
        else:
            node = StreamNode(eid, fv[0::2])
            nodes.append(node)
            self.starts.append(eid)
        fields = node.fields
        if len(fv) == 2 and len(fields) == 1 and fv[0] == fields[0]:
            # the common single-field entry: flags, deltas, value, lp-count
            mid = node.master_id
            dm = (eid >> 64) - (mid >> 64)
            ds = (eid & MAX64) - (mid & MAX64)
            v = fv[1]
            k = len(v)
            if 0 <= dm <= 127 and 0 <= ds <= 127 and k < 64 and (not k or v[0] not in _NUMSTART):
                node.entries_size += k + 10
            else:
                node.entries_size += node.entry_size(eid, fv)
        else:
            node.entries_size += node.entry_size(eid, fv)
        node.ids.append(eid)
        node.values.append(fv)
        node.last_id = eid
        if not self.length:
            self.first_id = eid
        self.length += 1
        self.last_id = eid
        self.entries_added += 1

    def load_node(self, master_id: int, fields: list[bytes], entries: list[tuple[int, list[bytes]]],
                  deleted: int = 0, last_id: int | None = None) -> None:
        """Append a whole node (loaders): entries ascending and above the current entries."""
        node = StreamNode(master_id, fields)
        size = 0
        for eid, raw in entries:
            fv = tuple(raw)
            size += node.entry_size(eid, fv)
            node.ids.append(eid)
            node.values.append(fv)
        node.entries_size = size
        node.deleted = deleted
        node.last_id = last_id if last_id is not None else (entries[-1][0] if entries else master_id)
        self.nodes.append(node)
        self.starts.append(master_id)
        if entries and not self.length:
            self.first_id = entries[0][0]
        self.length += len(entries)

    # -- lookups ---------------------------------------------------------------------------------
    def _locate(self, eid: int) -> tuple[int, int]:
        """(node index, position) of the first live entry >= *eid* (may be past a node's end)."""
        ni = bisect_right(self.starts, eid) - 1
        if ni < 0:
            return 0, 0
        return ni, bisect_left(self.nodes[ni].ids, eid)

    def get(self, eid: int) -> Fields | None:
        """The field/value list of entry *eid*, or None if it does not exist."""
        ni = bisect_right(self.starts, eid) - 1
        if ni < 0:
            return None
        node = self.nodes[ni]
        ids = node.ids
        i = bisect_left(ids, eid)
        if i < len(ids) and ids[i] == eid:
            return node.values[i]
        return None

    def exists(self, eid: int) -> bool:
        return self.get(eid) is not None

    def range(self, start: int, end: int, count: int = 0) -> list[tuple[int, Fields]]:
        """Entries with start <= id <= end, ascending, at most *count* (0: all)."""
        out: list[tuple[int, Fields]] = []
        if start > end or not self.length:
            return out
        nodes = self.nodes
        ni, pos = self._locate(start)
        nn = len(nodes)
        while ni < nn:
            node = nodes[ni]
            ids = node.ids
            vals = node.values
            n = len(ids)
            while pos < n:
                eid = ids[pos]
                if eid > end:
                    return out
                out.append((eid, vals[pos]))
                if count and len(out) >= count:
                    return out
                pos += 1
            ni += 1
            pos = 0
        return out

    def rev_range(self, start: int, end: int, count: int = 0) -> list[tuple[int, Fields]]:
        """Entries with start <= id <= end, descending, at most *count* (0: all)."""
        out: list[tuple[int, Fields]] = []
        if start > end or not self.length:
            return out
        nodes = self.nodes
        ni = bisect_right(self.starts, end) - 1
        if ni < 0:
            return out
        pos = bisect_right(nodes[ni].ids, end) - 1
        while ni >= 0:
            node = nodes[ni]
            ids = node.ids
            vals = node.values
            while pos >= 0:
                eid = ids[pos]
                if eid < start:
                    return out
                out.append((eid, vals[pos]))
                if count and len(out) >= count:
                    return out
                pos -= 1
            ni -= 1
            if ni >= 0:
                pos = len(nodes[ni].ids) - 1
        return out

    def first_entry(self) -> tuple[int, Fields] | None:
        for node in self.nodes:
            if node.ids:
                return node.ids[0], node.values[0]
        return None

    def last_entry(self) -> tuple[int, Fields] | None:
        for node in reversed(self.nodes):
            if node.ids:
                return node.ids[-1], node.values[-1]
        return None

    def entries(self) -> Iterator[tuple[int, Fields]]:
        for node in self.nodes:
            yield from zip(node.ids, node.values, strict=True)

    def _update_first(self) -> None:
        if not self.length:
            self.first_id = 0
            return
        for node in self.nodes:
            if node.ids:
                self.first_id = node.ids[0]
                return

    # -- removing --------------------------------------------------------------------------------
    def delete(self, eid: int) -> bool:
        """XDEL one entry; True if it existed."""
        ni = bisect_right(self.starts, eid) - 1
        if ni < 0:
            return False
        node = self.nodes[ni]
        ids = node.ids
        i = bisect_left(ids, eid)
        if i >= len(ids) or ids[i] != eid:
            return False
        if len(ids) == 1:
            del self.nodes[ni]
            del self.starts[ni]
        else:
            del ids[i]
            del node.values[i]
            node.deleted += 1
        self.length -= 1
        if eid > self.max_deleted_id:
            self.max_deleted_id = eid
        if eid == self.first_id:
            self._update_first()
        return True

    def trim(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> int:
        """Trim by MAXLEN or MINID with Redis's node-granular semantics; returns entries removed.

        Whole nodes are removed from the head while that keeps the condition; with *approx*
        trimming stops at the first node that cannot go entirely, otherwise entries inside that
        node are deleted too.  *limit* (0: none) caps the entries removed (whole nodes only).
        """
        nodes = self.nodes
        removed = 0
        i = 0
        nn = len(nodes)
        while i < nn:
            if maxlen is not None and self.length <= maxlen:
                break
            node = nodes[i]
            live = len(node.ids)
            if limit and removed + live > limit:
                break
            if maxlen is not None:
                whole = self.length - live >= maxlen
            else:
                whole = node.last_id < minid  # type: ignore[operator]
            if whole:
                self.length -= live
                removed += live
                i += 1
                continue
            if approx:
                break
            if maxlen is not None:
                k = self.length - maxlen
            else:
                k = bisect_left(node.ids, minid)  # type: ignore[type-var]
            if k:
                del node.ids[:k]
                del node.values[:k]
                node.deleted += k
                self.length -= k
                removed += k
            break
        if i:
            del nodes[:i]
            del self.starts[:i]
        if removed:
            self._update_first()
        return removed

    # -- consumer group accounting (entries-read / lag, as Redis 7.0) ------------------------------
    def has_tombstones(self, start: int = 0, end: int = MAX_ID) -> bool:
        """Could a deleted entry lie in [start, end]? (``max_deleted_id`` based, like Redis)."""
        mdi = self.max_deleted_id
        if not self.length or not mdi or self.first_id > mdi:
            return False
        return start <= mdi <= end

    def estimate_read_counter(self, eid: int) -> int:
        """The logical entries-read counter of ID *eid*, or -1 when it cannot be known."""
        added = self.entries_added
        if not added:
            return 0
        if not self.length and eid <= self.last_id:
            return added
        if eid == self.last_id:
            return added
        if eid > self.last_id:
            return -1
        mdi = self.max_deleted_id
        first = self.first_id
        if not mdi or mdi < first:
            if eid < first:
                return added - self.length
            if eid == first:
                return added - self.length + 1
        return -1

    def group_lag(self, g: ConsumerGroup) -> int | None:
        """The ``lag`` XINFO reports for group *g* (None when unknown)."""
        if not self.entries_added:
            return 0
        if g.entries_read != -1 and not self.has_tombstones(g.last_id):
            return self.entries_added - g.entries_read
        er = self.estimate_read_counter(g.last_id)
        if er != -1:
            return self.entries_added - er
        return None

    def note_delivered(self, g: ConsumerGroup, eid: int) -> None:
        """Advance group *g* past entry *eid* (delivered with ``>``), keeping entries_read."""
        if eid > g.last_id:
            if g.entries_read != -1 and not self.has_tombstones(eid):
                g.entries_read += 1
            elif self.entries_added:
                g.entries_read = self.estimate_read_counter(eid)
            g.last_id = eid

    # -- copies ----------------------------------------------------------------------------------
    def copy(self) -> StreamValue:
        s = StreamValue()
        s.nodes = [n.copy() for n in self.nodes]
        s.starts = self.starts[:]
        s.length = self.length
        s.last_id = self.last_id
        s.first_id = self.first_id
        s.max_deleted_id = self.max_deleted_id
        s.entries_added = self.entries_added
        for name, g in self.groups.items():
            ng = ConsumerGroup(name, g.last_id, g.entries_read)
            for cname, c in g.consumers.items():
                nc = ng.add_consumer(cname, c.seen_time)
                nc.active_time = c.active_time
            for eid, p in g.pel.items():
                owner = ng.consumers[p.consumer.name] if p.consumer is not None else None
                np_ = PendingEntry(owner, p.delivery_time, p.delivery_count)
                ng.pel[eid] = np_
                if owner is not None:
                    owner.pel[eid] = np_
            s.groups[name] = ng
        return s

    # -- introspection ---------------------------------------------------------------------------
    def radix_tree_nodes(self) -> int:
        """Node count of the radix tree Redis would hold for this stream's node keys."""
        keys = [s.to_bytes(16, "big") for s in self.starts]
        if not keys:
            return 1
        return _rax_nodes(keys, 0, len(keys), 0)


def _rax_nodes(keys: list[bytes], lo: int, hi: int, depth: int) -> int:
    """Nodes of a compressed radix tree for keys[lo:hi] (sorted, same length), rooted at *depth*."""
    total = 0
    klen = len(keys[lo])
    stack = [(lo, hi, depth)]
    while stack:
        lo, hi, depth = stack.pop()
        if hi - lo == 1:
            total += 1 if depth == klen else 2
            continue
        first, last = keys[lo], keys[hi - 1]
        lcp = depth
        while first[lcp] == last[lcp]:
            lcp += 1
        if lcp > depth:
            total += 1  # compressed node leading to the branching point
        total += 1  # the branching node
        i = lo
        while i < hi:
            b = keys[i][lcp]
            j = i + 1
            while j < hi and keys[j][lcp] == b:
                j += 1
            stack.append((i, j, lcp + 1))
            i = j
    return total


Stream = StreamValue
