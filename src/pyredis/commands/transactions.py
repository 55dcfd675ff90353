"""Transactions (multi.c): MULTI, EXEC, DISCARD, WATCH, UNWATCH.

Queueing happens in :meth:`Server.check_state`; errors while queueing set ``c.exec_abort``.
WATCH bookkeeping is :mod:`pyredis.server.watch`.
"""

from __future__ import annotations

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import command
from pyredis.protocol.types import NOREPLY, NULL_ARRAY, OK, Raw
from pyredis.server.client import REPLY_ON
from pyredis.server.propagate import feed
from pyredis.server.watch import WatchEntry, discard, unwatch_all
from pyredis.server.watch import expired as _expired

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


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
            if c.acl_restricted:  # ACL rules may have changed since queueing (server/acl_checks.py)
                err = srv.acl.exec_check(c, cmd, args)
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
                feed((fn,), dbid, a)
            if wrap:
                fn(buf[-1][0], [b"EXEC"])
    c.repl = []  # what ran was propagated above; EXEC itself is not
    return NOREPLY
