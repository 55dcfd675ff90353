"""WATCH bookkeeping and transaction state of clients (multi.c's watch part).

WATCH keeps one :class:`WatchEntry` per (client, db, key) in ``db.watched[key]`` and in
``c.watched``. The engine marks watchers dirty by assigning ``entry.dirty_cas = True``
(``Database.signal_modified``); the entry decides whether that is a logical change, following
Redis 7.0 for keys that were already expired (stale) when WATCHed: deleting such a key does not
break the transaction, neither does FLUSHDB/SWAPDB replacing a stale key with nothing or with
another stale key, while a watched key expiring between WATCH and EXEC does.
:func:`discard` is the listener of ``events.client_disconnected`` and ``events.client_reset``.
"""

from __future__ import annotations

from typing import Any


class WatchEntry:
    """One WATCHed key of one client."""

    __slots__ = ("client", "db", "key", "expired")

    def __init__(self, client: Any, db: Any, key: bytes, expired: bool) -> None:
        self.client = client
        self.db = db
        self.key = key
        self.expired = expired  # the key was stale (logically expired) when WATCHed

    @property
    def dirty_cas(self) -> bool:
        return self.client.dirty_cas

    @dirty_cas.setter
    def dirty_cas(self, value: bool) -> None:
        # Called by Database.signal_modified after the key was modified.
        if self.expired and self.key not in self.db.data:
            # A stale key got deleted: logically nothing changed.
            self.expired = False
            return
        self.client.dirty_cas = True


def expired(db, key: bytes) -> bool:
    when = db.expires.get(key)
    return when is not None and when <= db.keyspace.clock()


def watch_db_hook(db, old_data: dict, old_expires: dict) -> None:
    """FLUSHDB/FLUSHALL/SWAPDB replaced the whole content of *db*."""
    for key, entries in list(db.watched.items()):
        existed = key in old_data
        exists = key in db.data
        if not existed and not exists:
            continue
        for e in entries:
            if e.expired:
                if not exists:
                    e.expired = False
                    continue
                if expired(db, key):
                    continue  # stale key replaced by another stale key
            elif not existed and expired(db, key):
                e.expired = True  # missing key replaced by a stale one
                continue
            e.client.dirty_cas = True


def unwatch_all(c) -> None:
    """Forget every key *c* WATCHes and clear its dirty flag."""
    for e in c.watched:
        lst = e.db.watched.get(e.key)
        if lst is not None:
            try:
                lst.remove(e)
            except ValueError:
                pass
            if not lst:
                del e.db.watched[e.key]
    c.watched = []
    c.dirty_cas = False


def discard(c) -> None:
    """Drop the MULTI queue and every WATCH of *c*."""
    c.multi = None
    c.exec_abort = False
    unwatch_all(c)
