"""The request hot path: fast handlers for the common commands and the batch loop running them.

The full path (``Server.execute`` -> ``check_state`` -> ``Server.call``) is the single definition of
every command's semantics. This module is an optimisation of it, valid only while nothing that the
full path would do beyond "run the handler, write the reply, count it" can happen:

* :func:`allowed` is the "fast path allowed" state: every server-wide switch that adds work to a
  command (the gate: CLIENT PAUSE, busy scripts, maxmemory, loading, persistence errors; MONITOR and
  tracking hooks, keyspace notifications, LRU/LFU access tracking, pending blocked-client wake-ups),
  every client switch (MULTI, auth, ACL restrictions, RESP2 pub/sub mode, CLIENT REPLY, tracking,
  blocked) and the selected database's WATCHed and blocked keys. It is evaluated once per batch and
  again only after a command that went the full path (any full-path command may flip a switch);
  fast commands never flip one.
* A fast handler ``fn(client, db, argv)`` returns the encoded reply (``bytes``) or ``None`` to
  decline *before changing anything*. Handlers decline on anything they do not handle identically:
  a TTL on a key, another type, an argument form they do not parse, a possible error. A declined
  command runs its ``direct`` handler: the command's own handler (the full path minus the
  ``execute``/``call`` bookkeeping, which the state above makes a no-op, apart from the statistics
  and propagation done here), writing to ``client.out`` itself and returning ``b""``. Only a wrong
  arity (and commands outside the table) go through ``Server.execute``.
* Per fast command: one ``perf_counter_ns`` call (the interval since the previous command ended,
  so commandstats ``usec`` and the slow log include the command's share of parsing; resolution
  1 µs per call, as ``Server.call``), ``calls``/``usec`` counted, propagation only when there is a
  propagation target (AOF, replicas: ``Server.propagators``), exactly as ``Server.call`` does it.

The compiled accelerator (:mod:`pyredis._speedups`) implements the same loop and the string
handlers in Cython and calls the Python handlers here for the other commands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from itertools import islice
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from pyredis.commands.args import rank_range
from pyredis.commands.errors import CommandError, WrongType
from pyredis.commands.lists import bulk_array
from pyredis.commands.registry import COMMANDS, Command
from pyredis.commands.zsets.common import rank_reply
from pyredis.engine.hash import HashValue
from pyredis.engine.list import ListValue
from pyredis.engine.set import SetValue
from pyredis.engine.zset import ZSetValue, parse_score
from pyredis.persistence.unverified import check_wrongtype
from pyredis.protocol.encoder import _ENCODERS
from pyredis.protocol.numbers import LLONG_MAX, LLONG_MIN
from pyredis.protocol.parser import BULK_HEADERS
from pyredis.protocol.types import NOREPLY

if TYPE_CHECKING:
    from pyredis.engine.database import Database
    from pyredis.server.app import Server
    from pyredis.server.client import Client

log = logging.getLogger("pyredis")

FastFn = Callable[[Any, Any, list[bytes]], "bytes | None"]

# Switched off by tests that compare the fast path against the full path.
ENABLED = True

OK = b"+OK\r\n"
CRLF = b"\r\n"
# Runs of GET/SET are timed as a whole only while the slow log / latency threshold is at least this
# (in µs): far above what such a run of bounded-size values takes, so no command of it can cross it alone.
RUN_SLOW_MIN = 1000
PONG = b"+PONG\r\n"
_NULL = (b"", b"", b"$-1\r\n", b"_\r\n")  # indexed by RESP version
_INT = [b":%d\r\n" % i for i in range(1024)]
_HDR = BULK_HEADERS  # ``$<n>\r\n`` for n < 1024: the parser's table (one per process)


def allowed(srv: Server, c: Client) -> bool:
    """True while running commands through the fast handlers is equivalent to the full path.

    The accelerator has the same function compiled (``_hotpath.allowed``): change both together.
    """
    ks = srv.keyspace
    db = c.db
    return (ENABLED and not srv.gate and not srv._after_command and not srv.ready_keys and not ks.notify_flags
            and ks.tracking_hook is None and not ks.track_lru and ks.frozen_time is None and not ks.loading
            and c.multi is None and c.authenticated and not c.acl_restricted and not c.reply_mode
            and c.tracking is None and c.blocked is None and not c.close_asap and not c.in_exec
            and not c.in_script and not db.watched and not db.blocked
            and not (c.resp == 2 and (c.channels or c.patterns or c.shard_channels)))


def propagating(srv: Server) -> bool:
    """Is there a live propagation target? (The AOF, another target, or replicas being fed.)

    The replication feed stays registered in ``Server.propagators`` while it has nothing to feed
    (no backlog, or this server is a replica); calling it then does nothing, so the fast path skips
    it. Evaluated per batch and after every full-path command, like :func:`allowed`.
    """
    props = srv.propagators
    if not props:
        return False
    repl = srv.replication
    if repl is None or (repl.backlog is not None and repl.masterhost is None):
        return True
    feed = repl.master.feed
    if len(props) == 1:
        return props[0] != feed
    for fn in props:
        if fn != feed:
            return True
    return False


def _strict_ll(b: bytes) -> int | None:
    """The canonical decimal form of a 64-bit integer (what ``b"%d" % v`` produces), else None."""
    n = len(b)
    if 0 < n < 19 and b.isdigit():
        return int(b) if b[0] != 48 or n == 1 else None
    if 1 < n < 20 and b[0] == 45 and b[1] != 48 and b[1:].isdigit():
        return int(b)
    return None


def _bulk(v: bytes) -> bytes:
    n = len(v)
    return b"%s%s\r\n" % (_HDR[n] if n < 1024 else b"$%d\r\n" % n, v)


def _int(i: int) -> bytes:
    return _INT[i] if 0 <= i < 1024 else b":%d\r\n" % i


# -- string handlers (the accelerator has the same ones in C) -----------------------------------------
def fast_get(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    key = argv[1]
    if db.expires and key in db.expires:
        return None
    v = db.data.get(key)
    if v is None:
        db.keyspace.misses += 1
        return _NULL[c.resp]
    if type(v) is not bytes:
        return None
    db.keyspace.hits += 1
    return _bulk(v)


def fast_set(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    if len(argv) != 3:
        return None
    key = argv[1]
    if db.expires and key in db.expires:
        return None
    db.data[key] = argv[2]
    c.server.dirty += 1
    return OK


def _incr(c: Client, db: Database, key: bytes, delta: int) -> bytes | None:
    if db.expires and key in db.expires:
        return None
    old = db.data.get(key)
    if old is None:
        new = delta
    elif type(old) is bytes:
        cur = _strict_ll(old)
        if cur is None:
            return None
        new = cur + delta
        if new > LLONG_MAX or new < LLONG_MIN:
            return None
    else:
        return None
    db.data[key] = b"%d" % new
    c.server.dirty += 1
    return _int(new)


def fast_incr(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    return _incr(c, db, argv[1], 1)


def fast_decr(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    return _incr(c, db, argv[1], -1)


def fast_incrby(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    d = _strict_ll(argv[2])
    return None if d is None else _incr(c, db, argv[1], d)


def fast_decrby(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    d = _strict_ll(argv[2])
    return None if d is None or d == LLONG_MIN else _incr(c, db, argv[1], -d)


def fast_mget(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    exp = db.expires
    data = db.data
    parts = [b"*%d\r\n" % (len(argv) - 1)]
    null = _NULL[c.resp]
    hits = misses = 0
    for k in argv[1:]:
        if exp and k in exp:
            return None
        v = data.get(k)
        if v is None:
            misses += 1
            parts.append(null)
        else:
            hits += 1
            parts.append(_bulk(v) if type(v) is bytes else null)
    ks = db.keyspace
    ks.hits += hits
    ks.misses += misses
    return b"".join(parts)


def fast_mset(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    n = len(argv)
    if n % 2 == 0:
        return None
    exp = db.expires
    if exp:
        for i in range(1, n, 2):
            if argv[i] in exp:
                return None
    data = db.data
    for i in range(1, n, 2):
        data[argv[i]] = argv[i + 1]
    c.server.dirty += n // 2
    return OK


def fast_exists(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    exp = db.expires
    data = db.data
    n = 0
    for k in argv[1:]:
        if exp and k in exp:
            return None
        if k in data:
            n += 1
    return _int(n)


def fast_ping(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    if len(argv) == 1:
        return PONG
    if len(argv) == 2:
        return _bulk(argv[1])
    return None


# -- containers: the common single-element forms; other forms run the command's own handler ------------
def _lpush(c: Client, db: Database, argv: list[bytes], left: bool) -> bytes | None:
    key = argv[1]
    if len(argv) != 3 or (db.expires and key in db.expires):
        return None
    v = db.data.get(key)
    if v is None:
        v = db.data[key] = ListValue()
    elif type(v) is not ListValue:
        return None
    if left:
        v.appendleft(argv[2])
    else:
        v.append(argv[2])
    c.server.dirty += 1
    return _int(len(v))


def fast_lpush(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    return _lpush(c, db, argv, True)


def fast_rpush(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    return _lpush(c, db, argv, False)


def _pop(c: Client, db: Database, argv: list[bytes], left: bool) -> bytes | None:
    key = argv[1]
    if len(argv) != 2 or (db.expires and key in db.expires):
        return None
    v = db.data.get(key)
    if v is None:
        return _NULL[c.resp]
    if type(v) is not ListValue:
        return None
    x = v.popleft() if left else v.pop()
    if not v:
        del db.data[key]
    c.server.dirty += 1
    return _bulk(x)


def fast_lpop(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    return _pop(c, db, argv, True)


def fast_rpop(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    return _pop(c, db, argv, False)


def fast_lrange(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    key = argv[1]
    start = _strict_ll(argv[2])
    stop = _strict_ll(argv[3])
    if start is None or stop is None or (db.expires and key in db.expires):
        return None
    v = db.data.get(key)
    if v is None:
        db.keyspace.misses += 1
        return b"*0\r\n"
    if type(v) is not ListValue:
        return None
    db.keyspace.hits += 1
    r = rank_range(start, stop, len(v))
    if r is None:
        return b"*0\r\n"
    return bytes(bulk_array(v.range(r[0], r[1])))


def fast_sadd(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    key = argv[1]
    if len(argv) != 3 or (db.expires and key in db.expires):
        return None
    s = db.data.get(key)
    if s is None:
        s = SetValue()
        s.big = False
        db.data[key] = s
    elif type(s) is not SetValue:
        return None
    m = argv[2]
    if m in s:
        return _INT[0]
    s.add(m)
    if s.pool is not None:
        s.pool.append(m)
    if not s.big:
        s.after_add(c.server.config, argv[2:])
    c.server.dirty += 1
    return _INT[1]


def fast_sismember(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    key = argv[1]
    if db.expires and key in db.expires:
        return None
    s = db.data.get(key)
    if s is None:
        db.keyspace.misses += 1
        return _INT[0]
    if type(s) is not SetValue:
        return None
    db.keyspace.hits += 1
    return _INT[1] if argv[2] in s else _INT[0]


def fast_hset(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    key = argv[1]
    if len(argv) != 4 or (db.expires and key in db.expires):
        return None
    h = db.data.get(key)
    if h is None:
        h = db.data[key] = HashValue()
    elif type(h) is not HashValue:
        return None
    f = argv[2]
    added = f not in h
    h[f] = argv[3]
    if not h.big:
        cfg = c.server.config
        h.check_lengths(cfg, argv[2:])
        h.check_size(cfg)
    c.server.dirty += 1
    return _INT[1] if added else _INT[0]


def fast_hget(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    key = argv[1]
    if db.expires and key in db.expires:
        return None
    h = db.data.get(key)
    if h is None:
        db.keyspace.misses += 1
        return _NULL[c.resp]
    if type(h) is not HashValue:
        return None
    db.keyspace.hits += 1
    v = h.get(argv[2])
    return _NULL[c.resp] if v is None else _bulk(v)


def fast_zadd(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    key = argv[1]
    if len(argv) != 4 or (db.expires and key in db.expires):
        return None
    sc = parse_score(argv[2])
    if sc is None:
        return None
    zs = db.data.get(key)
    if zs is None:
        zs = db.data[key] = ZSetValue()
    elif type(zs) is not ZSetValue:
        return None
    m = argv[3]
    cur = zs.d.get(m)
    if cur is None:
        v = c.server.config.values
        zs.insert(m, sc, v["zset-max-listpack-entries"], v["zset-max-listpack-value"])
        c.server.dirty += 1
        return _INT[1]
    if sc != cur:
        zs.update(m, cur, sc)
        c.server.dirty += 1
    return _INT[0]


def _zrange(c: Client, db: Database, argv: list[bytes], rev: bool) -> bytes | None:
    """ZRANGE / ZREVRANGE key start stop [WITHSCORES] (by rank)."""
    key = argv[1]
    n = len(argv)
    if n == 4:
        withscores = False
    elif n == 5 and argv[4].lower() == b"withscores":
        withscores = True
    else:
        return None
    start = _strict_ll(argv[2])
    stop = _strict_ll(argv[3])
    if start is None or stop is None or (db.expires and key in db.expires):
        return None
    zs = db.data.get(key)
    if zs is None:
        db.keyspace.misses += 1
        return b"*0\r\n"
    if type(zs) is not ZSetValue:
        return None
    db.keyspace.hits += 1
    llen = len(zs.d)
    r = rank_range(start, stop, llen)
    if r is None:
        return b"*0\r\n"
    if rev:
        return rank_reply(c, zs, llen - 1 - r[1], llen - r[0], True, withscores)
    return rank_reply(c, zs, r[0], r[1] + 1, False, withscores)


def fast_zrange(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    return _zrange(c, db, argv, False)


def fast_zrevrange(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
    return _zrange(c, db, argv, True)


# -- the others: the command's own handler without execute/call bookkeeping ----------------------------
def direct(cmd: Command) -> FastFn:
    """A fast handler running *cmd*'s own handler (valid for commands that never flip a switch)."""
    handler = cmd.handler
    assert handler is not None

    def run(c: Client, db: Database, argv: list[bytes]) -> bytes | None:
        c.cmd = cmd
        try:
            r = handler(c, argv)
        except CommandError as e:
            if type(e) is WrongType:
                check_wrongtype(c, argv)  # a key restored without deep sanitization: fatal, as in Redis
            cmd.failed += 1
            c.write_error(e.message)
            return b""
        except Exception as e:  # as Server.call: a bug costs one error reply
            log.exception("Unexpected error in command %s", cmd.fullname)
            cmd.failed += 1
            c.write_error(f"ERR internal error in '{cmd.fullname}': {type(e).__name__}: {e}")
            return b""
        if type(r) is bytes:
            c.out.append(b"$%d\r\n%s\r\n" % (len(r), r))
        elif r is not NOREPLY:
            _ENCODERS[type(r)](c.out, r, c.resp)
        if c.repl is not None and not c.server.propagators:
            c.repl = None
        return b""

    run.direct = True  # type: ignore[attr-defined]
    return run


