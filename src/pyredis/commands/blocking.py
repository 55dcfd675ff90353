"""Blocking commands (blocked.c, t_list.c, t_zset.c): BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP,
BZPOPMIN, BZPOPMAX, BZMPOP, CLIENT UNBLOCK, and the shared machinery (also used by XREAD BLOCK and
CLIENT PAUSE).

API for other command families
------------------------------
``block_for_keys(c, keys, timeout_ms, serve, timeout_reply=NULL_ARRAY, argv=None)``
    Block client *c* on *keys* (of ``c.db``) and return ``NOREPLY``. *timeout_ms* is an int in
    milliseconds, 0 = forever. ``serve(c)`` is called (with ``c.db`` being the blocked db) each time
    one of the keys is signalled ready; it returns the reply value, or ``None`` when it cannot serve
    yet (the client stays blocked). A ``CommandError`` raised by ``serve`` is sent as the reply and
    unblocks the client. ``serve`` may set ``c.repl`` to what must be propagated (AOF/replicas);
    otherwise nothing is propagated. Waiters of one key are tried FIFO. *argv* (the blocked
    command) is logged to the slow log once served. Inside ``serve``, :func:`ready_key` tells which
    key became ready.
``signal_key_ready(c, key, db=None)``
    Tell the machinery that *key* may now serve blocked clients (pushes, XADD...). Nearly free when
    nobody is blocked on the key. ``Database.add``/``set`` and SWAPDB already signal key creation.
``parse_timeout(b)``
    Parse a blocking timeout given in seconds (float) into milliseconds with Redis's errors.

Blocked clients are served at the end of the command that made keys ready (``Server.call`` calls
``server.serve_blocked``), but never inside MULTI/EXEC or a script: those serve after the
transaction/script. Blocking commands run inside MULTI/EXEC or a script do not block: they reply
their timeout value at once.

Paused clients (CLIENT PAUSE) use the same ``c.blocked`` slot with a :class:`Paused` marker; their
command is put back at the head of ``c.pending`` and re-executed on unpause.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from pyredis.commands.errors import CommandError, WrongType, syntax_error
from pyredis.commands.registry import TABLE, command, subcommand
from pyredis.protocol.numbers import parse_float, parse_ll
from pyredis.protocol.types import NOREPLY, NULL_ARRAY, OK

LLONG_MAX = (1 << 63) - 1
_FAR_FUTURE_MS = 10**13  # ~300 years: treated as "no timer"


class Blocked:
    """A client blocked on keys."""

    __slots__ = ("client", "db", "keys", "serve", "timeout_reply", "timer", "argv", "cmd")

    def __init__(self, client: Any, db: Any, keys: list[bytes], serve: Callable[[Any], Any],
                 timeout_reply: Any) -> None:
        self.client = client
        self.db = db
        self.keys = keys
        self.serve = serve
        self.timeout_reply = timeout_reply
        self.timer: Any = None
        self.argv: list[bytes] | None = None
        self.cmd: Any = None


class Paused:
    """Marker in ``c.blocked`` for a client held by CLIENT PAUSE."""

    __slots__ = ()


PAUSED = Paused()


class BlockingState:
    """Per-server bookkeeping: blocked and paused clients, pause timer."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.blocked: dict[Any, None] = {}  # clients blocked on keys
        self.paused: dict[Any, None] = {}  # clients held by CLIENT PAUSE, in arrival order
        self.pause_timer: Any = None

    def count(self) -> int:
        return len(self.blocked) + len(self.paused)


def _state(c) -> BlockingState:
    return c.server.extensions["blocking"]


# -- timeouts ------------------------------------------------------------------------------------
def parse_timeout(b: bytes) -> int:
    """A timeout in seconds (float) -> milliseconds (0 = forever), with Redis's errors."""
    v = parse_float(b)
    if v is None or v != v:
        raise CommandError("ERR timeout is not a float or out of range")
    ms = v * 1000.0
    if ms >= 9.223372036854775807e18:
        raise CommandError("ERR timeout is negative")
    ims = math.ceil(ms)
    if ims < 0:
        raise CommandError("ERR timeout is negative")
    return ims


def parse_timeout_ms(b: bytes) -> int:
    """A timeout in milliseconds (integer), as XREAD BLOCK takes it."""
    v = parse_ll(b)
    if v is None:
        raise CommandError("ERR timeout is not an integer or out of range")
    if v < 0:
        raise CommandError("ERR timeout is negative")
    return v


