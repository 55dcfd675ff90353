"""``ctx.block``: blocking module commands on the server's blocking machinery
(server/blocking.py), woken by keys or by the module (``BlockedClient.unblock``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pyredis.commands.errors import CommandError
from pyredis.modules.api import ModuleError
from pyredis.protocol.encoder import _ENCODERS
from pyredis.protocol.types import NOREPLY
from pyredis.server.blocking import block_for_keys, unblock_client

__all__ = ["BlockedClient", "block"]


class _LazyReply:
    """A reply computed when it is sent (the module's timeout callback)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn


def _encode_lazy(out: list[bytes], v: _LazyReply, resp: int) -> None:
    try:
        r = v.fn()
    except ModuleError as e:
        out.append(b"-%s\r\n" % e.message.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogateescape"))
        return
    _ENCODERS[type(r)](out, r, resp)


_ENCODERS[_LazyReply] = _encode_lazy


class BlockedClient:
    """A client blocked by a module command: end the block with :meth:`unblock` (any thread)."""

    def __init__(self, ctx: Any) -> None:
        self.client = ctx.client
        self.server = ctx.server
        self.done = False

    def unblock(self, reply: Any = None) -> None:
        """Reply *reply* to the blocked client and let it run its next commands."""
        loop = self.server.loop
        if loop is None or _owns_loop(loop):
            self._unblock(reply)
        else:
            loop.call_soon_threadsafe(self._unblock, reply)

    def abort(self, message: str) -> None:
        """End the block with an error reply."""
        self.unblock(_LazyReply(lambda: (_ for _ in ()).throw(ModuleError(message))))

    def _unblock(self, reply: Any) -> None:
        if self.done:
            return
        self.done = True
        b = self.client.blocked
        if b is None or getattr(b, "client", None) is not self.client:
            return
        b.timeout_reply = reply
        unblock_client(self.client)


def _owns_loop(loop: Any) -> bool:
    """Whether this thread runs *loop* (then work can happen right away)."""
    owner = getattr(loop, "owner_thread", None)
    if owner is not None:
        return owner()
    thread = getattr(loop, "_thread_id", None)
    return thread is None or thread == threading.get_ident()


def block(ctx: Any, keys: list[bytes], timeout_ms: int, on_ready: Callable[[Any], Any] | None,
          on_timeout: Callable[[Any], Any] | None) -> Any:
    """Block ``ctx.client`` and return its :class:`BlockedClient` (the dispatcher then sends no reply
    now; where blocking is impossible — MULTI, scripts, ``ctx.call`` — the timeout reply is sent)."""
    Context = type(ctx)  # noqa: N806 - the context class, without importing it (no import circle)
    c = ctx.client
    module = ctx.module
    argv = ctx.argv

    def timeout_reply() -> Any:
        if on_timeout is None:
            return None
        return on_timeout(Context(c, module, argv))

    def serve(cl: Any) -> Any:
        if on_ready is None:
            return None
        sub = Context(cl, module, argv)
        try:
            r = on_ready(sub)
        except ModuleError as e:
            raise CommandError(e.message) from None
        if sub._replicated is not None:
            cl.repl = sub._replicated
        return r

    bc = BlockedClient(ctx)
    r = block_for_keys(c, keys, int(timeout_ms), serve, _LazyReply(timeout_reply), argv)
    ctx._block = (bc, r is NOREPLY, timeout_reply)
    if r is not NOREPLY:
        bc.done = True
    return bc
