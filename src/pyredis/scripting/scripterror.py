"""What the scripting engine needs of the Lua side without loading Lua (lupa): :class:`ScriptError`, the
redis.call argument errors and number formatting. pyredis.scripting.luaargs has the helpers that need lupa.
"""

from __future__ import annotations

import math

ERR_NOARGS = b"ERR Please specify at least one argument for this redis lib call"
ERR_ARGTYPE = b"ERR Lua redis lib command arguments must be strings or integers"
ERR_NAME = ("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one "
            "character long")


def num_arg(a: int | float) -> bytes:
    """A Lua number passed to redis.call, formatted like Redis (``%.17g``)."""
    if type(a) is int and -(10**17) < a < 10**17:
        return b"%d" % a
    if a != a:
        return b"-nan" if math.copysign(1.0, a) < 0 else b"nan"
    return b"%.17g" % a


class ScriptError(Exception):
    """Raised from a Python callback into Lua.

    ``kind`` 1: a Redis error (scripts see ``e.err``; uncaught it becomes ``{err=...}``);
    ``kind`` 2: a plain Lua error message (already carrying its ``chunk:line:`` position).
    """

    def __init__(self, err: bytes, ignore: bool = False, kind: int = 1) -> None:
        super().__init__()
        self.err = err
        self.ignore_error_stats_update = True if ignore else None
        self.kind = kind

    def __str__(self) -> str:
        return self.err.decode("utf-8", "surrogateescape")
