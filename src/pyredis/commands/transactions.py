"""Transactions (multi.c): MULTI, EXEC, DISCARD, WATCH, UNWATCH.

Queueing happens in :meth:`Server.check_state`; errors while queueing set ``c.exec_abort``.

WATCH keeps one :class:`WatchEntry` per (client, db, key) in ``db.watched[key]`` and in
``c.watched``. The engine marks watchers dirty by assigning ``entry.dirty_cas = True``
(``Database.signal_modified``); the entry decides whether that is a logical change, following
Redis 7.0 for keys that were already expired (stale) when WATCHed: deleting such a key does not
break the transaction, neither does FLUSHDB/SWAPDB replacing a stale key with nothing or with
another stale key, while a watched key expiring between WATCH and EXEC does.
"""

from __future__ import annotations

from typing import Any

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import command
from pyredis.protocol.types import NOREPLY, NULL_ARRAY, OK, Raw
from pyredis.server.client import REPLY_ON

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


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


def _expired(db, key: bytes) -> bool:
    when = db.expires.get(key)
    return when is not None and when <= db.keyspace.clock()


def _watch_db_hook(db, old_data: dict, old_expires: dict) -> None:
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
                if _expired(db, key):
                    continue  # stale key replaced by another stale key
            elif not existed and _expired(db, key):
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
    c.multi = None
    c.exec_abort = False
    unwatch_all(c)


def setup(server) -> None:
    server.keyspace.watch_db_hook = _watch_db_hook
    ext = server.extensions
    ext["discard_transaction"] = discard
    ext.setdefault("on_disconnect", []).append(discard)
    ext.setdefault("on_reset", []).append(discard)


@command("multi", 1, "noscript loading stale fast allow_busy")
def cmd_multi(c, argv):
    if c.multi is not None:
        raise CommandError("ERR MULTI calls can not be nested")
    c.multi = []
    c.exec_abort = False
    return OK


@command("discard", 1, "noscript loading stale fast allow_busy")
def cmd_discard(c, argv):
    if c.multi is None:
        raise CommandError("ERR DISCARD without MULTI")
    discard(c)
    return OK


@command("watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1)
def cmd_watch(c, argv):
    if c.multi is not None:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    db = c.db
    for key in argv[1:]:
        if any(e.db is db and e.key == key for e in c.watched):
            continue
        e = WatchEntry(c, db, key, key in db.data and _expired(db, key))
        db.watched.setdefault(key, []).append(e)
        c.watched.append(e)
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy")
def cmd_unwatch(c, argv):
    unwatch_all(c)
    return OK


@command("exec", 1, "noscript loading stale skip_slowlog")
def cmd_exec(c, argv):
    queue = c.multi
    if queue is None:
        raise CommandError("ERR EXEC without MULTI")
    if c.exec_abort:
        discard(c)
        raise CommandError(EXECABORT)
    for e in c.watched:
        if not e.expired and e.key in e.db.data and _expired(e.db, e.key):
            c.dirty_cas = True  # expired since WATCH (not yet deleted)
            break
    if c.dirty_cas:
        discard(c)
        return NULL_ARRAY
    c.multi = None
    unwatch_all(c)
    srv = c.server
    if c.reply_mode == REPLY_ON:
        c.out.append(Raw(b"*%d\r\n" % len(queue)))
    saved = srv.propagators
    buf: list[tuple[int, list[bytes]]] = []
    if saved:
        srv.propagators = [lambda dbid, a: buf.append((dbid, a))]
    c.in_exec = True
    call = srv.call
    try:
        for cmd, args in queue:
            if c.acl_restricted:  # ACL rules may have changed since queueing (commands/acl.py)
                err = srv.extensions["acl_exec_check"](c, cmd, args)
                if err is not None:
                    c.write_error(err)
                    continue
            call(c, cmd, args)
    finally:
        c.in_exec = False
        if saved:
            srv.propagators = saved
    if buf:
        wrap = len(buf) > 1
        for fn in saved:
            if wrap:
                fn(buf[0][0], [b"MULTI"])
            for dbid, a in buf:
                fn(dbid, a)
            if wrap:
                fn(buf[-1][0], [b"EXEC"])
    c.repl = []  # what ran was propagated above; EXEC itself is not
    return NOREPLY