# name -> specialised handler; None means "direct" (the command's own handler).
_HANDLERS: dict[str, FastFn | None] = {
    "get": fast_get, "set": fast_set, "incr": fast_incr, "decr": fast_decr, "incrby": fast_incrby,
    "decrby": fast_decrby, "mget": fast_mget, "mset": fast_mset, "exists": fast_exists, "ping": fast_ping,
    "lpush": fast_lpush, "rpush": fast_rpush, "lpop": fast_lpop, "rpop": fast_rpop, "lrange": fast_lrange,
    "sadd": fast_sadd, "sismember": fast_sismember, "hset": fast_hset, "hget": fast_hget, "zadd": fast_zadd,
    "zrange": fast_zrange, "zrevrange": fast_zrevrange,
    "del": None, "zscore": None, "zcard": None, "zrank": None, "zrevrank": None, "zcount": None,
    "zrangebyscore": None, "zrevrangebyscore": None,
}

# Command name as sent (exact bytes, lower and upper case) ->
# (command, fast handler, direct handler, fewest arguments, most arguments).
TABLE: dict[bytes, tuple[Command, FastFn, FastFn, int, int]] = {}


def build_table() -> dict[bytes, tuple[Command, FastFn, FastFn, int, int]]:
    """Fill :data:`TABLE` from the command registry (after the command modules are loaded)."""
    if TABLE:
        return TABLE
    for name, fn in _HANDLERS.items():
        cmd = COMMANDS.get(name)
        if cmd is None or cmd.handler is None:
            continue
        d = direct(cmd)
        ar = cmd.arity
        ent = (cmd, fn if fn is not None else d, d, ar if ar > 0 else -ar, ar if ar > 0 else 1 << 62)
        for form in (name, name.upper(), name.capitalize()):
            TABLE[form.encode()] = ent
    return TABLE


