"""Generic keyspace commands (db.c, expire.c): DEL, EXISTS, RENAME, SCAN, EXPIRE, OBJECT, ..."""

from __future__ import annotations

import random

from pyredis.commands.args import get_int, type_name
from pyredis.commands.errors import INVALID_DB, NO_SUCH_KEY, CommandError, syntax_error
from pyredis.commands.registry import command, help_lines, subcommand
from pyredis.engine import notify
from pyredis.engine.glob import compile_glob
from pyredis.engine.types import copy_value, encoding_of, object_refcount
from pyredis.protocol.numbers import LLONG_MAX, LLONG_MIN, parse_ll
from pyredis.protocol.types import OK, Status

GENERIC = notify.GENERIC


LAZYFREE_THRESHOLD = 64


def free_effort(v) -> int:
    """How much work freeing *v* is, like Redis's lazyfreeGetFreeEffort (1 for compact encodings)."""
    if type(v) is bytes:
        return 1
    fn = getattr(v, "free_effort", None)
    if fn is not None:
        return fn()
    try:
        return len(v)
    except TypeError:
        return 1


def count_lazyfree(server, n: int) -> None:
    server.stats.lazyfreed_objects += n


def delete_keys(c, keys: list[bytes], lazy: bool = False) -> int:
    db = c.db
    n = 0
    for k in keys:
        v = db.get(k)
        if v is not None:
            db.delete(k)
            if lazy and free_effort(v) > LAZYFREE_THRESHOLD:
                count_lazyfree(c.server, 1)  # Redis would free it in a background thread
            c.changed(k, GENERIC, b"del")
            n += 1
    return n


@command("del", -2, "write", 1, -1, 1)
def cmd_del(c, argv):
    return delete_keys(c, argv[1:], c.server.config.values["lazyfree-lazy-user-del"])


@command("unlink", -2, "write fast", 1, -1, 1)
def cmd_unlink(c, argv):
    return delete_keys(c, argv[1:], True)


@command("exists", -2, "readonly fast", 1, -1, 1)
def cmd_exists(c, argv):
    get = c.db.get
    return sum(1 for k in argv[1:] if get(k) is not None)


@command("touch", -2, "readonly fast", 1, -1, 1)
def cmd_touch(c, argv):
    db = c.db
    n = 0
    for k in argv[1:]:
        if db.get(k) is not None:
            db.touch(k)
            n += 1
    return n


@command("type", 2, "readonly fast", 1, 1, 1)
def cmd_type(c, argv):
    v = c.db.get(argv[1])
    return Status(b"none" if v is None else type_name(v))


