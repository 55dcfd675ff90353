"""Sans-I/O building blocks shared by the sync and async containers.

Every container operation is written once as a *plan*: a generator that yields requests
(:class:`Cmd`, :class:`Pipe`, :class:`Eval`, :class:`Optimistic`), receives their replies
and returns the result.  :func:`pyredis.collections.driver.run` executes a plan with a
redis-py client, :func:`pyredis.collections.aio.driver.run` with a ``redis.asyncio`` one.
A plan therefore decides the round trips: one request is one round trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

Args = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Cmd:
    """One command."""

    args: Args


@dataclass(frozen=True, slots=True)
class Pipe:
    """Several commands in one round trip, in MULTI/EXEC when ``transaction``."""

    cmds: Sequence[Args]
    transaction: bool = True


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script, run by EVALSHA with an EVAL fallback."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


@dataclass(frozen=True, slots=True)
class Eval:
    """Run ``script`` with ``keys`` and ``args``."""

    script: Script
    keys: Args
    args: Args = ()


@dataclass(frozen=True, slots=True)
class Optimistic:
    """WATCH ``watch``, run ``reads``, then MULTI/EXEC the commands ``compute`` returns.

    ``compute(read_replies) -> (commands, result)`` is pure; the whole thing is retried
    when a watched key changes before EXEC.  Reads are done on the watching connection.
    """

    watch: Args
    reads: Sequence[Args]
    compute: Callable[[list[Any]], tuple[Sequence[Args], Any]]


Request = Cmd | Pipe | Eval | Optimistic
Plan = Generator[Request, Any, T]


def text(value: bytes | str) -> str:
    """A reply as ``str`` whatever the client's ``decode_responses``."""
    return value.decode() if isinstance(value, bytes) else str(value)


def pairs(reply: Any) -> list[tuple[Any, Any]]:
    """Field/value pairs from a flat RESP2 list, a list of RESP3 pairs or a dict."""
    if isinstance(reply, dict):
        return list(reply.items())
    reply = list(reply)
    if reply and isinstance(reply[0], (list, tuple)):
        return [(a, b) for a, b in reply]
    return list(zip(reply[::2], reply[1::2], strict=True))


def scan_reply(reply: Any) -> tuple[int, Any]:
    """``(cursor, items)`` from a SCAN-family reply."""
    cursor, items = reply
    return int(cursor), items
