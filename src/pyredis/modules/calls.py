"""``ctx.call``: run a command from a module the way scripts' ``redis.call`` does (no propagation of
its own: the calling module command propagates), and turn the reply into Python values."""

from __future__ import annotations

import logging
from time import perf_counter_ns
from typing import Any

from pyredis.commands.errors import CommandError
from pyredis.modules.api import ModuleError
from pyredis.protocol.encoder import _ENCODERS
from pyredis.protocol.types import NOREPLY
from pyredis.server.client import Client

log = logging.getLogger("pyredis")


def _caller(ctx: Any) -> Client:
    c = ctx._caller
    if c is None:
        c = ctx._caller = Client(ctx.server)
        c.authenticated = True
        c.acl_restricted = False
        c.addr = "module:0"
    c.db = ctx.client.db
    c.in_script = True  # blocking commands reply their timeout value at once, as in scripts
    c.out = []
    return c


def run_command(ctx: Any, argv: list[bytes]) -> Any:
    """Execute *argv* for *ctx*'s client; the reply as Python values (errors raise ModuleError)."""
    srv = ctx.server
    cmd = srv.commands.get(argv[0]) or srv.commands.get(argv[0].lower())
    if cmd is not None and cmd.subcommands is not None and len(argv) > 1:
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is not None:
            cmd = sub
        elif cmd.handler is None:
            cmd = None
    if cmd is None or cmd.handler is None:
        from pyredis.modules.api import unknown_command_message

        raise ModuleError(unknown_command_message(argv))
    ar = cmd.arity
    if (ar > 0 and len(argv) != ar) or len(argv) < -ar:
        raise ModuleError(f"ERR wrong number of arguments for '{cmd.fullname}' command")
    c = _caller(ctx)
    c.cmd = cmd
    t0 = perf_counter_ns()
    try:
        r = cmd.handler(c, argv)
    except CommandError as e:
        cmd.failed += 1
        raise ModuleError(e.message) from None
    finally:
        cmd.calls += 1
        cmd.usec += (perf_counter_ns() - t0) // 1000
    c.repl = None  # the module command propagates as a whole (verbatim or ctx.replicate)
    hooks = srv.events.after_command
    if hooks:
        for hook in hooks:
            hook(c, cmd, argv)
    if r is not NOREPLY:
        _ENCODERS[type(r)](c.out, r, 2)
    data = b"".join(c.out)
    c.out = []
    value, _ = parse_reply(data, 0)
    if isinstance(value, ModuleError):
        raise value
    return value


def parse_reply(data: bytes, pos: int) -> tuple[Any, int]:
    """One RESP2 reply from *data* at *pos*: (value, next position)."""
    t = data[pos : pos + 1]
    eol = data.index(b"\r\n", pos)
    head = data[pos + 1 : eol]
    pos = eol + 2
    if t == b"+":
        return head, pos
    if t == b"-":
        return ModuleError(head.decode("utf-8", "surrogateescape")), pos
    if t == b":":
        return int(head), pos
    if t == b"$":
        n = int(head)
        if n < 0:
            return None, pos
        return data[pos : pos + n], pos + n + 2
    if t == b"*":
        n = int(head)
        if n < 0:
            return None, pos
        out = []
        for _ in range(n):
            v, pos = parse_reply(data, pos)
            out.append(v)
        return out, pos
    raise ValueError(f"unexpected reply type {t!r}")
