"""Databases and the keyspace: key lookup with lazy expiry, TTLs, WATCH invalidation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from pyredis import _speedups
from pyredis.engine import notify


class Database:
    """One numbered database: ``data`` maps keys to values, ``expires`` keys to unix ms deadlines.

    Strings are stored as ``bytes``; other types as the objects of :mod:`pyredis.engine.types`.
    """

    __slots__ = ("id", "data", "expires", "keyspace", "watched", "blocked", "_expire_scan", "avg_ttl", "lru")

    def __init__(self, dbid: int, keyspace: Keyspace) -> None:
        self.id = dbid
        self.data: dict[bytes, Any] = _speedups.key_dict()
        self.expires: dict[bytes, int] = {}
        self.keyspace = keyspace
        self.watched: dict[bytes, list[Any]] = {}  # key -> clients WATCHing it
        self.blocked: dict[bytes, list[Any]] = {}  # key -> clients blocked on it (FIFO)
        self._expire_scan: list[bytes] = []
        self.avg_ttl = 0
        self.lru: dict[bytes, float] = {}  # last access (unix s), kept once OBJECT IDLETIME is used

    # -- lookups -------------------------------------------------------------------------------
    def get(self, key: bytes) -> Any:
        """Return the live value of *key* or ``None``, expiring it lazily (no stats)."""
        v = self.data.get(key)
        if v is not None and self.expires:
            when = self.expires.get(key)
            if when is not None and when <= self.keyspace.clock():
                if self.keyspace.expire_enabled():
                    self.expire_now(key)
                    return None
                ks = self.keyspace
                if ks.expire_paused:  # CLIENT PAUSE: logically expired, not deleted
                    return None
                if ks.is_replica and not ks.applying_master:
                    # A replica keeps expired keys for its master's DEL; its own clients do not see them,
                    # and a write on a writable replica deletes them (expireIfNeeded's force flag).
                    if ks.replica_write and not ks.loading:
                        self.data.pop(key, None)
                        self.expires.pop(key, None)
                    return None
        return v

    def lookup_read(self, key: bytes) -> Any:
        """Like :meth:`get`, counting keyspace hits and misses (``lookupKeyRead``)."""
        v = self.data.get(key)
        if v is not None and self.expires and key in self.expires:
            v = self.get(key)
        ks = self.keyspace
        if v is None:
            ks.misses += 1
            if ks.notify_flags & notify.KEY_MISS:
                ks.notify(notify.KEY_MISS, b"keymiss", key, self.id)
        else:
            ks.hits += 1
            if ks.track_lru:
                self.lru[key] = time.time()
        return v

    def touch(self, key: bytes) -> None:
        """Record an access to *key* (LRU clock), when access times are tracked."""
        if self.keyspace.track_lru:
            self.lru[key] = time.time()

    def idle_time(self, key: bytes) -> int:
        """Seconds since the last access to *key* (OBJECT IDLETIME)."""
        ks = self.keyspace
        if not ks.track_lru:
            ks.track_lru = True
        return int(time.time() - self.lru.get(key, ks.lru_epoch))

    # -- writes ----------------------------------------------------------------------------------
    def set(self, key: bytes, value: Any, keep_ttl: bool = False) -> None:
        """Store *value* (overwriting any type); drops the TTL unless *keep_ttl*."""
        if self.keyspace.notify_flags & notify.NEW and key not in self.data:
            self.keyspace.notify(notify.NEW, b"new", key, self.id)
        self.data[key] = value
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)
        if self.keyspace.track_lru:
            self.lru[key] = time.time()
        if self.blocked and key in self.blocked:
            self.keyspace.key_ready(self, key)

    def set_counter(self, key: bytes, digits: bytes) -> None:
        """Store an existing string key's new integer *digits*, keeping its TTL. With the accelerator an
        unshared value of the same length is rewritten in place, as Redis's INCR reuses an unshared
        integer object (DEBUG OBJECT shows the same address); the result is the same as ``set``."""
        data = self.data
        hp = _speedups.hotpath
        # rewritten in place, the stored object is the new value: storing it again changes nothing
        self.set(key, data[key] if hp is not None and hp.overwrite_value(data, key, digits) else digits,
                 keep_ttl=True)

    def add(self, key: bytes, value: Any) -> None:
        """Store a value for a key known not to exist."""
        if self.keyspace.notify_flags & notify.NEW:
            self.keyspace.notify(notify.NEW, b"new", key, self.id)
        self.data[key] = value
        if self.keyspace.track_lru:  # a new key has just been accessed
            self.lru[key] = time.time()
        if self.blocked and key in self.blocked:
            self.keyspace.key_ready(self, key)

    def delete(self, key: bytes) -> bool:
        """Remove *key* if it exists (live or expired-but-present); True if something was removed."""
        if self.data.pop(key, None) is None:
            return False
        if self.expires:
            self.expires.pop(key, None)
        return True

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def ttl_ms(self, key: bytes) -> int | None:
        """Absolute expiry (unix ms) of *key*, or None when it has none."""
        return self.expires.get(key)

    def expire_now(self, key: bytes) -> None:
        """Delete an expired key and emit its ``expired`` event."""
        self.data.pop(key, None)
        self.expires.pop(key, None)
        ks = self.keyspace
        ks.expired_keys += 1
        self.signal_modified(key)
        ks.on_expired(self, key)

    def signal_modified(self, key: bytes) -> None:
        """Invalidate WATCHes and client-side caches on *key* (``signalModifiedKey``)."""
        watchers = self.watched.get(key)
        if watchers:
            for c in watchers:
                c.dirty_cas = True
        ks = self.keyspace
        if ks.tracking_hook is not None:
            ks.tracking_hook(self, key)
        if self.blocked and key in self.blocked:
            ks.key_ready(self, key)  # e.g. a blocked XREADGROUP learns its stream was deleted

    # -- iteration and bulk ----------------------------------------------------------------------
    def keys(self) -> Iterator[bytes]:
        """Iterate live keys (snapshot; expired keys are skipped, not deleted)."""
        now = self.keyspace.clock()
        exp = self.expires
        for k in list(self.data):
            w = exp.get(k)
            if w is None or w > now:
                yield k

    def __len__(self) -> int:
        return len(self.data)

    def flush(self) -> int:
        n = len(self.data)
        old_data, old_expires = self.data, self.expires
        self.data = type(old_data)()  # a cluster node's db 0 keeps its per-slot index
        self.expires = {}
        self.lru = type(self.lru)()  # keeps an LFU access clock (server/eviction.py)
        self._expire_scan = []
        if self.watched:
            self.keyspace.touch_watched_db(self, old_data, old_expires)
        if self.blocked:
            for key in list(self.blocked):
                if key in old_data:
                    self.keyspace.key_ready(self, key)
        return n

    def active_expire(self, budget: int, now: int) -> int:
        """Check up to *budget* keys having a TTL; delete those expired. Returns deletions."""
        if not self.expires:
            return 0
        scan = self._expire_scan
        if not scan:
            scan = self._expire_scan = list(self.expires)
        removed = 0
        exp = self.expires
        for _ in range(min(budget, len(scan))):
            key = scan.pop()
            w = exp.get(key)
            if w is not None and w <= now:
                self.expire_now(key)
                removed += 1
        return removed


class Keyspace:
    """All databases plus the hooks through which the engine tells the server about events."""

    def __init__(self, ndbs: int = 16) -> None:
        self.dbs = [Database(i, self) for i in range(ndbs)]
        self.hits = 0
        self.misses = 0
        self.expired_keys = 0
        self.notify_flags = 0
        self.frozen_time: int | None = None
        self.loading = False
        self.active_expire_enabled = True
        self.is_replica = False
        self.track_lru = False  # switched on by the first OBJECT IDLETIME
        self.lru_epoch = time.time()
        self.expire_paused = False  # CLIENT PAUSE holds expiry (server/blocking.py)
        # Replica expiry rules (server/replication): the master's stream sees expired keys as present;
        # a write command of a replica's own client deletes the expired keys it touches.
        self.applying_master = False
        self.replica_write = False
        # Hooks installed by the server.
        self.notify: Callable[[int, bytes, bytes, int], None] = lambda flag, event, key, dbid: None
        self.propagate_del: Callable[[Database, bytes], None] = lambda db, key: None
        self.tracking_hook: Callable[[Database, bytes], None] | None = None
        # A key some client is blocked on was created (BLPOP & co., see server/blocking.py).
        self.key_ready: Callable[[Database, bytes], None] = lambda db, key: None
        # Replaces the default WATCH invalidation of touch_watched_db (commands/transactions.py).
        self.watch_db_hook: Callable[[Database, dict, dict], None] | None = None

    def clock(self) -> int:
        """Current time in ms; frozen while a script or transaction runs, like Redis."""
        ft = self.frozen_time
        return ft if ft is not None else int(time.time() * 1000)

    def expire_enabled(self) -> bool:
        return not self.loading and not self.is_replica and not self.expire_paused

    def on_expired(self, db: Database, key: bytes) -> None:
        self.propagate_del(db, key)
        if self.notify_flags & notify.EXPIRED:
            self.notify(notify.EXPIRED, b"expired", key, db.id)

    def swap(self, a: int, b: int) -> None:
        da, db_ = self.dbs[a], self.dbs[b]
        da.data, db_.data = db_.data, da.data
        da.expires, db_.expires = db_.expires, da.expires
        da.lru, db_.lru = db_.lru, da.lru
        da._expire_scan, db_._expire_scan = [], []
        for d, other in ((da, db_), (db_, da)):
            if d.watched:
                self.touch_watched_db(d, other.data, other.expires)
            if d.blocked:
                for key in list(d.blocked):
                    if key in d.data or key in other.data:  # gone: a blocked XREADGROUP gets an error
                        self.key_ready(d, key)

    def touch_watched_db(self, db: Database, old_data: dict, old_expires: dict) -> None:
        """WATCH invalidation after *db*'s contents were replaced wholesale (FLUSHDB, SWAPDB)."""
        if self.watch_db_hook is not None:
            self.watch_db_hook(db, old_data, old_expires)
            return
        for key in list(db.watched):
            if key in old_data or key in db.data:
                for c in db.watched[key]:
                    c.dirty_cas = True

    def flushall(self) -> int:
        return sum(db.flush() for db in self.dbs)