# -- the machinery -------------------------------------------------------------------------------
def signal_key_ready(c, key: bytes, db: Any = None) -> None:
    """*key* may serve blocked clients now (cheap when nobody waits on it)."""
    d = db if db is not None else c.db
    if d.blocked and key in d.blocked:
        c.server.ready_keys.append((d, key))


def block_for_keys(c, keys: list[bytes], timeout_ms: int, serve: Callable[[Any], Any],
                   timeout_reply: Any = NULL_ARRAY, argv: list[bytes] | None = None) -> Any:
    """Block *c* until ``serve(c)`` returns a reply after one of *keys* is signalled ready."""
    if c.in_exec or c.in_script or c.multi is not None or getattr(c, "pending", None) is None:
        return timeout_reply
    db = c.db
    b = Blocked(c, db, list(dict.fromkeys(keys)), serve, timeout_reply)
    b.cmd = c.cmd
    b.argv = argv  # the blocked command, for the slow log once served
    for key in b.keys:
        lst = db.blocked.get(key)
        if lst is None:
            db.blocked[key] = [b]
        else:
            lst.append(b)
    c.blocked = b
    st = _state(c)
    st.blocked[c] = None
    loop = c.server.loop
    if timeout_ms and timeout_ms < _FAR_FUTURE_MS and loop is not None:
        b.timer = loop.call_later(timeout_ms / 1000.0, _timed_out, b)
    return NOREPLY


def _detach(b: Blocked) -> None:
    c = b.client
    db = b.db
    for key in b.keys:
        lst = db.blocked.get(key)
        if lst is not None:
            try:
                lst.remove(b)
            except ValueError:
                pass
            if not lst:
                del db.blocked[key]
    if b.timer is not None:
        b.timer.cancel()
        b.timer = None
    if c.blocked is b:
        c.blocked = None
    c.server.extensions["blocking"].blocked.pop(c, None)


def _finish(b: Blocked, reply: Any = None, error: str | None = None) -> None:
    """Send the reply of a blocked command and resume the client's pipeline."""
    c = b.client
    _detach(b)
    if error is not None:
        c.write_error(error)
    else:
        c.write(reply)
    c.unblock()


def _timed_out(b: Blocked) -> None:
    if b.client.blocked is b:
        b.timer = None
        _finish(b, b.timeout_reply)


def serve_blocked(srv) -> None:
    """Serve clients blocked on the keys in ``srv.ready_keys`` (FIFO per key), until none is left."""
    while srv.ready_keys:
        ready = srv.ready_keys
        srv.ready_keys = []
        seen: set[tuple[int, bytes]] = set()
        for db, key in ready:
            ident = (id(db), key)
            if ident in seen:
                continue
            seen.add(ident)
            waiters = db.blocked.get(key)
            if not waiters:
                continue
            present = key in db.data
            for b in list(waiters):
                if b.client.blocked is not b:
                    continue
                if not present and not getattr(b.serve, "serves_missing", False):
                    continue  # XREADGROUP (serves_missing) must learn that its stream was deleted
                _serve_one(srv, b, key)


_serving: list[bytes] = [b""]


def ready_key() -> bytes:
    """Inside a ``serve`` callback: the key whose readiness triggered it."""
    return _serving[-1]


def _serve_one(srv, b: Blocked, key: bytes) -> None:
    c = b.client
    saved_db = c.db
    c.db = b.db
    dirty = srv.dirty
    c.repl = None
    srv.current_client = c
    _serving.append(key)
    t0 = time.perf_counter_ns()
    try:
        reply = b.serve(c)
    except CommandError as e:
        c.db = saved_db
        if b.cmd is not None:
            b.cmd.failed += 1  # failed_calls of the blocked command, as Redis counts them
        _finish(b, error=e.message)
        return
    finally:
        c.db = saved_db
        _serving.pop()
    if reply is None:
        return
    if srv.dirty != dirty or c.repl is not None:
        srv.propagate(c, b.cmd, b.argv or [])
    _finish(b, reply)
    usec = (time.perf_counter_ns() - t0) // 1000
    if b.argv is not None and b.cmd is not None and usec >= srv.slow_threshold:
        srv.slow_command(c, b.cmd, b.argv, usec)


