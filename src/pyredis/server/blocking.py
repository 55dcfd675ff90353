"""Blocked and paused clients (blocked.c): the machinery behind BLPOP & co., XREAD BLOCK and CLIENT PAUSE.

API for command families
------------------------
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

Blocked clients are served at the end of the command that made keys ready (``Server.call`` calls
:meth:`BlockingState.serve_ready` while ``server.ready_keys`` is non-empty), but never inside
MULTI/EXEC or a script: those serve after the transaction/script. Blocking commands run inside
MULTI/EXEC or a script do not block: they reply their timeout value at once.

Paused clients (CLIENT PAUSE) use the same ``c.blocked`` slot with a :class:`Paused` marker; their
command is put back at the head of ``c.pending`` and re-executed on unpause.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyredis.commands.errors import CommandError
from pyredis.protocol.types import NOREPLY, NULL_ARRAY

if TYPE_CHECKING:
    from pyredis.commands.registry import Command
    from pyredis.engine.database import Database
    from pyredis.server.app import Server
    from pyredis.server.client import Client

_FAR_FUTURE_MS = 10**13  # ~300 years: treated as "no timer"


class Blocked:
    """A client blocked on keys."""

    __slots__ = ("client", "db", "keys", "serve", "timeout_reply", "timer", "argv", "cmd")

    def __init__(self, client: Client, db: Database, keys: list[bytes], serve: Callable[[Any], Any],
                 timeout_reply: Any) -> None:
        self.client = client
        self.db = db
        self.keys = keys
        self.serve = serve
        self.timeout_reply = timeout_reply
        self.timer: Any = None
        self.argv: list[bytes] | None = None
        self.cmd: Command | None = None


class Paused:
    """Marker in ``c.blocked`` for a client held by CLIENT PAUSE."""

    __slots__ = ()


PAUSED = Paused()

_PAUSE_WRITE_NAMES = frozenset({"publish", "spublish", "pfcount"})
_serving: list[bytes] = [b""]


def ready_key() -> bytes:
    """Inside a ``serve`` callback: the key whose readiness triggered it."""
    return _serving[-1]


def signal_key_ready(c: Client, key: bytes, db: Database | None = None) -> None:
    """*key* may serve blocked clients now (cheap when nobody waits on it)."""
    d = db if db is not None else c.db
    if d.blocked and key in d.blocked:
        c.server.ready_keys.append((d, key))


def block_for_keys(c: Client, keys: list[bytes], timeout_ms: int, serve: Callable[[Any], Any],
                   timeout_reply: Any = NULL_ARRAY, argv: list[bytes] | None = None) -> Any:
    """Block *c* until ``serve(c)`` returns a reply after one of *keys* is signalled ready."""
    return c.server.blocking.block(c, keys, timeout_ms, serve, timeout_reply, argv)


def unblock_client(c: Client, error: str | None = None) -> bool:
    """CLIENT UNBLOCK: end the block of *c* with its timeout reply (or *error*)."""
    b = c.blocked
    if not isinstance(b, Blocked):
        return False
    st = c.server.blocking
    if error is not None:
        if b.cmd is not None:
            b.cmd.failed += 1  # the unblocked command failed (CLIENT UNBLOCK ... ERROR)
        st.finish(b, error=error)
    else:
        st.finish(b, b.timeout_reply)
    return True


class BlockingState:
    """Per-server bookkeeping (``server.blocking``): blocked and paused clients, the pause timer."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.blocked: dict[Client, None] = {}  # clients blocked on keys
        self.paused: dict[Client, None] = {}  # clients held by CLIENT PAUSE, in arrival order
        self.pause_timer: Any = None
        server.keyspace.key_ready = self._key_ready

    def count(self) -> int:
        """INFO blocked_clients."""
        return len(self.blocked) + len(self.paused)

    def _key_ready(self, db: Database, key: bytes) -> None:
        self.server.ready_keys.append((db, key))

    # -- blocking on keys ---------------------------------------------------------------------------
    def block(self, c: Client, keys: list[bytes], timeout_ms: int, serve: Callable[[Any], Any],
              timeout_reply: Any = NULL_ARRAY, argv: list[bytes] | None = None) -> Any:
        """See :func:`block_for_keys`."""
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
        self.blocked[c] = None
        loop = self.server.loop
        if timeout_ms and timeout_ms < _FAR_FUTURE_MS and loop is not None:
            b.timer = loop.call_later(timeout_ms / 1000.0, self._timed_out, b)
        return NOREPLY

    def _detach(self, b: Blocked) -> None:
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
        self.blocked.pop(c, None)

    def finish(self, b: Blocked, reply: Any = None, error: str | None = None) -> None:
        """Send the reply of a blocked command and resume the client's pipeline."""
        c = b.client
        self._detach(b)
        if error is not None:
            c.write_error(error)
        else:
            c.write(reply)
        c.unblock()

    def _timed_out(self, b: Blocked) -> None:
        if b.client.blocked is b:
            b.timer = None
            self.finish(b, b.timeout_reply)

    def serve_ready(self) -> None:
        """Serve clients blocked on the keys in ``server.ready_keys`` (FIFO per key), until none is left."""
        srv = self.server
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
                    self._serve_one(b, key)

    def _serve_one(self, b: Blocked, key: bytes) -> None:
        srv = self.server
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
            self.finish(b, error=e.message)
            return
        finally:
            c.db = saved_db
            _serving.pop()
        if reply is None:
            return
        if srv.dirty != dirty or c.repl is not None:
            srv.propagate(c, b.cmd, b.argv or [])  # type: ignore[arg-type]  # cmd is not used there
        self.finish(b, reply)
        usec = (time.perf_counter_ns() - t0) // 1000
        if b.argv is not None and b.cmd is not None and usec >= srv.slow_threshold:
            srv.slow_command(c, b.cmd, b.argv, usec)

    def on_disconnect(self, c: Client) -> None:
        """``events.client_disconnected``: forget the client's block or pause."""
        b = c.blocked
        if isinstance(b, Blocked):
            self._detach(b)
        elif b is PAUSED:
            c.blocked = None
        self.paused.pop(c, None)

    # -- CLIENT PAUSE ----------------------------------------------------------------------------------
    def _script_writes(self, name: str, argv: list[bytes]) -> bool:
        """Whether EVAL/EVALSHA/FCALL may write (no ``no-writes`` flag on the script or function)."""
        from pyredis.scripting import shebang

        sc = self.server.scripting
        try:
            if name == "eval":
                flags = shebang.parse_eval(argv[1])[0]
            elif name == "evalsha":
                entry = sc.scripts.get(argv[1].lower())
                if entry is None:
                    return True
                flags = entry[1]
            else:
                fi = sc.functions.get(argv[1].lower())
                if fi is None:
                    return True
                flags = fi.flags
        except Exception:  # a malformed shebang errors when run; treat as a write meanwhile
            return True
        return not flags & shebang.NO_WRITES

    def may_write(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        """Commands held by CLIENT PAUSE WRITE: writes, may-replicate ones, PUBLISH, writing scripts."""
        name = cmd.parent.name if cmd.parent is not None else cmd.name
        if name in ("eval", "evalsha", "fcall"):
            return self._script_writes(name, argv)
        if cmd.write or cmd.may_replicate or name in _PAUSE_WRITE_NAMES:
            return True
        if name == "exec" and c.multi:
            return any(self.may_write(c, qc, qa) for qc, qa in c.multi)
        return False

    def pause_check(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        """``events.checks`` entry while a pause is on: hold the commands the pause applies to."""
        srv = self.server
        if not srv.paused_until:
            return True
        if time.time() >= srv.paused_until:
            self.end_pause(srv)
            return True
        pending = getattr(c, "pending", None)
        if pending is None or getattr(c, "is_replica", False) or getattr(c, "is_master", False):
            return True
        if not srv.pause_all and not self.may_write(c, cmd, argv):
            return True
        pending.appendleft(argv)
        c.blocked = PAUSED
        self.paused[c] = None
        return False

    def on_pause(self, srv: Server) -> None:
        """``events.paused``: install the pause check and the timer ending the pause."""
        checks = srv.events.checks
        if self.pause_check not in checks:
            checks.insert(0, self.pause_check)
        srv.hold_gate("pause", True)
        srv.keyspace.expire_paused = True
        if self.pause_timer is not None:
            self.pause_timer.cancel()
            self.pause_timer = None
        if srv.loop is not None:
            self.pause_timer = srv.loop.call_later(max(0.0, srv.paused_until - time.time()), self._pause_timer)

    def _pause_timer(self) -> None:
        srv = self.server
        self.pause_timer = None
        if srv.paused_until and time.time() < srv.paused_until and srv.loop is not None:
            self.pause_timer = srv.loop.call_later(srv.paused_until - time.time(), self._pause_timer)
            return
        self.end_pause(srv)

    def end_pause(self, srv: Server) -> None:
        """``events.unpaused`` (and the pause running out): release the held clients."""
        srv.paused_until = 0.0
        srv.pause_all = False
        srv.keyspace.expire_paused = False
        if self.pause_timer is not None:
            self.pause_timer.cancel()
            self.pause_timer = None
        checks = srv.events.checks
        if self.pause_check in checks:
            checks.remove(self.pause_check)
        srv.hold_gate("pause", False)
        paused = list(self.paused)
        self.paused.clear()
        for c in paused:
            if c.blocked is PAUSED:
                c.blocked = None
                c.unblock()
