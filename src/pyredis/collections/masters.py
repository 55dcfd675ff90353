"""Plans over several independent masters (Redlock, NextId), shared by sync and async.

A multi-master plan yields :class:`Fanout` (one request per master; the reply is a list
with one result *or exception* per master, so a dead master counts as a failure rather
than aborting) and :class:`Sleep`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pyredis.collections import driver
from pyredis.collections.ops import Plan, Request, T


@dataclass(frozen=True, slots=True)
class Fanout:
    """Send ``requests[i]`` to master ``i``."""

    requests: Sequence[Request]


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


def masters_of(masters: Iterable[Any] | None, redis: Any) -> list[Any]:
    """The list of clients from ``masters=`` or ``redis=`` (exactly one must be given)."""
    if masters is not None:
        found = list(masters)
        if not found or redis is not None:
            raise ValueError("give either masters=[client, ...] (non-empty) or redis=client")
        return found
    if redis is None:
        raise ValueError("give either masters=[client, ...] or redis=client")
    return [redis]


def quorum(n: int) -> int:
    return n // 2 + 1


def run(masters: Sequence[Any], plan: Plan[T], what: str = "key") -> T:
    """Drive a multi-master plan with synchronous clients (masters asked in turn)."""
    try:
        req = next(plan)
        while True:
            if isinstance(req, Sleep):
                time.sleep(req.seconds)
                reply: Any = None
            else:
                reply = []
                for client, sub in zip(masters, req.requests, strict=True):
                    try:
                        reply.append(driver.execute(client, sub))
                    except Exception as exc:
                        reply.append(driver.wrong_type(exc, what))
            req = plan.send(reply)
    except StopIteration as stop:
        return stop.value


def ok(reply: Any) -> bool:
    """Whether one master's reply is a success (not an exception, not nil/0/False)."""
    if isinstance(reply, BaseException) or reply is None or reply is False:
        return False
    if isinstance(reply, (bytes, str)):
        return reply in (b"OK", "OK")
    return bool(reply)
