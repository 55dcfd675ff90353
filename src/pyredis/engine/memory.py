"""Dataset memory estimation (no I/O): per-value sizes in the spirit of redis-server's allocator
numbers, random key sampling, and a cached, adaptive ``used_memory`` estimate.

Python's RSS never shrinks, so INFO ``used_memory`` and ``maxmemory`` work on an estimate:
a fixed startup baseline plus, per database, the key count times an average key size measured
on a random sample of keys. Key counts are read on every call (O(1)), so the estimate follows
additions and deletions at once; the per-database averages are refreshed at most every
``REFRESH_S`` seconds or after ``REFRESH_WRITES`` writes.
"""

from __future__ import annotations

import sys
import time
from itertools import islice
from random import random
from random import sample as random_sample
from typing import Any

# An empty redis-server 7.0 reports about 860-900 KB of used_memory.
BASELINE = 880_000
KEY_OVERHEAD = 56  # dict entry + key object + expire bookkeeping, roughly
ELEMENT_SAMPLE = 8  # collection elements measured to estimate a collection's element size
KEY_SAMPLE = 48  # keys measured per database and refresh in a big database; at most this many: on each write
MEASURE_ALL = 2048  # a database of up to this many keys is measured whole at each refresh (a sample of 48
                    # keys of varied sizes moves the estimate by several KB between refreshes)
REFRESH_S = 0.1
REFRESH_WRITES = 256
SNAPSHOT_LIMIT = 4096  # keys the estimate samples from (a random subset, renewed as the db changes)


def _avg_len(items: Any, n: int, pair: bool = False) -> float:
    """Average byte length of the first few elements of *items* (pairs: key + value)."""
    total = 0
    k = 0
    if pair:
        for a, b in islice(items, ELEMENT_SAMPLE):
            total += len(a) + len(b)
            k += 1
    else:
        for a in islice(items, ELEMENT_SAMPLE):
            total += len(a) if isinstance(a, (bytes, bytearray)) else 8
            k += 1
    return total / k if k else 0.0


def value_size(v: Any) -> int:
    """Approximate bytes a value takes in redis-server (MEMORY USAGE-like, without the key)."""
    if type(v) is bytes:
        n = len(v)
        return 16 if n <= 44 else n + 24
    name = getattr(v, "TYPE_NAME", None)
    module_usage = getattr(v, "memory_usage", None)  # a module type (pyredis.modules)
    if module_usage is not None:
        return 64 + module_usage()
    try:
        n = len(v)
    except TypeError:
        return sys.getsizeof(v)
    big = getattr(v, "big", False)
    if name == b"hash":
        return 64 + int(n * (_avg_len(iter(v.items()), n, True) + (48 if big else 4)))
    if name == b"set":
        return 64 + int(n * (_avg_len(iter(v), n) + 48))
    if name == b"zset":
        return 64 + int(n * (_avg_len(iter(v.d), n) + (96 if big else 12)))
    if name == b"list":
        return 64 + int(n * (_avg_len(iter(v), n) + 3))
    if name == b"stream":
        nodes = v.nodes
        if not nodes:
            return 128 + 256 * len(v.groups)
        sample = nodes[:8]
        per_node = sum(node.lp_bytes() for node in sample) / len(sample)
        pel = sum(len(g.pel) for g in (v.groups.values() if isinstance(v.groups, dict) else v.groups))
        return 128 + int(per_node * len(nodes)) + 256 * len(v.groups) + 64 * pel
    return sys.getsizeof(v)


def key_size(key: bytes, v: Any) -> int:
    """Approximate bytes one key with its value takes."""
    return KEY_OVERHEAD + len(key) + value_size(v)


def _pick(d: dict, positions: list[int]) -> list[bytes]:
    """The keys of *d* at the ascending *positions*, in one pass and without a list of all keys
    (a transient 8-bytes-per-key list would stay in the process's heap high-water mark)."""
    it = iter(d)
    out = []
    prev = 0
    for p in positions:
        out.append(next(islice(it, p - prev, None)))
        prev = p + 1
    return out


