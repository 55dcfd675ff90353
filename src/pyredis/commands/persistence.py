"""Persistence commands: SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF, DUMP, RESTORE, DEBUG RELOAD/LOADAOF."""

from __future__ import annotations

import logging

from pyredis.commands.args import get_int
from pyredis.commands.debug import debug_subcommand
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command
from pyredis.engine import notify
from pyredis.persistence.manager import Persistence
from pyredis.persistence.unverified import LoadPanic, Unverified, UnverifiedValue
from pyredis.protocol.types import OK, Status
from pyredis.server import crash

# DUMP / RESTORE import pyredis.persistence.rdb where they use it: the RDB codec (~0.6 MB of RSS) loads
# at the first of them, a SAVE, a BGSAVE or a load.

BUSYKEY = "BUSYKEY Target key name already exists."
log = logging.getLogger("pyredis")


def _mgr(c) -> Persistence:
    return c.server.persistence


@command("save", 1, "admin noscript no_async_loading no_multi")
def cmd_save(c, argv):
    p = _mgr(c)
    p.poll_child()
    if p.child is not None and p.child.kind == "rdb":
        raise CommandError("ERR Background save already in progress")
    if p.save():
        return OK
    raise CommandError("ERR")


@command("bgsave", -1, "admin noscript no_async_loading")
def cmd_bgsave(c, argv):
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            raise syntax_error()
    p = _mgr(c)
    p.poll_child()
    if p.child is not None and p.child.kind == "rdb":
        raise CommandError("ERR Background save already in progress")
    if p.child is not None or c.in_exec:
        if schedule or c.in_exec:
            p.bgsave_scheduled = True
            return Status(b"Background saving scheduled")
        raise CommandError("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE "
                           "SCHEDULE in order to schedule a BGSAVE whenever possible.")
    if p.bgsave():
        return Status(b"Background saving started")
    raise CommandError("ERR")


@command("lastsave", 1, "loading stale fast")
def cmd_lastsave(c, argv):
    return c.server.lastsave


@command("bgrewriteaof", 1, "admin noscript no_async_loading")
def cmd_bgrewriteaof(c, argv):
    p = _mgr(c)
    p.poll_child()
    a = p.aof
    if p.child is not None and p.child.kind == "aof":
        raise CommandError("ERR Background append only file rewriting already in progress")
    if p.child is not None or c.in_exec:
        a.rewrite_scheduled = True
        a.rewrite_failures = 0
        return Status(b"Background append only file rewriting scheduled")
    if p.start_rewrite():
        return Status(b"Background append only file rewriting started")
    raise CommandError("ERR Can't execute an AOF background rewriting. Please check the server logs for more "
                       "information.")


# -- DUMP / RESTORE ------------------------------------------------------------------------------------
@command("dump", 2, "readonly", 1, 1, 1)
def cmd_dump(c, argv):
    from pyredis.persistence.rdb import dump_payload

    v = c.db.lookup_read(argv[1])
    if v is None:
        return None
    return dump_payload(v, c.server.config)