def unblock_client(c, error: str | None = None) -> bool:
    """CLIENT UNBLOCK: end the block of *c* with its timeout reply (or *error*)."""
    b = c.blocked
    if not isinstance(b, Blocked):
        return False
    if error is not None:
        _finish(b, error=error)
    else:
        _finish(b, b.timeout_reply)
    return True


def _on_disconnect(c) -> None:
    b = c.blocked
    st = c.server.extensions["blocking"]
    if isinstance(b, Blocked):
        _detach(b)
    elif b is PAUSED:
        c.blocked = None
    st.paused.pop(c, None)


# -- CLIENT PAUSE ------------------------------------------------------------------------------
_PAUSE_WRITE_NAMES = frozenset({"publish", "spublish", "pfcount"})


def _script_writes(srv, name: str, argv: list[bytes]) -> bool:
    """Whether EVAL/EVALSHA/FCALL may write (no ``no-writes`` flag on the script or function)."""
    try:
        from pyredis.scripting import shebang
    except ImportError:
        return True
    sc = srv.extensions.get("scripting")
    try:
        if name == "eval":
            flags = shebang.parse_eval(argv[1])[0]
        elif name == "evalsha":
            entry = sc.scripts.get(argv[1].lower()) if sc is not None else None
            if entry is None:
                return True
            flags = entry[1]
        else:
            fi = sc.functions.get(argv[1].lower()) if sc is not None else None
            if fi is None:
                return True
            flags = fi.flags
    except Exception:  # a malformed shebang errors when run; treat as a write meanwhile
        return True
    return not flags & shebang.NO_WRITES


def _may_write(srv, c, cmd, argv: list[bytes]) -> bool:
    """Commands held by CLIENT PAUSE WRITE: writes, may-replicate ones, PUBLISH, writing scripts."""
    name = cmd.parent.name if cmd.parent is not None else cmd.name
    if name in ("eval", "evalsha", "fcall"):
        return _script_writes(srv, name, argv)
    if cmd.write or cmd.may_replicate or name in _PAUSE_WRITE_NAMES:
        return True
    if name == "exec" and c.multi:
        return any(_may_write(srv, c, qc, qa) for qc, qa in c.multi)
    return False


def _pause_check(c, cmd, argv: list[bytes]) -> bool:
    srv = c.server
    if not srv.paused_until:
        return True
    if time.time() >= srv.paused_until:
        _end_pause(srv)
        return True
    pending = getattr(c, "pending", None)
    if pending is None or getattr(c, "is_replica", False) or getattr(c, "is_master", False):
        return True
    if not srv.pause_all and not _may_write(srv, c, cmd, argv):
        return True
    pending.appendleft(argv)
    c.blocked = PAUSED
    srv.extensions["blocking"].paused[c] = None
    return False


def _on_pause(srv) -> None:
    st: BlockingState = srv.extensions["blocking"]
    checks = srv.extensions.setdefault("checks", [])
    if _pause_check not in checks:
        checks.insert(0, _pause_check)
    srv.hold_gate("pause", True)
    srv.keyspace.expire_paused = True
    if st.pause_timer is not None:
        st.pause_timer.cancel()
        st.pause_timer = None
    if srv.loop is not None:
        st.pause_timer = srv.loop.call_later(max(0.0, srv.paused_until - time.time()), _pause_timer, srv)


def _pause_timer(srv) -> None:
    st: BlockingState = srv.extensions["blocking"]
    st.pause_timer = None
    if srv.paused_until and time.time() < srv.paused_until:
        st.pause_timer = srv.loop.call_later(srv.paused_until - time.time(), _pause_timer, srv)
        return
    _end_pause(srv)


def _end_pause(srv) -> None:
    st: BlockingState = srv.extensions["blocking"]
    srv.paused_until = 0.0
    srv.pause_all = False
    srv.keyspace.expire_paused = False
    if st.pause_timer is not None:
        st.pause_timer.cancel()
        st.pause_timer = None
    checks = srv.extensions.get("checks", [])
    if _pause_check in checks:
        checks.remove(_pause_check)
    srv.hold_gate("pause", False)
    paused = list(st.paused)
    st.paused.clear()
    for c in paused:
        if c.blocked is PAUSED:
            c.blocked = None
            c.unblock()


