"""Propagation targets (server.h's PROPAGATE_AOF / PROPAGATE_REPL).

Most effects go to every ``Server.propagators`` entry. A command that must reach only some targets
(PUBLISH reaches replicas, not the AOF; a script's ``redis.set_repl``) puts a :class:`Targeted`
argv in ``c.repl``; a propagator declares what it is with a ``propagate_target`` attribute on its
function (no attribute: it takes everything, like the EXEC collector).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

PROPAGATE_AOF = 1
PROPAGATE_REPL = 2
PROPAGATE_ALL = PROPAGATE_AOF | PROPAGATE_REPL


class Targeted(list):
    """An argv (a list of bytes) meant only for the targets in ``target``."""

    __slots__ = ("target",)

    def __init__(self, argv: Iterable[bytes], target: int) -> None:
        super().__init__(argv)
        self.target = target


def feed(fns: Iterable[Callable[[int, list[bytes]], None]], dbid: int, argv: list[bytes]) -> None:
    """Give *argv* to each propagator it is meant for."""
    t = argv.target if type(argv) is Targeted else PROPAGATE_ALL
    for fn in fns:
        if t & getattr(fn, "propagate_target", PROPAGATE_ALL):
            fn(dbid, argv)