@command("restore", -4, "write denyoom", 1, 1, 1)
def cmd_restore(c, argv):
    from pyredis.persistence.rdb import load_payload, verify_payload

    key = argv[1]
    replace = absttl = False
    idle = -1
    freq = -1
    j = 4
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        extra = n - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and extra >= 1 and freq == -1:
            idle = get_int(argv[j + 1])
            if idle < 0:
                raise CommandError("ERR Invalid IDLETIME value, must be >= 0")
            j += 1
        elif opt == b"freq" and extra >= 1 and idle == -1:
            freq = get_int(argv[j + 1])
            if freq < 0 or freq > 255:
                raise CommandError("ERR Invalid FREQ value, must be >= 0 and <= 255")
            j += 1
        else:
            raise syntax_error()
        j += 1
    db = c.db
    if not replace and db.get(key) is not None:
        raise CommandError(BUSYKEY)
    ttl = get_int(argv[2])
    if ttl < 0:
        raise CommandError("ERR Invalid TTL value, must be >= 0")
    payload = argv[3]
    if not verify_payload(payload, _mgr(c).skip_checksum):
        raise CommandError("ERR DUMP payload version or checksum are wrong")
    try:
        value = load_payload(payload, c.server.config, _deep_sanitize(c))
    except Unverified as e:  # accepted as Redis accepts it: kept verbatim, fatal when read
        log.debug("RESTORE without deep sanitization: %s", e)
        value = UnverifiedValue(payload, str(e), e.no_max_id)
    except LoadPanic as e:  # Redis meets this corruption converting the blob: it panics
        if e.hexdump:
            log.warning("%s: (hexdump of %d bytes)\n%s", e.hexdump, len(payload), payload[:-10].hex())
        if e.assertion:
            crash.assertion_failed(c.server, [], e.message, e.where)
        crash.panic(c.server, e.message, e.where)
    except Exception as e:  # noqa: BLE001 - a corrupt payload must never hurt the server
        log.log(15, "Internal error in RDB reading offset 0, function at rdb.c:0 -> %s", e)
        raise CommandError("ERR Bad data format") from None
    deleted = db.delete(key) if replace else False
    ks = c.server.keyspace
    if ttl and not absttl:
        ttl += ks.clock()
    if ttl and ttl <= ks.clock() and ks.expire_enabled():
        if deleted:
            c.repl = [[b"DEL", key]]
            c.changed(key, notify.GENERIC, b"del")
        return OK
    db.add(key, value)
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:
            c.repl = [[argv[0], key, b"%d" % ttl, *argv[3:], b"ABSTTL"]]
    _set_lru(c, key, idle, freq)
    c.changed(key, notify.GENERIC, b"restore")
    return OK


def _deep_sanitize(c) -> bool:
    """Whether RESTORE validates the whole payload (``sanitize-dump-payload``, rdb.c's rule)."""
    mode = c.server.config["sanitize-dump-payload"]
    if mode != "clients":
        return mode == "yes"
    if "M" in getattr(c, "flags_extra", ""):  # the master link
        return False
    user = c.server.acl.store.users.get(c.user)
    return not (user is not None and user.sanitize == "skip-sanitize-payload")


def _set_lru(c, key: bytes, idle: int, freq: int) -> None:
    if idle >= 0 or freq >= 0:
        from pyredis.persistence.rdb import set_idle_freq

        set_idle_freq(c.server, c.db, key, idle, freq)


# -- DEBUG RELOAD / LOADAOF ---------------------------------------------------------------------------
@debug_subcommand("reload")
def _debug_reload(c, argv):
    save = flush = True
    merge = False
    for opt in argv[2:]:
        o = opt.lower()
        if o == b"merge":
            merge = True
        elif o == b"noflush":
            flush = False
        elif o == b"nosave":
            save = False
        else:
            raise CommandError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    err = _mgr(c).reload_rdb(save=save, flush=flush, merge=merge)
    if err:
        raise CommandError(err)
    return OK


@debug_subcommand("aof-flush-sleep")
def _debug_aof_flush_sleep(c, argv):
    if len(argv) != 3:
        raise CommandError("ERR unknown subcommand or wrong number of arguments for 'aof-flush-sleep'. "
                           "Try DEBUG HELP.")
    _mgr(c).aof.flush_sleep = max(get_int(argv[2]), 0)
    return OK


@debug_subcommand("set-skip-checksum-validation")
def _debug_skip_checksum(c, argv):
    if len(argv) != 3:
        raise CommandError("ERR unknown subcommand or wrong number of arguments for "
                           "'set-skip-checksum-validation'. Try DEBUG HELP.")
    _mgr(c).skip_checksum = bool(get_int(argv[2]))
    return OK


@debug_subcommand("loadaof")
def _debug_loadaof(c, argv):
    _mgr(c).debug_loadaof()
    return OK