def run_fast(c: Client, cmds: list[list[bytes]], i: int) -> int:
    """Run commands from index *i* through fast handlers until one declines; returns its index.

    ``calls``/``usec`` are added to a command once per run of consecutive calls of it. Without a
    propagation target, a run of consecutive GETs or SETs (same name bytes, the plain form, no TTL,
    values under 64 KB: every one of them takes microseconds) is :func:`fast_get` / :func:`fast_set`
    inlined and timed as a whole; the other commands are timed one by one.
    """
    srv = c.server
    srv.current_client = c
    db = c.db
    data = db.data
    dget = data.get
    exp = db.expires
    ks = db.keyspace
    null = _NULL[c.resp]
    out = c.out
    append = out.append
    get = TABLE.get
    prop = propagating(srv)
    slow = srv.slow_threshold
    runs = not prop and slow >= RUN_SLOW_MIN
    clock = perf_counter_ns
    n = len(cmds)
    last = cur = None
    calls = usec = 0
    t0 = clock()
    try:
        while i < n:
            argv = cmds[i]
            name = argv[0]
            ent = get(name)
            if ent is None:
                break
            cmd, fn, fn_direct, lo, hi = ent
            na = len(argv)
            if not lo <= na <= hi:
                break
            if runs and (fn is fast_get or fn is fast_set):
                j = i
                if fn is fast_set:
                    try:  # a request of another length stops the run (ValueError)
                        if exp:
                            for a0, key, val in islice(cmds, i, None):
                                if a0 != name or key in exp:
                                    break
                                data[key] = val
                                j += 1
                        else:
                            for a0, key, val in islice(cmds, i, None):
                                if a0 != name:
                                    break
                                data[key] = val
                                j += 1
                    except ValueError:
                        pass
                    k = j - i
                    if k:
                        srv.dirty += k
                        append(OK if k == 1 else OK * k)
                else:
                    misses = 0
                    try:  # a request of another length stops the run (ValueError)
                        for a0, key in islice(cmds, i, None):
                            if a0 != name or (exp and key in exp):
                                break
                            v = dget(key)
                            if v is None:
                                misses += 1
                                append(null)
                            elif type(v) is bytes:
                                nv = len(v)
                                if nv < 1024:
                                    out += (_HDR[nv], v, CRLF)
                                elif nv < 65536:
                                    out += (b"$%d\r\n" % nv, v, CRLF)
                                else:
                                    break
                            else:
                                break
                            j += 1
                    except ValueError:
                        pass
                    k = j - i
                    if k:
                        ks.misses += misses
                        ks.hits += k - misses
                if k:
                    t1 = clock()
                    dt = (t1 - t0) // 1000
                    t0 = t1
                    cmd.calls += k
                    cmd.usec += dt
                    cur = cmd
                    if dt >= slow:  # the run as a whole was slow: its last command is logged
                        srv.slow_command(c, cmd, cmds[j - 1], dt)
                    i = j
                    continue
                argv = cmds[i]
            if prop:
                d0 = srv.dirty
                r = fn(c, db, argv)
                if r is None:
                    r = fn_direct(c, db, argv)
                if srv.dirty != d0 or c.repl is not None:
                    srv.propagate(c, cmd, argv)
            else:
                r = fn(c, db, argv)
                if r is None:
                    r = fn_direct(c, db, argv)
            if r:
                append(r)
            t1 = clock()
            dt = (t1 - t0) // 1000
            t0 = t1
            if cmd is not last:
                if last is not None:
                    last.calls += calls
                    last.usec += usec
                last = cmd
                calls = usec = 0
            cur = cmd
            calls += 1
            usec += dt
            if dt >= slow:
                srv.slow_command(c, cmd, argv, dt)
            i += 1
    finally:
        if last is not None:
            last.calls += calls
            last.usec += usec
        if cur is not None:
            c.cmd = cur
    return i


def run_commands(c: Any, cmds: list[list[bytes]]) -> None:
    """Run parsed commands of one read like the connection's plain loop, fast where allowed.

    Stops at ``close_asap``; when a command blocks the client, the rest is queued in ``c.pending``.
    """
    srv = c.server
    execute = srv.execute
    n = len(cmds)
    i = 0
    if not TABLE:
        build_table()
    while i < n:
        if c.close_asap:
            return
        if allowed(srv, c):
            i = run_fast(c, cmds, i)
            if i >= n:
                return
        execute(c, cmds[i])
        i += 1
        if c.blocked is not None:
            c.pending.extend(cmds[i:])
            return


ACCEL_TABLE: dict[bytes, Any] = {}


def accel_table() -> dict[bytes, Any]:
    """:data:`TABLE` wrapped for the accelerator (built on first use)."""
    if not ACCEL_TABLE:
        from pyredis._speedups import hotpath

        assert hotpath is not None
        ACCEL_TABLE.update(hotpath.make_table(build_table(), ListValue, SetValue, HashValue, ZSetValue, parse_score))
    return ACCEL_TABLE


