"""``ctx``: what a module command handler (or timer callback) gets to work with the server."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pyredis.engine import notify
from pyredis.modules.api import ModuleError
from pyredis.modules.datatype import DataType, ModuleValue, _arg
from pyredis.protocol.types import Double, ErrorReply, MapReply, Push, SetReply, Status, Verbatim

if TYPE_CHECKING:
    from pyredis.modules.manager import Module

__all__ = ["Context"]

log = logging.getLogger("pyredis")
_LOG_LEVELS = {"debug": logging.DEBUG, "verbose": 15, "notice": logging.INFO, "warning": logging.WARNING}
_WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
_BUILTIN_TYPES = {"string": b"string", "list": b"list", "hash": b"hash", "set": b"set", "zset": b"zset",
                  "stream": b"stream"}
_NOTIFY_FLAGS = {"generic": notify.GENERIC, "string": notify.STRING, "list": notify.LIST, "set": notify.SET,
                 "hash": notify.HASH, "zset": notify.ZSET, "stream": notify.STREAM, "module": notify.MODULE,
                 "expired": notify.EXPIRED, "evicted": notify.EVICTED, "new": notify.NEW,
                 "keymiss": notify.KEY_MISS}


def _type_name(v: Any) -> bytes:
    return b"string" if type(v) is bytes else v.TYPE_NAME


class Context:
    """The calling client's view of the server for one module command (``RedisModuleCtx``).

    Keys are read and written in the caller's selected database. Reads check the type and raise
    ``WRONGTYPE`` like Redis commands do; replies are the handler's return value (or built with
    the ``reply_*`` helpers for RESP3 types that degrade to RESP2 as Redis's do).
    """

    def __init__(self, client: Any, module: Module | None = None, argv: list[bytes] | None = None) -> None:
        self.client = client
        self.server = client.server
        self.module = module
        self.argv = argv
        self._caller: Any = None
        self._replicated: list[list[bytes]] | None = None
        self._block: Any = None  # (BlockedClient, blocked?, timeout reply) once ctx.block ran

    # -- the caller ------------------------------------------------------------------------------------
    @property
    def db(self) -> Any:
        """The selected database (``pyredis.engine.database.Database``)."""
        return self.client.db

    @property
    def resp(self) -> int:
        """The caller's protocol (2 or 3)."""
        return self.client.resp

    @property
    def client_id(self) -> int:
        return self.client.id

    @property
    def in_multi(self) -> bool:
        """Running inside MULTI/EXEC or a script (blocking is not possible there)."""
        return bool(self.client.in_exec or self.client.in_script)

    # -- keys ------------------------------------------------------------------------------------------
    def _check(self, v: Any, kind: DataType | str | None) -> Any:
        if v is None or kind is None:
            return v
        if isinstance(kind, DataType):
            if type(v) is not ModuleValue or v.dtype is not kind:
                raise ModuleError(_WRONGTYPE)
            return v.value
        want = _BUILTIN_TYPES.get(kind)
        if want is None:
            raise ValueError(f"unknown key type {kind!r}")
        if _type_name(v) != want:
            raise ModuleError(_WRONGTYPE)
        return v

    def read(self, key: bytes, kind: DataType | str | None = None) -> Any:
        """The value of *key* for reading (counts a keyspace hit/miss), or None.

        With *kind* (a :class:`DataType`, or ``"string"``, ``"list"``...), a key of another type
        raises ``WRONGTYPE``; a module type gives the module's own value object.
        """
        return self._check(self.client.db.lookup_read(key), kind)

    def write(self, key: bytes, kind: DataType | str | None = None) -> Any:
        """The value of *key* for modification (no hit/miss counting), or None; type-checked."""
        return self._check(self.client.db.get(key), kind)

    def key_type(self, key: bytes) -> bytes:
        """What TYPE replies for *key* (``b"none"`` when missing)."""
        v = self.client.db.get(key)
        return b"none" if v is None else _type_name(v)

    def exists(self, key: bytes) -> bool:
        return self.client.db.get(key) is not None

    def set_value(self, key: bytes, dtype: DataType, value: Any) -> None:
        """Store *value* as a key of module type *dtype* (replacing any value; the TTL is kept)."""
        db = self.client.db
        mv = ModuleValue(dtype, value)
        if db.get(key) is None:
            db.add(key, mv)
        else:
            db.data[key] = mv
        self.signal_modified(key)

    def set_string(self, key: bytes, value: bytes) -> None:
        """``SET key value`` semantics (drops the TTL)."""
        db = self.client.db
        db.set(key, bytes(value))
        self.signal_modified(key)

    def delete(self, key: bytes) -> bool:
        """Delete *key*; True if it existed. Emits nothing (call :meth:`notify` for ``del``)."""
        db = self.client.db
        if db.get(key) is None:
            return False
        db.delete(key)
        self.signal_modified(key)
        return True

    def get_expire(self, key: bytes) -> int | None:
        """The key's absolute expire time in ms (None without one)."""
        return self.client.db.ttl_ms(key)

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.client.db.set_expire(key, when_ms)

    def signal_modified(self, key: bytes) -> None:
        """Invalidate WATCH and client-side caches for *key*, count a change (``dirty``)."""
        self.client.db.signal_modified(key)
        self.server.dirty += 1

    def signal_ready(self, key: bytes) -> None:
        """Wake clients blocked on *key* (``RedisModule_SignalKeyAsReady``)."""
        db = self.client.db
        if db.blocked and key in db.blocked:
            db.keyspace.key_ready(db, key)

    def notify(self, event: str | bytes, key: bytes, kind: str = "module") -> None:
        """Emit keyspace event *event* for *key* (class *kind*: ``"module"`` = ``d``, ``"generic"``...)."""
        flag = _NOTIFY_FLAGS[kind]
        self.client.notify(flag, event.encode() if isinstance(event, str) else event, key)

    # -- calling commands ------------------------------------------------------------------------------
    def call(self, name: str | bytes, *args: Any) -> Any:
        """Run a command as scripts' ``redis.call`` does and return its reply as Python values.

        Bulk and status replies are ``bytes``, integers ``int``, arrays ``list``, nulls ``None``;
        an error reply raises :class:`ModuleError`. Its effects are part of this command's (they
        propagate with it unless :meth:`replicate` says otherwise).
        """
        from pyredis.modules.calls import run_command

        return run_command(self, [_arg(name), *(_arg(a) for a in args)])

    # -- propagation -----------------------------------------------------------------------------------
    def replicate(self, *args: Any) -> None:
        """Propagate this command to the AOF/replicas (instead of the command itself)."""
        if self._replicated is None:
            self._replicated = []
        self._replicated.append([_arg(a) for a in args])

    def replicate_verbatim(self) -> None:
        """Propagate the command exactly as the client sent it (the default for a write)."""
        if self.argv is not None:
            self.replicate(*self.argv)

    # -- blocking ---------------------------------------------------------------------------------------
    def block(self, keys: Iterable[bytes] = (), timeout_ms: int = 0,
              on_ready: Callable[[Context], Any] | None = None,
              on_timeout: Callable[[Context], Any] | None = None) -> Any:
        """Block the caller (``RedisModule_BlockClient``) and return its ``BlockedClient``.

        The handler's return value is then not sent: the reply comes when the block ends. With *keys*, ``on_ready(ctx)`` runs each time one of them is signalled (pushes, SETs, or
        :meth:`signal_ready`) and replies when it returns something other than None. Without
        keys the block ends through the returned :class:`~pyredis.modules.blocking.BlockedClient`
        (``bc.unblock(reply)``, from a timer, another command or another thread). *timeout_ms*
        0 blocks forever; ``on_timeout(ctx)`` gives the timeout reply (default: null).
        Inside MULTI/EXEC or a script a block replies the timeout reply at once.
        """
        from pyredis.modules.blocking import block

        return block(self, list(keys), timeout_ms, on_ready, on_timeout)

    # -- timers and logging --------------------------------------------------------------------------------
    def create_timer(self, ms: int, callback: Callable[[Context, Any], Any], data: Any = None) -> int:
        """Run ``callback(ctx, data)`` in about *ms* milliseconds; returns the timer id."""
        return self.server.modules.timers.create(self.module, ms, callback, data)

    def stop_timer(self, timer_id: int) -> Any:
        """Cancel a timer; returns its data, or None if it fired or is unknown."""
        return self.server.modules.timers.stop(timer_id)

    def log(self, level: str, message: str) -> None:
        """Log at the server's level (``debug``, ``verbose``, ``notice``, ``warning``), prefixed by the module."""
        lvl = _LOG_LEVELS.get(level)
        if lvl is None:
            raise ValueError(f"unknown log level {level!r}")
        name = self.module.name if self.module is not None else "module"
        log.log(lvl, "<%s> %s", name, message)

    # -- reply builders (RESP3 types, degraded for RESP2 by the encoder) -------------------------------
    @staticmethod
    def reply_map(pairs: dict | Sequence[tuple[Any, Any]]) -> MapReply:
        items = pairs.items() if isinstance(pairs, dict) else pairs
        out = MapReply()
        for k, v in items:
            out += [k, v]
        return out

    @staticmethod
    def reply_set(items: Iterable[Any]) -> SetReply:
        return SetReply(items)

    @staticmethod
    def reply_double(x: float) -> Double:
        return Double(x)

    @staticmethod
    def reply_status(s: str | bytes) -> Status:
        return Status(s.encode() if isinstance(s, str) else s)

    @staticmethod
    def reply_error(message: str) -> ErrorReply:
        """An error inside an array reply (a top-level error is ``raise ModuleError(...)``)."""
        return ErrorReply(ModuleError(message).message.encode("utf-8", "surrogateescape"))

    @staticmethod
    def reply_verbatim(text: str | bytes) -> Verbatim:
        """Verbatim text (RESP3 ``=txt:``; a bulk string on RESP2)."""
        return Verbatim(text.encode() if isinstance(text, str) else text)

    def push(self, items: list[Any]) -> None:
        """Send an out-of-band push message to the caller (RESP3 ``>``; an array on RESP2)."""
        self.client.push(Push(items))