def setup(server) -> None:
    st = BlockingState(server)
    ext = server.extensions
    ext["blocking"] = st
    ext["blocked_clients"] = lambda srv: st.count()
    ext["on_pause"] = _on_pause
    ext["on_unpause"] = _end_pause
    ext.setdefault("on_disconnect", []).append(_on_disconnect)
    server.serve_blocked = lambda: serve_blocked(server)

    def key_ready(db, key: bytes) -> None:
        server.ready_keys.append((db, key))

    server.keyspace.key_ready = key_ready
    if not hasattr(server.keyspace, "expire_paused"):
        server.keyspace.expire_paused = False


# -- list commands -----------------------------------------------------------------------------
def _lists():
    from pyredis.commands import lists

    return lists


def _type_of(v: Any) -> bytes:
    return b"string" if type(v) is bytes else v.TYPE_NAME


def _first_ready(c, keys: list[bytes], type_name: bytes) -> bytes | None:
    """The first key holding a value of *type_name* (WRONGTYPE for another type on the way)."""
    db = c.db
    for key in keys:
        v = db.get(key)
        if v is None:
            continue
        if _type_of(v) != type_name:
            raise WrongType()
        return key
    return None


def _ready_of(c, keys: list[bytes], type_name: bytes) -> bytes | None:
    """When serving a blocked client: the ready key if it holds *type_name* (else not served)."""
    key = ready_key()
    v = c.db.get(key)
    if v is not None and _type_of(v) == type_name:
        return key
    return None


def _bpop(c, argv: list[bytes], left: bool):
    keys = argv[1:-1]
    timeout = parse_timeout(argv[-1])
    lists = _lists()
    name = b"LPOP" if left else b"RPOP"
    key = _first_ready(c, keys, b"list")
    if key is not None:
        v = lists.list_pop(c, key, left)
        c.repl = [[name, key]]
        return [key, v]

    def serve(cl):
        k = _ready_of(cl, keys, b"list")
        if k is None:
            return None
        v = lists.list_pop(cl, k, left)
        if v is None:
            return None
        cl.repl = [[name, k]]
        return [k, v]

    return block_for_keys(c, keys, timeout, serve, argv=argv)


@command("blpop", -3, "write noscript blocking", 1, -2, 1)
def cmd_blpop(c, argv):
    return _bpop(c, argv, True)


@command("brpop", -3, "write noscript blocking", 1, -2, 1)
def cmd_brpop(c, argv):
    return _bpop(c, argv, False)


def _where(b: bytes) -> bool:
    w = b.lower()
    if w == b"left":
        return True
    if w == b"right":
        return False
    raise syntax_error()


def _blmove(c, src: bytes, dst: bytes, wfrom: bool, wto: bool, timeout: int, name: list[bytes],
            argv: list[bytes]):
    lists = _lists()
    v = c.db.get(src)
    if v is not None:
        if _type_of(v) != b"list":
            raise WrongType()
        r = lists.list_move(c, src, dst, wfrom, wto)
        c.repl = [name]
        return r

    def serve(cl):
        sv = cl.db.get(src)
        if sv is None or _type_of(sv) != b"list":
            return None
        r = lists.list_move(cl, src, dst, wfrom, wto)
        if r is None:
            return None
        cl.repl = [name]
        return r

    if c.in_exec or c.in_script or c.multi is not None:
        return None  # not allowed to block: a null bulk here (the timeout reply is a null array)
    return block_for_keys(c, [src], timeout, serve, argv=argv)


@command("blmove", 6, "write denyoom noscript blocking", 1, 2, 1)
def cmd_blmove(c, argv):
    wfrom = _where(argv[3])
    wto = _where(argv[4])
    timeout = parse_timeout(argv[5])
    return _blmove(c, argv[1], argv[2], wfrom, wto, timeout, [b"LMOVE", *argv[1:5]], argv)


@command("brpoplpush", 4, "write denyoom noscript blocking", 1, 2, 1)
def cmd_brpoplpush(c, argv):
    timeout = parse_timeout(argv[3])
    return _blmove(c, argv[1], argv[2], False, True, timeout, [b"RPOPLPUSH", argv[1], argv[2]], argv)


def _mpop_keys(argv: list[bytes]) -> list[int]:
    nk = parse_ll(argv[2]) if len(argv) > 2 else None
    if nk is None or nk <= 0 or 3 + nk > len(argv):
        return []
    return list(range(3, 3 + nk))