def _rename(c, argv, nx: bool):
    src, dst = argv[1], argv[2]
    db = c.db
    v = db.get(src)
    if v is None:
        raise CommandError(NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    if db.get(dst) is not None:
        if nx:
            return 0
        db.delete(dst)
    when = db.ttl_ms(src)
    db.delete(src)
    db.set(dst, v)
    if when is not None:
        db.set_expire(dst, when)
    c.changed(src, GENERIC, b"rename_from")
    c.changed(dst, GENERIC, b"rename_to")
    c.server.dirty -= 1
    return 1 if nx else OK


@command("rename", 3, "write", 1, 2, 1)
def cmd_rename(c, argv):
    return _rename(c, argv, False)


@command("renamenx", 3, "write fast", 1, 2, 1)
def cmd_renamenx(c, argv):
    return _rename(c, argv, True)


def _db_index(c, b: bytes, err: str = "ERR value is not an integer or out of range"):
    v = parse_ll(b)
    if v is None or v > 2147483647 or v < -2147483648:
        raise CommandError(err)
    return v


def _target_db(c, idx: int):
    dbs = c.server.keyspace.dbs
    if idx < 0 or idx >= len(dbs):
        raise CommandError(INVALID_DB)
    return dbs[idx]


@command("copy", -3, "write denyoom", 1, 2, 1)
def cmd_copy(c, argv):
    src, dst = argv[1], argv[2]
    dstdb = c.db
    replace = False
    i = 3
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and i + 1 < len(argv):
            dstdb = _target_db(c, _db_index(c, argv[i + 1]))
            i += 1
        else:
            raise syntax_error()
        i += 1
    if c.server.cluster is not None and (c.db.id != 0 or dstdb.id != 0):
        raise CommandError("ERR Copying to another database is not allowed in cluster mode")
    if src == dst and dstdb is c.db:
        raise CommandError("ERR source and destination objects are the same")
    v = c.db.get(src)
    if v is None:
        return 0
    if dstdb.get(dst) is not None:
        if not replace:
            return 0
        dstdb.delete(dst)
    dstdb.set(dst, copy_value(v))
    when = c.db.ttl_ms(src)
    if when is not None:
        dstdb.set_expire(dst, when)
    c.changed(dst, GENERIC, b"copy_to", db=dstdb)
    return 1


@command("move", 3, "write fast", 1, 1, 1)
def cmd_move(c, argv):
    if c.server.cluster is not None:
        raise CommandError("ERR MOVE is not allowed in cluster mode")
    key = argv[1]
    src = c.db
    dst = _target_db(c, _db_index(c, argv[2]))
    if dst is src:
        raise CommandError("ERR source and destination objects are the same")
    v = src.get(key)
    if v is None or dst.get(key) is not None:
        return 0
    when = src.ttl_ms(key)
    src.delete(key)
    dst.set(key, v)
    if when is not None:
        dst.set_expire(key, when)
    c.changed(key, GENERIC, b"move_from")
    c.changed(key, GENERIC, b"move_to", db=dst)
    c.server.dirty -= 1
    return 1


@command("swapdb", 3, "write fast")
def cmd_swapdb(c, argv):
    if c.server.cluster is not None:
        raise CommandError("ERR SWAPDB is not allowed in cluster mode")
    a = _db_index(c, argv[1], "ERR invalid first DB index")
    b = _db_index(c, argv[2], "ERR invalid second DB index")
    n = len(c.server.keyspace.dbs)
    if not (0 <= a < n and 0 <= b < n):
        raise CommandError(INVALID_DB)
    if a != b:
        c.server.keyspace.swap(a, b)
        c.server.dirty += 1
        for hook in c.server.events.dbs_swapped:
            hook(a, b)
    return OK


@command("randomkey", 1, "readonly")
def cmd_randomkey(c, argv):
    db = c.db
    for _ in range(100):
        if not db.data:
            return None
        k = random.choice(list(db.data)) if len(db.data) < 1000 and type(db.data) is dict else _random_key(db.data)
        if db.get(k) is not None:
            return k
    live = list(db.keys())
    return random.choice(live) if live else None


def _random_key(d: dict) -> bytes:
    if not isinstance(d, dict):  # the accelerator's KeyTable picks one in O(1)
        return d.random_key()
    r = random.randrange(len(d))
    for i, k in enumerate(d):
        if i == r:
            return k
    raise KeyError


@command("keys", 2, "readonly")
def cmd_keys(c, argv):
    pat = argv[1]
    db = c.db
    if pat == b"*":
        return list(db.keys())
    match = compile_glob(pat)
    return [k for k in db.keys() if match(k)]


def parse_cursor(b: bytes) -> int:
    """Parse a SCAN cursor like ``strtoul``: sign allowed (wraps), no spaces, 64-bit."""
    digits = b[1:] if b[:1] in (b"+", b"-") else b
    if not digits.isdigit() or int(digits) > 18446744073709551615:
        raise CommandError("ERR invalid cursor")
    v = int(digits)
    return (-v) % (1 << 64) if b[:1] == b"-" else v


def parse_scan_options(argv: list[bytes], start: int, allow_type: bool = False, allow_novalues: bool = False):
    """Parse ``MATCH pat COUNT n [TYPE t] [NOVALUES]``; returns (match, count, type, novalues)."""
    pat = None
    count = 10
    typ = None
    novalues = False
    i = start
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"count" and i + 1 < n:
            count = get_int(argv[i + 1])
            if count < 1:
                raise syntax_error()
            i += 2
        elif opt == b"match" and i + 1 < n:
            pat = argv[i + 1]
            i += 2
        elif opt == b"type" and allow_type and i + 1 < n:
            typ = argv[i + 1].lower()
            i += 2
        elif opt == b"novalues" and allow_novalues:
            novalues = True
            i += 1
        else:
            raise syntax_error()
    return pat, count, typ, novalues


def scan_page(c, owner, cursor: int, count: int, elements, alive) -> tuple[int, list[bytes]]:
    """One page of a SCAN-family iteration over *owner* (see :mod:`pyredis.engine.scan`)."""
    return c.server.scan_cache.page(owner, cursor, count, elements, alive)


@command("scan", -2, "readonly")
def cmd_scan(c, argv):
    cursor = parse_cursor(argv[1])
    pat, count, typ, _ = parse_scan_options(argv, 2, allow_type=True)
    db = c.db
    nxt, keys = scan_page(c, db, cursor, count, lambda: list(db.data), lambda k: k in db.data)
    out = []
    match = compile_glob(pat) if pat is not None and pat != b"*" else None
    for k in keys:
        if match is not None and not match(k):
            continue
        v = db.get(k)
        if v is None:
            continue
        if typ is not None and type_name(v) != typ:
            continue
        out.append(k)
    return [b"%d" % nxt, out]


# -- expiry ----------------------------------------------------------------------------------------
def _expire_flags(argv: list[bytes], start: int) -> set[bytes]:
    flags: set[bytes] = set()
    for a in argv[start:]:
        o = a.lower()
        if o not in (b"nx", b"xx", b"gt", b"lt"):
            raise CommandError("ERR Unsupported option " + a.decode("utf-8", "surrogateescape"))
        flags.add(o)
    if b"nx" in flags and len(flags) > 1:
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if b"gt" in flags and b"lt" in flags:
        raise CommandError("ERR GT and LT options at the same time are not compatible")
    return flags


def expire_generic(c, argv, unit_ms: bool, absolute: bool):
    key = argv[1]
    flag = _expire_flags(argv, 3)
    when = get_int(argv[2])
    name = c.cmd.fullname if c.cmd else "expire"
    if not unit_ms:
        if when > LLONG_MAX // 1000 or when < -(-LLONG_MIN // 1000):  # C division truncates
            raise CommandError(f"ERR invalid expire time in '{name}' command")
        when *= 1000
    base = 0 if absolute else c.server.keyspace.clock()
    if when > LLONG_MAX - base:
        raise CommandError(f"ERR invalid expire time in '{name}' command")
    when += base
    db = c.db
    if db.get(key) is None:
        return 0
    if flag:
        cur = db.ttl_ms(key)
        if b"nx" in flag and cur is not None:
            return 0
        if b"xx" in flag and cur is None:
            return 0
        if b"gt" in flag and (cur is None or when <= cur):
            return 0
        if b"lt" in flag and cur is not None and when >= cur:
            return 0
    ks = c.server.keyspace
    if when <= ks.clock() and ks.expire_enabled():
        db.delete(key)
        lazy = c.server.config.values["lazyfree-lazy-expire"]
        c.repl = [[b"UNLINK" if lazy else b"DEL", key]]
        c.changed(key, GENERIC, b"del")
        return 1
    db.set_expire(key, when)
    c.repl = [[b"PEXPIREAT", key, b"%d" % when]]
    c.changed(key, GENERIC, b"expire")
    return 1


@command("expire", -3, "write fast", 1, 1, 1)
def cmd_expire(c, argv):
    return expire_generic(c, argv, False, False)


@command("pexpire", -3, "write fast", 1, 1, 1)
def cmd_pexpire(c, argv):
    return expire_generic(c, argv, True, False)


@command("expireat", -3, "write fast", 1, 1, 1)
def cmd_expireat(c, argv):
    return expire_generic(c, argv, False, True)


@command("pexpireat", -3, "write fast", 1, 1, 1)
def cmd_pexpireat(c, argv):
    return expire_generic(c, argv, True, True)


def _ttl(c, key: bytes, ms: bool, absolute: bool) -> int:
    db = c.db
    if db.lookup_read(key) is None:
        return -2
    when = db.ttl_ms(key)
    if when is None:
        return -1
    if absolute:
        return when if ms else (when + 500) // 1000
    left = max(when - c.server.keyspace.clock(), 0)
    return left if ms else (left + 500) // 1000


@command("ttl", 2, "readonly fast", 1, 1, 1)
def cmd_ttl(c, argv):
    return _ttl(c, argv[1], False, False)


@command("pttl", 2, "readonly fast", 1, 1, 1)
def cmd_pttl(c, argv):
    return _ttl(c, argv[1], True, False)


@command("expiretime", 2, "readonly fast", 1, 1, 1)
def cmd_expiretime(c, argv):
    return _ttl(c, argv[1], False, True)


@command("pexpiretime", 2, "readonly fast", 1, 1, 1)
def cmd_pexpiretime(c, argv):
    return _ttl(c, argv[1], True, True)


@command("persist", 2, "write fast", 1, 1, 1)
def cmd_persist(c, argv):
    key = argv[1]
    if c.db.get(key) is None:
        return 0
    if c.db.persist(key):
        c.changed(key, GENERIC, b"persist")
        return 1
    return 0


# -- OBJECT ----------------------------------------------------------------------------------------
@subcommand("object", "encoding", 3, "readonly", 2, 2, 1)
def cmd_object_encoding(c, argv):
    v = c.db.get(argv[2])
    if v is None:
        return None
    return encoding_of(v, c.server.config)


@subcommand("object", "refcount", 3, "readonly", 2, 2, 1)
def cmd_object_refcount(c, argv):
    v = c.db.get(argv[2])
    if v is None:
        return None
    return object_refcount(v, c.server.config)


def _lfu_policy(c) -> bool:
    return "lfu" in c.server.config.values["maxmemory-policy"]


@subcommand("object", "idletime", 3, "readonly", 2, 2, 1)
def cmd_object_idletime(c, argv):
    v = c.db.get(argv[2])
    if v is None:
        return None
    if _lfu_policy(c):
        raise CommandError("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
                           "switching between policies at runtime LRU and LFU data will take some time to adjust.")
    return c.db.idle_time(argv[2])


@subcommand("object", "freq", 3, "readonly", 2, 2, 1)
def cmd_object_freq(c, argv):
    v = c.db.get(argv[2])
    if v is None:
        return None
    if not _lfu_policy(c):
        raise CommandError("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
                           "that when switching between policies at runtime LRU and LFU data will take some time "
                           "to adjust.")
    return c.server.eviction.lfu_freq(c.db, argv[2])


@subcommand("object", "help", 2, "loading stale")
def cmd_object_help(c, argv):
    return help_lines("object")


# -- db-wide -----------------------------------------------------------------------------------------
@command("dbsize", 1, "readonly fast")
def cmd_dbsize(c, argv):
    return len(c.db)


def _flush_async(c, argv: list[bytes]) -> bool:
    """Parse FLUSHDB/FLUSHALL [ASYNC|SYNC]; True when the flush is asynchronous."""
    if len(argv) > 2:
        raise syntax_error()
    if len(argv) == 2:
        mode = argv[1].lower()
        if mode not in (b"async", b"sync"):
            raise syntax_error()
        return mode == b"async"
    return c.server.config.values["lazyfree-lazy-user-flush"]


@command("flushdb", -1, "write")
def cmd_flushdb(c, argv):
    lazy = _flush_async(c, argv)
    n = c.db.flush()
    if lazy and n:
        count_lazyfree(c.server, n)
    c.server.dirty += max(n, 1)
    for hook in c.server.events.db_flushed:
        hook(c.db.id)
    return OK


@command("flushall", -1, "write")
def cmd_flushall(c, argv):
    lazy = _flush_async(c, argv)
    n = c.server.keyspace.flushall()
    if lazy and n:
        count_lazyfree(c.server, n)
    c.server.dirty += max(n, 1)
    for hook in c.server.events.db_flushed:
        hook(-1)
    c.server.persistence.after_flushall(c, argv)
    return OK