class KeySampler:
    """Random keys of a dict in amortized O(1): picks from a snapshot of its keys, rebuilt when
    the dict was replaced, grew or shrank a lot, or too many picks missed (deleted keys)."""

    __slots__ = ("src", "snap", "misses", "limit", "size_at")

    def __init__(self, limit: int = 0) -> None:
        self.src: dict | None = None
        self.snap: list[bytes] = []
        self.misses = 0
        #: 0: the snapshot holds every key (eviction's uniform picks); else at most this many
        #: keys, a uniform random subset (the memory estimate: no 8 bytes per key kept around)
        self.limit = limit
        self.size_at = 0  # len(d) when the snapshot was taken

    def sample(self, d: dict, k: int) -> list[bytes]:
        """Up to *k* random keys present in *d* (with possible repeats)."""
        n = len(d)
        if not n:
            self.src = None
            self.snap = []
            return []
        snap = self.snap
        m = len(snap)
        at = self.size_at
        if self.src is not d or at * 4 < n * 3 or at > 2 * n + 16 or self.misses > m // 2 + 8:
            self.src = d
            if self.limit and n > self.limit:
                snap = _pick(d, sorted(random_sample(range(n), self.limit)))
            else:
                snap = list(d)
            self.snap = snap
            self.size_at = n
            self.misses = 0
            m = len(snap)
        out = []
        for _ in range(k):
            key = snap[int(random() * m)]
            if key in d:
                out.append(key)
            else:
                self.misses += 1
        return out


class MemoryEstimator:
    """The cached ``used_memory`` estimate of a keyspace."""

    def __init__(self, keyspace: Any) -> None:
        self.keyspace = keyspace
        n = len(keyspace.dbs)
        self.avg = [0.0] * n
        self.samplers = [KeySampler(SNAPSHOT_LIMIT) for _ in range(n)]
        self.active: list[Any] = []  # databases holding keys at the last refresh (or measured since)
        self.next_refresh = 0.0
        self.mark = -1  # server.dirty at the last refresh
        self.exact = True  # every database small enough to be measured whole: refresh on each write

    def used(self, dirty: int = 0, db: Any = None) -> int:
        """Estimated bytes used: baseline + per-db key count x average key size.

        With *db* (the running client's database) only that one and the databases known to hold
        keys are counted (per-command check); without it every database is (INFO).
        """
        now = time.monotonic()
        if (now >= self.next_refresh or dirty - self.mark >= REFRESH_WRITES or dirty < self.mark
                or (self.exact and dirty != self.mark)):
            self.refresh(dirty, now)
        total: float = BASELINE
        avg = self.avg
        if db is None:
            for d in self.keyspace.dbs:
                n = len(d.data)
                if n:
                    total += n * (avg[d.id] or self.measure(d.id))
            return int(total)
        active = self.active
        for d in active:
            total += len(d.data) * avg[d.id]
        if db not in active and db.data:
            total += len(db.data) * self.measure(db.id)
        return int(total)

    def invalidate(self) -> None:
        self.next_refresh = 0.0

    def refresh(self, dirty: int, now: float) -> None:
        self.mark = dirty
        self.next_refresh = now + REFRESH_S
        self.active = []
        exact = True
        for i, db in enumerate(self.keyspace.dbs):
            if db.data:
                self.measure(i)
                exact = exact and len(db.data) <= KEY_SAMPLE
            else:
                self.avg[i] = 0.0
        self.exact = exact

    def measure(self, i: int) -> float:
        """Measure the average key size of database *i* (exactly when it is small)."""
        db = self.keyspace.dbs[i]
        data = db.data
        if len(data) <= MEASURE_ALL:
            keys: Any = list(data)
        else:
            keys = self.samplers[i].sample(data, KEY_SAMPLE)
        total = 0
        k = 0
        for key in keys:
            v = data.get(key)
            if v is not None:
                total += key_size(key, v)
                k += 1
        a = total / k if k else float(KEY_OVERHEAD + 16)
        self.avg[i] = a
        if db not in self.active:
            self.active.append(db)
        return a