@command("blmpop", -5, "write blocking movablekeys", getkeys=_mpop_keys)
def cmd_blmpop(c, argv):
    lists = _lists()
    keys, left, count = lists.lmpop_parse(argv, 2)
    timeout = parse_timeout(argv[1])
    key = _first_ready(c, keys, b"list")
    if key is not None:
        return lists.lmpop_first(c, [key], left, count)

    def serve(cl):
        k = _ready_of(cl, keys, b"list")
        if k is None:
            return None
        return lists.lmpop_first(cl, [k], left, count)

    return block_for_keys(c, keys, timeout, serve, argv=argv)


# -- sorted set commands -------------------------------------------------------------------------
def _zpop(c, key: bytes, maximum: bool) -> list:
    name = b"zpopmax" if maximum else b"zpopmin"
    r = TABLE[name].handler(c, [name, key])
    c.repl = [[name.upper(), key]]
    return [key, *r]


def _bzpop(c, argv: list[bytes], maximum: bool):
    keys = argv[1:-1]
    timeout = parse_timeout(argv[-1])
    key = _first_ready(c, keys, b"zset")
    if key is not None:
        return _zpop(c, key, maximum)

    def serve(cl):
        k = _ready_of(cl, keys, b"zset")
        if k is None:
            return None
        return _zpop(cl, k, maximum)

    return block_for_keys(c, keys, timeout, serve, argv=argv)


@command("bzpopmin", -3, "write noscript blocking fast", 1, -2, 1)
def cmd_bzpopmin(c, argv):
    return _bzpop(c, argv, False)


@command("bzpopmax", -3, "write noscript blocking fast", 1, -2, 1)
def cmd_bzpopmax(c, argv):
    return _bzpop(c, argv, True)


def _zmpop_parse(argv: list[bytes]) -> tuple[list[bytes], bytes, int | None]:
    nk = parse_ll(argv[2])
    if nk is None or nk <= 0 or nk > LLONG_MAX:
        raise CommandError("ERR numkeys should be greater than 0")
    where_idx = 3 + nk
    if where_idx >= len(argv):
        raise syntax_error()
    keys = argv[3:where_idx]
    where = argv[where_idx].lower()
    if where not in (b"min", b"max"):
        raise syntax_error()
    count: int | None = None
    i = where_idx + 1
    while i < len(argv):
        if argv[i].lower() == b"count" and i + 1 < len(argv) and count is None:
            v = parse_ll(argv[i + 1])
            if v is None or v <= 0:
                raise CommandError("ERR count should be greater than 0")
            count = v
            i += 2
        else:
            raise syntax_error()
    return keys, where, count


def _zmpop_one(c, key: bytes, where: bytes, count: int | None):
    args = [b"zmpop", b"1", key, where] + ([b"COUNT", b"%d" % count] if count is not None else [])
    return TABLE[b"zmpop"].handler(c, args)


@command("bzmpop", -5, "write blocking movablekeys", getkeys=_mpop_keys)
def cmd_bzmpop(c, argv):
    keys, where, count = _zmpop_parse(argv)
    timeout = parse_timeout(argv[1])
    key = _first_ready(c, keys, b"zset")
    if key is not None:
        return _zmpop_one(c, key, where, count)

    def serve(cl):
        k = _ready_of(cl, keys, b"zset")
        if k is None:
            return None
        return _zmpop_one(cl, k, where, count)

    return block_for_keys(c, keys, timeout, serve, argv=argv)


# -- CLIENT UNBLOCK ------------------------------------------------------------------------------
@subcommand("client", "unblock", -3, "admin noscript loading stale")
def cmd_client_unblock(c, argv):
    cid = parse_ll(argv[2])
    if cid is None:
        raise CommandError("ERR value is not an integer or out of range")
    error = None
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"error":
            error = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
        elif mode != b"timeout":
            raise CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    elif len(argv) > 4:
        raise CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP."
                           % argv[1].decode("utf-8", "surrogateescape"))
    target = c.server.clients.get(cid)
    if target is None:
        return 0
    return 1 if unblock_client(target, error) else 0


__all__ = ["block_for_keys", "signal_key_ready", "parse_timeout", "parse_timeout_ms", "serve_blocked", "OK"]
