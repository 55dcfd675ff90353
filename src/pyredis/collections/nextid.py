"""``NextId``: unique, increasing integer IDs, agreed on by a majority of masters."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any

from pyredis.collections import masters as multi
from pyredis.collections.errors import QuorumNotAchieved
from pyredis.collections.masters import Fanout, Sleep, masters_of, ok, quorum
from pyredis.collections.ops import Cmd, Eval, Plan
from pyredis.collections.scripts import NEXTID_CLAIM

KEY_PREFIX = "nextid:"


class NextIdPlans:
    """State and plans shared by :class:`NextId` and its async twin.

    With one master an ID is one INCR.  With several, a client reads the current value
    from a majority, then claims ``max + 1`` with a compare-and-set script on every
    master; only a claim accepted by a majority counts (two clients can't both get one),
    so IDs are unique and increase even if a minority of masters is down.
    """

    def __init__(
        self,
        *,
        key: str = "current",
        masters: Iterable[Any] | None = None,
        redis: Any = None,
        num_tries: int = 100,
    ):
        self.name = key
        self.key = KEY_PREFIX + key
        self.masters = masters_of(masters, redis)
        self.num_tries = num_tries

    def _all(self, request: Any) -> Fanout:
        return Fanout([request] * len(self.masters))

    def _p_current(self) -> Plan[int]:
        replies = yield self._all(Cmd(("GET", self.key)))
        values = [int(r or 0) for r in replies if not isinstance(r, BaseException)]
        if len(values) < quorum(len(self.masters)):
            raise QuorumNotAchieved(f"fewer than a majority of masters answered for {self.key!r}")
        return max(values)

    def _p_next(self) -> Plan[int]:
        if len(self.masters) == 1:
            (reply,) = yield Fanout([Cmd(("INCR", self.key))])
            if isinstance(reply, BaseException):
                raise reply
            return int(reply)
        for attempt in range(self.num_tries):
            candidate = (yield from self._p_current()) + 1
            replies = yield self._all(Eval(NEXTID_CLAIM, (self.key,), (candidate,)))
            if sum(map(ok, replies)) >= quorum(len(self.masters)):
                return candidate
            yield Sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))
        raise QuorumNotAchieved(f"no ID agreed on after {self.num_tries} tries for {self.key!r}")

    def _p_reset(self) -> Plan[None]:
        yield self._all(Cmd(("DEL", self.key)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} key={self.name!r}>"


class NextId(NextIdPlans):
    """``ids = NextId(key='orders', masters=[r1, r2, r3]); next(ids)`` → 1, 2, 3, ..."""

    def _run(self, plan: Plan[Any]) -> Any:
        return multi.run(self.masters, plan, repr(self))

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        return self._run(self._p_next())

    @property
    def current(self) -> int:
        """The last ID handed out (0 before the first)."""
        return self._run(self._p_current())

    def reset(self) -> None:
        """Start again from 1 (deletes the counter on every master)."""
        self._run(self._p_reset())
